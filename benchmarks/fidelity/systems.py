"""The benchmark systems and their reference molecular dynamics with ASE's EMT.

Units: positions in A, momenta in (eV*u)^(1/2), masses in u, energies in eV, times
in fs unless a name says otherwise, temperatures in K.
"""

import dataclasses
import os
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import ase
import ase.build
import ase.data
import ase.io
import ase.units
import numpy as np
from ase.calculators.emt import EMT
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet


@dataclasses.dataclass(frozen=True)
class System:
    """One benchmark case: a structure at a temperature, and the FlashMD strides."""

    name: str
    """Short name used on the command line and for files (``al300``)."""
    build: Callable[[], ase.Atoms]
    """Returns the 0 K starting crystal."""
    temperature: float
    """Temperature of the equilibration and of the thermostat, K."""
    strides_fs: Tuple[int, ...]
    """FlashMD strides to train and test, fs."""
    label: str
    """Description for the report."""
    melt_temperature: Optional[float] = None
    """When set, each equilibration starts with 1 ps of Langevin dynamics at this
    temperature (K), which melts the crystal; the system is then a liquid at
    ``temperature``."""
    extra_starts: Tuple[Dict[str, float], ...] = ()
    """Extra EMT NVE training trajectories, one per entry: an equilibrated start
    whose momenta are rescaled to these per-element temperatures (K, by chemical
    symbol), so that the training data also covers elements out of equipartition
    (the states a drifting NVE model visits)."""
    warm_start: Optional[str] = None
    """Train by fine-tuning every parameter of this system's final model of the same
    stride (its reference data, generated with the same seeds, are reused)."""


def fcc_aluminium(repeat: int = 3) -> ase.Atoms:
    """fcc Al, 4 * repeat^3 atoms (108 for repeat 3), lattice parameter 4.05 A."""
    return ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(repeat)


def _cu3au_cell(a: float) -> ase.Atoms:
    """The 4-atom cubic L1_2 Cu3Au cell with lattice parameter ``a`` (A)."""
    return ase.Atoms(
        "AuCu3",
        scaled_positions=[(0, 0, 0), (0.5, 0.5, 0), (0.5, 0, 0.5), (0, 0.5, 0.5)],
        cell=[a, a, a],
        pbc=True,
    )


def emt_lattice_parameter(
    make: Callable[[float], ase.Atoms], low: float, high: float
) -> float:
    """The lattice parameter (A) minimising the EMT energy of ``make(a)`` on
    [``low``, ``high``], by a parabola through a fine scan (0 K, no relaxation)."""
    grid = np.linspace(low, high, 25)
    energies = []
    for a in grid:
        atoms = make(a)
        atoms.calc = EMT()
        energies.append(atoms.get_potential_energy())
    best = int(np.argmin(energies))
    window = slice(max(best - 3, 0), min(best + 4, len(grid)))
    coefficients = np.polyfit(grid[window], np.array(energies)[window], 2)
    return float(-coefficients[1] / (2 * coefficients[0]))


def copper_gold(repeat: int = 3) -> ase.Atoms:
    """Ordered L1_2 Cu3Au (81 Cu + 27 Au for repeat 3; masses 63.5 and 197 u) at
    the EMT 0 K lattice parameter."""
    a = emt_lattice_parameter(_cu3au_cell, 3.6, 3.9)
    return _cu3au_cell(a).repeat(repeat)


SYSTEMS: Dict[str, System] = {
    system.name: system
    for system in [
        System("al300", fcc_aluminium, 300.0, (16, 32, 64), "fcc Al, 108 atoms, 300 K"),
        System("al600", fcc_aluminium, 600.0, (16, 32, 64), "fcc Al, 108 atoms, 600 K"),
        System(
            "cuau600", copper_gold, 600.0, (16, 32), "L1_2 Cu3Au, 81 Cu + 27 Au, 600 K"
        ),
        System(
            "cuau600wide",
            copper_gold,
            600.0,
            (16, 32),
            "L1_2 Cu3Au, 600 K, training data widened to elements out of "
            "equipartition, fine-tuned from cuau600",
            extra_starts=(
                {"Cu": 300.0, "Au": 1800.0},
                {"Cu": 1000.0, "Au": 300.0},
                {"Cu": 600.0, "Au": 1200.0},
            ),
            warm_start="cuau600",
        ),
        System(
            "alliq",
            fcc_aluminium,
            1400.0,
            (16, 32),
            "liquid Al, 108 atoms, 1400 K (melted at 3000 K)",
            melt_temperature=3000.0,
        ),
    ]
}


