"""Run FlashMD molecular dynamics from files: the library behind ``mtt-flashmd md``.

:func:`run_md` reads a structure, sets its initial momenta, picks the integrator,
and writes a trajectory (with momenta) and a CSV log, flushed after every record so
that an interrupted run keeps what it wrote.
"""

import contextlib
import csv
import dataclasses
import logging
import pathlib
import time
from typing import IO, Any, List, Optional, Union

import ase
import ase.io
import ase.units
import numpy as np
from ase.calculators.calculator import Calculator
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io.trajectory import Trajectory
from metatomic.torch import AtomisticModel

from metatrain_flashmd._names import (
    ENERGY_CALCULATORS,
    FRAME_TIME_INFO_KEY,
    THERMOSTATS,
)
from metatrain_flashmd._progress import Progress
from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike, load_exported
from metatrain_flashmd.ase.bussi import Bussi
from metatrain_flashmd.ase.langevin import Langevin
from metatrain_flashmd.ase.npt import (
    make_npt_integrator,
    npt_log_columns,
    npt_log_values,
)
from metatrain_flashmd.ase.structure import read_structure
from metatrain_flashmd.ase.verlet import VelocityVerlet
from metatrain_flashmd.observables.temperature import atoms_element_temperatures


Path = Union[str, pathlib.Path]
SECONDS_PER_DAY = 86400.0
STEP_INFO_KEY = "step"
"""Info key of the written frames: the number of strides run before the frame."""


@dataclasses.dataclass
class MDSummary:
    """What a :func:`run_md` run did."""

    steps: int
    """Strides completed."""
    timestep_fs: float
    """The model's stride, fs."""
    wall_time_s: float
    """Wall-clock time of the strides (with writing), s."""
    mean_temperature: float
    """Mean temperature after each stride, K (NaN without strides)."""

    @property
    def simulated_ps(self) -> float:
        """Simulated time, ps."""
        return self.steps * self.timestep_fs / 1000.0

    @property
    def ps_per_day(self) -> float:
        """Speed: simulated ps per day of wall-clock time."""
        if self.wall_time_s <= 0:
            return float("nan")
        return self.simulated_ps * SECONDS_PER_DAY / self.wall_time_s


class CSVLog:
    """Observer writing one CSV row per call: step, time, temperatures, energies.

    :param file: open text file to write to.
    :param dynamics: the integrator (for the step and time).
    :param energy: whether ``atoms.calc`` gives the potential energy.
    """

    def __init__(self, file: IO[str], dynamics: FlashMDDynamics, energy: bool) -> None:
        self.file = file
        self.dynamics = dynamics
        self.energy = energy
        self.thermostat = isinstance(dynamics, (Langevin, Bussi))
        self.writer = csv.writer(file)
        symbols = atoms_element_temperatures(dynamics.atoms)
        header = ["step", "time_ps", "temperature_K"]
        header += [f"temperature_{symbol}_K" for symbol in symbols]
        header += ["kinetic_energy_eV"]
        if energy:
            header += ["potential_energy_eV", "total_energy_eV"]
        if self.thermostat:
            header += ["bath_energy_eV"]
        header += npt_log_columns(dynamics)
        self.writer.writerow(header)

    def __call__(self) -> None:
        atoms = self.dynamics.atoms
        kinetic = atoms.get_kinetic_energy()
        row: List[Any] = [
            self.dynamics.nsteps,
            self.dynamics.get_time() / (1000 * ase.units.fs),
            atoms.get_temperature(),
        ]
        row += list(atoms_element_temperatures(atoms).values())
        row += [kinetic]
        if self.energy:
            potential = atoms.get_potential_energy()
            row += [potential, potential + kinetic]
        if self.thermostat:
            row += [self.dynamics.bath_energy]
        row += npt_log_values(self.dynamics)
        self.writer.writerow([f"{value:.10g}" for value in row])
        self.file.flush()


