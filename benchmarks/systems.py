"""The structures of every benchmark and their molecular dynamics with ASE's EMT.

One set of builders for the speed benchmarks (``inference.py``, ``training.py``,
``profile_stride.py``) and the fidelity benchmark (``fidelity/``): fcc aluminium,
ordered L1_2 Cu3Au, a Cu/Au alloy melt, Maxwell-Boltzmann momenta, Langevin
equilibration, EMT velocity-Verlet and Langevin runs kept as arrays
(:class:`Trajectory`), and FlashMD training pairs cut from an EMT run. Every random
choice is seeded by the caller.

Units: positions in A, momenta in (eV*u)^(1/2), masses in u, energies in eV, times
in fs unless a name says otherwise, temperatures in K.
"""

import dataclasses
import os
import time
import warnings
from pathlib import Path
from typing import Callable, List, Optional, Tuple

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
from ase.calculators.emt import EMT
from ase.constraints import FixCom
from ase.md.langevin import Langevin
from ase.md.md import MolecularDynamics
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet


AL_LATTICE_A = 4.05
"""fcc Al lattice parameter, A."""
AL_REPEATS = {32: 2, 256: 4, 864: 6, 2048: 8, 6912: 12}
"""Sizes of the inference benchmark's fcc Al: number of atoms -> repeats of the
4-atom cubic cell."""
DISPLACEMENT_A = 0.05
"""Standard deviation of the random displacements of :func:`displaced_aluminium`,
A."""


# ---------------------------------------------------------------------------------
#  structures
# ---------------------------------------------------------------------------------


def fcc_aluminium(repeat: int = 3) -> ase.Atoms:
    """Perfect periodic fcc Al, ``4 * repeat^3`` atoms (108 for repeat 3), lattice
    parameter :data:`AL_LATTICE_A`."""
    return ase.build.bulk("Al", "fcc", a=AL_LATTICE_A, cubic=True).repeat(repeat)


def thermal_momenta(
    atoms: ase.Atoms, temperature_K: float, rng: np.random.Generator
) -> None:
    """Give ``atoms`` Maxwell-Boltzmann momenta at ``temperature_K`` drawn from
    ``rng``, then zero their total momentum."""
    thermalize_momenta(atoms, temperature_K, rng=rng)
    Stationary(atoms)


def displaced_aluminium(repeat: int, temperature_K: float, seed: int) -> ase.Atoms:
    """:func:`fcc_aluminium` with every atom moved by a normal random displacement
    (:data:`DISPLACEMENT_A` per component) and momenta at ``temperature_K``; the
    displacements and the momenta each come from a generator seeded with
    ``seed``."""
    atoms = fcc_aluminium(repeat)
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(scale=DISPLACEMENT_A, size=atoms.positions.shape)
    thermal_momenta(atoms, temperature_K, np.random.default_rng(seed))
    return atoms


def cu3au_cell(a: float) -> ase.Atoms:
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
    a = emt_lattice_parameter(cu3au_cell, 3.6, 3.9)
    return cu3au_cell(a).repeat(repeat)


