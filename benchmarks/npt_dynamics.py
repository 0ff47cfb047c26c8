"""Constant-pressure dynamics of the NpT benchmark (``npt.py``): the EMT reference
(velocity Verlet with the package's stochastic cell rescaling) and the FlashMD runs
(:class:`metatrain_flashmd.ase.LangevinNPT`), recorded as arrays, and the block
statistics they are compared with.

Units: volumes in A^3, lengths in A, pressures in GPa, times in fs, temperatures in
K, momenta in (eV*u)^(1/2).
"""

import dataclasses
import math
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import ase
import ase.io
import ase.units
import numpy as np
from ase.calculators.emt import EMT
from ase.md.md import MolecularDynamics
from ase.md.verlet import VelocityVerlet
from common import cpu_timed

from metatrain_flashmd.ase import Langevin, LangevinNPT
from metatrain_flashmd.ase.barostat import BarostatError, StochasticCellRescaling
from metatrain_flashmd.observables.temperature import element_temperatures


@dataclasses.dataclass
class Barostat:
    """Settings of the barostat and thermostat shared by every NpT run."""

    pressure_gpa: float
    time_constant_fs: float
    """Barostat relaxation time, fs."""
    compressibility_per_gpa: float
    thermostat_fs: float
    """Langevin time constant of the reference and FlashMD runs, fs."""

    def scr(self, temperature_K: float, rng: np.random.Generator):
        """The package's stochastic cell rescaling with these settings (momenta
        scaled relative to the centre of mass)."""
        return StochasticCellRescaling(
            self.pressure_gpa * ase.units.GPa,
            temperature_K,
            self.time_constant_fs * ase.units.fs,
            self.compressibility_per_gpa / ase.units.GPa,
            True,
            rng.standard_normal,
        )


class EMTNpT(MolecularDynamics):
    """Reference NpT with EMT: per step of ``every`` fs, a Langevin half-step
    (exact Ornstein-Uhlenbeck update, total momentum kept), half the cell move of
    the stochastic cell rescaling, ``every`` velocity-Verlet steps of 1 fs, the
    other half, the second Langevin half-step; without ``thermostat``, no Langevin
    (the trajectories the training pairs come from: Hamiltonian between cell
    moves). A cell move costs EMT two calls with a new neighbour list, so the
    barostat acts every few femtoseconds (its error is of order
    ``(every / tau)^(3/2)`` per move).

    :param atoms: the system with momenta and ``FixCom``; EMT is attached.
    :param barostat: the settings.
    :param temperature_K: bath temperature, K.
    :param thermostat: use the Langevin half-steps.
    :param rng: random generator of the thermostat and barostat.
    :param every: velocity-Verlet steps (fs) per barostat move.
    """

    def __init__(
        self,
        atoms: ase.Atoms,
        barostat: Barostat,
        temperature_K: float,
        thermostat: bool,
        rng: np.random.Generator,
        every: int = 1,
    ) -> None:
        atoms.calc = EMT()
        super().__init__(atoms, timestep=every * ase.units.fs)
        self.every = every
        self.verlet = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
        self.scr = barostat.scr(temperature_K, rng)
        self.rng = rng
        self.kt = ase.units.kB * temperature_K
        self.tau = barostat.thermostat_fs * ase.units.fs if thermostat else None

    def ornstein_uhlenbeck(self) -> None:
        """Langevin over half a step, momentum change of zero sum."""
        if self.tau is None:
            return
        masses = self.masses
        momenta = self.atoms.get_momenta()
        c = math.exp(-0.5 * self.dt / self.tau)
        noise = self.rng.standard_normal(momenta.shape)
        change = (c - 1) * momenta + np.sqrt((1 - c * c) * self.kt * masses) * noise
        change -= masses * change.sum(axis=0) / masses.sum()
        self.atoms.set_momenta(momenta + change)

    def step(self) -> None:
        self.ornstein_uhlenbeck()
        half = self.scr.draw(self.atoms, self.dt) ** 0.5
        self.scr.scale(self.atoms, half)
        for _ in range(self.every):
            self.verlet.step()
        self.scr.scale(self.atoms, half)
        self.scr.finish(self.atoms)
        self.ornstein_uhlenbeck()


