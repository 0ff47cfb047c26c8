"""The starting structure of :func:`~metatrain_flashmd.ase.run_md`: read, cleared
of what no longer describes it once it moves, and given momenta.

A structure file can be a frame of a pair file (``mtt-flashmd pairs``), of a
trajectory or of a single-point calculation. Its positions and momenta are the
state the strides advance; data that belongs to the moment it was taken (the
later frame of a pair, forces, times, pair bookkeeping) would be copied unchanged
into every written frame, and is dropped.
"""

import logging
from typing import Any, List, Optional, Union

import ase
import ase.io
import numpy as np
from ase.constraints import FixCom
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from metatrain_flashmd._names import FRAME_TIME_INFO_KEY, PAIR_INFO_KEYS


KEPT_ARRAYS = (
    "numbers",
    "positions",
    "momenta",
    "masses",
    "tags",
    "initial_magmoms",
    "initial_charges",
)
"""Per-atom arrays that ASE keeps as the atoms' own state, all kept."""
STALE_INFO_KEYS = PAIR_INFO_KEYS + (FRAME_TIME_INFO_KEY, "time", "timestep", "step")
"""Info keys that describe the moment the structure was taken: the pair
bookkeeping of ``mtt-flashmd pairs``, and the times and step numbers of
trajectories (ASE, LAMMPS, ``mtt-flashmd md``)."""


def drop_stale_data(atoms: ase.Atoms) -> None:
    """Remove from ``atoms`` what the strides would not update: per-atom vectors
    other than positions and momenta (``future_positions``, ``future_momenta``,
    forces, velocities, ...: float arrays of shape (n, 3)) and the info keys of
    :data:`STALE_INFO_KEYS`. Labels (integer, text or scalar arrays) are kept."""
    for name in list(atoms.arrays):
        array = atoms.arrays[name]
        vectors = array.ndim == 2 and array.shape[1] == 3 and array.dtype.kind == "f"
        if name not in KEPT_ARRAYS and vectors:
            del atoms.arrays[name]
    for key in STALE_INFO_KEYS:
        atoms.info.pop(key, None)


def read_frame(
    structure: Union[str, "ase.Atoms", object], file_format: Optional[str] = None
) -> ase.Atoms:
    """The last frame of a structure file (or a copy of given atoms), without a
    calculator and stale data (:func:`drop_stale_data`).

    :param structure: a structure file readable by ASE, or atoms.
    :param file_format: ASE format name of the file; guessed from its name when
        ``None``.
    :raises ValueError: if ASE cannot tell the format or read the file.
    """
    if isinstance(structure, ase.Atoms):
        atoms = structure.copy()
    else:
        atoms = read_last_frame(str(structure), file_format)
    atoms.calc = None
    drop_stale_data(atoms)
    return atoms


def read_last_frame(path: str, file_format: Optional[str]) -> ase.Atoms:
    """The last frame of the file ``path``, ASE's errors turned into messages."""
    return read_frames(path, file_format, -1)


def read_all_frames(path: str, file_format: Optional[str]) -> List[ase.Atoms]:
    """Every frame of the file ``path``, in order, ASE's errors turned into
    messages."""
    frames = read_frames(path, file_format, ":")
    return frames if isinstance(frames, list) else [frames]


def read_frames(path: str, file_format: Optional[str], index: Union[int, str]) -> Any:
    """``ase.io.read(path, index)``, ASE's errors turned into messages naming the
    file and what to do."""
    try:
        return ase.io.read(path, index=index, format=file_format)
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except ase.io.formats.UnknownFileTypeError as error:
        if file_format:
            problem = f"'{file_format}' is not a format ASE knows"
        else:
            problem = f"ASE cannot tell the format of this file ({error})"
        raise ValueError(
            f"{path}: {problem}: give --format an ase.io format name (e.g. extxyz, "
            "traj, vasp, lammps-data, cif)"
        ) from None
    except Exception as error:
        guessed = file_format or guessed_format(path)
        detail = (
            f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        )
        raise ValueError(
            f"{path}: ASE cannot read it as '{guessed}' ({detail})"
            + ("" if file_format else ", the format it guessed")
            + "; give --format if the file is in another"
        ) from None


def guessed_format(path: str) -> str:
    """The ASE format guessed for the file ``path`` (``"?"`` if none)."""
    try:
        return str(ase.io.formats.filetype(path))
    except Exception:
        return "?"


def read_structure(
    structure: Union[str, "ase.Atoms", object],
    temperature_K: Optional[float],
    rng: np.random.Generator,
    *,
    file_format: Optional[str] = None,
    thermostat: Optional[str] = None,
) -> ase.Atoms:
    """The starting frame (:func:`read_frame`), with its momenta or, without them,
    Maxwell-Boltzmann ones at ``temperature_K`` and zero total momentum. A system at
    zero total momentum gets a :class:`~ase.constraints.FixCom` constraint (FlashMD
    keeps it at zero), so that temperatures count 3N - 3 degrees of freedom.

    :param structure: a structure file readable by ASE, or atoms.
    :param temperature_K: temperature of the initial momenta, K.
    :param rng: random generator for the momenta.
    :param file_format: ASE format name of the file (guessed when ``None``).
    :param thermostat: the thermostat of the run; in NVE (``"none"``), a
        temperature that the structure's own momenta make unused is reported.
    """
    atoms = read_frame(structure, file_format)
    had_momenta = atoms.has("momenta")
    if not had_momenta:
        if temperature_K is None:
            raise ValueError(
                "the structure has no momenta: give a temperature to draw them from "
                "the Maxwell-Boltzmann distribution"
            )
        thermalize_momenta(atoms, temperature_K, rng=rng)
        Stationary(atoms, preserve_temperature=False)
    momenta = atoms.get_momenta()
    at_rest = np.linalg.norm(momenta.sum(axis=0)) <= 1e-8 * np.abs(momenta).sum()
    if not atoms.constraints and at_rest:
        atoms.set_constraint(FixCom())
    if had_momenta and temperature_K is not None and thermostat == "none":
        logging.getLogger(__name__).warning(
            f"note: the temperature {temperature_K:g} K is not used: the structure "
            f"has momenta ({atoms.get_temperature():.1f} K) and NVE keeps them; "
            f"remove them from the file (or use a thermostat) to start at "
            f"{temperature_K:g} K"
        )
    return atoms
