"""``mtt-flashmd pairs``: training pairs from MD trajectories (see
:func:`metatrain_flashmd.pairs.build_pairs`)."""

import argparse
import re
import sys
from typing import Any, List, Optional

from .._names import (
    FRAME_TIME_INFO_KEY,
    FUTURE_MOMENTA_KEY,
    FUTURE_POSITIONS_KEY,
    MASS_UNIT,
    MOMENTUM_UNIT,
    TIME_UNIT,
    TIMESTEP_INFO_KEY,
)
from ..pairs.build import DEFAULT_SPACING, build_pairs
from ..pairs.cells import DEFAULT_MAX_STRAIN
from ..pairs.reading import ReadOptions


DESCRIPTION = f"""\
Turn MD trajectories into FlashMD training pairs: each frame at time t with the
positions and momenta lag frames later (arrays {FUTURE_POSITIONS_KEY}, unwrapped by
the minimum image, in A, and {FUTURE_MOMENTA_KEY}, in {MOMENTUM_UNIT}). Every
trajectory file is split in time into a training, a validation and a test block (in
this order); pairs never span two blocks or two files. With -o pairs.xyz, the sets
are written to pairs-train.xyz, pairs-val.xyz and pairs-test.xyz (a set with
fraction 0 is not written). Each structure records the time between its frames in
the info key {TIMESTEP_INFO_KEY} ({TIME_UNIT}) and the masses (array masses,
{MASS_UNIT}). Pairs are written in their recorded direction only: mtt train reverses
them in time at random on the fly (training.time_reversal). The momenta are
checked: they must give a temperature between 0 and 1e5 K and agree with the time
between frames (see --no-interval-check). In variable-cell (NpT) trajectories the
later frame of a pair is mapped into the earlier frame's cell (see
--max-cell-strain). Nothing is written if an error occurs.
"""

LEGACY_REVERSAL_NOTE = (
    "mtt-flashmd pairs: note: --time-reversal and --no-time-reversal are deprecated: "
    "no reversed twins are written by default (mtt train reverses pairs on the fly); "
    "--write-reversed-twins writes them"
)
"""Printed on standard error when the flags of earlier versions are given."""


def parse_species(text: str) -> List[str]:
    """Elements separated by commas or spaces (``"Al,Cu"``)."""
    species = [item for item in re.split(r"[,\s]+", text) if item]
    if not species:
        raise argparse.ArgumentTypeError("give at least one element")
    return species


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``pairs`` subcommand."""
    parser = subparsers.add_parser(
        "pairs",
        help="turn MD trajectories into FlashMD training pairs",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "trajectories",
        nargs="+",
        metavar="TRAJECTORY",
        help="trajectory files in any format ASE reads, with momenta or velocities "
        "(extxyz, ASE .traj, LAMMPS text dumps with vx vy vz, ...); several files "
        "are independent runs",
    )
    parser.add_argument(
        "--lag",
        type=int,
        required=True,
        help="frames between the two frames of a pair; the pair timestep is lag "
        "times the frame interval",
    )
    parser.add_argument(
        "--frame-interval",
        type=float,
        metavar="FS",
        help="time between consecutive frames, in fs; read from the files when they "
        f"record it (info keys {FRAME_TIME_INFO_KEY} in fs or time in ASE units, the "
        "header of ASE MD .traj files) and checked against them when given",
    )
    parser.add_argument(
        "--spacing",
        type=int,
        default=DEFAULT_SPACING,
        help="frames between the starts of consecutive pairs (default: %(default)s)",
    )
    add_reversal_arguments(parser)
    add_split_arguments(parser)
    add_reading_arguments(parser)
    add_cell_arguments(parser)
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="no progress report and no summary",
    )
    parser.set_defaults(func=run)
    return parser


def add_reversal_arguments(parser: argparse.ArgumentParser) -> None:
    """The opt-in for time-reversed twins, and the flags it replaces."""
    parser.add_argument(
        "--write-reversed-twins",
        action="store_true",
        help="also write the time-reversed twin of each pair right after it (frames "
        "swapped, both momenta negated), for training tools that do not reverse "
        "pairs themselves; mtt train does, on the fly, so the options file then "
        "switches its training.time_reversal off",
    )
    parser.add_argument(  # earlier versions' name of the flag above, default on
        "--time-reversal",
        dest="legacy_time_reversal",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=argparse.SUPPRESS,
    )


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on the sets and the output files."""
    parser.add_argument(
        "--validation",
        type=float,
        default=0.1,
        metavar="FRACTION",
        help="fraction of the frames of each file (a block at its end, before the "
        "test block) for validation (default: %(default)s)",
    )
    parser.add_argument(
        "--test",
        type=float,
        default=0.1,
        metavar="FRACTION",
        help="fraction of the frames of each file (a block at its end) for testing "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        help="output name, .xyz or .extxyz: pairs.xyz gives pairs-train.xyz, "
        "pairs-val.xyz and pairs-test.xyz (extended XYZ)",
    )
    parser.add_argument(
        "--options",
        metavar="YAML",
        help="also write options for `mtt train` (architecture experimental.flashmd, "
        "training.timestep in fs, training.masses in u, the targets and the set "
        "files); the files are named relative to the directory of this options "
        "file, so run `mtt train` from that directory",
    )