def copper_gold_melt(path: Path, repeat: int = 5, seed: int = 0) -> ase.Atoms:
    """A disordered Cu/Au alloy (equal parts, ``4 * repeat^3`` atoms on an fcc
    lattice of 3.8 A) melted by 400 EMT Langevin steps of 2 fs at 2500 K (friction
    0.02 per ASE time unit, about 1 / 509 fs), with fresh momenta at 1500 K;
    cached in ``path`` (extxyz)."""
    if path.exists():
        return ase.io.read(path)
    rng = np.random.default_rng(seed)
    atoms = ase.build.bulk("Cu", "fcc", a=3.8, cubic=True).repeat(repeat)
    symbols = np.array(["Cu", "Au"] * (len(atoms) // 2))
    rng.shuffle(symbols)
    atoms.set_chemical_symbols(symbols.tolist())
    atoms.calc = EMT()
    thermal_momenta(atoms, 2500.0, np.random.default_rng(seed))
    langevin_steps(atoms, 2500.0, 400, friction=0.02, rng=rng)
    atoms.calc = None
    atoms.wrap()
    thermal_momenta(atoms, 1500.0, np.random.default_rng(seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, atoms)
    return ase.io.read(path)


def inference_system(spec: str, workdir: Path) -> ase.Atoms:
    """A system of the speed benchmarks: ``al:<n>`` for fcc Al of n atoms (one of
    :data:`AL_REPEATS`; displaced, momenta at 300 K, seed 0), ``cuau:<repeat>``
    for the Cu/Au melt (cached in ``workdir``)."""
    kind, size = spec.split(":")
    if kind == "al":
        if int(size) not in AL_REPEATS:
            raise ValueError(f"fcc Al sizes are {sorted(AL_REPEATS)}, not {size}")
        return displaced_aluminium(AL_REPEATS[int(size)], 300.0, seed=0)
    if kind == "cuau":
        return copper_gold_melt(workdir / f"cuau-{size}.extxyz", repeat=int(size))
    raise ValueError(f"unknown system '{spec}'")


# ---------------------------------------------------------------------------------
#  Langevin equilibration
# ---------------------------------------------------------------------------------


def langevin_steps(
    atoms: ase.Atoms,
    temperature_K: float,
    steps: int,
    friction: float,
    rng: np.random.Generator,
    timestep_fs: float = 2.0,
) -> None:
    """Run ASE's Langevin dynamics on ``atoms`` (with their calculator) in place,
    centre of mass fixed by the integrator (``fixcm=True``).

    :param friction: in ASE's inverse time unit (``x / ase.units.fs`` for x per fs).
    """
    with warnings.catch_warnings():
        # ASE 3.28 deprecated fixcm=True; kept so that the seeded data stay the same
        warnings.filterwarnings("ignore", "The implementation of `fixcm=True`")
        dynamics = Langevin(
            atoms,
            timestep=timestep_fs * ase.units.fs,
            temperature_K=temperature_K,
            friction=friction,
            fixcm=True,
            rng=rng,
        )
    dynamics.run(steps)


def equilibrate(
    atoms: ase.Atoms, temperature_K: float, duration_fs: float, seed: int
) -> ase.Atoms:
    """Langevin equilibration with EMT (2 fs steps, friction 0.02 / fs, centre of
    mass fixed), starting from Maxwell-Boltzmann momenta at twice the temperature
    (half of it flows into the potential energy of a harmonic crystal); one
    generator seeded with ``seed`` draws the momenta and the noise.

    :return: a copy of ``atoms`` at the end, with momenta and no calculator.
    """
    rng = np.random.default_rng(seed)
    atoms = atoms.copy()
    atoms.calc = EMT()
    thermal_momenta(atoms, 2 * temperature_K, rng)
    steps = int(round(duration_fs / 2.0))
    langevin_steps(atoms, temperature_K, steps, 0.02 / ase.units.fs, rng)
    result = atoms.copy()
    result.set_momenta(atoms.get_momenta())
    return result


# ---------------------------------------------------------------------------------
#  trajectories
# ---------------------------------------------------------------------------------


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


Frame = Tuple[float, np.ndarray, np.ndarray, float]
"""One frame while a run goes: time (fs), positions, momenta, potential energy."""


def trajectory_from_frames(
    frames: List[Frame], atoms: ase.Atoms, **fields: object
) -> Trajectory:
    """The :class:`Trajectory` of ``frames`` of ``atoms`` (numbers, masses, cell);
    ``fields`` sets the others (``wall_s``, ``note``, ...)."""
    return Trajectory(
        time_fs=np.array([f[0] for f in frames], dtype=float),
        positions=np.array([f[1] for f in frames]),
        momenta=np.array([f[2] for f in frames]),
        potential_energy=np.array([f[3] for f in frames], dtype=float),
        numbers=atoms.numbers.copy(),
        masses=atoms.get_masses(),
        cell=atoms.cell.array.copy(),
        **fields,
    )


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


# ---------------------------------------------------------------------------------
#  EMT runs
# ---------------------------------------------------------------------------------


def emt_nve(
    start: ase.Atoms,
    duration_fs: float,
    interval: int,
    extxyz: Optional[Path] = None,
) -> Trajectory:
    """Reference NVE run with EMT: velocity Verlet with 1 fs steps from ``start``
    (positions and momenta), a frame every ``interval`` steps (with the potential
    energy), the first at time 0. With ``extxyz``, the frames (with momenta and
    ``time_fs``) are also written there, for ``mtt-flashmd pairs``.
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
    extxyz: Optional[Path] = None,
    bath: Optional[Tuple[float, float, int]] = None,
) -> Trajectory:
    """EMT dynamics with 1 fs steps from ``start``: velocity Verlet, or with
    ``bath = (temperature_K, time_constant_fs, seed)`` Langevin dynamics; see
    :func:`emt_nve` and :func:`emt_nvt`. ``wall_s`` is the time of the steps."""
    atoms = start.copy()
    atoms.set_momenta(start.get_momenta())
    atoms.calc = EMT()
    dynamics = _emt_integrator(atoms, bath)
    recorder = _Recorder(dynamics, atoms, keep_images=extxyz is not None)
    dynamics.attach(recorder, interval=interval)
    begin = time.perf_counter()
    dynamics.run(int(round(duration_fs)))
    wall = time.perf_counter() - begin
    if extxyz is not None:
        temporary = extxyz.with_name(extxyz.stem + ".partial.extxyz")
        ase.io.write(temporary, recorder.images, format="extxyz")
        os.replace(temporary, extxyz)
    return trajectory_from_frames(recorder.frames, atoms, wall_s=wall)


def _emt_integrator(
    atoms: ase.Atoms, bath: Optional[Tuple[float, float, int]]
) -> MolecularDynamics:
    """Velocity Verlet (``bath`` None) or Langevin with ``FixCom`` and friction
    1 / time constant (``bath = (temperature_K, time_constant_fs, seed)``), 1 fs
    steps."""
    if bath is None:
        return VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    temperature_K, time_constant_fs, seed = bath
    atoms.set_constraint(FixCom())
    return Langevin(
        atoms,
        timestep=1.0 * ase.units.fs,
        temperature_K=temperature_K,
        friction=1.0 / (time_constant_fs * ase.units.fs),
        fixcm=False,
        rng=np.random.default_rng(seed),
    )


class _Recorder:
    """Observer keeping a frame of ``atoms`` at each call (and, with
    ``keep_images``, a copy of the atoms with momenta and ``time_fs``)."""

    def __init__(
        self, dynamics: MolecularDynamics, atoms: ase.Atoms, keep_images: bool
    ) -> None:
        self.dynamics = dynamics
        self.atoms = atoms
        self.keep_images = keep_images
        self.frames: List[Frame] = []
        self.images: List[ase.Atoms] = []

    def __call__(self) -> None:
        atoms = self.atoms
        time_fs = self.dynamics.get_time() / ase.units.fs
        frame = (time_fs, atoms.get_positions(), atoms.get_momenta())
        self.frames.append((*frame, atoms.get_potential_energy()))
        if self.keep_images:
            image = atoms.copy()
            image.calc = None
            image.set_momenta(atoms.get_momenta())
            image.info["time_fs"] = time_fs
            self.images.append(image)


# ---------------------------------------------------------------------------------
#  training pairs
# ---------------------------------------------------------------------------------


def aluminium_pairs(
    path: Path,
    num_pairs: int,
    lag_fs: int,
    spacing_fs: int,
    repeat: int = 2,
    temperature_K: float = 600.0,
    seed: int = 0,
) -> int:
    """Write ``num_pairs`` FlashMD training pairs of periodic fcc Al (``4 * repeat^3``
    atoms, :func:`displaced_aluminium` with momenta at twice ``temperature_K``)
    from EMT velocity-Verlet MD (1 fs steps, the first 200 fs to equilibrate):
    frames ``lag_fs`` apart, one pair every ``spacing_fs``. Each pair is the
    earlier frame (with ``momenta``) and the arrays ``future_positions`` (unwrapped,
    A) and ``future_momenta`` ((eV*u)^(1/2)). Cached in ``path`` (extxyz); returns
    the number of atoms per structure."""
    if path.exists():
        return len(ase.io.read(path, 0))
    start = displaced_aluminium(repeat, 2 * temperature_K, seed)
    equilibration = 200
    last = (num_pairs - 1) * spacing_fs + lag_fs
    run = emt_nve(start, equilibration + last, interval=1)
    positions = run.positions[equilibration:]  # unwrapped: never wrapped
    momenta = run.momenta[equilibration:]
    pairs = []
    for first in range(0, num_pairs * spacing_fs, spacing_fs):
        pair = start.copy()
        pair.positions = positions[first]
        pair.set_momenta(momenta[first])
        pair.arrays["future_momenta"] = momenta[first + lag_fs]
        pair.wrap()
        pair.arrays["future_positions"] = (
            positions[first + lag_fs] + pair.positions - positions[first]
        )
        pairs.append(pair)
    path.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, pairs)
    return len(start)
