"""A reference trajectory the user already has: read, checked against the system
and temperature being validated, and put on the FlashMD stride's clock.

The file is read with the checks of ``mtt-flashmd pairs`` (momenta, finite
values, same atoms and cell in every frame, equally spaced times recorded in the
``time_fs`` info key or an ASE ``.traj`` header); then its composition and cell
must be the START's and its mean temperature within
:data:`TEMPERATURE_MISMATCH` of the validation's.
"""

from collections import Counter
from pathlib import Path
from typing import Any

import ase
import numpy as np

from metatrain_flashmd.observables.temperature import temperature
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.pairs.reading import ReadOptions, TrajectoryReader
from metatrain_flashmd.validation.errors import ValidationInputError


TEMPERATURE_MISMATCH = 0.1
"""Largest relative difference between the reference trajectory's mean
temperature and the validation's."""
VOLUME_MISMATCH = 0.01
"""Largest relative difference between the reference's cell volume and the
START's."""


def read_reference_trajectory(
    path: Any, start: ase.Atoms, start_name: str, temperature_K: float, stride_fs: float
) -> Trajectory:
    """The reference trajectory at ``path``, every frame one stride apart when the
    stride is a whole number of its frame intervals (all its frames otherwise).

    :param start: the START structure, whose composition and cell it must have.
    :param start_name: the START's file name, for errors.
    :param temperature_K: the validation's temperature, K.
    :param stride_fs: the model's stride, fs.
    :raises ValidationInputError: naming the file, when it cannot be used.
    """
    path = Path(path)
    try:
        reader = TrajectoryReader(path, ReadOptions())
        frames = list(reader.frames())
    except (OSError, ValueError) as error:
        raise ValidationInputError(path, _without_path(str(error), path)) from error
    if len(frames) < 3:
        raise ValidationInputError(path, f"{len(frames)} frames: too few to compare")
    if reader.interval is None:
        raise ValidationInputError(
            path,
            "the frames do not record their time: give each frame a 'time_fs' info "
            "key (fs) or write an ASE MD .traj file",
        )
    first = frames[0]
    _check_composition(path, first.numbers, start, start_name)
    _check_volume(path, first.cell, start, start_name)
    step = max(1, int(round(stride_fs / reader.interval)))
    if not np.isclose(step * reader.interval, stride_fs, rtol=1e-6):
        step = 1
    kept = frames[::step]
    momenta = np.array([frame.momenta for frame in kept])
    fixed = bool(np.abs(momenta.sum(axis=1)).max() <= 1e-6 * np.abs(momenta).sum())
    trajectory = Trajectory(
        time_fs=reader.interval * step * np.arange(len(kept)),
        positions=np.array([frame.positions for frame in kept]),
        momenta=momenta,
        numbers=first.numbers.copy(),
        masses=first.masses.copy(),
        cell=first.cell.copy(),
        pbc=first.pbc.copy(),
        potential_energy=np.full(len(kept), np.nan),
        momentum_fixed=fixed,
    )
    _check_temperature(path, trajectory, temperature_K)
    return trajectory


def _without_path(message: str, path: Path) -> str:
    """An error message without the leading file name (added back once)."""
    prefix = f"{path}"
    return (
        message[len(prefix) :].lstrip(":, ") if message.startswith(prefix) else message
    )


def _check_composition(
    path: Path, numbers: np.ndarray, start: ase.Atoms, start_name: str
) -> None:
    """Refuse a reference of other atoms than the START's."""
    theirs = Counter(ase.Atoms(numbers=numbers).get_chemical_symbols())
    ours = Counter(start.get_chemical_symbols())
    if theirs != ours:
        raise ValidationInputError(
            path,
            f"the reference is {ase.Atoms(numbers=numbers).get_chemical_formula()}, "
            f"but {start_name} is {start.get_chemical_formula()}: the reference must "
            "be a trajectory of the same system",
        )


def _check_volume(
    path: Path, cell: np.ndarray, start: ase.Atoms, start_name: str
) -> None:
    """Refuse a reference at another density than the START."""
    if not start.pbc.all():
        return
    theirs = abs(np.linalg.det(cell))
    ours = start.get_volume()
    if abs(theirs / ours - 1.0) > VOLUME_MISMATCH:
        raise ValidationInputError(
            path,
            f"the reference's cell has a volume of {theirs:.6g} A^3, but "
            f"{start_name}'s {ours:.6g} A^3: the reference must be at the same density",
        )


def _check_temperature(
    path: Path, trajectory: Trajectory, temperature_K: float
) -> None:
    """Refuse a reference whose mean temperature is not the validation's."""
    values = temperature(
        trajectory.momenta, trajectory.masses, trajectory.momentum_fixed
    )
    mean = float(values.mean())
    if abs(mean / temperature_K - 1.0) > TEMPERATURE_MISMATCH:
        raise ValidationInputError(
            path,
            f"the reference's mean temperature is {mean:.1f} K, not the "
            f"{temperature_K:g} K being validated (more than "
            f"{100 * TEMPERATURE_MISMATCH:g}% apart): give --temperature "
            f"{mean:.0f} or a reference run at {temperature_K:g} K",
        )
