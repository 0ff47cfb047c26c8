"""FlashMD runs of a validation, through the package's own ASE integrators, with a
guard that stops a run that blows up.

A run is ``nvt`` (the package's Langevin or Bussi integrator), ``nve`` (velocity
Verlet without energy rescaling) or ``nve_rescaled`` (with it, which needs the
reference calculator). A frame is recorded at time 0 and after every stride, with
the potential energy when a calculator is attached.
"""

import dataclasses
import time
from typing import Any, List, Optional

import ase
import ase.units
import numpy as np

from metatrain_flashmd.ase import Bussi, Langevin, VelocityVerlet
from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike, Predictor
from metatrain_flashmd.ase.guard import TrainingGuard
from metatrain_flashmd.ase.verlet import EnergyConservationError
from metatrain_flashmd.observables.temperature import element_temperatures
from metatrain_flashmd.observables.trajectory import Trajectory, trajectory_from_atoms
from metatrain_flashmd.validation.reference import at_rest


RUN_KINDS = ("nvt", "nve", "nve_rescaled")
"""The FlashMD runs a validation can make."""
BLOWUP_FACTOR = 5.0
"""A run stops when an element's temperature exceeds this multiple of the
validation temperature, or positions or momenta stop being finite."""


@dataclasses.dataclass
class FlashMDRun:
    """One FlashMD run."""

    kind: str
    """One of :data:`RUN_KINDS`."""
    trajectory: Trajectory
    """Its frames, one per stride."""
    stopped: str
    """Why it stopped before the end ("" when it did not)."""
    wall_s: float
    """Wall-clock time of the strides, s."""


def make_dynamics(
    atoms: ase.Atoms,
    model: ModelLike,
    kind: str,
    temperature_K: float,
    thermostat: str,
    time_constant_fs: float,
    rng: np.random.Generator,
    device: Optional[str],
) -> FlashMDDynamics:
    """The package's integrator for a run of ``kind``."""
    options = dict(device=device, rng=rng)
    if kind == "nvt":
        cls = Bussi if thermostat == "bussi" else Langevin
        return cls(
            atoms,
            model,
            temperature_K=temperature_K,
            time_constant=time_constant_fs * ase.units.fs,
            **options,
        )
    return VelocityVerlet(
        atoms, model, conserve_energy=kind == "nve_rescaled", **options
    )


def blowup(atoms: ase.Atoms, temperature_K: float) -> str:
    """Why the run must stop ("" when it need not)."""
    positions, momenta = atoms.positions, atoms.get_momenta()
    if not (np.isfinite(positions).all() and np.isfinite(momenta).all()):
        return "positions or momenta are no longer finite"
    temperatures = element_temperatures(atoms.numbers, atoms.get_masses(), momenta)
    hottest = max(temperatures, key=lambda symbol: float(temperatures[symbol]))
    value = float(temperatures[hottest])
    if value > BLOWUP_FACTOR * temperature_K:
        return (
            f"{hottest} reached {value:.0f} K, over {BLOWUP_FACTOR:g} times "
            f"{temperature_K:g} K"
        )
    return ""


def run_flashmd(
    model: ModelLike,
    start: ase.Atoms,
    kind: str,
    strides: int,
    temperature_K: float,
    thermostat: str = "langevin",
    time_constant_fs: float = 100.0,
    calculator: Any = None,
    rng: Optional[np.random.Generator] = None,
    device: Optional[str] = None,
    predictor: Optional[Predictor] = None,
) -> FlashMDRun:
    """Run ``strides`` FlashMD strides of ``kind`` from ``start``.

    :param model: the exported FlashMD model.
    :param start: positions and momenta to start from (the centre of mass is
        brought to rest, as in the reference run).
    :param kind: one of :data:`RUN_KINDS`.
    :param strides: number of strides.
    :param temperature_K: bath temperature (NVT) and scale of the blow-up guard, K.
    :param thermostat: NVT: ``langevin`` or ``bussi``.
    :param time_constant_fs: NVT: the thermostat's time constant, fs.
    :param calculator: reference calculator, for potential energies (and needed
        by ``nve_rescaled``).
    :param rng: random generator of the thermostat.
    :param device: torch device of the model.
    :param predictor: each stride's positions and momenta instead of the
        model's (:meth:`~metatrain_flashmd.ase.base.FlashMDDynamics.predict_with`),
        with the training guard off: the integrator with exact strides, as the
        NVT reference (:mod:`~metatrain_flashmd.validation.reference_nvt`).
    """
    atoms = at_rest(start.copy())
    atoms.calc = calculator
    dynamics = make_dynamics(
        atoms,
        model,
        kind,
        temperature_K,
        thermostat,
        time_constant_fs,
        np.random.default_rng() if rng is None else rng,
        device,
    )
    if predictor is None:
        return _record(kind, dynamics, strides, temperature_K)
    dynamics.guard = TrainingGuard(None)
    with dynamics.predict_with(predictor):
        return _record(kind, dynamics, strides, temperature_K)


def _record(
    kind: str, dynamics: FlashMDDynamics, strides: int, temperature_K: float
) -> FlashMDRun:
    """Run ``dynamics`` for ``strides`` strides, a frame (with the potential
    energy when its atoms have a calculator) at time 0 and after each stride,
    stopping at a blow-up (:func:`blowup`) or a failed energy rescaling."""
    atoms, nan = dynamics.atoms, float("nan")
    frames: List[ase.Atoms] = []
    energies: List[float] = []
    stopped = ""
    begin = time.perf_counter()
    try:
        for _ in dynamics.irun(strides):
            frame = atoms.copy()
            frame.calc = None
            frame.set_momenta(atoms.get_momenta(), apply_constraint=False)
            stopped = blowup(frame, temperature_K) if dynamics.nsteps else ""
            if stopped:
                break
            frames.append(frame)
            energy = atoms.get_potential_energy() if atoms.calc is not None else nan
            energies.append(float(energy))
    except EnergyConservationError as error:
        stopped = str(error)
    wall = time.perf_counter() - begin
    if stopped:
        stride_ps = dynamics.model_timestep_fs / 1000.0
        stopped = f"stopped after {len(frames) * stride_ps:.3g} ps: {stopped}"
    times = dynamics.model_timestep_fs * np.arange(len(frames))
    trajectory = trajectory_from_atoms(frames, times, energies, momentum_fixed=True)
    return FlashMDRun(kind, trajectory, stopped, wall)
