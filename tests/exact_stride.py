"""An exact stand-in for a FlashMD model: each stride is reference MD.

:class:`VerletStride` (a :class:`toy_models.ToyStride`, so with the interface of an
exported FlashMD model) advances each system by ``substeps`` velocity-Verlet steps
of ASE's EMT: the map a perfectly trained model would have learned from EMT MD
with that timestep.
"""

from typing import Sequence, Tuple

import ase
import ase.units
import torch
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet
from metatomic.torch import AtomisticModel, System
from toy_models import ToyStride, export_toy


class VerletStride(ToyStride):
    """A stride of ``substeps`` EMT velocity-Verlet steps of ``timestep_fs /
    substeps`` each (ASE runs inside: Python only)."""

    def __init__(
        self, timestep_fs: float, substeps: int, atomic_types: Sequence[int]
    ) -> None:
        super().__init__(timestep_fs, atomic_types)
        self.substeps = int(substeps)

    def advance(
        self, system: System, momenta: torch.Tensor, masses: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        atoms = ase.Atoms(
            numbers=system.types.numpy(),
            positions=system.positions.detach().numpy(),
            cell=system.cell.detach().numpy(),
            pbc=system.pbc.numpy(),
        )
        atoms.set_masses(masses.reshape(-1).detach().numpy())
        atoms.set_momenta(momenta.detach().numpy())
        atoms.calc = EMT()
        timestep = float(self.timestep) / self.substeps * ase.units.fs
        VelocityVerlet(atoms, timestep=timestep).run(self.substeps)
        return torch.tensor(atoms.positions), torch.tensor(atoms.get_momenta())


def verlet_stride_model(
    timestep_fs: float, substeps: int, atomic_types: Sequence[int] = (13,)
) -> AtomisticModel:
    """:class:`VerletStride` wrapped as an exported FlashMD model (float64, CPU)."""
    stride = VerletStride(timestep_fs, substeps, atomic_types)
    return export_toy(stride, "EMT stride", atomic_types)
