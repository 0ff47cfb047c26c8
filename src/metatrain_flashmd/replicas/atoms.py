"""From ASE atoms to the flat tensors of :func:`batched_stride`, and back.

The tensors are built the way :class:`metatomic_ase.MetatomicCalculator` builds a
single system (float64 numbers of the atoms, converted to the model's dtype on its
device), so that a replica's stride in a batch equals its stride alone up to the
rounding of the batched products.
"""

from typing import List, Sequence, Tuple

import ase
import numpy as np
import torch
from metatomic.torch import AtomisticModel

from metatrain_flashmd.replicas.stride import batched_stride


def stack_atoms(systems: Sequence[ase.Atoms]) -> Tuple[torch.Tensor, ...]:
    """Positions (n, 3, A), momenta (n, 3, (eV*u)^(1/2)), masses (n, u), cells
    (s, 3, 3, A), periodicity (s, 3), atomic numbers (n,) and system index (n,) of
    all atoms of ``systems``, concatenated in order, on the CPU."""
    sizes = [len(atoms) for atoms in systems]

    def joined(values: List[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.concatenate(values))

    return (
        joined([np.asarray(atoms.positions, dtype=np.float64) for atoms in systems]),
        joined([atoms.get_momenta() for atoms in systems]),
        joined([atoms.get_masses() for atoms in systems]),
        torch.from_numpy(np.stack([atoms.cell.array for atoms in systems])),
        torch.from_numpy(np.stack([atoms.pbc for atoms in systems])),
        joined([atoms.numbers for atoms in systems]),
        torch.repeat_interleave(torch.arange(len(systems)), torch.tensor(sizes)),
    )


def predict_atoms(
    model: AtomisticModel, systems: Sequence[ase.Atoms]
) -> List[Tuple[np.ndarray, np.ndarray]]:
    """Positions (A) and momenta ((eV*u)^(1/2)) of each of ``systems`` after one
    stride, all in one model call; float64 arrays of shape (n, 3).

    :param model: the exported FlashMD model, on the device to run on.
    :param systems: the systems, with their momenta; not modified.
    """
    positions, momenta = batched_stride(model, *stack_atoms(systems))
    results = []
    start = 0
    for atoms in systems:
        stop = start + len(atoms)
        results.append((positions[start:stop].numpy(), momenta[start:stop].numpy()))
        start = stop
    return results
