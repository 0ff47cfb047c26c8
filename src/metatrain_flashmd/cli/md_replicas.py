"""``mtt-flashmd md`` with several structures: independent replicas run together,
one model call per stride for all (:func:`metatrain_flashmd.replicas.run_replicas`).

Several structure files make one replica each, from its last frame; ``--replicas``
makes one replica of every frame of the file(s). Replica ``i`` (counted from 0, in
the order of the files and frames) writes ``OUTPUT`` and ``LOG`` with ``-i`` before
the suffix (:func:`~metatrain_flashmd.replicas.numbered_paths`) and is seeded with
``SEED + i`` (:func:`~metatrain_flashmd.replicas.replica_seeds`), so that it
writes what ``mtt-flashmd md`` writes for its structure alone with ``--seed SEED +
i``.

Exit status: 0 when every replica completed its strides; 1 when one or more
stopped during the run (each is named on standard error; their files keep what
was written, the other replicas went on); 2 when a replica's input cannot be run
(:class:`~metatrain_flashmd.replicas.ReplicaInputError`, naming the replica by
file and frame) or an option is refused for replicas, before any stride and
before any file is written. Other errors end as in a single run (status 1).
"""

import argparse
import sys
import time
from typing import Any, List, Optional, Sequence

from .._progress import format_duration


SECONDS_PER_DAY = 86400.0

REPLICA_OPTIONS = (
    "model",
    "structure",
    "format",
    "steps",
    "timestep",
    "temperature",
    "thermostat",
    "time_constant",
    "equipartition_time",
    "energy_model",
    "energy_calculator",
    "random_rotation",
    "seed",
    "device",
    "output",
    "log",
    "interval",
    "replicas",
    "atom_budget",
)
"""The ``md`` options (argument destinations) replicas use, each as a run alone
does (the seed and the file names per replica)."""

CONSTANT_PRESSURE_OPTIONS = ("pressure", "barostat_time", "compressibility", "cell")
"""The ``md`` options of constant pressure, which replicas do not run:
``--pressure`` is refused, and the others do nothing without it (as in a run
alone). A new ``md`` option must join one of these lists (a test checks it)."""


def add_replica_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of runs of several replicas."""
    group = parser.add_argument_group(
        "replicas",
        "several structure files (one replica each, from its last frame) or "
        "--replicas (one replica per frame) run together, one model call per stride "
        "for all; replica i (from 0, in the order of the files and frames) writes "
        "OUTPUT and LOG with -i before the suffix (out-0.extxyz, out-1.extxyz, ...; "
        "zero-padded to the same width) and is seeded with SEED + i",
    )
    group.add_argument(
        "--replicas",
        action="store_true",
        help="run every frame of the structure file(s) as a replica, rather than "
        "the last frame only",
    )
    group.add_argument(
        "--atom-budget",
        type=int,
        default=None,
        metavar="N",
        help="the most atoms in one model call (default: from the memory available "
        "on the device, about 110 kB per atom)",
    )


def usage_error(message: str) -> int:
    """Print ``message`` as the error of ``mtt-flashmd md``; exit status 2."""
    print(f"mtt-flashmd md: error: {message}", file=sys.stderr)
    return 2


def refused_option(args: argparse.Namespace) -> Optional[str]:
    """Why the options cannot run as replicas, or ``None``."""
    if args.pressure is not None:
        return (
            "--pressure: replicas run at constant volume only (NVE, Langevin or "
            "Bussi); run each structure at constant pressure alone"
        )
    if args.atom_budget is not None and args.atom_budget < 1:
        return f"--atom-budget must be at least 1, got {args.atom_budget}"
    return None


def replica_options(args: argparse.Namespace) -> Any:
    """The dynamics of every replica, from the command line."""
    from metatrain_flashmd.replicas import ReplicaOptions

    return ReplicaOptions(
        thermostat=args.thermostat,
        temperature_K=args.temperature,
        time_constant_fs=args.time_constant,
        equipartition_time_fs=args.equipartition_time,
        energy_model=args.energy_model,
        energy_calculator=args.energy_calculator,
        random_rotation=args.random_rotation,
    )


def run_replicas_command(args: argparse.Namespace, model: Any) -> int:
    """Run the structures of ``args`` as replicas; the exit status.

    :param args: the parsed ``mtt-flashmd md`` arguments.
    :param model: the exported FlashMD model: its path (kept as the integrators'
        ``model_path``) or the loaded model.
    """
    from metatrain_flashmd.ase.base import load_model, model_timestep_fs
    from metatrain_flashmd.replicas import (
        ReplicaInputError,
        numbered_paths,
        replica_seeds,
        run_replicas,
    )
    from metatrain_flashmd.replicas.sources import structures_from_files

    refused = refused_option(args)
    if refused is not None:
        return usage_error(refused)
    timestep_fs = model_timestep_fs(load_model(model)[0])
    try:
        structures = structures_from_files(args.structure, args.replicas, args.format)
        count = len(structures)
        outputs = numbered_paths(args.output, count)
        logs = None if args.log is None else numbered_paths(args.log, count)
        start = time.perf_counter()
        outcomes = run_replicas(
            model,
            structures,
            args.steps,
            outputs,
            replica_options(args),
            logs=logs,
            seeds=replica_seeds(args.seed, count),
            device=args.device,
            interval=args.interval,
            atom_budget=args.atom_budget,
            progress=True,
        )
    except ReplicaInputError as error:
        return usage_error(str(error))
    seconds = time.perf_counter() - start
    report(outcomes, outputs, logs, args.steps)
    return summarize(outcomes, args.steps, timestep_fs, seconds)


def report(
    outcomes: Sequence[Any],
    outputs: Sequence[Any],
    logs: Optional[Sequence[Any]],
    steps: int,
) -> None:
    """One line per replica: what it did and its files (standard output); the
    replicas that stopped early are also named on standard error."""
    from metatrain_flashmd.replicas.checks import replica_name

    for outcome in outcomes:
        index = outcome.index
        files = str(outputs[index]) + ("" if logs is None else f", {logs[index]}")
        name = replica_name(index, outcome.label)
        if outcome.error is None:
            print(
                f"{name}: {outcome.steps} strides, mean temperature "
                f"{outcome.mean_temperature:.1f} K -> {files}"
            )
            continue
        line = f"{name}: stopped after {outcome.steps} of {steps} strides -> {files}"
        print(line)
        print(
            f"mtt-flashmd md: {name} stopped after {outcome.steps} of {steps} "
            f"strides ({outcome.error}); its files keep what was written",
            file=sys.stderr,
        )


def summarize(
    outcomes: List[Any], steps: int, timestep_fs: float, seconds: float
) -> int:
    """Print the summary line of a replica run; the exit status (1 if any replica
    stopped early)."""
    failed = sum(outcome.error is not None for outcome in outcomes)
    count = len(outcomes)
    simulated_ps = steps * timestep_fs / 1000.0
    speed = simulated_ps * SECONDS_PER_DAY / seconds if seconds > 0 else float("nan")
    print(
        f"{count - failed} of {count} replicas completed {steps} strides "
        f"({simulated_ps:.4g} ps each) in {format_duration(seconds)}: "
        f"{speed:.4g} ps/day per replica, {count * speed:.4g} in all"
    )
    return 1 if failed else 0