class FrameWriter:
    """Observer appending the current frame (with momenta, time and, when known,
    potential energy) to a trajectory file: ``.traj`` (ASE) or ``.xyz``/``.extxyz``.

    :param path: the trajectory file (overwritten).
    :param dynamics: the integrator.
    :param energy: whether ``atoms.calc`` gives the potential energy.
    :param stack: where to register the file for closing.
    """

    def __init__(
        self,
        path: Path,
        dynamics: FlashMDDynamics,
        energy: bool,
        stack: contextlib.ExitStack,
    ) -> None:
        suffix = pathlib.Path(path).suffix.lower()
        self.dynamics = dynamics
        self.energy = energy
        if suffix == ".traj":
            self.trajectory = stack.enter_context(Trajectory(str(path), "w"))
            self.file = None
        elif suffix in (".xyz", ".extxyz"):
            self.trajectory = None
            self.file = stack.enter_context(open(path, "w"))
        else:
            raise ValueError(
                f"unsupported trajectory format '{suffix}': use .extxyz, .xyz or .traj"
            )

    def __call__(self) -> None:
        atoms = self.dynamics.atoms
        frame = atoms.copy()
        frame.info[FRAME_TIME_INFO_KEY] = self.dynamics.get_time() / ase.units.fs
        frame.info[STEP_INFO_KEY] = self.dynamics.nsteps
        if self.energy:
            energy = atoms.get_potential_energy()
            frame.calc = SinglePointCalculator(frame, energy=energy)
        if self.trajectory is not None:
            self.trajectory.write(frame)
        else:
            ase.io.write(self.file, frame, format="extxyz")
            self.file.flush()


def loaded_energy_model(energy_model: Union[Path, AtomisticModel]) -> AtomisticModel:
    """The metatomic energy model, loaded from its file when given a path (one
    loaded model can serve the calculators of many replicas)."""
    if isinstance(energy_model, AtomisticModel):
        return energy_model
    if not pathlib.Path(energy_model).is_file():
        raise FileNotFoundError(f"no energy model at '{energy_model}'")
    return load_exported(str(energy_model))


def energy_calculator_for(
    energy_model: Optional[Union[Path, AtomisticModel]],
    energy_calculator: Optional[str],
    device: Any,
) -> Optional[Calculator]:
    """The calculator giving potential energies, if any.

    :param energy_model: path of a metatomic model with an ``energy`` output, or
        the model loaded.
    :param energy_calculator: name of an ASE calculator (``"emt"``).
    :param device: torch device for ``energy_model``.
    """
    if energy_model is not None and energy_calculator is not None:
        raise ValueError("give either an energy model or an energy calculator")
    if energy_model is not None:
        from metatomic_ase import MetatomicCalculator

        return MetatomicCalculator(
            loaded_energy_model(energy_model),
            device=device,
            do_gradients_with_energy=False,
        )
    if energy_calculator is None:
        return None
    if energy_calculator.lower() == "emt":
        from ase.calculators.emt import EMT

        return EMT()
    raise ValueError(
        f"unknown energy calculator '{energy_calculator}', "
        f"choose from {', '.join(ENERGY_CALCULATORS)}"
    )


