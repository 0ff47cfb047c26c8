"""FlashMD training pairs from MD trajectories (``mtt-flashmd pairs``).

A pair is a frame at time t (positions, momenta, cell) and the positions and momenta
``lag`` frames later (arrays ``future_positions``, unwrapped against t by the minimum
image, and ``future_momenta``); in variable-cell (NpT) trajectories the later frame
is first mapped into the earlier frame's cell (see
:mod:`~metatrain_flashmd.pairs.cells`, which bounds the error and sets the
tolerance). Each trajectory file is split in time into a
training, a validation and a test block, in this order; a pair is kept only if both
of its frames lie in one block.

Time reversal belongs to the trainer: ``mtt train`` reverses each training pair at
random on the fly (``training.time_reversal``, on by default), so no reversed copies
are written by default. For other training tools, ``write_reversed_twins`` writes
each pair's time-reversed twin (the frames swapped, both momenta negated) right
after it, in the same set.

Frames are streamed: only the last ``lag + 1`` frames of a file are held in memory.
"""

import logging
from collections import deque
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional, Sequence

import ase
import numpy as np

from .._names import (
    FRAME_INFO_KEY,
    FRAME_TIME_INFO_KEY,
    FUTURE_FRAME_INFO_KEY,
    FUTURE_MOMENTA_KEY,
    FUTURE_POSITIONS_KEY,
    REVERSED_INFO_KEY,
    SOURCE_INFO_KEY,
    TIMESTEP_INFO_KEY,
)
from .._progress import Progress
from .._stride import stride_warning
from .cells import (
    DEFAULT_MAX_STRAIN,
    check_max_strain,
    checked_pair_frame,
    in_cell_of,
)
from .output import (
    OutputFiles,
    check_directory,
    options_text,
    set_file_paths,
)
from .plausibility import FrameMotion, check_temperature, reference_md_step
from .reading import Frame, ReadOptions, TrajectoryError, TrajectoryReader
from .splits import (
    Block,
    PairsArgumentError,
    check_arguments,
    plan_blocks,
)
from .summary import PairsSummary
from .targets import check_pair


__all__ = ["DEFAULT_SPACING", "PairsSummary", "build_pairs"]


DEFAULT_SPACING = 20
"""Default number of frames between the starts of consecutive pairs."""


def pair_atoms(
    frame: Frame,
    positions: np.ndarray,
    momenta: np.ndarray,
    future_positions: np.ndarray,
    future_momenta: np.ndarray,
    info: Dict[str, Any],
) -> ase.Atoms:
    """One pair as an ASE structure: atoms, masses and cell of ``frame``, the given
    positions (A) and momenta ((eV*u)^(1/2)) at t and t + timestep, and ``info``."""
    atoms = ase.Atoms(
        numbers=frame.numbers, positions=positions, cell=frame.cell, pbc=frame.pbc
    )
    atoms.set_masses(frame.masses)
    atoms.set_momenta(momenta)
    atoms.new_array(FUTURE_POSITIONS_KEY, future_positions)
    atoms.new_array(FUTURE_MOMENTA_KEY, future_momenta)
    atoms.info.update(info)
    return atoms