def add_reading_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on how the trajectories are read."""
    parser.add_argument(
        "--format",
        help="ASE format of the trajectories (default: guessed from each file)",
    )
    parser.add_argument(
        "--species",
        type=parse_species,
        metavar="ELEMENTS",
        help="LAMMPS dumps: element of each atom type, type 1 first, e.g. 'Al,Cu'. "
        "Required when the dump has no element or mass column; ASE takes the masses "
        "of these elements to turn velocities into momenta",
    )
    parser.add_argument(
        "--lammps-units",
        default="metal",
        metavar="STYLE",
        help="LAMMPS dumps: the `units` style of the run (metal: A and A/ps, real: "
        "A and A/fs, ...), converted by ASE to A and ASE velocities "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--no-interval-check",
        dest="check_interval",
        action="store_false",
        help="do not refuse files whose momenta contradict the time between frames "
        "(atoms moving between consecutive frames much more or less than "
        "momentum/mass times the interval), for data where velocity times time does "
        "not describe that motion: velocities redrawn by a thermostat, frames far "
        "apart against the vibrations",
    )


def add_cell_arguments(parser: argparse.ArgumentParser) -> None:
    """Variable-cell (NpT) trajectories: the tolerance on the cell's change."""
    parser.add_argument(
        "--max-cell-strain",
        type=float,
        default=DEFAULT_MAX_STRAIN,
        metavar="STRAIN",
        help="variable-cell (e.g. NpT) trajectories: the later frame of each pair "
        "is mapped into the earlier frame's cell (fractional coordinates kept, "
        "momenta transformed with them), which puts targets off by about twice the "
        "cell's strain over the pair; a pair whose strain exceeds this is refused "
        "(default: %(default)s)",
    )


def run(args: argparse.Namespace) -> Optional[int]:
    """Run ``mtt-flashmd pairs`` from parsed arguments."""
    write_twins = args.write_reversed_twins
    if args.legacy_time_reversal is not None:
        print(LEGACY_REVERSAL_NOTE, file=sys.stderr)
        write_twins = write_twins or args.legacy_time_reversal
    summary = build_pairs(
        args.trajectories,
        args.output,
        lag=args.lag,
        frame_interval=args.frame_interval,
        spacing=args.spacing,
        write_reversed_twins=write_twins,
        validation=args.validation,
        test=args.test,
        options=args.options,
        progress=not args.quiet,
        read_options=ReadOptions(
            format=args.format, species=args.species, lammps_units=args.lammps_units
        ),
        check_interval=args.check_interval,
        max_cell_strain=args.max_cell_strain,
    )
    if not args.quiet:
        print(summary.report())
    return 0