def make_integrator(
    atoms: ase.Atoms,
    model: ModelLike,
    thermostat: str,
    temperature_K: Optional[float],
    time_constant_fs: float,
    equipartition_time_fs: Optional[float] = None,
    **kwargs: Any,
) -> FlashMDDynamics:
    """The integrator for ``thermostat`` (``none``, ``langevin`` or ``bussi``); NVE
    conserves the energy exactly when ``atoms.calc`` is set.

    :param atoms: the system.
    :param model: the exported FlashMD model.
    :param thermostat: the thermostat's name.
    :param temperature_K: the bath temperature, K.
    :param time_constant_fs: the thermostat's time constant, fs.
    :param equipartition_time_fs: NVE only: time constant (fs) of the kinetic
        energy exchange between elements; none when ``None``.
    :param kwargs: passed to the integrator.
    """
    if thermostat == "none":
        conserve = atoms.calc is not None
        equipartition_time = None
        if equipartition_time_fs is not None:
            equipartition_time = equipartition_time_fs * ase.units.fs
        return VelocityVerlet(
            atoms,
            model,
            conserve_energy=conserve,
            equipartition_time=equipartition_time,
            **kwargs,
        )
    if equipartition_time_fs is not None:
        raise ValueError(
            "--equipartition-time is for NVE (--thermostat none); the "
            f"{thermostat} thermostat already acts on every element"
        )
    if thermostat not in THERMOSTATS:
        raise ValueError(
            f"unknown thermostat '{thermostat}', choose from {', '.join(THERMOSTATS)}"
        )
    if temperature_K is None:
        raise ValueError(f"the {thermostat} thermostat needs a temperature")
    options = dict(
        temperature_K=temperature_K, time_constant=time_constant_fs * ase.units.fs
    )
    if thermostat == "langevin":
        return Langevin(atoms, model, **options, **kwargs)
    return Bussi(atoms, model, **options, **kwargs)


def run_md(
    model: ModelLike,
    structure: Union[Path, ase.Atoms],
    steps: int,
    output: Path,
    *,
    temperature_K: Optional[float] = None,
    thermostat: str = "none",
    time_constant_fs: float = 100.0,
    equipartition_time_fs: Optional[float] = None,
    energy_model: Optional[Path] = None,
    energy_calculator: Optional[str] = None,
    random_rotation: bool = False,
    seed: Optional[int] = None,
    device: Optional[str] = None,
    log: Optional[Path] = None,
    interval: int = 1,
    progress: bool = False,
    structure_format: Optional[str] = None,
    pressure_GPa: Optional[float] = None,
    barostat_time_fs: float = 1000.0,
    compressibility_per_GPa: float = 0.01,
    cell: str = "isotropic",
) -> MDSummary:
    """Run ``steps`` FlashMD strides from ``structure``, writing ``output``.

    :param model: the exported FlashMD model (``.pt`` path or loaded).
    :param structure: structure file (its last frame is used) or atoms; momenta in
        (eV*u)^(1/2) are taken from it when present.
    :param steps: number of strides (each of the model's timestep).
    :param output: trajectory file (``.extxyz``, ``.xyz`` or ``.traj``), overwritten;
        frames carry momenta, ``time_fs`` (fs) and ``step``.
    :param temperature_K: temperature (K) of the thermostat and of the initial
        Maxwell-Boltzmann momenta when the structure has none.
    :param thermostat: ``"none"`` (NVE), ``"langevin"`` or ``"bussi"``.
    :param time_constant_fs: thermostat time constant, fs.
    :param equipartition_time_fs: in NVE, time constant (fs) of the kinetic energy
        exchange of :class:`~metatrain_flashmd.ase.VelocityVerlet` (none if ``None``).
    :param energy_model: metatomic model giving potential energies (eV), for the
        log and, in NVE, exact energy conservation.
    :param energy_calculator: ``"emt"`` for ASE's EMT instead of ``energy_model``.
    :param random_rotation: randomly rotate the system around each stride.
    :param seed: seed of the random generator (momenta, rotations, thermostat).
    :param device: torch device (``"cpu"``, ``"cuda"``); ``None`` picks one.
    :param log: CSV log file (step, time, temperatures, energies), overwritten.
    :param interval: write a frame and a log row every ``interval`` strides.
    :param progress: show progress on standard error (a bar, or lines if no terminal).
    :param structure_format: ASE format name of ``structure`` (guessed from its
        name when ``None``).
    :param pressure_GPa: external pressure, GPa: switches constant pressure (NpT)
        on, with :class:`~metatrain_flashmd.ase.LangevinNPT` or
        :class:`~metatrain_flashmd.ase.BussiNPT` (a thermostat and an energy
        model or calculator giving the stress are then needed); the log gains the
        volume, cell lengths, pressure and barostat energy.
    :param barostat_time_fs: the barostat's relaxation time, fs.
    :param compressibility_per_GPa: the barostat's estimate of the isothermal
        compressibility, 1/GPa.
    :param cell: cell fluctuations at constant pressure: ``"isotropic"`` or
        ``"anisotropic"`` (orthorhombic cells); ``"flexible"`` is refused.
    :return: what the run did.
    """
    if steps < 0 or interval < 1:
        raise ValueError("steps must be >= 0 and interval >= 1")
    rng = np.random.default_rng(seed)
    atoms = read_structure(
        structure,
        temperature_K,
        rng,
        file_format=structure_format,
        thermostat=thermostat,
    )
    atoms.calc = energy_calculator_for(energy_model, energy_calculator, device)
    options = dict(device=device, random_rotation=random_rotation, rng=rng)
    options["equipartition_time_fs"] = equipartition_time_fs
    if pressure_GPa is not None:
        dynamics = make_npt_integrator(
            atoms,
            model,
            thermostat,
            temperature_K,
            time_constant_fs,
            pressure_GPa,
            barostat_time_fs,
            compressibility_per_GPa,
            cell,
            **options,
        )
        return run_and_record(dynamics, steps, output, log, interval, progress)
    dynamics = make_integrator(
        atoms, model, thermostat, temperature_K, time_constant_fs, **options
    )
    return run_and_record(dynamics, steps, output, log, interval, progress)