def make_pairs(
    path: Path,
    earlier: Frame,
    later: Frame,
    timestep: float,
    reversed_twin: bool,
) -> "tuple[List[ase.Atoms], float]":
    """The pair from ``earlier`` to ``later`` (and its time-reversed twin) and the
    largest displacement in it (A).

    :param timestep: time from ``earlier`` to ``later``, fs.
    :raises TrajectoryError: if the pair is unusable (e.g. an atom moves by half the
        cell height or more).
    """
    displacements, problem = check_pair(
        earlier.positions,
        earlier.momenta,
        later.positions,
        later.momenta,
        earlier.cell,
        earlier.pbc,
    )
    if problem is not None:
        detail = f" (pair from frame {earlier.index})"
        if problem.atom is not None:
            detail += f", atom {problem.atom}"
        raise TrajectoryError(path, problem.reason, later.index, detail)
    future_positions = earlier.positions + displacements
    info = {TIMESTEP_INFO_KEY: float(timestep), SOURCE_INFO_KEY: str(path)}
    forward = {FRAME_INFO_KEY: earlier.index, FUTURE_FRAME_INFO_KEY: later.index}
    pairs = [
        pair_atoms(
            earlier,
            earlier.positions,
            earlier.momenta,
            future_positions,
            later.momenta,
            {**info, **forward, REVERSED_INFO_KEY: False},
        )
    ]
    if reversed_twin:
        backward = {FRAME_INFO_KEY: later.index, FUTURE_FRAME_INFO_KEY: earlier.index}
        pairs.append(
            pair_atoms(
                earlier,
                future_positions,
                -later.momenta,
                earlier.positions,
                -earlier.momenta,
                {**info, **backward, REVERSED_INFO_KEY: True},
            )
        )
    largest = float(np.linalg.norm(displacements, axis=1).max(initial=0.0))
    return pairs, largest


