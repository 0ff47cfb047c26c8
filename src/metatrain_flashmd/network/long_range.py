"""Optional long-range features on top of the short-range node features."""

from typing import Dict, List

import torch
from metatomic.torch import NeighborListOptions, System
from metatrain.utils.long_range import DummyLongRangeFeaturizer, LongRangeFeaturizer

from .batching import AtomBatch


class LongRange(torch.nn.Module):
    """Adds metatrain's long-range (Ewald/P3M) features to every readout layer's
    node features, ``(h + h_lr) / sqrt(2)``; the identity when disabled.

    :param hypers: the ``long_range`` model hyperparameters.
    :param d_node: width of the node features.
    :param options: the short-range neighbour list options.
    """

    def __init__(self, hypers: Dict, d_node: int, options: NeighborListOptions) -> None:
        super().__init__()
        self.enabled = bool(hypers["enable"])
        if self.enabled:
            self.featurizer = LongRangeFeaturizer(hypers, d_node, options)
        else:
            self.featurizer = DummyLongRangeFeaturizer()

    def forward(
        self, systems: List[System], batch: AtomBatch, node_features: List[torch.Tensor]
    ) -> List[torch.Tensor]:
        if not self.enabled:
            return node_features
        if self.training:
            self.featurizer.use_ewald = True
        shifts = batch.cell_shifts.to(batch.positions.dtype)
        cells = batch.cells[batch.system_indices[batch.centers]]
        vectors = (
            batch.positions[batch.neighbors]
            - batch.positions[batch.centers]
            + torch.bmm(shifts.unsqueeze(1), cells).squeeze(1)
        )
        short_range = torch.stack(node_features).sum(dim=0) / len(node_features) ** 0.5
        extra = self.featurizer(systems, short_range, torch.linalg.norm(vectors, dim=1))
        return [(features + extra) * 0.5**0.5 for features in node_features]
