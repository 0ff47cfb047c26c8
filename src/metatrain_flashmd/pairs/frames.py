"""One frame of a trajectory, as a training pair needs it, and its checks.

Every error names the file and the frame (and the atom where one is at fault).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import ase
import numpy as np


class TrajectoryError(ValueError):
    """Unusable input trajectory; the message starts with the file and frame."""

    def __init__(
        self, path: Any, message: str, frame: Optional[int] = None, detail: str = ""
    ) -> None:
        where = str(path) if frame is None else f"{path}, frame {frame}"
        super().__init__(f"{where}{detail}: {message}")


@dataclass(eq=False)
class Frame:
    """What a training pair needs of one frame (n atoms, float64 arrays)."""

    index: int
    """Position of the frame in its file, from 0."""
    numbers: np.ndarray
    """(n,) atomic numbers."""
    positions: np.ndarray
    """(n, 3) positions, A."""
    momenta: np.ndarray
    """(n, 3) momenta, (eV*u)^(1/2)."""
    masses: np.ndarray
    """(n,) masses, u."""
    cell: np.ndarray
    """(3, 3) cell vectors as rows, A."""
    pbc: np.ndarray
    """(3,) periodic directions."""
    temperature: float
    """Kinetic temperature, K, with ASE's degrees of freedom (3 per atom, less
    those removed by constraints)."""


def check_finite(path: Path, index: int, name: str, array: np.ndarray) -> None:
    """Raise :class:`TrajectoryError` naming the first atom (or the cell) with a NaN
    or infinite value in ``array``."""
    if np.isfinite(array).all():
        return
    if array.ndim == 2 and array.shape[1] == 3 and name != "cell":
        atom = int(np.nonzero(~np.isfinite(array).all(axis=1))[0][0])
        raise TrajectoryError(
            path, f"{name} are not finite (NaN or inf)", index, f", atom {atom}"
        )
    raise TrajectoryError(path, f"the {name} is not finite (NaN or inf)", index)


def missing_momenta_message(atoms: ase.Atoms) -> str:
    """Why a frame without ASE momenta cannot be used, with a hint."""
    message = (
        "no momenta or velocities. FlashMD pairs need them: ASE's 'momenta' array "
        "(extxyz, .traj) or velocities that ASE converts (LAMMPS dumps with columns "
        "vx vy vz)"
    )
    guesses = [name for name in atoms.arrays if name.lower().startswith("vel")]
    if guesses:
        message += (
            f". The array '{guesses[0]}' has no unit ASE knows of: convert it with "
            "atoms.set_velocities(v) (v in A per ASE time unit) and write the frames "
            "again"
        )
    return message


def frame_from_atoms(path: Path, index: int, atoms: ase.Atoms) -> Frame:
    """Checked :class:`Frame` from an ASE frame.

    :raises TrajectoryError: without momenta, or with non-finite values.
    """
    if not atoms.has("momenta"):
        raise TrajectoryError(path, missing_momenta_message(atoms), index)
    frame = Frame(
        index=index,
        numbers=atoms.numbers.copy(),
        positions=np.array(atoms.positions, dtype=np.float64),
        momenta=np.array(atoms.get_momenta(), dtype=np.float64),
        masses=np.array(atoms.get_masses(), dtype=np.float64),
        cell=np.array(atoms.cell.array, dtype=np.float64),
        pbc=np.array(atoms.pbc, dtype=bool),
        temperature=0.0,
    )
    for name in ("positions", "momenta", "cell"):
        check_finite(path, index, name, getattr(frame, name))
    check_finite(path, index, "masses", frame.masses)
    if len(atoms) > 0:
        frame.temperature = float(atoms.get_temperature())
    if frame.pbc.any() and abs(np.linalg.det(frame.cell)) < 1e-12:
        raise TrajectoryError(
            path,
            "the system is periodic but its cell has no volume: give every "
            "direction a cell vector",
            index,
        )
    return frame


def check_same_system(path: Path, first: Frame, frame: Frame) -> None:
    """Refuse a frame whose atoms, masses or periodicity differ from the first frame
    of the file, or whose cell does in a partly periodic system (fully periodic
    cells may change: see :mod:`~metatrain_flashmd.pairs.cells`)."""
    index = frame.index
    if len(frame.numbers) != len(first.numbers):
        raise TrajectoryError(
            path,
            f"{len(frame.numbers)} atoms, but frame {first.index} has "
            f"{len(first.numbers)}: the atoms must stay the same along a trajectory",
            index,
        )
    changed = np.nonzero(frame.numbers != first.numbers)[0]
    if len(changed) > 0:
        atom = int(changed[0])
        raise TrajectoryError(
            path,
            f"atom {atom} is element {frame.numbers[atom]}, but element "
            f"{first.numbers[atom]} in frame {first.index}: atom types and order must "
            "stay the same along a trajectory",
            index,
        )
    if not np.allclose(frame.masses, first.masses, rtol=1e-9, atol=0.0):
        raise TrajectoryError(path, "the masses of the atoms change", index)
    if not np.array_equal(frame.pbc, first.pbc):
        raise TrajectoryError(path, "the periodic boundary conditions change", index)
    partly_periodic = frame.pbc.any() and not frame.pbc.all()
    if partly_periodic and not np.allclose(frame.cell, first.cell, atol=1e-6):
        raise TrajectoryError(
            path,
            "the cell differs from the first frame's in a system periodic along "
            "some directions only: variable-cell (e.g. NpT) trajectories need a "
            "cell periodic in all three directions",
            index,
        )