MELT_FS = 1000.0
"""Length of the melting run of the liquid systems (``System.melt_temperature``), fs."""


def equilibrated_start(system: System, duration_fs: float, seed: int) -> ase.Atoms:
    """The system's crystal, melted first if it is a liquid
    (``System.melt_temperature``, seed ``seed + 100``), then equilibrated at its
    temperature for ``duration_fs`` (see :func:`equilibrate`)."""
    atoms = system.build()
    if system.melt_temperature is not None:
        atoms = equilibrate(atoms, system.melt_temperature, MELT_FS, seed=seed + 100)
    return equilibrate(atoms, system.temperature, duration_fs, seed=seed)


def with_element_temperatures(
    atoms: ase.Atoms, temperatures: Dict[str, float]
) -> ase.Atoms:
    """A copy of ``atoms`` whose momenta of each element given in ``temperatures``
    (K, by chemical symbol) are scaled, around that element's centre of mass, to
    that kinetic temperature (3 N - 3 degrees of freedom)."""
    from metatrain_flashmd.ase.equipartition import (
        element_internal_kinetic,
        internal_degrees_of_freedom,
        scale_elements,
    )

    momenta, masses, numbers = atoms.get_momenta(), atoms.get_masses(), atoms.numbers
    kinetic = element_internal_kinetic(momenta, masses, numbers)
    scales = {}
    for symbol, temperature in temperatures.items():
        z = ase.data.atomic_numbers[symbol]
        dofs = internal_degrees_of_freedom(numbers, z)
        scales[z] = np.sqrt(0.5 * dofs * ase.units.kB * temperature / kinetic[z])
    result = atoms.copy()
    result.set_momenta(scale_elements(momenta, masses, numbers, scales))
    return result


def equilibrate(
    atoms: ase.Atoms, temperature_K: float, duration_fs: float, seed: int
) -> ase.Atoms:
    """Langevin equilibration with EMT (2 fs steps, friction 0.02 / fs, centre of
    mass fixed), starting from Maxwell-Boltzmann momenta at twice the temperature
    (half of it flows into the potential energy of a harmonic crystal).

    :return: a copy of ``atoms`` at the end, with momenta and no calculator.
    """
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.calc = EMT()
    thermalize_momenta(atoms, 2 * temperature_K, rng=rng)
    Stationary(atoms)
    dynamics = Langevin(
        atoms,
        timestep=2.0 * ase.units.fs,
        temperature_K=temperature_K,
        friction=0.02 / ase.units.fs,
        fixcm=True,
        rng=rng,
    )
    dynamics.run(int(round(duration_fs / 2.0)))
    result = atoms.copy()
    result.set_momenta(atoms.get_momenta())
    return result


@dataclasses.dataclass
class Trajectory:
    """Frames of a run as arrays (see :func:`save_trajectory`)."""

    time_fs: np.ndarray
    positions: np.ndarray
    momenta: np.ndarray
    potential_energy: np.ndarray
    """Potential energy per frame (eV); NaN where not computed."""
    numbers: np.ndarray
    masses: np.ndarray
    cell: np.ndarray
    wall_s: float = float("nan")
    """Wall-clock time of the steps (without setup), s."""
    note: str = ""
    """Why the run stopped early, if it did."""
    time_constant_fs: float = float("nan")
    """Thermostat time constant of a FlashMD NVT run, fs (NaN otherwise)."""

    @property
    def frame_interval_fs(self) -> float:
        """Time between frames, fs."""
        return float(self.time_fs[1] - self.time_fs[0])


