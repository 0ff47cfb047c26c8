"""Prediction heads: per-atom Cartesian vectors from node and edge features.

Each target owns, per readout layer, a node MLP and an edge MLP (``*_heads``) and a
linear map of each to the three components (``*_last_layers``). The model keeps them
in four :class:`torch.nn.ModuleDict` keyed by target name, the layout metatrain's
fine-tuning helpers address by name.
"""

import torch


def head_mlps(d_in: int, d_head: int, num_readout_layers: int) -> torch.nn.ModuleList:
    """Two-layer SiLU MLPs ``d_in -> d_head -> d_head``, one per readout layer."""
    return torch.nn.ModuleList(
        [
            torch.nn.Sequential(
                torch.nn.Linear(d_in, d_head),
                torch.nn.SiLU(),
                torch.nn.Linear(d_head, d_head),
                torch.nn.SiLU(),
            )
            for _ in range(num_readout_layers)
        ]
    )


def last_layers(
    d_head: int, num_outputs: int, num_readout_layers: int
) -> torch.nn.ModuleList:
    """Linear maps ``d_head -> num_outputs``, one per readout layer."""
    return torch.nn.ModuleList(
        [torch.nn.Linear(d_head, num_outputs) for _ in range(num_readout_layers)]
    )


def neighbor_sum(
    cutoff_factors: torch.Tensor, edge_values: torch.Tensor
) -> torch.Tensor:
    """Cutoff-weighted sum over neighbours: (n, k) x (n, k, d) -> (n, d).

    ``cutoff_factors`` must be zero on padded neighbour slots.
    """
    return torch.bmm(cutoff_factors.unsqueeze(1), edge_values).squeeze(1)
