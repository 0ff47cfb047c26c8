"""Training loop of FlashMD: mass-scaled targets from trajectory pairs.

:meth:`Trainer.train` runs four named steps: start (check the options, join the
distributed run), set up (physical constants, normalisation, data, optimiser),
the epochs, and finish (record the final state, leave the distributed run).
"""

import copy
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Tuple, Union

import ase.data
import torch
from metatrain.utils.abc import TrainerInterface
from metatrain.utils.io import check_file_extension
from metatrain.utils.logging import ROOT_LOGGER, MetricLogger
from metatrain.utils.metrics import get_selected_metric

from .checkpoints import versions as checkpoints
from .documentation import TrainerHypers
from .model import FlashMD
from .training import distributed
from .training.dataset_checks import check_recorded_timesteps
from .training.epochs import EpochRunner, PairErrors
from .training.limits import LimitsAccumulator, describe_limits
from .training.loss import parse_loss
from .training.normalization import PairStatistics, gather_statistics
from .training.options import check_trainer_hypers
from .training.pair_data import IndexedPairs, PairBatchSampler, PairCollate
from .training.schedule import make_optimizer, make_scheduler


@dataclass
class TrainingRun:
    """What :meth:`Trainer.train` sets up before the first epoch."""

    model: FlashMD
    context: distributed.Context
    epochs: EpochRunner
    train_loader: torch.utils.data.DataLoader
    val_loader: torch.utils.data.DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler


