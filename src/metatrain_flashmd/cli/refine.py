"""``mtt-flashmd refine``: train, validate, and refine on the states the model
visits until validation passes (see :func:`metatrain_flashmd.refine.refine`).

Exit status: 0 when the final model passes validation, 1 when the round budget
is spent (or a step failed), 2 on bad input (nothing is written then), 130 when
stopped by Ctrl-C and 143 by ``SIGTERM`` (:mod:`metatrain_flashmd.cli.stopping`):
the refine then unwinds, stopping its ``mtt`` child and releasing its lock, and
resumes when run again.
"""

import argparse
import sys
from typing import Any

from metatrain_flashmd.cli.stopping import INTERRUPT_STATUS, SIGTERM_STATUS, Terminated
from metatrain_flashmd.cli.validate import add_reference_arguments


DESCRIPTION = """\
Automate the loop of training, validating and refining a FlashMD model. Round 0
trains with OPTIONS.yaml (an `mtt train` options file, e.g. written by
`mtt-flashmd pairs --options`), or takes --checkpoint, and validates the model
as `mtt-flashmd validate` does (at --temperature from START, NVT or, with
--ensemble nve, NVE with energy rescaling). While
validation fails and rounds are left, each round runs FlashMD from the start,
scores the states it visits (elements drifting apart in temperature, energy
mismatch, closer contacts than in the data), restarts short reference MD from
the worst ones and from copies with the elements out of equipartition, turns the
restarts into pairs (as `mtt-flashmd pairs`), and fine-tunes the last checkpoint
on all the data with a fresh warm-up and decay, epochs and learning rate set by
documented rules. Every round keeps its data, model and report in DIR/round-NN/;
the final model is DIR/final.pt (DIR/final.ckpt beside it) with its report in
DIR/final-report/: the round that passed or, when the budget is spent, the
least severe round. Run the same command again to resume an interrupted refine.
Exit status: 0 passed, 1 budget spent or a failed step, 2 bad input.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``refine`` subcommand.

    :param subparsers: the subparsers of the ``mtt-flashmd`` parser.
    :return: the new parser, whose ``func`` default runs the command.
    """
    parser = subparsers.add_parser(
        "refine",
        help="train and refine a FlashMD model until validation passes",
        description=DESCRIPTION,
    )
    parser.add_argument("options", help="mtt train options file of the first training")
    parser.add_argument(
        "start",
        help="START structure of the validations (any ASE format; last frame); "
        "without momenta it is equilibrated by the reference once",
    )
    parser.add_argument(
        "--reference",
        required=True,
        help="reference calculator: 'emt', an exported metatomic MLIP (.pt) with an "
        "energy output, or 'package.module:function' returning an ASE calculator",
    )
    parser.add_argument(
        "--temperature", type=float, required=True, help="temperature in K"
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="refinement rounds after the first training (default: 4)",
    )
    parser.add_argument(
        "-o",
        "--output",
        default="refine",
        metavar="DIR",
        help="the refine directory; an existing one is resumed (default: refine)",
    )
    parser.add_argument(
        "--checkpoint", help="start from this checkpoint instead of training round 0"
    )
    add_run_arguments(parser)
    parser.set_defaults(func=run)
    return parser


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Options on the validations and the reference runs."""
    parser.add_argument(
        "--time-ps",
        type=float,
        default=None,
        help="length of each validation run; collection and restarts scale with it "
        "(default: 10; 40 in NVE with several elements; a resumed refine keeps "
        "its own)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument(
        "--ensemble",
        choices=("nvt", "nve"),
        default="nvt",
        help="the validation's ensemble: nvt (Langevin, 100 fs), or nve (FlashMD "
        "with energy rescaling against reference NVE, as mtt-flashmd md runs with "
        "an energy model) (default: nvt)",
    )
    add_reference_arguments(parser)
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print only the outcome"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``mtt-flashmd refine`` from parsed arguments; the exit status."""
    from metatrain_flashmd.refine import RefineError
    from metatrain_flashmd.validation import Tolerances, ValidationInputError

    try:
        tolerances = Tolerances.from_dict(dict(args.tolerance))
    except ValueError as error:
        print(f"mtt-flashmd refine: error: --tolerance: {error}", file=sys.stderr)
        return 2
    try:
        result = _refine(args, tolerances)
    except ValidationInputError as error:
        print(f"mtt-flashmd refine: error: {error}", file=sys.stderr)
        return 2
    except RefineError as error:
        print(f"mtt-flashmd refine: error: {error}", file=sys.stderr)
        print(
            f"(run the same command again to resume in {args.output})", file=sys.stderr
        )
        return 1
    except (KeyboardInterrupt, Terminated) as stop:
        name = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C"
        print(
            f"mtt-flashmd refine: stopped by {name}; what the finished steps wrote "
            f"is kept: run the same command again to resume in {args.output}",
            file=sys.stderr,
        )
        return SIGTERM_STATUS if isinstance(stop, Terminated) else INTERRUPT_STATUS
    if args.quiet:
        print(f"refine: {result.outcome}")
    return 0 if result.passed else 1


def _refine(args: argparse.Namespace, tolerances: Any) -> Any:
    """The library's refine with the command line's arguments."""
    from metatrain_flashmd.refine import refine

    return refine(
        args.options,
        args.start,
        args.reference,
        args.temperature,
        rounds=args.rounds,
        directory=args.output,
        checkpoint=args.checkpoint,
        time_ps=args.time_ps,
        seed=args.seed,
        ensemble=args.ensemble,
        tolerances=tolerances,
        reference_timestep_fs=args.reference_timestep,
        equilibration_ps=args.equilibration_ps,
        device=args.device,
        progress=not args.quiet,
    )