def run_and_record(
    dynamics: FlashMDDynamics,
    steps: int,
    output: Path,
    log: Optional[Path],
    interval: int,
    progress: bool,
) -> MDSummary:
    """Run ``steps`` strides of ``dynamics``, writing a frame and a log row every
    ``interval`` strides, and close the files and the integrator after.

    :param dynamics: the integrator, whose ``atoms.calc`` (if any) gives the
        potential energy (eV) to record.
    :param steps: number of strides.
    :param output: trajectory file (``.extxyz``, ``.xyz`` or ``.traj``).
    :param log: CSV log file, or ``None``.
    :param interval: strides between records.
    :param progress: show progress on standard error.
    """
    logging.info(
        f"FlashMD {type(dynamics).__name__}: {steps} strides of "
        f"{dynamics.model_timestep_fs:g} fs, {len(dynamics.atoms)} atoms"
    )
    energy = dynamics.atoms.calc is not None
    with contextlib.ExitStack() as stack:
        stack.callback(dynamics.close)
        dynamics.attach(FrameWriter(output, dynamics, energy, stack), interval)
        if log is not None:
            file = stack.enter_context(open(log, "w", newline=""))
            dynamics.attach(CSVLog(file, dynamics, energy), interval)
        return _run(dynamics, steps, progress)


def _run(dynamics: FlashMDDynamics, steps: int, progress: bool) -> MDSummary:
    """Run the strides, showing progress (a bar on a terminal, a few lines
    otherwise); the mean temperature and speed."""
    timestep_fs = dynamics.model_timestep_fs
    temperatures = []
    with Progress(steps, "stride", enabled=progress, leave=False) as report:
        start = time.perf_counter()
        for _ in dynamics.irun(steps):
            if dynamics.nsteps == 0:
                start = time.perf_counter()
                report.restart_clock()
                continue
            temperatures.append(dynamics.atoms.get_temperature())
            elapsed = time.perf_counter() - start
            speed = dynamics.nsteps * timestep_fs / 1000 * SECONDS_PER_DAY / elapsed
            report.update(1, ps_per_day=f"{speed:.4g}", T=f"{temperatures[-1]:.1f}K")
        elapsed = time.perf_counter() - start
    return MDSummary(
        steps=len(temperatures),
        timestep_fs=timestep_fs,
        wall_time_s=elapsed,
        mean_temperature=float(np.mean(temperatures)) if temperatures else np.nan,
    )
