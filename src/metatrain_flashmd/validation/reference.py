"""Reference molecular dynamics with ASE's own integrators: equilibration, and runs
recorded once per FlashMD stride.

The reference timestep is the stride divided by the smallest whole number of
substeps that keeps it at most ``max_timestep_fs``. NVT here uses ASE's Langevin
dynamics (friction 1 / time constant) or Bussi's stochastic velocity rescaling
at every reference step: the equilibration of a START without momenta (a
validation's NVT reference run is :mod:`.reference_nvt`'s, with the FlashMD
integrator's bath); NVE uses velocity Verlet. The total momentum is held at
zero by a :class:`~ase.constraints.FixCom` constraint, as FlashMD holds it.
"""

import math
from typing import Any, List, Optional, Tuple

import ase
import ase.units
import numpy as np
from ase.constraints import FixCom
from ase.md.md import MolecularDynamics
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from metatrain_flashmd.observables.trajectory import Trajectory, trajectory_from_atoms


EQUILIBRATION_TIME_CONSTANT_FS = 50.0
"""Time constant of the Langevin bath that equilibrates a start without momenta,
fs: strong coupling, so that a crystal started at its lattice sites settles in a
few hundred fs."""


def substeps(stride_fs: float, max_timestep_fs: float) -> Tuple[int, float]:
    """Reference steps per stride and the reference timestep (fs), at most
    ``max_timestep_fs``."""
    count = max(1, math.ceil(stride_fs / max_timestep_fs - 1e-9))
    return count, stride_fs / count


def at_rest(atoms: ase.Atoms) -> ase.Atoms:
    """``atoms`` (changed in place) with zero total momentum, held by a FixCom
    constraint: the centre-of-mass velocity is subtracted from every atom, the
    other motions are kept."""
    Stationary(atoms, preserve_temperature=False)
    atoms.set_constraint(FixCom())
    return atoms


class ReferenceStride:
    """One stride of reference velocity Verlet: ``count`` steps of
    ``timestep_fs`` with ``calculator``, the total momentum held at zero.

    Called with the atoms at t, it returns their positions (A) and momenta
    ((eV*u)^(1/2)) at t + stride, as a FlashMD model's prediction: the strides
    of the NVT reference (:mod:`.reference_nvt`) and the ends of the per-stride
    diagnostics' pairs (:mod:`.stride_pairs`). When a call starts where the last
    one ended (a bath changes momenta only), the calculator's forces carry over.
    """

    def __init__(
        self, start: ase.Atoms, calculator: Any, count: int, timestep_fs: float
    ) -> None:
        self.count = int(count)
        self.atoms = at_rest(start.copy())
        self.atoms.calc = calculator
        self.dynamics = integrator(self.atoms, "nve", timestep_fs)

    def __call__(self, atoms: ase.Atoms) -> Tuple[np.ndarray, np.ndarray]:
        self.atoms.set_positions(atoms.positions, apply_constraint=False)
        self.atoms.set_momenta(atoms.get_momenta(), apply_constraint=False)
        self.dynamics.run(self.count)
        return self.atoms.get_positions(), self.atoms.get_momenta()


def integrator(
    atoms: ase.Atoms,
    ensemble: str,
    timestep_fs: float,
    thermostat: str = "langevin",
    temperature_K: Optional[float] = None,
    time_constant_fs: float = 100.0,
    rng: Optional[np.random.Generator] = None,
) -> MolecularDynamics:
    """ASE's integrator for ``ensemble`` (``nvt`` or ``nve``).

    :param atoms: the system, with its calculator.
    :param timestep_fs: the timestep, fs.
    :param thermostat: NVT: ``langevin`` or ``bussi``.
    :param temperature_K: NVT: the bath temperature, K.
    :param time_constant_fs: NVT: the thermostat's time constant, fs.
    :param rng: NVT: the random generator of the bath.
    """
    timestep = timestep_fs * ase.units.fs
    if ensemble == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, timestep=timestep)
    if thermostat == "bussi":
        from ase.md.bussi import Bussi

        return Bussi(
            atoms,
            timestep,
            temperature_K=temperature_K,
            taut=time_constant_fs * ase.units.fs,
            rng=rng,
        )
    from ase.md.langevin import Langevin

    return Langevin(
        atoms,
        timestep=timestep,
        temperature_K=temperature_K,
        friction=1.0 / (time_constant_fs * ase.units.fs),
        fixcm=False,  # the FixCom constraint holds the total momentum
        rng=rng,
    )


def equilibrate(
    atoms: ase.Atoms,
    calculator: Any,
    temperature_K: float,
    duration_ps: float,
    max_timestep_fs: float,
    rng: np.random.Generator,
) -> ase.Atoms:
    """A start with momenta: Maxwell-Boltzmann momenta at ``temperature_K`` (zero
    total momentum), then Langevin dynamics with the reference for
    ``duration_ps`` (time constant :data:`EQUILIBRATION_TIME_CONSTANT_FS`).

    :return: a copy of ``atoms`` with the final positions and momenta, a FixCom
        constraint and no calculator.
    """
    atoms = atoms.copy()
    thermalize_momenta(atoms, temperature_K, rng=rng)
    at_rest(atoms)
    atoms.calc = calculator
    timestep = max_timestep_fs
    dynamics = integrator(
        atoms,
        "nvt",
        timestep,
        temperature_K=temperature_K,
        time_constant_fs=EQUILIBRATION_TIME_CONSTANT_FS,
        rng=rng,
    )
    dynamics.run(int(round(duration_ps * 1000.0 / timestep)))
    result = atoms.copy()
    result.set_momenta(atoms.get_momenta(), apply_constraint=False)
    result.calc = None
    return result


def run_reference(
    start: ase.Atoms,
    calculator: Any,
    ensemble: str,
    stride_fs: float,
    strides: int,
    max_timestep_fs: float,
    **bath: Any,
) -> Trajectory:
    """Reference MD from ``start`` (positions and momenta), a frame (with its
    potential energy) at time 0 and after every ``stride_fs``.

    :param start: the first frame.
    :param calculator: the reference calculator.
    :param ensemble: ``nvt`` or ``nve``.
    :param stride_fs: time between recorded frames, fs.
    :param strides: number of frames after the first.
    :param max_timestep_fs: largest reference timestep, fs.
    :param bath: NVT: ``thermostat``, ``temperature_K``, ``time_constant_fs`` and
        ``rng`` of :func:`integrator`.
    """
    count, timestep = substeps(stride_fs, max_timestep_fs)
    atoms = at_rest(start.copy())
    atoms.calc = calculator
    dynamics = integrator(atoms, ensemble, timestep, **bath)
    frames: List[ase.Atoms] = []
    energies: List[float] = []

    def record() -> None:
        frame = atoms.copy()
        frame.calc = None
        frame.set_momenta(atoms.get_momenta(), apply_constraint=False)
        frames.append(frame)
        energies.append(float(atoms.get_potential_energy()))

    dynamics.attach(record, interval=count)
    dynamics.run(strides * count)
    times = stride_fs * np.arange(len(frames))
    return trajectory_from_atoms(frames, times, energies, momentum_fixed=True)
