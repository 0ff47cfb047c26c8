"""Streaming, checked reading of MD trajectories for ``mtt-flashmd pairs``.

Frames are read one at a time with :func:`ase.io.iread` and turned into
:class:`Frame` objects holding only what a training pair needs. The reader refuses
frames without momenta, with non-finite values, with atoms or cells that differ from
the first frame, or not equally spaced in time; every error names the file and the
frame.
"""

import math
from collections import deque
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Sequence

import ase
import ase.io
import ase.io.formats
import ase.units
import numpy as np

from .._names import FRAME_TIME_INFO_KEY
from .frames import (
    Frame,
    TrajectoryError,
    check_same_system,
    frame_from_atoms,
)


TIME_INFO_KEYS = {FRAME_TIME_INFO_KEY: 1.0, "time": 1.0 / ase.units.fs}
"""Info keys recording the time of a frame, with the factor that converts to fs
(``time`` is in ASE time units, as :meth:`MolecularDynamics.get_time` returns)."""
LAMMPS_STEP_INFO_KEY = "timestep"
"""Info key in which ASE's LAMMPS dump readers store the MD step number."""
INTERVAL_TOLERANCE = 1e-3
"""Relative tolerance on the time between frames (times are often stored rounded)."""


@dataclass
class ReadOptions:
    """How to read the trajectory files.

    :param format: ASE format name; guessed from each file when None.
    :param species: element of each LAMMPS atom type (type 1 first), for LAMMPS
        dumps without an ``element`` or ``mass`` column.
    :param lammps_units: LAMMPS ``units`` style of LAMMPS dumps (``metal``:
        velocities in A/ps, ``real``: A/fs, ...), converted by ASE.
    """

    format: Optional[str] = None
    species: Optional[Sequence[str]] = None
    lammps_units: str = "metal"


def traj_header_interval(path: Path) -> Optional[float]:
    """Time between frames (fs) of an ASE ``.traj`` file written by ASE molecular
    dynamics (``trajectory=`` argument), from its header; None if not recorded."""
    from ase.io.trajectory import Trajectory

    with Trajectory(str(path)) as trajectory:
        description = trajectory.description or {}
    if description.get("type") != "molecular-dynamics":
        return None
    if "timestep" not in description or "interval" not in description:
        return None
    return float(description["timestep"]) * int(description["interval"]) / ase.units.fs


def count_text_frames(path: Path, file_format: str) -> Optional[int]:
    """Frames of an (ext)xyz file or LAMMPS text dump, counted by scanning lines;
    None if the file does not parse this simply."""
    try:
        with open(path) as file:
            if file_format.startswith("lammps"):
                return sum(line.startswith("ITEM: TIMESTEP") for line in file)
            lines = iter(file)
            count = 0
            for line in lines:
                if not line.strip():
                    continue
                deque(islice(lines, int(line) + 1), maxlen=0)
                count += 1
            return count
    except (ValueError, UnicodeDecodeError):
        return None


class TrajectoryReader:
    """One trajectory file, read frame by frame with checks.

    :param path: the trajectory file.
    :param options: how to read it.
    :raises FileNotFoundError: if the file does not exist.
    :raises TrajectoryError: if ASE cannot tell its format.
    """

    def __init__(self, path: Any, options: ReadOptions) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path}: no such trajectory file")
        try:
            self.format = options.format or ase.io.formats.filetype(str(self.path))
        except Exception as error:
            raise TrajectoryError(
                self.path, f"ASE cannot tell the file format ({error}); give --format"
            ) from error
        self.is_lammps = self.format.startswith("lammps-dump")
        self.species = options.species
        self.read_kwargs: Dict[str, Any] = {}
        if self.is_lammps:
            self.read_kwargs["units"] = options.lammps_units
            if options.species:
                self.read_kwargs["specorder"] = list(options.species)
        self.header_interval: Optional[float] = None
        if self.format == "traj":
            self.header_interval = traj_header_interval(self.path)
        self.num_frames = self.count_frames()
        self.clock: Optional[FrameClock] = None

    @property
    def interval(self) -> Optional[float]:
        """Time between frames, fs, once known (after the second frame)."""
        return None if self.clock is None else self.clock.interval

    def count_frames(self) -> int:
        """Number of frames in the file (a full read for formats without a cheap
        way to count)."""
        if self.format == "traj":
            from ase.io.trajectory import Trajectory

            with Trajectory(str(self.path)) as trajectory:
                return len(trajectory)
        if self.format in ("extxyz", "xyz", "lammps-dump-text"):
            count = count_text_frames(self.path, self.format)
            if count is not None:
                return count
        return sum(1 for _ in self.iread())

    def iread(self) -> Iterator[ase.Atoms]:
        """ASE frames, ASE errors turned into :class:`TrajectoryError`."""
        frames = ase.io.iread(
            str(self.path),
            index=":",
            format=self.format,
            do_not_split_by_at_sign=True,
            **self.read_kwargs,
        )
        index = 0
        while True:
            try:
                atoms = next(frames)
            except StopIteration:
                return
            except Exception as error:
                raise TrajectoryError(
                    self.path, f"ASE cannot read it: {error}", index
                ) from error
            yield atoms
            index += 1

    def check_lammps_types(self, index: int, atoms: ase.Atoms) -> None:
        """Refuse LAMMPS types read as atomic numbers (no ``--species``)."""
        types = atoms.arrays.get("type")
        if self.species or types is None:
            return
        if np.array_equal(atoms.numbers, types):
            raise TrajectoryError(
                self.path,
                "the LAMMPS dump gives atom types, not elements (no 'element' or "
                "'mass' column): give the element of each type with --species "
                "(e.g. --species Al,Cu for types 1 and 2); the masses, and so the "
                "momenta, depend on it",
                index,
            )

    def frames(
        self, expected_interval: Optional[float] = None, expected_from: str = ""
    ) -> Iterator[Frame]:
        """Checked frames, one at a time.

        :param expected_interval: time between frames the data must have, fs.
        :param expected_from: where ``expected_interval`` comes from, for errors.
        """
        self.clock = FrameClock(
            self.path, expected_interval, expected_from, self.header_interval
        )
        first: Optional[Frame] = None
        count = 0
        for index, atoms in enumerate(self.iread()):
            if self.is_lammps:
                self.check_lammps_types(index, atoms)
            frame = frame_from_atoms(self.path, index, atoms)
            if first is None:
                first = frame
            else:
                check_same_system(self.path, first, frame)
            self.clock.tick(index, atoms, self.is_lammps)
            count += 1
            yield frame
        if count != self.num_frames:
            raise TrajectoryError(
                self.path,
                f"{count} frames read, but {self.num_frames} counted before: did the "
                "file change while it was read?",
            )


