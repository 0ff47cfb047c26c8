"""The ``mtt-flashmd`` command line: thin parsers over library functions.

Each subcommand lives in its own module, which provides ``add_parser(subparsers)``
registering a parser whose ``func`` default runs the command from parsed arguments.
"""

import argparse
import importlib
import logging
import sys
from typing import List, Optional

from .._warnings import ignore_dependency_warnings
from .stopping import INTERRUPT_STATUS, SIGTERM_STATUS, Terminated, sigterm_unwinds


SUBCOMMANDS = ("pairs", "md", "ipi", "validate", "refine")
"""Modules of this package defining a subcommand each."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``mtt-flashmd`` with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="mtt-flashmd",
        description="From MD trajectories to long-stride FlashMD simulations.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        try:
            module = importlib.import_module(f"metatrain_flashmd.cli.{name}")
        except ModuleNotFoundError as error:
            if error.name == f"metatrain_flashmd.cli.{name}":
                continue
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Entry point of ``mtt-flashmd``; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    ignore_dependency_warnings()
    try:
        with sigterm_unwinds():
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return INTERRUPT_STATUS
    except Terminated:
        print("stopped by SIGTERM", file=sys.stderr)
        return SIGTERM_STATUS
    except (ValueError, FileNotFoundError, OSError) as error:
        print(f"mtt-flashmd {args.command}: error: {error}", file=sys.stderr)
        return 1
