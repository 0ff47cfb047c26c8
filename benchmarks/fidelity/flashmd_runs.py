"""FlashMD molecular dynamics with the package's ASE integrators, kept as arrays.

Three runs per trained model, each from the same fresh equilibrated start as the
reference EMT run and as long as it:

* ``nvt``: :class:`metatrain_flashmd.ase.Langevin` (O-stride-O splitting, per-atom
  Ornstein-Uhlenbeck half-steps with time constant ``time_constant_fs``);
* ``nve``: :class:`metatrain_flashmd.ase.VelocityVerlet`, the bare model (EMT only
  evaluates the energy for the drift);
* ``nve_rescaled``: the same with ``conserve_energy=True`` (momenta rescaled after
  each stride to keep the EMT total energy);
* ``nve_equipartition``: ``nve_rescaled`` plus the kinetic energy exchange between
  elements (``equipartition_time`` = ``time_constant_fs``), for the systems given
  one;
* ``nvt_bussi``: :class:`metatrain_flashmd.ase.Bussi` (stochastic velocity
  rescaling, one factor for all atoms), for the systems given a time constant for
  it: the thermostat that perturbs dynamics least, for diffusion.
"""

import time
from pathlib import Path
from typing import List, Optional, Tuple

import ase
import ase.io
import numpy as np
from ase.calculators.emt import EMT
from systems import Frame, Trajectory, trajectory_from_frames


RUN_KINDS = (
    "nvt",
    "nvt_strong",
    "nvt_bussi",
    "nve",
    "nve_rescaled",
    "nve_equipartition",
)
"""``nvt_strong`` (a Langevin thermostat with a shorter time constant),
``nvt_bussi`` and ``nve_equipartition`` only run for the systems given a time
constant for them (``Settings.strong_thermostat_fs``, ``Settings.bussi_fs``,
``Settings.equipartition_fs``)."""
NVE_KINDS = ("nve", "nve_rescaled", "nve_equipartition")
"""The run kinds without a thermostat."""
RUN_SEEDS = {
    "nvt": 11,
    "nve": 12,
    "nve_rescaled": 13,
    "nvt_strong": 14,
    "nve_equipartition": 15,
    "nvt_bussi": 16,
}
"""Seeds of the random generators of each run (thermostat noise)."""
RUNAWAY_FACTOR = 2.0
"""A run stops when its temperature exceeds this many times the target (the model
has left its training distribution; the rest of the run would be meaningless)."""


def make_dynamics(
    kind: str,
    atoms: ase.Atoms,
    model: Path,
    temperature_K: float,
    time_constant_fs: float,
    rng: np.random.Generator,
) -> object:
    """The integrator of one run kind (see the module docstring)."""
    import ase.units

    from metatrain_flashmd.ase import Bussi, Langevin, VelocityVerlet

    if kind in ("nvt", "nvt_strong", "nvt_bussi"):
        thermostat = Bussi if kind == "nvt_bussi" else Langevin
        return thermostat(
            atoms,
            str(model),
            temperature_K=temperature_K,
            time_constant=time_constant_fs * ase.units.fs,
            rng=rng,
            device="cpu",
        )
    if kind not in NVE_KINDS:
        raise ValueError(f"unknown run kind '{kind}'")
    exchange = None
    if kind == "nve_equipartition":
        exchange = time_constant_fs * ase.units.fs
    return VelocityVerlet(
        atoms,
        str(model),
        conserve_energy=kind != "nve",
        equipartition_time=exchange,
        rng=rng,
        device="cpu",
    )


def run_flashmd(
    kind: str,
    model: Path,
    start: Path,
    duration_fs: float,
    temperature_K: float,
    time_constant_fs: float,
) -> Trajectory:
    """One FlashMD run of ``duration_fs`` (rounded down to whole strides), a frame
    after every stride, with the EMT potential energy of every frame in the NVE runs
    (NaN in NVT, where it is not needed).

    :param kind: one of :data:`RUN_KINDS`.
    :param model: exported FlashMD model.
    :param start: structure with momenta ((eV*u)^(1/2)).
    :param temperature_K: thermostat target, K (also the runaway check).
    :param time_constant_fs: thermostat time constant, or the exchange time
        constant of ``nve_equipartition``, fs.
    """
    from metatrain_flashmd.ase.run import read_structure

    rng = np.random.default_rng(RUN_SEEDS[kind])
    atoms = read_structure(ase.io.read(start), None, rng)
    energy = kind.startswith("nve")
    atoms.calc = EMT() if energy else None
    dynamics = make_dynamics(kind, atoms, model, temperature_K, time_constant_fs, rng)
    strides = int(duration_fs // dynamics.model_timestep_fs)
    frames = [_frame(atoms, 0.0, energy)]
    limit_K = RUNAWAY_FACTOR * temperature_K
    wall, note = _advance(dynamics, atoms, strides, frames, energy, limit_K)
    return trajectory_from_frames(
        frames,
        atoms,
        wall_s=wall,
        note=note,
        time_constant_fs=(
            float("nan") if kind in ("nve", "nve_rescaled") else time_constant_fs
        ),
    )


def _frame(atoms: ase.Atoms, time_fs: float, energy: bool) -> Frame:
    """The current frame of ``atoms``, with the potential energy if ``energy``
    (NaN otherwise)."""
    potential = atoms.get_potential_energy() if energy else np.nan
    return (time_fs, atoms.get_positions(), atoms.get_momenta(), potential)


def _advance(
    dynamics: object,
    atoms: ase.Atoms,
    strides: int,
    frames: List[Frame],
    energy: bool,
    limit_K: float,
) -> Tuple[float, str]:
    """Make up to ``strides`` strides of ``dynamics`` (moving ``atoms``), adding a
    frame to ``frames`` after each; stop early at an error of the integrator or
    when the temperature (the package's definition) is not below ``limit_K``.

    :return: the wall-clock time of the strides (s), and why the run stopped
        early ("" if it did not).
    """
    from metatrain_flashmd.observables.temperature import (
        momentum_is_fixed,
        temperature,
    )

    stride_fs = dynamics.model_timestep_fs
    fixed = momentum_is_fixed(atoms)
    wall = 0.0
    for _ in range(strides):
        begin = time.perf_counter()
        try:
            dynamics.step()
        except Exception as error:  # noqa: BLE001 - recorded, the run stops
            return wall, f"stopped after {len(frames) - 1} strides: {error}"[:300]
        wall += time.perf_counter() - begin
        frames.append(_frame(atoms, len(frames) * stride_fs, energy))
        now_K = float(temperature(atoms.get_momenta(), atoms.get_masses(), fixed))
        if not now_K < limit_K:
            return wall, (
                f"stopped after {len(frames) - 1} strides: temperature "
                f"{now_K:.0f} K (runaway)"
            )
    return wall, ""


def model_path(work: Path, stride_fs: int) -> Optional[Path]:
    """The exported model of one stride, if it has been trained."""
    path = work / f"stride{stride_fs}" / "model.pt"
    return path if path.exists() else None
