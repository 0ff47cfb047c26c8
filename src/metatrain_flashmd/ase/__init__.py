"""ASE integrators driven by an exported FlashMD model.

Each integrator advances an :class:`ase.Atoms` by one model stride per step, without
asking for forces: :class:`VelocityVerlet` (NVE, optionally with exact energy
conservation), :class:`Langevin` and :class:`Bussi` (NVT), :class:`LangevinNPT` and
:class:`BussiNPT` (NpT, stochastic cell rescaling). :func:`run_md` is the library
function behind ``mtt-flashmd md``.
"""

from metatrain_flashmd.ase.base import FlashMDDynamics
from metatrain_flashmd.ase.bussi import Bussi
from metatrain_flashmd.ase.langevin import Langevin
from metatrain_flashmd.ase.npt import BussiNPT, LangevinNPT
from metatrain_flashmd.ase.run import MDSummary, run_md
from metatrain_flashmd.ase.verlet import EnergyConservationError, VelocityVerlet


__all__ = [
    "Bussi",
    "BussiNPT",
    "EnergyConservationError",
    "FlashMDDynamics",
    "Langevin",
    "LangevinNPT",
    "MDSummary",
    "VelocityVerlet",
    "run_md",
]
