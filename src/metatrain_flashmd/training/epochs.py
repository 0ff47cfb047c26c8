"""One pass over the training or validation pairs: losses, optimisation steps and
error metrics."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, Iterator, Tuple

import torch

from ..network.batching import AtomBatch
from ..network.outputs import TrainingErrors
from .distributed import Context
from .loss import TargetLoss
from .metrics import ErrorAccumulator


if TYPE_CHECKING:
    from ..model import FlashMD


class PairErrors(torch.nn.Module):
    """The model's ``training_errors`` as a module, so that distributed training
    can wrap it: gradients are synchronised through the wrapper's forward.

    :param model: the model being trained.
    """

    def __init__(self, model: "FlashMD") -> None:
        super().__init__()
        self.model = model

    def forward(
        self, atoms: AtomBatch, truth: Dict[str, torch.Tensor]
    ) -> TrainingErrors:
        return self.model.training_errors(atoms, truth)


@dataclass
class EpochRunner:
    """Runs epochs of training (:meth:`train`) and validation (:meth:`evaluate`).

    Both return the loss and per-target RMSE (and MAE) of the pass, in the targets'
    units (A, (eV*u)^(1/2)), summed over all ranks.
    """

    model: "FlashMD"
    errors: torch.nn.Module
    """:class:`PairErrors` of ``model``, wrapped for distributed training."""
    losses: Dict[str, TargetLoss]
    context: Context
    dtype: torch.dtype
    grad_clip_norm: float
    """Largest norm of the gradients of one step."""
    log_mae: bool
    """Also report mean absolute errors."""
    per_element: bool
    """Also report the errors of each element."""

    def train(
        self,
        loader: torch.utils.data.DataLoader,
        epoch: int,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        with_metrics: bool,
    ) -> Dict[str, float]:
        """One optimisation step per batch of ``loader``; metrics only if
        ``with_metrics`` (an empty dict otherwise)."""
        self.model.train(True)
        accumulator = ErrorAccumulator(self.model.target_names, self.model.atomic_types)
        for atoms, truth in self._batches(loader, epoch):
            count = torch.tensor([3.0 * atoms.positions.shape[0]], dtype=torch.float64)
            if self.context.distributed:
                count = self.context.all_reduce(count)
            errors = self.errors(atoms, truth)
            loss = self._loss(errors, float(count))
            optimizer.zero_grad()
            # gradients are averaged over ranks: scale so that their mean is the
            # gradient of the loss of the whole (global) batch
            (loss * self.context.world_size).backward()
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip_norm)
            optimizer.step()
            scheduler.step()
            if with_metrics:
                accumulator.update(loss, errors.species, errors.physical)
        return self._metrics(accumulator) if with_metrics else {}

    def evaluate(
        self, loader: torch.utils.data.DataLoader, epoch: int
    ) -> Dict[str, float]:
        """The metrics of the model on the batches of ``loader``, without
        gradients."""
        self.model.train(False)
        accumulator = ErrorAccumulator(self.model.target_names, self.model.atomic_types)
        with torch.no_grad():
            for atoms, truth in self._batches(loader, epoch):
                errors = self.model.training_errors(atoms, truth)
                loss = self._loss(errors, 3.0 * atoms.positions.shape[0])
                accumulator.update(loss, errors.species, errors.physical)
        return self._metrics(accumulator)

    def _batches(
        self, loader: torch.utils.data.DataLoader, epoch: int
    ) -> Iterator[Tuple[AtomBatch, Dict[str, torch.Tensor]]]:
        """Model inputs and targets of this rank's batches for ``epoch``."""
        loader.batch_sampler.epoch = epoch
        loader.collate_fn.epoch = epoch
        for batch in loader:
            if batch is None:  # this rank's share of a small batch is empty
                continue
            device = self.context.device
            yield batch.atoms(self.dtype, device), batch.truth(self.dtype, device)

    def _loss(self, errors: TrainingErrors, count: float) -> torch.Tensor:
        """Total loss of a batch whose ``count`` error components (on all ranks)
        the mean losses run over."""
        return sum(
            self.losses[name](errors.normalised[name], count)
            for name in self.model.target_names
        )

    def _metrics(self, accumulator: ErrorAccumulator) -> Dict[str, float]:
        return accumulator.finalize(
            self.context.all_reduce,
            with_mae=self.log_mae,
            per_element=self.per_element,
        )
