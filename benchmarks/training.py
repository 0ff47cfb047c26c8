"""Training benchmark: ``mtt train`` throughput and accuracy, ours against built-in.

Both implementations train with their default model hyperparameters (the same
values), batch size 8, on the same EMT fcc Al pairs (32 atoms, stride 16 fs), for
the same number of epochs, alternating in fresh processes (the built-in one with
``METATRAIN_FLASHMD_DISABLE=1``). The throughput is the number of training
structures (atoms) per second of epoch wall time, from the timestamps of the epoch
log lines, excluding the first epoch (warm-up); an epoch also evaluates the small
validation set. Accuracy is the validation RMSE of both targets that ``mtt train``
itself reports at the end, evaluating each exported model with the same metatrain
code. Writes ``training.json`` in ``--workdir``.

Usage::

    python benchmarks/training.py              # 4 epochs, 2 rounds (about 9 minutes)
    python benchmarks/training.py --quick      # 3 epochs, 1 round, fewer pairs
"""

import argparse
import datetime
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from common import (
    HERE,
    IMPLEMENTATIONS,
    TIMESTEP_FS,
    environment,
    load_average,
    machine,
    round_order,
)
from systems import aluminium_pairs


OPTIONS = """\
seed: 0
architecture:
  name: experimental.flashmd
  training:
    timestep: {timestep}
    batch_size: {batch_size}
    num_epochs: {epochs}
    log_interval: 1
    checkpoint_interval: 100000
training_set:
  systems: {train}
  targets: &targets
    position:
      key: future_positions
      unit: A
      type: {{cartesian: {{rank: 1}}}}
      sample_kind: atom
    momentum:
      key: future_momenta
      unit: (eV*u)^(1/2)
      type: {{cartesian: {{rank: 1}}}}
      sample_kind: atom
validation_set:
  systems: {validation}
  targets: *targets
test_set: 0.0
"""
EPOCH = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\]\[INFO\] - Epoch:\s+(\d+) \|")
RMSE = re.compile(r"(position|momentum) RMSE \(per atom\): ([0-9.eE+-]+)")


def parse_log(text: str) -> Dict[str, Any]:
    """Epoch times (s since the first epoch line) and the validation RMSEs of the
    final evaluation of the exported model."""
    stamps = []
    for line in text.splitlines():
        match = EPOCH.match(line)
        if match:
            moment = datetime.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S")
            stamps.append(moment.timestamp())
    section = text.split("Evaluating validation dataset")[-1]
    errors = {name: float(value) for name, value in RMSE.findall(section)}
    return {"epoch_stamps": [s - stamps[0] for s in stamps], "validation": errors}