class PairBuilder:
    """Streams trajectories into the set files, gathering the summary.

    :param lag: frames between the two frames of a pair.
    :param spacing: frames between the starts of consecutive pairs.
    :param reversed_twins: also write the time-reversed twin of each pair.
    :param frame_interval: time between frames, fs, or None to read it from the
        files.
    :param output: the open set files.
    :param progress: counts the frames read (``update(1)`` per frame).
    :param check_interval: refuse files whose momenta contradict the frame
        interval (see :mod:`.plausibility`).
    :param max_strain: largest strain of the cell over a pair (variable cells).
    """

    def __init__(
        self,
        lag: int,
        spacing: int,
        reversed_twins: bool,
        frame_interval: Optional[float],
        output: OutputFiles,
        progress: Progress,
        check_interval: bool = True,
        max_strain: float = DEFAULT_MAX_STRAIN,
    ) -> None:
        self.lag = lag
        self.max_strain = max_strain
        self.spacing = spacing
        self.reversed_twins = reversed_twins
        self.interval = frame_interval
        self.interval_from = "--frame-interval"
        self.output = output
        self.progress = progress
        self.summary = PairsSummary()
        self.temperature_sum = 0.0
        self.mass_origins: Dict[int, str] = {}
        self.check_interval = check_interval
        self.md_steps: List[float] = []

    def add_trajectory(self, reader: TrajectoryReader, blocks: List[Block]) -> None:
        """Write the pairs of one file, ``blocks`` giving the set of its frames."""
        starts = {
            start: block.name
            for block in blocks
            for start in block.pair_starts(self.lag, self.spacing)
        }
        window: Deque[Frame] = deque(maxlen=self.lag + 1)
        motion = FrameMotion()
        temperature_sum = 0.0
        for frame in reader.frames(self.interval, self.interval_from):
            if frame.index == 0:
                self.add_masses(reader.path, frame)
            else:
                motion.add(window[-1], in_cell_of(frame, window[-1]))
            window.append(frame)
            self.summary.frames_read += 1
            temperature_sum += frame.temperature
            self.progress.update(1)
            set_name = starts.get(frame.index - self.lag)
            if set_name is not None:
                self.add_pair(reader, window, set_name)
        self.check_plausibility(reader, motion, temperature_sum / reader.num_frames)
        self.temperature_sum += temperature_sum
        self.summary.trajectories += 1
        if self.interval is None and reader.interval is not None:
            self.interval = reader.interval
            self.interval_from = f"the frames of {reader.path}"

    def check_plausibility(
        self, reader: TrajectoryReader, motion: FrameMotion, temperature: float
    ) -> None:
        """Refuse a file whose momenta are in no physical unit or contradict the
        frame interval; note its MD step for the stride warning."""
        lammps_units = reader.read_kwargs.get("units") if reader.is_lammps else None
        check_temperature(reader.path, temperature, lammps_units)
        interval, interval_from = self.interval, self.interval_from
        if interval is None:
            interval = reader.interval
            interval_from = "the times recorded in the file"
        if self.check_interval and interval is not None:
            motion.check(reader.path, interval, interval_from)
        md_step = reference_md_step(reader)
        if md_step is not None:
            self.md_steps.append(md_step)

    def add_pair(
        self, reader: TrajectoryReader, window: Sequence[Frame], set_name: str
    ) -> None:
        """Write the pair from the first to the last frame of ``window`` (and its
        twin) to a set, the last mapped into the first's cell if it changed."""
        earlier, later = window[0], window[-1]
        interval = self.interval if self.interval is not None else reader.interval
        if interval is None:
            raise TrajectoryError(
                reader.path, missing_interval_message(reader), later.index
            )
        timestep = float(f"{self.lag * interval:.12g}")
        later, strain = checked_pair_frame(reader.path, window, self.max_strain)
        self.summary.largest_cell_strain = max(self.summary.largest_cell_strain, strain)
        pairs, largest = make_pairs(
            reader.path, earlier, later, timestep, self.reversed_twins
        )
        for atoms in pairs:
            self.output.write_atoms(set_name, atoms)
        self.summary.pairs[set_name] += len(pairs)
        self.summary.frame_interval = interval
        self.summary.timestep = timestep
        self.summary.largest_displacement = max(
            self.summary.largest_displacement, largest
        )

    def finish(
        self, set_files: Dict[str, Path], options_path: Optional[Path]
    ) -> PairsSummary:
        """Complete the summary and write the options file, if asked for.

        :param set_files: the file of each set, by short set name.
        :param options_path: where the options file goes (None: not written).
        """
        summary = self.summary
        summary.temperature = self.temperature_sum / max(summary.frames_read, 1)
        summary.files = set_files
        summary.options = options_path
        summary.reversed_twins = self.reversed_twins
        warning = stride_warning(
            summary.timestep,
            min(self.md_steps) if self.md_steps else None,
            frames_per_stride=self.lag,
        )
        if warning is not None:
            logging.getLogger(__name__).warning(warning)
        if options_path is not None:
            text = options_text(
                set_files,
                options_path,
                summary.timestep,
                summary.masses,
                time_reversal=not self.reversed_twins,
            )
            self.output.write_text("options", text)
        return summary

    def add_masses(self, path: Path, frame: Frame) -> None:
        """Record the mass of each element of ``frame``; refuse an element with two
        masses (one mass per element is what ``training.masses`` can hold)."""
        masses = self.summary.masses
        for atom, (z, mass) in enumerate(zip(frame.numbers.tolist(), frame.masses)):
            if z not in masses:
                masses[z] = float(mass)
                self.mass_origins[z] = f"atom {atom} of {path}"
            elif not np.isclose(masses[z], mass, rtol=1e-9, atol=0.0):
                raise TrajectoryError(
                    path,
                    f"element {z} has the mass {mass} u here, but {masses[z]} u for "
                    f"{self.mass_origins[z]}: FlashMD models take one mass per "
                    "element",
                    frame.index,
                    f", atom {atom}",
                )


def missing_interval_message(reader: TrajectoryReader) -> str:
    """Why the time between frames of ``reader``'s file is unknown, and the fix."""
    if reader.is_lammps:
        return (
            "LAMMPS dumps record step numbers, not times: give --frame-interval (the "
            "dump interval times the MD timestep, in fs)"
        )
    return (
        "the file does not record the time between frames (info key "
        f"'{FRAME_TIME_INFO_KEY}' in fs or 'time' in ASE units, or the header of a "
        ".traj file written by ASE MD): give --frame-interval in fs"
    )