def save_trajectory(path: Path, trajectory: Trajectory) -> None:
    """Write ``trajectory`` to ``path`` (.npz), atomically (resumable runs skip
    existing outputs, so a half-written file must never appear)."""
    temporary = path.with_suffix(".partial.npz")
    np.savez_compressed(temporary, **dataclasses.asdict(trajectory))
    os.replace(temporary, path)


def load_trajectory(path: Path) -> Trajectory:
    """Read a trajectory written by :func:`save_trajectory`."""
    with np.load(path) as data:
        fields = {key: data[key] for key in data.files}
    fields["wall_s"] = float(fields["wall_s"])
    fields["note"] = str(fields["note"])
    if "time_constant_fs" in fields:
        fields["time_constant_fs"] = float(fields["time_constant_fs"])
    return Trajectory(**fields)


def emt_nve(
    start: ase.Atoms, duration_fs: float, interval: int, extxyz: Path = None
) -> Trajectory:
    """Reference NVE run with EMT: velocity Verlet with 1 fs steps from ``start``
    (positions and momenta), a frame every ``interval`` steps (with the potential
    energy). With ``extxyz``, the frames (with momenta and ``time_fs``) are also
    written there, for ``mtt-flashmd pairs``.
    """
    return emt_md(start, duration_fs, interval, extxyz)


def emt_nvt(
    start: ase.Atoms,
    duration_fs: float,
    interval: int,
    temperature_K: float,
    time_constant_fs: float,
    seed: int,
) -> Trajectory:
    """Reference NVT run with EMT: ASE's Langevin dynamics (1 fs steps, friction
    1 / ``time_constant_fs`` on every atom, centre of mass fixed by ``FixCom``),
    the bath of the FlashMD Langevin runs; frames as in :func:`emt_nve`."""
    bath = (temperature_K, time_constant_fs, seed)
    trajectory = emt_md(start, duration_fs, interval, bath=bath)
    trajectory.time_constant_fs = float(time_constant_fs)
    return trajectory


def emt_md(
    start: ase.Atoms,
    duration_fs: float,
    interval: int,
    extxyz: Path = None,
    bath: Tuple[float, float, int] = None,
) -> Trajectory:
    """EMT dynamics with 1 fs steps from ``start``: velocity Verlet, or with
    ``bath = (temperature_K, time_constant_fs, seed)`` Langevin dynamics; see
    :func:`emt_nve` and :func:`emt_nvt`."""
    import time

    atoms = start.copy()
    atoms.set_momenta(start.get_momenta())
    atoms.calc = EMT()
    if bath is None:
        dynamics = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    else:
        temperature_K, time_constant_fs, seed = bath
        atoms.set_constraint(FixCom())
        dynamics = Langevin(
            atoms,
            timestep=1.0 * ase.units.fs,
            temperature_K=temperature_K,
            friction=1.0 / (time_constant_fs * ase.units.fs),
            fixcm=False,
            rng=np.random.default_rng(seed),
        )
    frames: List[Tuple[float, np.ndarray, np.ndarray, float]] = []
    images: List[ase.Atoms] = []

    def record() -> None:
        time_fs = dynamics.get_time() / ase.units.fs
        frames.append(
            (
                time_fs,
                atoms.get_positions(),
                atoms.get_momenta(),
                atoms.get_potential_energy(),
            )
        )
        if extxyz is not None:
            image = atoms.copy()
            image.calc = None
            image.set_momenta(atoms.get_momenta())
            image.info["time_fs"] = time_fs
            images.append(image)

    dynamics.attach(record, interval=interval)
    begin = time.perf_counter()
    dynamics.run(int(round(duration_fs)))
    wall = time.perf_counter() - begin
    if extxyz is not None:
        temporary = extxyz.with_name(extxyz.stem + ".partial.extxyz")
        ase.io.write(temporary, images, format="extxyz")
        os.replace(temporary, extxyz)
    return Trajectory(
        time_fs=np.array([f[0] for f in frames]),
        positions=np.array([f[1] for f in frames]),
        momenta=np.array([f[2] for f in frames]),
        potential_energy=np.array([f[3] for f in frames]),
        numbers=atoms.numbers.copy(),
        masses=atoms.get_masses(),
        cell=atoms.cell.array.copy(),
        wall_s=wall,
    )
