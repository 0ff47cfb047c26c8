"""What FlashMD can replace in an i-PI simulation, checked before any stride.

A FlashMD stride replaces the propagation of positions and momenta of one classical
system (one bead) by :math:`\\Delta t`, the model's stride. Everything else i-PI
does around velocity Verlet (thermostats, barostats, the conserved quantity,
outputs and checkpoints) stays i-PI's. Each check below refuses an input where that
replacement would be wrong, with a message naming the problem.
"""

import math
from typing import Any, Dict

from ipi.engine.barostats import BaroBZP, BaroSCR
from ipi.engine.motion import Dynamics
from ipi.engine.smotion.smotion import Smotion

from metatrain_flashmd.ase.base import TIMESTEP_RTOL
from metatrain_flashmd.ipi.units import time_to_fs


ENSEMBLES = ("nve", "nvt", "npt")
"""The i-PI dynamics modes FlashMD can drive."""

BAROSTATS: Dict[type, str] = {
    BaroBZP: "isotropic",
    BaroSCR: "stochastic-rescaling",
}
"""The i-PI barostats FlashMD can drive, with their ``<barostat mode=...>``."""

_MOTION_NAMES: Dict[str, str] = {
    "GeopMotion": "geometry optimisation (mode='minimize')",
    "NEBMover": "nudged elastic band (mode='neb')",
    "StringMover": "string method (mode='string')",
    "InstantonMotion": "instanton optimisation (mode='instanton')",
    "DynMatrixMover": "phonons (mode='vibrations')",
    "SCPhononsMover": "self-consistent phonons (mode='scp')",
    "NormalModeMover": "normal-mode analysis (mode='normalmodes')",
    "Replay": "trajectory replay (mode='replay')",
    "MultiMotion": "several motion classes in one <motion mode='multi'>",
    "AlchemyMC": "alchemical exchanges (mode='alchemy')",
    "AtomSwap": "atom swaps (mode='atomswap')",
    "ConstrainedDynamics": "constrained dynamics (mode='constrained_dynamics')",
    "DrivenDynamics": "driven dynamics (mode='driven_dynamics')",
    "Planetary": "planetary model (mode='planetary')",
    "TemperatureRamp": "a temperature ramp (mode='t_ramp')",
    "PressureRamp": "a pressure ramp (mode='p_ramp')",
    "AlKMC": "kinetic Monte Carlo (mode='al-kmc')",
    "Motion": "no motion (mode='dummy')",
}


class UnsupportedSimulationError(ValueError):
    """The i-PI simulation asks for something a FlashMD stride cannot replace."""


def _refuse(problem: str) -> None:
    raise UnsupportedSimulationError(f"FlashMD cannot drive this i-PI input: {problem}")


def only_dynamics(simulation: Any) -> Dynamics:
    """The motion of the only system of ``simulation``, if FlashMD can drive it.

    :param simulation: an i-PI simulation, e.g.
        :class:`ipi.scripting.InteractiveSimulation`.
    :return: the system's :class:`ipi.engine.motion.Dynamics` motion.
    :raises UnsupportedSimulationError: for several systems, a ``<smotion>``, a
        motion other than plain ``<motion mode='dynamics'>``, or dynamics that is
        not supported (see :func:`check_dynamics`).
    """
    systems = list(simulation.syslist)
    if len(systems) != 1:
        _refuse(f"it has {len(systems)} systems, FlashMD drives exactly one")
    if type(simulation.smotion) is not Smotion:
        kind = type(simulation.smotion).__name__
        _refuse(
            f"it has a <smotion> ({kind}: replica exchange, metadynamics, ...), "
            "which FlashMD does not support"
        )
    motion = systems[0].motion
    if type(motion) is not Dynamics:
        name = type(motion).__name__
        _refuse(
            f"its motion is {_MOTION_NAMES.get(name, name)}; FlashMD only replaces "
            "molecular dynamics (<motion mode='dynamics'>)"
        )
    check_dynamics(motion)
    return motion


def check_dynamics(motion: Dynamics) -> None:
    """Refuse i-PI dynamics that a FlashMD stride cannot replace.

    :param motion: a bound i-PI dynamics motion.
    :raises UnsupportedSimulationError: for path integrals (several beads), an
        ensemble other than NVE, NVT and NpT, multiple time stepping, the BAOAB
        splitting, fixed atoms, a bias, or a barostat other than the isotropic
        (Bussi-Zykova-Parrinello) and stochastic cell-rescaling ones.
    """
    nbeads = motion.beads.nbeads
    if nbeads != 1:
        _refuse(
            f"it is a path-integral simulation with {nbeads} beads; FlashMD "
            "predicts classical dynamics (nbeads=1)"
        )
    mode = motion.enstype
    if mode not in ENSEMBLES:
        _refuse(
            f"its dynamics mode is '{mode}'; FlashMD supports "
            + ", ".join(f"'{m}'" for m in ENSEMBLES)
        )
    levels = [int(n) for n in motion.nmts]
    if levels != [1]:
        _refuse(
            f"it uses multiple time stepping (nmts={levels}); a FlashMD stride "
            "never evaluates forces, so it has no force levels to split"
        )
    if mode != "nve" and motion.splitting != "obabo":
        _refuse(
            f"its splitting is '{motion.splitting}'; the thermostat can only act "
            "around a FlashMD stride, not inside it: use <dynamics "
            "splitting='obabo'>"
        )
    if len(motion.fixatoms_dof) > 0:
        _refuse("it fixes atoms (<fixatoms>), which a FlashMD stride would move")
    if motion.ensemble.has_bias:
        _refuse(
            "it has a bias potential (<bias>), whose forces a FlashMD stride "
            "cannot feel"
        )
    if mode == "npt" and type(motion.barostat) not in BAROSTATS:
        modes = ", ".join(f"'{m}'" for m in BAROSTATS.values())
        _refuse(
            f"its barostat ({type(motion.barostat).__name__}) is not supported; "
            f"FlashMD supports <barostat mode=...> {modes}"
        )


def check_timestep(motion: Dynamics, model_fs: float) -> None:
    """Refuse an i-PI timestep different from the model's stride.

    :param motion: the i-PI dynamics; its ``dt`` is in atomic units of time.
    :param model_fs: the model's stride, in fs.
    :raises UnsupportedSimulationError: when they differ (relative tolerance
        ``metatrain_flashmd.ase.base.TIMESTEP_RTOL``).
    """
    given_fs = time_to_fs(motion.dt)
    if not math.isclose(given_fs, model_fs, rel_tol=TIMESTEP_RTOL):
        _refuse(
            f"the i-PI timestep is {given_fs:.6g} fs, but this FlashMD model "
            f"predicts strides of {model_fs:.6g} fs: set <timestep "
            f"units='femtosecond'> {model_fs:g} </timestep> in <dynamics>"
        )