@dataclasses.dataclass
class Record:
    """Observables of a run, one row per recorded frame."""

    time_fs: List[float] = dataclasses.field(default_factory=list)
    volume: List[float] = dataclasses.field(default_factory=list)
    temperature: Dict[str, List[float]] = dataclasses.field(default_factory=dict)
    wall_s: float = float("nan")
    note: str = ""
    """Why the run stopped early, if it did."""
    clock_s: List[float] = dataclasses.field(default_factory=list)
    """Wall-clock time of each record, s (its differences time the steps)."""

    def add(self, time_fs: float, atoms: ase.Atoms) -> None:
        """Record ``atoms`` at ``time_fs``: volume and per-element temperatures
        (total momentum fixed)."""
        self.time_fs.append(time_fs)
        self.clock_s.append(time.perf_counter())
        self.volume.append(atoms.get_volume())
        values = element_temperatures(
            atoms.numbers, atoms.get_masses(), atoms.get_momenta(), True
        )
        for symbol, value in values.items():
            self.temperature.setdefault(symbol, []).append(float(value))

    def save(self, path: Path) -> None:
        """Write to ``path`` (.npz) atomically (stages skip existing outputs)."""
        arrays = {"time_fs": self.time_fs, "volume": self.volume}
        arrays["clock_s"] = self.clock_s
        arrays.update({f"T_{k}": v for k, v in self.temperature.items()})
        temporary = path.with_suffix(".partial.npz")
        np.savez(temporary, wall_s=self.wall_s, note=self.note, **arrays)
        os.replace(temporary, path)


def load_record(path: Path) -> Record:
    """Read a :class:`Record` written by :meth:`Record.save`."""
    with np.load(path) as data:
        temperatures = {k[2:]: list(data[k]) for k in data.files if k[:2] == "T_"}
        return Record(
            list(data["time_fs"]),
            list(data["volume"]),
            temperatures,
            float(data["wall_s"]),
            str(data["note"]) if "note" in data.files else "",
            list(data["clock_s"]) if "clock_s" in data.files else [],
        )


def run_recorded(
    dynamics: MolecularDynamics, steps: int, interval: int, frames: Optional[list]
) -> Record:
    """Run ``dynamics`` for ``steps`` steps, recording every ``interval`` (and
    appending copies with momenta and ``time_fs`` to ``frames`` if given)."""
    record = Record()
    atoms = dynamics.atoms

    def observe() -> None:
        time_fs = dynamics.get_time() / ase.units.fs
        record.add(time_fs, atoms)
        if frames is not None:
            frame = atoms.copy()
            frame.calc = None
            frame.set_momenta(atoms.get_momenta())
            frame.info["time_fs"] = time_fs
            frames.append(frame)

    dynamics.attach(observe, interval=interval)
    begin = time.perf_counter()
    try:
        dynamics.run(steps)
    except BarostatError as error:  # a model gone wrong: keep what was run
        record.note = f"stopped after {len(record.volume)} records: {error}"
    record.wall_s = time.perf_counter() - begin
    return record


