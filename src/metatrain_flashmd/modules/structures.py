"""Batching entry point kept for ``experimental.flashmd_symplectic``.

That architecture imports ``systems_to_batch`` from
``metatrain.experimental.flashmd.modules.structures``, which this plugin now provides.
"""

from typing import List, Tuple

import torch
from metatensor.torch import Labels
from metatomic.torch import NeighborListOptions, System

from ..network.batching import concatenate_systems, padded_neighborhoods


def systems_to_batch(
    systems: List[System],
    options: NeighborListOptions,
    all_species_list: List[int],
    species_to_species_index: torch.Tensor,
) -> Tuple[
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    torch.Tensor,
    Labels,
]:
    """PET's padded node-edge tensors plus momenta for ``systems``.

    :return: species index of each atom (n,), momenta (n, 3), species index of each
        neighbour (n, k), edge vectors (n, k, 3), padding mask (n, k), index of the
        reversed edge of each flattened slot (n, k), system of each atom (n,), and
        the ``system``/``atom`` sample labels.
    """
    batch = concatenate_systems(systems, options)
    tensors = padded_neighborhoods(batch, species_to_species_index, options.cutoff, 0.5)
    samples = Labels(
        ["system", "atom"],
        torch.stack([batch.system_indices, batch.atom_indices], dim=1),
        assume_unique=True,
    )
    return (
        tensors[0],
        batch.momenta,
        tensors[1],
        tensors[2],
        tensors[4],
        tensors[5],
        batch.system_indices,
        samples,
    )