def build_pairs(
    trajectories: Sequence[Any],
    output: Any,
    lag: int,
    frame_interval: Optional[float] = None,
    spacing: int = DEFAULT_SPACING,
    write_reversed_twins: bool = False,
    validation: float = 0.1,
    test: float = 0.1,
    options: Optional[Any] = None,
    progress: bool = False,
    read_options: Optional[ReadOptions] = None,
    check_interval: bool = True,
    max_cell_strain: float = DEFAULT_MAX_STRAIN,
) -> PairsSummary:
    """Write FlashMD training pairs from MD trajectories, split by time into sets.

    :param trajectories: trajectory files (any format ASE reads, with momenta or
        velocities); pairs never span two files.
    :param output: ``.xyz`` or ``.extxyz`` path; the sets go to ``<stem>-train``,
        ``<stem>-val`` and ``<stem>-test`` with the same suffix.
    :param lag: frames between the two frames of a pair.
    :param frame_interval: time between frames, fs; read from the files if None
        and checked against them otherwise.
    :param spacing: frames between the starts of consecutive pairs.
    :param write_reversed_twins: also write the time-reversed twin of each pair,
        for training tools that do not reverse pairs themselves (``mtt train``
        does, on the fly: the options file then switches that off).
    :param validation: fraction of the frames of each file for validation.
    :param test: fraction of the frames of each file for testing.
    :param options: where to write ``options.yaml`` for ``mtt train`` (None: not
        written); data paths in it are relative to its directory.
    :param progress: show progress on standard error: a bar on a terminal, a few
        lines otherwise.
    :param read_options: format and LAMMPS settings of the files.
    :param check_interval: refuse a file whose momenta contradict the time between
        its frames (displacement between consecutive frames against momentum/mass
        times the interval, see :mod:`metatrain_flashmd.pairs.plausibility`);
        switch off for data where it does not apply. Temperatures that are zero or
        above 1e5 K are always refused.
    :param max_cell_strain: in variable-cell (NpT) trajectories, the largest strain
        of the cell over a pair (dimensionless); the later frame of a pair is mapped
        into the earlier frame's cell (:mod:`~metatrain_flashmd.pairs.cells`, which
        bounds the error), and a larger strain is refused.
    :raises ValueError: for bad arguments or input; nothing is written then.
    """
    fractions = {"train": 1.0 - validation - test, "val": validation, "test": test}
    options_path = None if options is None else Path(options)
    check_arguments(lag, spacing, frame_interval, fractions, options_path)
    max_strain = check_max_strain(max_cell_strain)
    set_files = set_file_paths(output, fractions)
    destinations: Dict[str, Path] = dict(set_files)
    if options_path is not None:
        check_directory(options_path)
        destinations["options"] = options_path
    readers = open_readers(trajectories, read_options or ReadOptions(), destinations)
    plans = plan_blocks(readers, lag, spacing, fractions)
    total = sum(reader.num_frames for reader in readers)
    with (
        OutputFiles(destinations) as files,
        Progress(total, "frame", enabled=progress) as bar,
    ):
        builder = PairBuilder(
            lag,
            spacing,
            write_reversed_twins,
            frame_interval,
            files,
            bar,
            check_interval=check_interval,
            max_strain=max_strain,
        )
        for reader, blocks in zip(readers, plans):
            builder.add_trajectory(reader, blocks)
        summary = builder.finish(set_files, options_path)
        files.commit()
    return summary


def open_readers(
    trajectories: Sequence[Any],
    read_options: ReadOptions,
    outputs: Dict[str, Path],
) -> List[TrajectoryReader]:
    """Readers of the input files; refuse a file given twice or also an output."""
    if len(trajectories) == 0:
        raise PairsArgumentError("no trajectory file given")
    seen: Dict[Path, Any] = {path.resolve(): None for path in outputs.values()}
    readers = []
    for path in trajectories:
        resolved = Path(path).resolve()
        if resolved in seen:
            raise PairsArgumentError(f"{path}: given twice (as input or output)")
        seen[resolved] = path
        readers.append(TrajectoryReader(path, read_options))
    if read_options.species and not any(reader.is_lammps for reader in readers):
        raise PairsArgumentError("--species applies to LAMMPS dumps only")
    return readers
