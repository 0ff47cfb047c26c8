"""Error metrics of an epoch, accumulated per element and reduced over ranks."""

import math
from typing import Callable, Dict, List

import ase.data
import torch


class ErrorAccumulator:
    """Sums of squared and absolute errors of each target, per element.

    :param target_names: the targets, in the order errors are given.
    :param atomic_types: atomic numbers of the model's elements, in species order.
    """

    def __init__(self, target_names: List[str], atomic_types: List[int]) -> None:
        self.target_names = list(target_names)
        self.atomic_types = list(atomic_types)
        num_species = len(self.atomic_types)
        # per species: [atoms, then (squared, absolute) per target]
        self.sums = torch.zeros(
            num_species, 1 + 2 * len(target_names), dtype=torch.float64
        )
        self.loss = torch.zeros(1, dtype=torch.float64)

    def update(
        self, loss: torch.Tensor, species: torch.Tensor, errors: Dict[str, torch.Tensor]
    ) -> None:
        """Add a batch: its ``loss``, the (n,) ``species`` index of each atom and the
        (n, 3) physical errors of each target."""
        self.loss += float(loss.detach())
        index = species.detach().cpu()
        self.sums[:, 0].index_add_(
            0, index, torch.ones(len(index), dtype=torch.float64)
        )
        for i, name in enumerate(self.target_names):
            error = errors[name].detach().double().cpu()
            self.sums[:, 1 + 2 * i].index_add_(0, index, error.pow(2).sum(dim=1))
            self.sums[:, 2 + 2 * i].index_add_(0, index, error.abs().sum(dim=1))

    def finalize(
        self,
        reduce: Callable[[torch.Tensor], torch.Tensor],
        with_mae: bool,
        per_element: bool,
    ) -> Dict[str, float]:
        """The loss and RMSE (and MAE) per atom component, in the targets' units,
        over all ranks (``reduce`` sums a tensor over ranks); per element if asked."""
        sums = reduce(self.sums)
        metrics = {"loss": float(reduce(self.loss))}
        groups = [("per atom", sums.sum(dim=0))]
        if per_element:
            groups += [
                (ase.data.chemical_symbols[z], sums[s])
                for s, z in enumerate(self.atomic_types)
                if sums[s, 0] > 0
            ]
        for label, row in groups:
            components = max(1.0, 3.0 * float(row[0]))
            for i, name in enumerate(self.target_names):
                mse = float(row[1 + 2 * i]) / components
                metrics[f"{name} RMSE ({label})"] = math.sqrt(mse)
                if with_mae:
                    metrics[f"{name} MAE ({label})"] = (
                        float(row[2 + 2 * i]) / components
                    )
        return metrics
