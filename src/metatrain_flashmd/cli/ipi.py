"""``mtt-flashmd ipi``: an i-PI simulation whose MD steps are FlashMD strides.

A thin parser over :func:`metatrain_flashmd.ipi.run_ipi`; i-PI itself is an
optional dependency (``pip install metatrain-flashmd[ipi]``), imported only when
the command runs.
"""

import argparse
from typing import Any

from .summary import run_simulation


DESCRIPTION = """\
Run an i-PI input (NVE, NVT with any i-PI thermostat, NpT with i-PI's isotropic or
stochastic-rescaling barostat) with one FlashMD stride per MD step. The input's
timestep must be the model's stride; its forcefield serves the energy and stress
that i-PI's output, barostat and energy rescaling use. Outputs and checkpoints are
i-PI's, written to the current directory.
"""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``ipi`` subcommand.

    :param subparsers: the subparsers of the ``mtt-flashmd`` parser.
    :return: the new parser, whose ``func`` default runs the command.
    """
    parser = subparsers.add_parser(
        "ipi",
        help="run an i-PI input with FlashMD strides",
        description=DESCRIPTION,
    )
    parser.add_argument("input", metavar="INPUT.xml", help="the i-PI input file")
    parser.add_argument("--model", required=True, help="exported FlashMD model (.pt)")
    parser.add_argument(
        "--steps",
        type=int,
        help="number of strides (default: the input's total_steps)",
    )
    parser.add_argument("--device", help="torch device of the model (cpu, cuda, ...)")
    parser.add_argument(
        "--conserve-energy",
        action="store_true",
        help="rescale the momenta after each stride to keep i-PI's conserved "
        "quantity (one more energy evaluation per stride)",
    )
    parser.add_argument(
        "--random-rotation",
        action="store_true",
        help="rotate the system randomly around each stride (i-PI's random seed)",
    )
    parser.add_argument(
        "--strict-masses",
        action="store_true",
        help="refuse i-PI masses that differ from the model's at all, instead of "
        "adopting the model's where they differ as tables of atomic weights do",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``mtt-flashmd ipi`` from parsed arguments; the exit status."""
    from metatrain_flashmd.ipi import run_ipi

    return run_simulation(
        "ipi",
        lambda: run_ipi(
            args.input,
            args.model,
            args.steps,
            device=args.device,
            conserve_energy=args.conserve_energy,
            random_rotation=args.random_rotation,
            adopt_model_masses=not args.strict_masses,
        ),
    )
