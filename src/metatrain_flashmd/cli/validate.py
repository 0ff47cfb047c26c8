"""``mtt-flashmd validate``: can this model be trusted for this system? (see
:func:`metatrain_flashmd.validation.validate`).

Exit status: 0 when every check passes, 1 when one fails, 2 on bad input (nothing
is written then).
"""

import argparse
import sys
from typing import Any, Tuple


DESCRIPTION = """\
Run an exported FlashMD model and reference MD from the same start for the same
time, and judge what simulations rely on: the mean temperature of each element and
its distribution, the total and partial RDFs, the velocity autocorrelation, the
diffusion coefficient where the system diffuses, and in NVE the energy drift with
and without energy rescaling. Each comparison is judged against the reference's own
statistical noise (its first half against its second half, or its block-averaged
standard error), so that a failed check means "worse than the reference's own
noise and outside the tolerance". The reference is reference MD with a calculator
(--reference) at a short timestep, or a trajectory you already have
(--reference-trajectory). Writes DIR/report.md (verdict table, per-stride
diagnostics), DIR/summary.json (every figure and verdict; top-level "passed"),
PNG plots and the trajectories, and prints the verdict table. Exit status: 0 when
every check passes, 1 when one fails, 2 on bad input.
"""


def parse_tolerance(text: str) -> Tuple[str, float]:
    """``NAME=VALUE`` (``temperature=0.05``)."""
    name, separator, value = text.partition("=")
    try:
        if not separator:
            raise ValueError
        return name.strip(), float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected NAME=VALUE (e.g. temperature=0.05), got '{text}'"
        ) from None


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``validate`` subcommand.

    :param subparsers: the subparsers of the ``mtt-flashmd`` parser.
    :return: the new parser, whose ``func`` default runs the command.
    """
    parser = subparsers.add_parser(
        "validate",
        help="check a FlashMD model's dynamics against reference MD",
        description=DESCRIPTION,
    )
    parser.add_argument("model", help="exported FlashMD model (.pt)")
    parser.add_argument(
        "start",
        help="START structure (any ASE format; last frame); without momenta it is "
        "equilibrated by the reference first",
    )
    parser.add_argument(
        "--temperature",
        type=float,
        required=True,
        help="temperature in K: of the NVT bath and of the initial momenta",
    )
    reference = parser.add_mutually_exclusive_group(required=True)
    reference.add_argument(
        "--reference",
        metavar="REFERENCE",
        help="reference calculator: 'emt', an exported metatomic MLIP (.pt) with an "
        "energy output, or 'package.module:function' returning an ASE calculator",
    )
    reference.add_argument(
        "--reference-trajectory",
        metavar="FILE",
        help="reference trajectory of the same system at this temperature (extxyz "
        "with momenta and a time_fs info key, or ASE .traj)",
    )
    add_run_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def standalone_parser() -> argparse.ArgumentParser:
    """An ``mtt-flashmd`` parser with only this subcommand (for the documentation
    and the tests, until ``validate`` is registered with the others)."""
    parser = argparse.ArgumentParser(prog="mtt-flashmd")
    add_parser(parser.add_subparsers(dest="command", metavar="COMMAND"))
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on the runs, the report and the tolerances."""
    parser.add_argument(
        "--ensemble",
        choices=("nvt", "nve"),
        default="nvt",
        help="nvt (a thermostat on both runs) or nve (FlashMD without and, with a "
        "reference calculator, with energy rescaling) (default: nvt)",
    )
    parser.add_argument(
        "--no-bare-nve",
        dest="bare_nve",
        action="store_false",
        help="nve: run FlashMD only with energy rescaling (what mtt-flashmd md runs "
        "with an energy model), not also without it",
    )
    parser.add_argument(
        "--time-ps",
        type=float,
        default=None,
        help="length of each run (default: 10; 40 in NVE with several elements, "
        "where the elements' temperatures need that long to be resolved)",
    )
    parser.add_argument(
        "--report-dir",
        default="flashmd-validation",
        metavar="DIR",
        help="directory of the report (default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--thermostat",
        choices=("langevin", "bussi"),
        default="langevin",
        help="NVT thermostat of both runs (default: langevin)",
    )
    parser.add_argument(
        "--time-constant",
        type=float,
        default=100.0,
        help="thermostat time constant in fs (default: 100)",
    )
    add_reference_arguments(parser)
    parser.add_argument(
        "--reference-cache",
        default=None,
        metavar="DIR",
        help="keep the reference run in DIR and reuse it when another model is "
        "validated from the same start with the same reference and settings",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="do not print the verdict table"
    )


def add_reference_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on reference MD, the tolerances and the device (shared with
    ``mtt-flashmd refine``)."""
    parser.add_argument(
        "--reference-timestep",
        type=float,
        default=1.0,
        help="largest timestep of reference MD in fs (default: 1)",
    )
    parser.add_argument(
        "--equilibration-ps",
        type=float,
        default=1.0,
        help="reference equilibration of a START without momenta (default: 1)",
    )
    parser.add_argument(
        "--tolerance",
        type=parse_tolerance,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change a tolerance, e.g. temperature=0.05 (repeatable; see the "
        "documentation for the names and defaults)",
    )
    parser.add_argument("--device", default=None, help="torch device (default: pick)")


def run(args: argparse.Namespace) -> int:
    """Run ``mtt-flashmd validate`` from parsed arguments; the exit status."""
    from metatrain_flashmd.validation import (
        Tolerances,
        ValidationInputError,
        validate,
    )

    try:
        tolerances = Tolerances.from_dict(dict(args.tolerance))
    except ValueError as error:
        print(f"mtt-flashmd validate: error: --tolerance: {error}", file=sys.stderr)
        return 2
    try:
        result = validate(
            args.model,
            args.start,
            args.temperature,
            args.reference,
            reference_trajectory=args.reference_trajectory,
            ensemble=args.ensemble,
            bare_nve=args.bare_nve,
            time_ps=args.time_ps,
            report_dir=args.report_dir,
            seed=args.seed,
            tolerances=tolerances,
            thermostat=args.thermostat,
            time_constant_fs=args.time_constant,
            reference_timestep_fs=args.reference_timestep,
            equilibration_ps=args.equilibration_ps,
            device=args.device,
            quiet=args.quiet,
            reference_cache=args.reference_cache,
        )
    except ValidationInputError as error:
        print(f"mtt-flashmd validate: error: {error}", file=sys.stderr)
        return 2
    return 0 if result.passed else 1