class FrameClock:
    """Checks that frames are equally spaced in time, and finds that spacing.

    Times come from the info keys of :data:`TIME_INFO_KEYS` (or, for LAMMPS dumps,
    step numbers, which only tell whether frames are equally spaced), from the
    header of ASE ``.traj`` files, and from the expected interval.

    :param expected: the interval the frames must have, fs (None: any).
    :param expected_from: where the expected interval comes from, for errors.
    :param header: the interval the file's header records, fs.
    """

    def __init__(
        self,
        path: Path,
        expected: Optional[float],
        expected_from: str,
        header: Optional[float],
    ) -> None:
        self.path = path
        self.expected = expected
        self.expected_from = expected_from
        self.kind: Optional[str] = None
        self.previous: Optional[float] = None
        self.first_step: Optional[float] = None
        self.interval: Optional[float] = expected
        if header is not None:
            self.check_interval(header, 0, "the file header records")
            self.interval = expected if expected is not None else header

    def check_interval(self, interval: float, index: int, recorded: str) -> None:
        """Refuse a recorded interval (fs) that differs from the expected one."""
        if self.expected is None:
            return
        if not math.isclose(interval, self.expected, rel_tol=INTERVAL_TOLERANCE):
            raise TrajectoryError(
                self.path,
                f"{recorded} frames {interval:.6g} fs apart, but {self.expected_from} "
                f"gives {self.expected:.6g} fs",
                index,
            )

    @staticmethod
    def stamp(atoms: ase.Atoms, is_lammps: bool) -> "tuple[Optional[str], float]":
        """(kind, value) of the time recorded in a frame: ``fs`` or ``step``."""
        for key, to_fs in TIME_INFO_KEYS.items():
            if key in atoms.info:
                return "fs", float(atoms.info[key]) * to_fs
        if is_lammps and LAMMPS_STEP_INFO_KEY in atoms.info:
            return "step", float(atoms.info[LAMMPS_STEP_INFO_KEY])
        return None, math.nan

    def tick(self, index: int, atoms: ase.Atoms, is_lammps: bool) -> None:
        """Take the next frame's time and check its spacing from the previous."""
        kind, value = self.stamp(atoms, is_lammps)
        if index == 0:
            self.kind = kind
        elif kind != self.kind:
            raise TrajectoryError(
                self.path,
                "the frame does not record its time the way frame 0 does "
                f"({kind or 'no time'} instead of {self.kind or 'no time'})",
                index,
            )
        if kind is None:
            return
        previous, self.previous = self.previous, value
        if previous is None:
            return
        step = value - previous
        if self.first_step is None:
            self.take_first_step(index, kind, step)
        elif not math.isclose(step, self.first_step, rel_tol=INTERVAL_TOLERANCE):
            unit = " fs" if kind == "fs" else " MD steps"
            raise TrajectoryError(
                self.path,
                f"frames are not equally spaced in time: {step:.6g}{unit} after "
                f"frame {index - 1}, {self.first_step:.6g}{unit} between frames 0 and "
                "1",
                index,
            )

    def take_first_step(self, index: int, kind: str, step: float) -> None:
        """Record the spacing of frames 0 and 1 (fs or MD steps)."""
        if step <= 0:
            raise TrajectoryError(self.path, "time does not increase", index)
        self.first_step = step
        if kind == "fs":
            self.check_interval(step, index, "the file records")
            if self.interval is None:
                self.interval = float(f"{step:.9g}")