def emt_npt(
    start: ase.Atoms,
    barostat: Barostat,
    temperature_K: float,
    duration_fs: float,
    interval_fs: int,
    seed: int,
    thermostat: bool = True,
    extxyz: Optional[Path] = None,
    every: int = 1,
) -> Record:
    """An EMT NpT run (:class:`EMTNpT`, a barostat move every ``every`` fs) from
    ``start``, a record every ``interval_fs`` (a multiple of ``every``); with
    ``extxyz``, its frames (with momenta, cell and ``time_fs``) are written there
    for the pairs."""
    atoms = start.copy()
    atoms.set_momenta(start.get_momenta())
    rng = np.random.default_rng(seed)
    dynamics = EMTNpT(atoms, barostat, temperature_K, thermostat, rng, every)
    frames: Optional[list] = [] if extxyz is not None else None
    steps = int(round(duration_fs / every))
    record = run_recorded(dynamics, steps, interval_fs // every, frames)
    if extxyz is not None:
        temporary = extxyz.with_name(extxyz.stem + ".partial.extxyz")
        ase.io.write(temporary, frames, format="extxyz")
        os.replace(temporary, extxyz)
    return record


def flashmd_dynamics(
    model: Path,
    start: ase.Atoms,
    barostat: Optional[Barostat],
    temperature_K: float,
    seed: int,
    thermostat_fs: float = 100.0,
) -> MolecularDynamics:
    """FlashMD Langevin dynamics on a copy of ``start``: NpT with the EMT stress
    when ``barostat`` is given, NVT without a calculator otherwise."""
    atoms = start.copy()
    atoms.set_momenta(start.get_momenta())
    options = dict(
        temperature_K=temperature_K,
        time_constant=thermostat_fs * ase.units.fs,
        rng=np.random.default_rng(seed),
    )
    if barostat is None:
        return Langevin(atoms, str(model), **options)
    atoms.calc = EMT()
    return LangevinNPT(
        atoms,
        str(model),
        pressure_au=barostat.pressure_gpa * ase.units.GPa,
        barostat_time_constant=barostat.time_constant_fs * ase.units.fs,
        compressibility_au=barostat.compressibility_per_gpa / ase.units.GPa,
        **options,
    )


def flashmd_run(
    model: Path,
    start: ase.Atoms,
    barostat: Optional[Barostat],
    temperature_K: float,
    duration_fs: float,
    seed: int,
) -> Record:
    """A FlashMD run (:func:`flashmd_dynamics`) of ``duration_fs``; a record per
    stride."""
    dynamics = flashmd_dynamics(model, start, barostat, temperature_K, seed)
    steps = int(round(duration_fs / dynamics.model_timestep_fs))
    return run_recorded(dynamics, steps, 1, None)


def block_mean(values: np.ndarray, blocks: int = 10) -> Dict[str, float]:
    """Mean, standard deviation and the standard error of the mean from ``blocks``
    block averages (blocks longer than the correlation time give an honest
    error)."""
    values = np.asarray(values, dtype=float)
    error = float("nan")
    if len(values) >= 2 * blocks:
        means = np.array([b.mean() for b in np.array_split(values, blocks)])
        error = float(means.std(ddof=1) / np.sqrt(blocks))
    return {
        "mean": float(values.mean()) if len(values) else float("nan"),
        "std": float(values.std()) if len(values) else float("nan"),
        "error": error,
        "samples": int(len(values)),
    }


def summary(record: Record, discard_fs: float) -> Dict[str, Dict[str, float]]:
    """Block statistics of the volume and each element's temperature after the
    first ``discard_fs``."""
    times = np.asarray(record.time_fs)
    keep = times >= times[0] + discard_fs
    result = {"volume": block_mean(np.asarray(record.volume)[keep])}
    for symbol, values in record.temperature.items():
        result[f"T_{symbol}"] = block_mean(np.asarray(values)[keep])
    return result


TIMING_ROUNDS = 9
"""Alternating rounds of :func:`time_strides`."""
TIMING_STRIDES = 20
"""Strides (and stress calls) per round."""


def time_strides(
    model: Path, start: ase.Atoms, barostat: Barostat, temperature_K: float
) -> Dict[str, Any]:
    """CPU time (s) of this process for one FlashMD stride in NVT and in NpT (EMT
    stress), and for one EMT stress call after a change of the cell (what a
    barostat step pays: a new neighbour list) made between the NVT strides, as in
    a step (back to back, the call is 0.5-1 ms cheaper: warm caches). Measured
    alternately in :data:`TIMING_ROUNDS` rounds of :data:`TIMING_STRIDES` after 3
    warm-up strides (medians of the rounds); and ``barostat``: within the NpT
    steps, their time minus that of the model's strides, the thermostat's
    half-steps and the calculator's stress calls (ASE's state checks included),
    i.e. the barostat's own arithmetic, measured in the same steps. CPU time
    rather than wall time: on a loaded machine the latter measures the other
    processes (run with one thread)."""
    systems = []
    for pressure in (None, barostat):
        dynamics = flashmd_dynamics(model, start, pressure, temperature_K, 0)
        dynamics.run(3)
        systems.append(dynamics)
    parts = _timed_parts(systems[1])
    stress_time = _stress_between_strides(systems[0], start)
    rounds: Dict[str, List[float]] = {"nvt": [], "npt": [], "stress": []}
    for _ in range(TIMING_ROUNDS):
        for name, dynamics in zip(("nvt", "npt"), systems):
            stress_time[0] = 0.0
            begin = time.process_time()
            dynamics.run(TIMING_STRIDES)
            elapsed = time.process_time() - begin - stress_time[0]
            rounds[name].append(elapsed / TIMING_STRIDES)
            if name == "nvt":
                rounds["stress"].append(stress_time[0] / TIMING_STRIDES)
    steps = TIMING_ROUNDS * TIMING_STRIDES
    result: Dict[str, Any] = {
        name: float(np.median(values)) for name, values in rounds.items()
    }
    npt_total = TIMING_STRIDES * sum(rounds["npt"])
    result["barostat"] = (npt_total - sum(parts.values())) / steps
    result["npt_parts"] = {name: value / steps for name, value in parts.items()}
    return result


def _stress_between_strides(dynamics: MolecularDynamics, start: ase.Atoms) -> list:
    """Attach to ``dynamics`` an EMT stress call on a copy of ``start`` whose cell
    changes by 1e-6 each time; the returned one-element list accumulates the
    calls' CPU time (s)."""
    stressed = start.copy()
    stressed.calc = EMT()
    elapsed = [0.0]

    def stress_call() -> None:
        factor = 1.0 + 1e-6 * (-1) ** int(dynamics.nsteps)
        stressed.set_cell(stressed.cell.array * factor, scale_atoms=True)
        begin = time.process_time()
        stressed.get_stress()
        elapsed[0] += time.process_time() - begin

    dynamics.attach(stress_call, interval=1)
    return elapsed


def _timed_parts(dynamics: MolecularDynamics) -> Dict[str, float]:
    """Wrap the stride, the thermostat and the calculator's ``get_property`` of
    ``dynamics`` so that each adds its CPU time (s) to the returned dict."""
    parts = {"stride": 0.0, "thermostat": 0.0, "stress": 0.0}
    dynamics.stride = cpu_timed(dynamics.stride, parts, "stride")
    dynamics.thermostat = cpu_timed(dynamics.thermostat, parts, "thermostat")
    calculator = dynamics.atoms.calc
    calculator.get_property = cpu_timed(calculator.get_property, parts, "stress")
    return parts
