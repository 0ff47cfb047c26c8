"""Training loop of FlashMD: mass-scaled targets from trajectory pairs."""

import copy
import logging
import math
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Union

import ase.data
import torch
from metatrain.utils.abc import TrainerInterface
from metatrain.utils.io import check_file_extension
from metatrain.utils.logging import ROOT_LOGGER, MetricLogger
from metatrain.utils.metrics import get_selected_metric

from .checkpoints import versions as checkpoints
from .documentation import TrainerHypers
from .model import FlashMD
from .network.batching import AtomBatch
from .network.outputs import TrainingErrors
from .training import distributed
from .training.dataset_checks import check_recorded_timesteps
from .training.loss import TargetLoss, parse_loss
from .training.metrics import ErrorAccumulator
from .training.normalization import gather_statistics
from .training.pair_data import IndexedPairs, PairBatchSampler, PairCollate
from .training.schedule import make_scheduler


class PairErrors(torch.nn.Module):
    """The model's :meth:`~FlashMD.training_errors` as a module, so that
    distributed training can wrap it (gradients are synchronised through the
    wrapper's forward)."""

    def __init__(self, model: FlashMD) -> None:
        super().__init__()
        self.model = model

    def forward(
        self, atoms: AtomBatch, truth: Dict[str, torch.Tensor]
    ) -> TrainingErrors:
        return self.model.training_errors(atoms, truth)


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

    def _check_hypers(self) -> None:
        hypers = self.hypers
        timestep = hypers.get("timestep")
        if timestep is None or not (math.isfinite(timestep) and timestep > 0):
            raise ValueError(
                "training.timestep is required: the time between the two frames of "
                "each training pair, in fs (e.g. 32 for pairs 32 steps of 1 fs apart)"
                f"; got {timestep!r}"
            )
        if hypers["per_structure_targets"]:
            raise ValueError(
                "training.per_structure_targets must be empty: FlashMD targets are "
                "per-atom positions and momenta"
            )
        for key in ("atomic_baseline", "fixed_composition_weights"):
            baseline = hypers.get(key, {})
            if isinstance(baseline, str):
                raise ValueError(
                    f"training.{key}: FlashMD targets have no composition baseline; "
                    "a composition-model checkpoint cannot be used"
                )
            for target, values in (baseline or {}).items():
                numbers = values.values() if isinstance(values, dict) else [values]
                if any(float(v) != 0.0 for v in numbers):
                    raise ValueError(
                        f"training.{key}.{target}: displacements and momenta have "
                        "zero mean by symmetry, so only zero baselines are accepted"
                    )
        if hypers["batch_size"] < 1:
            raise ValueError("training.batch_size must be at least 1")

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
        self._check_hypers()
        if dtype not in FlashMD.__supported_dtypes__:
            raise ValueError(f"FlashMD trains in float32 or float64, not {dtype}")
        context = distributed.setup(self.hypers, devices)
        device = context.device
        check_recorded_timesteps(Path(checkpoint_dir), float(self.hypers["timestep"]))

        is_fresh = not bool(torch.isfinite(model.timestep))
        masses = self._set_physics(model, is_fresh)
        if self.seed is None:
            self.seed = (torch.initial_seed() + self.hypers["seed_offset"]) % 2**63

        train_pairs = IndexedPairs(train_datasets, "training set")
        val_pairs = IndexedPairs(val_datasets, "validation set")
        logging.info("Checking the training pairs")
        stats = gather_statistics(
            train_pairs, masses, model.predict_momenta_as_difference
        )
        val_stats = gather_statistics(
            val_pairs, masses, model.predict_momenta_as_difference
        )
        logging.info(
            f"{stats.num_pairs} training pairs, {stats.num_atoms} atoms; largest "
            f"displacement {stats.largest_displacement:.3f} A in "
            f"{self.hypers['timestep']} fs"
        )
        if is_fresh:
            if self.hypers["scale_targets"]:
                model.set_normalization(
                    stats.momentum_rms,
                    stats.displacement_rms,
                    stats.target_momentum_rms,
                )
            else:
                model.set_normalization(1.0, 1.0, 1.0)
            model.set_fixed_scales(self.hypers["fixed_scaling_weights"])

        finetune = self.hypers["finetune"]
        if finetune.get("read_from") is not None:
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

        model.to(device=device, dtype=dtype)
        losses = parse_loss(self.hypers["loss"], model.target_names)
        train_loader = self._loader(
            train_pairs, stats.sizes, model, shuffle=True, context=context
        )
        val_loader = self._loader(
            val_pairs, val_stats.sizes, model, shuffle=False, context=context
        )
        predictor = PairErrors(model)
        wrapped = context.wrap(predictor)

        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = _adam(
            parameters, self.hypers["learning_rate"], self.hypers["weight_decay"]
        )
        if self.schedule_steps is None:
            total_steps = self.hypers["num_epochs"] * len(train_loader.batch_sampler)
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

        start_epoch = 0 if self.epoch is None else self.epoch + 1
        if self.best_metric is None:
            self.best_metric = float("inf")
        metric_logger: Optional[MetricLogger] = None
        logging.info("Starting training")
        for epoch in range(start_epoch, self.hypers["num_epochs"]):
            log_now = epoch == start_epoch or epoch % self.hypers["log_interval"] == 0
            train_metrics = self._run_epoch(
                wrapped,
                model,
                train_loader,
                losses,
                epoch,
                optimizer,
                scheduler,
                context,
                dtype,
                log_now,
            )
            with torch.no_grad():
                val_metrics = self._run_epoch(
                    predictor,
                    model,
                    val_loader,
                    losses,
                    epoch,
                    None,
                    None,
                    context,
                    dtype,
                    True,
                )
            if metric_logger is None:
                metric_logger = MetricLogger(
                    log_obj=ROOT_LOGGER,
                    dataset_info=model.dataset_info,
                    initial_metrics=[train_metrics, val_metrics],
                    names=["training", "validation"],
                )
            if log_now:
                metric_logger.log(
                    metrics=[train_metrics, val_metrics],
                    epoch=epoch,
                    rank=context.rank,
                    learning_rate=optimizer.param_groups[0]["lr"],
                )
            metric = get_selected_metric(val_metrics, self.hypers["best_model_metric"])
            if metric < self.best_metric:
                self.best_metric = metric
                self.best_epoch = epoch
                self.best_model_state_dict = copy.deepcopy(model.state_dict())
                self.best_optimizer_state_dict = copy.deepcopy(optimizer.state_dict())
            self.epoch = epoch
            self.optimizer_state_dict = optimizer.state_dict()
            self.scheduler_state_dict = scheduler.state_dict()
            if (epoch + 1) % self.hypers["checkpoint_interval"] == 0:
                context.barrier()
                if context.rank == 0:
                    self.save_checkpoint(
                        model, Path(checkpoint_dir) / f"model_{epoch}.ckpt"
                    )
        self.optimizer_state_dict = optimizer.state_dict()
        self.scheduler_state_dict = scheduler.state_dict()
        context.finish(Path(checkpoint_dir))

    def _loader(
        self,
        pairs: IndexedPairs,
        sizes: List[int],
        model: FlashMD,
        shuffle: bool,
        context: "distributed.Context",
    ) -> torch.utils.data.DataLoader:
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

    def _run_epoch(
        self,
        predictor: torch.nn.Module,
        model: FlashMD,
        loader: torch.utils.data.DataLoader,
        losses: Dict[str, TargetLoss],
        epoch: int,
        optimizer: Optional[torch.optim.Optimizer],
        scheduler: Optional[torch.optim.lr_scheduler.LRScheduler],
        context: "distributed.Context",
        dtype: torch.dtype,
        want_metrics: bool,
    ) -> Dict[str, float]:
        """One pass over ``loader``; trains when an optimizer is given. Returns the
        loss and per-target RMSE (and MAE) in physical units, over all ranks."""
        training = optimizer is not None
        model.train(training)
        loader.batch_sampler.epoch = epoch
        loader.collate_fn.epoch = epoch
        names = model.target_names
        accumulator = ErrorAccumulator(names, model.atomic_types)
        for batch in loader:
            if batch is None:  # this rank's share of a small batch is empty
                continue
            atoms = batch.atoms(dtype, context.device)
            count = torch.tensor([3.0 * atoms.positions.shape[0]], dtype=torch.float64)
            if training and context.distributed:
                count = context.all_reduce(count)
            errors = predictor(atoms, batch.truth(dtype, context.device))
            loss = sum(
                losses[name](errors.normalised[name], float(count)) for name in names
            )
            if training:
                optimizer.zero_grad()
                # gradients are averaged over ranks: scale so that their mean is the
                # gradient of the loss of the whole (global) batch
                (loss * context.world_size).backward()
                torch.nn.utils.clip_grad_norm_(
                    model.parameters(), self.hypers["grad_clip_norm"]
                )
                optimizer.step()
                scheduler.step()
            if want_metrics:
                accumulator.update(loss, errors.species, errors.physical)
        if not want_metrics:
            return {}
        return accumulator.finalize(
            context.all_reduce,
            with_mae=self.hypers["log_mae"],
            per_element=self.hypers["log_separate_blocks"],
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


def _adam(
    parameters: List[torch.nn.Parameter],
    learning_rate: float,
    weight_decay: Optional[float],
) -> torch.optim.Optimizer:
    """Adam, or AdamW with ``weight_decay``; the fused implementation (one kernel
    for all parameters: the same update, far fewer operations per step) where the
    device and dtype support it."""
    for fused in (True, None):
        try:
            if weight_decay is not None:
                return torch.optim.AdamW(
                    parameters, lr=learning_rate, weight_decay=weight_decay, fused=fused
                )
            return torch.optim.Adam(parameters, lr=learning_rate, fused=fused)
        except RuntimeError:
            if fused is None:
                raise
    raise AssertionError("unreachable")