def train(
    implementation: str,
    options: Path,
    rundir: Path,
    threads: int,
    timeout: Optional[float],
) -> Dict[str, Any]:
    """Run ``mtt train`` for one implementation in ``rundir``."""
    rundir.mkdir(parents=True, exist_ok=True)
    mtt = str(Path(sys.executable).parent / "mtt")
    started = time.perf_counter()
    result = subprocess.run(
        [mtt, "train", str(options), "-o", "model.pt"],
        cwd=rundir,
        env=environment(implementation, threads),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (rundir / "train.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"mtt train failed ({implementation}) in {rundir}")
    record = parse_log(result.stdout + result.stderr)
    record["wall_s"] = time.perf_counter() - started
    record["load"] = load_average()
    return record


def summarize(
    records: Dict[str, List[Dict[str, Any]]], structures: int, atoms: int
) -> Dict[str, Any]:
    """Per implementation: median seconds per epoch (the first excluded),
    structures and atoms per second, median validation RMSEs; and the speed-up
    built-in / ours."""
    summary: Dict[str, Any] = {}
    for implementation, runs in records.items():
        # seconds per epoch after the first (the first compiles and warms up)
        per_epoch = [
            (run["epoch_stamps"][-1] - run["epoch_stamps"][0])
            / (len(run["epoch_stamps"]) - 1)
            for run in runs
        ]
        epoch_s = statistics.median(per_epoch)
        summary[implementation] = {
            "epoch_s": epoch_s,
            "epoch_s_runs": per_epoch,
            "structures_per_s": structures / epoch_s,
            "atoms_per_s": structures * atoms / epoch_s,
            "validation_rmse": {
                name: statistics.median(run["validation"][name] for run in runs)
                for name in ("position", "momentum")
            },
            "loads": [run["load"] for run in runs],
        }
    summary["speedup"] = summary["builtin"]["epoch_s"] / summary["ours"]["epoch_s"]
    return summary


def parse_arguments() -> argparse.Namespace:
    """Command-line options; ``--quick`` sets smaller defaults."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--train-pairs", type=int, default=None)
    parser.add_argument("--validation-pairs", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default=str(HERE / "work"))
    args = parser.parse_args()
    args.epochs = args.epochs or (3 if args.quick else 4)
    args.rounds = args.rounds or (1 if args.quick else 2)
    args.train_pairs = args.train_pairs or (96 if args.quick else 160)
    return args


def prepare_pairs(data: Path, num_train: int, num_validation: int) -> int:
    """``train.extxyz`` and ``validation.extxyz`` in ``data``: EMT Al pairs at a
    16 fs stride, one every 4 fs of one trajectory, the first ``num_train`` to
    train and the last ``num_validation`` to validate (cached). Returns the number
    of atoms per structure."""
    import ase.io

    train_file, validation_file = data / "train.extxyz", data / "validation.extxyz"
    if not (train_file.exists() and validation_file.exists()):
        everything = data / "all.extxyz"
        aluminium_pairs(everything, num_train + num_validation, 16, 4)
        frames = ase.io.read(everything, ":")
        ase.io.write(train_file, frames[:num_train])
        ase.io.write(validation_file, frames[num_train:])
    return len(ase.io.read(train_file, 0))


def run_rounds(
    options: Path, workdir: Path, rounds: int, epochs: int, threads: int
) -> Dict[str, List[Dict[str, Any]]]:
    """Train both implementations ``rounds`` times, alternating which goes first;
    the records of :func:`train` per implementation."""
    records: Dict[str, List[Dict[str, Any]]] = {name: [] for name in IMPLEMENTATIONS}
    for round_index in range(rounds):
        for implementation in round_order(round_index):
            rundir = workdir / f"{implementation}-{epochs}ep-round{round_index}"
            record = train(implementation, options, rundir, threads, 3600)
            records[implementation].append(record)
            stamps = record["epoch_stamps"]
            epoch_s = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
            print(
                f"  {implementation:>7}: {epoch_s:.1f} s/epoch, "
                f"validation RMSE {record['validation']} "
                f"(load {record['load']})",
                flush=True,
            )
    return records


def markdown(summary: Dict[str, Any]) -> str:
    """Throughput and validation errors of both implementations, as a table."""
    ours, builtin = summary["ours"], summary["builtin"]
    lines = [
        "| | ours | built-in | ratio |",
        "|---|---|---|---|",
        f"| structures/s | {ours['structures_per_s']:.2f} "
        f"| {builtin['structures_per_s']:.2f} | {summary['speedup']:.2f} |",
        f"| atoms/s | {ours['atoms_per_s']:.0f} | {builtin['atoms_per_s']:.0f} "
        f"| {summary['speedup']:.2f} |",
    ]
    for name, unit in (("position", "A"), ("momentum", "(eV*u)^(1/2)")):
        a, b = ours["validation_rmse"][name], builtin["validation_rmse"][name]
        lines.append(
            f"| validation {name} RMSE ({unit}) | {a:.4g} | {b:.4g} | {b / a:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Prepare the pairs, train both implementations, write ``training.json`` and
    print the table."""
    args = parse_arguments()
    workdir = Path(args.workdir) / "training"
    started = datetime.datetime.now().astimezone()
    print(f"{started.isoformat(timespec='seconds')}, load {load_average()}")
    data = workdir / f"pairs-{args.train_pairs}-{args.validation_pairs}"
    atoms = prepare_pairs(data, args.train_pairs, args.validation_pairs)
    options = data / f"options-{args.epochs}.yaml"
    options.write_text(
        OPTIONS.format(
            timestep=int(TIMESTEP_FS),
            batch_size=args.batch_size,
            epochs=args.epochs,
            train=data / "train.extxyz",
            validation=data / "validation.extxyz",
        )
    )
    records = run_rounds(options, workdir, args.rounds, args.epochs, args.threads)
    summary = summarize(records, args.train_pairs, atoms)
    results = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": args.threads,
        "epochs": args.epochs,
        "train_pairs": args.train_pairs,
        "validation_pairs": args.validation_pairs,
        "batch_size": args.batch_size,
        "atoms_per_structure": atoms,
        "summary": summary,
        "records": records,
        "environment": {"OMP_NUM_THREADS": str(args.threads)},
    }
    (workdir / "training.json").write_text(json.dumps(results, indent=2))
    print(markdown(summary))
    ours, builtin = summary["ours"], summary["builtin"]
    print(f"loads: ours {ours['loads']}, built-in {builtin['loads']}")


if __name__ == "__main__":
    main()