class Trainer(TrainerInterface[TrainerHypers]):
    """Trains a :class:`FlashMD` model on pairs of frames ``timestep`` fs apart.

    Each pair gives the unwrapped displacement of every atom and its momentum at the
    later frame. The loss compares them with the model's predictions in the
    mass-scaled, normalised units the network works in, so that every element and
    both targets weigh alike.
    """

    __checkpoint_version__ = checkpoints.TRAINER_VERSION

    def __init__(self, hypers: TrainerHypers) -> None:
        super().__init__(hypers)
        self.epoch: Optional[int] = None
        self.seed: Optional[int] = None
        self.optimizer_state_dict: Optional[Dict[str, Any]] = None
        self.scheduler_state_dict: Optional[Dict[str, Any]] = None
        self.schedule_steps: Optional[Dict[str, int]] = None
        self.best_epoch: Optional[int] = None
        self.best_metric: Optional[float] = None
        self.best_model_state_dict: Optional[Dict[str, Any]] = None
        self.best_optimizer_state_dict: Optional[Dict[str, Any]] = None

    # -- set-up ------------------------------------------------------------------

    def _set_physics(self, model: FlashMD, is_fresh: bool) -> Dict[int, float]:
        """Store (fresh model) or check (restart, fine-tune) timestep and masses."""
        timestep = float(self.hypers["timestep"])
        masses = {
            z: float(self.hypers["masses"].get(z, ase.data.atomic_masses[z]))
            for z in model.atomic_types
        }
        if is_fresh:
            model.set_timestep(timestep)
            model.set_masses(masses)
            return masses
        stored = float(model.timestep)
        if not math.isclose(stored, timestep, rel_tol=1e-9):
            raise ValueError(
                f"training.timestep is {timestep} fs but the model being restarted or "
                f"fine-tuned was trained for {stored} fs. A FlashMD model predicts one "
                "fixed stride: set timestep to the model's or train a new model."
            )
        for z in model.atomic_types:
            if z in self.hypers["masses"] and not math.isclose(
                float(model.masses[z]), masses[z], rel_tol=1e-6
            ):
                raise ValueError(
                    f"training.masses gives {masses[z]} u for element {z}, but the "
                    f"model was trained with {float(model.masses[z])} u"
                )
        return {z: float(model.masses[z]) for z in model.atomic_types}

    # -- training ----------------------------------------------------------------

    def train(
        self,
        model: FlashMD,
        dtype: torch.dtype,
        devices: List[torch.device],
        train_datasets: List[Any],
        val_datasets: List[Any],
        checkpoint_dir: str,
    ) -> None:
        context = self._start(dtype, devices, Path(checkpoint_dir))
        run = self._set_up(model, dtype, context, train_datasets, val_datasets)
        self._run_epochs(run, Path(checkpoint_dir))
        self._finish(run, Path(checkpoint_dir))

    def _start(
        self, dtype: torch.dtype, devices: List[torch.device], checkpoint_dir: Path
    ) -> "distributed.Context":
        """Check the options and the datasets' recorded stride, and join the
        distributed run if there is one."""
        check_trainer_hypers(self.hypers)
        if dtype not in FlashMD.__supported_dtypes__:
            raise ValueError(f"FlashMD trains in float32 or float64, not {dtype}")
        context = distributed.setup(self.hypers, devices)
        check_recorded_timesteps(checkpoint_dir, float(self.hypers["timestep"]))
        return context

    def _set_up(
        self,
        model: FlashMD,
        dtype: torch.dtype,
        context: "distributed.Context",
        train_datasets: List[Any],
        val_datasets: List[Any],
    ) -> TrainingRun:
        """Physical constants and (for a fresh model) normalisation, read and
        checked pairs, fine-tuning set-up, loaders and optimiser."""
        is_fresh = not bool(torch.isfinite(model.timestep))
        masses = self._set_physics(model, is_fresh)
        if self.seed is None:
            self.seed = (torch.initial_seed() + self.hypers["seed_offset"]) % 2**63
        train_pairs = IndexedPairs(train_datasets, "training set")
        val_pairs = IndexedPairs(val_datasets, "validation set")
        logging.info("Checking the training pairs")
        difference = model.predict_momenta_as_difference
        limits = LimitsAccumulator(model.atomic_types, masses, model.cutoff)
        stats = gather_statistics(train_pairs, masses, difference, limits)
        val_stats = gather_statistics(val_pairs, masses, difference)
        logging.info(
            f"{stats.num_pairs} training pairs, {stats.num_atoms} atoms; largest "
            f"displacement {stats.largest_displacement:.3f} A in "
            f"{self.hypers['timestep']} fs"
        )
        if is_fresh:
            self._normalise(model, stats)
        model.record_training_limits(limits.table)
        logging.info(
            "Training records, which runs of the model are checked against:\n"
            + describe_limits(model.training_limits.cpu().numpy(), model.atomic_types)
        )
        model = self._fine_tuned(model)
        model.to(device=context.device, dtype=dtype)
        train_loader = self._loader(train_pairs, stats.sizes, model, True, context)
        optimizer, scheduler = self._optimizer(model, len(train_loader.batch_sampler))
        epochs = EpochRunner(
            model=model,
            errors=context.wrap(PairErrors(model)),
            losses=parse_loss(self.hypers["loss"], model.target_names),
            context=context,
            dtype=dtype,
            grad_clip_norm=self.hypers["grad_clip_norm"],
            log_mae=self.hypers["log_mae"],
            per_element=self.hypers["log_separate_blocks"],
        )
        return TrainingRun(
            model=model,
            context=context,
            epochs=epochs,
            train_loader=train_loader,
            val_loader=self._loader(val_pairs, val_stats.sizes, model, False, context),
            optimizer=optimizer,
            scheduler=scheduler,
        )

    def _normalise(self, model: FlashMD, stats: PairStatistics) -> None:
        """Output scales of a fresh model from the training set's statistics (with
        ``scale_targets``), then the ``fixed_scaling_weights`` on top."""
        if self.hypers["scale_targets"]:
            model.set_normalization(
                stats.momentum_rms, stats.displacement_rms, stats.target_momentum_rms
            )
        else:
            model.set_normalization(1.0, 1.0, 1.0)
        model.set_fixed_scales(self.hypers["fixed_scaling_weights"])

    def _fine_tuned(self, model: FlashMD) -> FlashMD:
        """``model`` prepared for the ``finetune`` method, if one is given."""
        finetune = self.hypers["finetune"]
        if finetune.get("read_from") is None:
            return model
        from metatrain.pet.modules.finetuning import apply_finetuning_strategy

        model = apply_finetuning_strategy(
            model, finetune, apply_inherit_heads=self.optimizer_state_dict is None
        )
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        total = sum(p.numel() for p in model.parameters())
        logging.info(
            f"Fine-tuning ({finetune['method']}): {trainable} of {total} "
            "parameters are trained"
        )
        return model

    def _optimizer(
        self, model: FlashMD, steps_per_epoch: int
    ) -> Tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
        """Optimiser and learning-rate schedule, restored when restarting; the
        schedule spans ``num_epochs`` of the first run."""
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = make_optimizer(
            parameters, self.hypers["learning_rate"], self.hypers["weight_decay"]
        )
        if self.schedule_steps is None:
            total_steps = self.hypers["num_epochs"] * steps_per_epoch
            self.schedule_steps = {
                "warmup": int(self.hypers["warmup_fraction"] * total_steps),
                "total": total_steps,
            }
        scheduler = make_scheduler(
            optimizer, self.schedule_steps["warmup"], self.schedule_steps["total"]
        )
        if self.optimizer_state_dict is not None:
            optimizer.load_state_dict(self.optimizer_state_dict)
        if self.scheduler_state_dict is not None:
            scheduler.load_state_dict(self.scheduler_state_dict)
        return optimizer, scheduler

    def _run_epochs(self, run: TrainingRun, checkpoint_dir: Path) -> None:
        """Train and validate up to ``num_epochs``, logging errors, keeping the best
        model and writing checkpoints."""
        start_epoch = 0 if self.epoch is None else self.epoch + 1
        if self.best_metric is None:
            self.best_metric = float("inf")
        metric_logger: Optional[MetricLogger] = None
        logging.info("Starting training")
        for epoch in range(start_epoch, self.hypers["num_epochs"]):
            log_now = epoch == start_epoch or epoch % self.hypers["log_interval"] == 0
            train_metrics = run.epochs.train(
                run.train_loader, epoch, run.optimizer, run.scheduler, log_now
            )
            val_metrics = run.epochs.evaluate(run.val_loader, epoch)
            if metric_logger is None:
                metric_logger = MetricLogger(
                    log_obj=ROOT_LOGGER,
                    dataset_info=run.model.dataset_info,
                    initial_metrics=[train_metrics, val_metrics],
                    names=["training", "validation"],
                )
            if log_now:
                metric_logger.log(
                    metrics=[train_metrics, val_metrics],
                    epoch=epoch,
                    rank=run.context.rank,
                    learning_rate=run.optimizer.param_groups[0]["lr"],
                )
            self._end_epoch(run, epoch, val_metrics, checkpoint_dir)

    def _end_epoch(
        self,
        run: TrainingRun,
        epoch: int,
        val_metrics: Dict[str, float],
        checkpoint_dir: Path,
    ) -> None:
        """Record the state after ``epoch``: best model, optimiser, checkpoint."""
        metric = get_selected_metric(val_metrics, self.hypers["best_model_metric"])
        if metric < self.best_metric:
            self.best_metric = metric
            self.best_epoch = epoch
            self.best_model_state_dict = copy.deepcopy(run.model.state_dict())
            self.best_optimizer_state_dict = copy.deepcopy(run.optimizer.state_dict())
        self.epoch = epoch
        self.optimizer_state_dict = run.optimizer.state_dict()
        self.scheduler_state_dict = run.scheduler.state_dict()
        if (epoch + 1) % self.hypers["checkpoint_interval"] == 0:
            run.context.barrier()
            if run.context.rank == 0:
                self.save_checkpoint(run.model, checkpoint_dir / f"model_{epoch}.ckpt")

    def _finish(self, run: TrainingRun, checkpoint_dir: Path) -> None:
        """The last step of every run: record the final optimiser and schedule state,
        then leave the distributed run (:meth:`distributed.Context.finish`). On
        ranks other than 0 of a ``torchrun`` run, that removes the rank's own output
        directory and ends the process (``sys.exit(0)``): nothing after this step
        runs there."""
        self.optimizer_state_dict = run.optimizer.state_dict()
        self.scheduler_state_dict = run.scheduler.state_dict()
        run.context.finish(checkpoint_dir)

    def _loader(
        self,
        pairs: IndexedPairs,
        sizes: List[int],
        model: FlashMD,
        shuffle: bool,
        context: "distributed.Context",
    ) -> torch.utils.data.DataLoader:
        """Batches of ``pairs`` (``sizes`` atoms each) for this rank; training
        batches (``shuffle``) are reshuffled and augmented every epoch."""
        sampler = PairBatchSampler(
            sizes,
            batch_size=self.hypers["batch_size"],
            shuffle=shuffle,
            seed=int(self.seed or 0),
            max_atoms=self.hypers["max_atoms_per_batch"],
            min_atoms=self.hypers["min_atoms_per_batch"] if shuffle else 0,
            rank=context.rank,
            world_size=context.world_size,
        )
        collate = PairCollate(
            model.cutoff,
            seed=int(self.seed or 0),
            time_reversal=shuffle and self.hypers["time_reversal"],
            random_rotations=shuffle and self.hypers["random_rotations"],
        )
        workers = self.hypers["num_workers"]
        if workers is None:
            workers = 0 if len(pairs) < 2000 else 2
        return torch.utils.data.DataLoader(
            pairs, batch_sampler=sampler, collate_fn=collate, num_workers=workers
        )

    # -- checkpoints -------------------------------------------------------------

    def save_checkpoint(self, model: FlashMD, path: Union[str, Path]) -> None:
        checkpoint = model.get_checkpoint()
        if self.best_model_state_dict is not None:
            self.best_model_state_dict["finetune_config"] = model.finetune_config
        checkpoint.update(
            {
                "trainer_ckpt_version": self.__checkpoint_version__,
                "train_hypers": self.hypers,
                "epoch": self.epoch,
                "seed": self.seed,
                "optimizer_state_dict": self.optimizer_state_dict,
                "scheduler_state_dict": self.scheduler_state_dict,
                "schedule_steps": self.schedule_steps,
                "best_epoch": self.best_epoch,
                "best_metric": self.best_metric,
                "best_model_state_dict": self.best_model_state_dict,
                "best_optimizer_state_dict": self.best_optimizer_state_dict,
            }
        )
        path = Path(check_file_extension(path, ".ckpt"))
        # write then rename, so an interrupted save never leaves a broken checkpoint
        partial = path.with_name(path.name + ".partial")
        torch.save(checkpoint, partial)
        partial.replace(path)

    @classmethod
    def load_checkpoint(
        cls,
        checkpoint: Dict[str, Any],
        hypers: TrainerHypers,
        context: Literal["restart", "finetune"],
    ) -> "Trainer":
        checkpoints.convert_or_refuse(checkpoint, FlashMD)
        trainer = cls(hypers)
        if context == "restart":
            trainer.epoch = checkpoint["epoch"]
            trainer.seed = checkpoint["seed"]
            trainer.optimizer_state_dict = checkpoint["optimizer_state_dict"]
            trainer.scheduler_state_dict = checkpoint["scheduler_state_dict"]
            trainer.schedule_steps = checkpoint["schedule_steps"]
            trainer.best_epoch = checkpoint["best_epoch"]
            trainer.best_metric = checkpoint["best_metric"]
            trainer.best_model_state_dict = checkpoint["best_model_state_dict"]
            trainer.best_optimizer_state_dict = checkpoint["best_optimizer_state_dict"]
        return trainer

    @classmethod
    def upgrade_checkpoint(cls, checkpoint: Dict[str, Any]) -> Dict[str, Any]:
        return checkpoints.upgrade_trainer_checkpoint(checkpoint, FlashMD)
