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
      per_atom: true
    momentum:
      key: future_momenta
      unit: (eV*u)^(1/2)
      type: {{cartesian: {{rank: 1}}}}
      per_atom: true
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


def main() -> None:
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

    epochs = args.epochs or (3 if args.quick else 4)
    rounds = args.rounds or (1 if args.quick else 2)
    num_train = args.train_pairs or (96 if args.quick else 160)
    workdir = Path(args.workdir) / "training"
    started = datetime.datetime.now().astimezone()
    print(f"{started.isoformat(timespec='seconds')}, load {load_average()}")

    # one trajectory: the first pairs train, the last ones validate
    data = workdir / f"pairs-{num_train}-{args.validation_pairs}"
    train_file, validation_file = data / "train.extxyz", data / "validation.extxyz"
    if not (train_file.exists() and validation_file.exists()):
        import ase.io

        everything = data / "all.extxyz"
        aluminium_pairs(everything, num_train + args.validation_pairs, 16, 4)
        frames = ase.io.read(everything, ":")
        ase.io.write(train_file, frames[:num_train])
        ase.io.write(validation_file, frames[num_train:])
    atoms = 32
    options = data / f"options-{epochs}.yaml"
    options.write_text(
        OPTIONS.format(
            timestep=int(TIMESTEP_FS),
            batch_size=args.batch_size,
            epochs=epochs,
            train=train_file,
            validation=validation_file,
        )
    )

    records: Dict[str, List[Dict[str, Any]]] = {name: [] for name in IMPLEMENTATIONS}
    for round_index in range(rounds):
        for implementation in round_order(round_index):
            rundir = workdir / f"{implementation}-{epochs}ep-round{round_index}"
            record = train(implementation, options, rundir, args.threads, 3600)
            records[implementation].append(record)
            stamps = record["epoch_stamps"]
            epoch_s = (stamps[-1] - stamps[0]) / (len(stamps) - 1)
            print(
                f"  {implementation:>7}: {epoch_s:.1f} s/epoch, "
                f"validation RMSE {record['validation']} "
                f"(load {record['load']})",
                flush=True,
            )
    summary = summarize(records, num_train, atoms)
    results = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": args.threads,
        "epochs": epochs,
        "train_pairs": num_train,
        "validation_pairs": args.validation_pairs,
        "batch_size": args.batch_size,
        "atoms_per_structure": atoms,
        "summary": summary,
        "records": records,
        "environment": {"OMP_NUM_THREADS": str(args.threads)},
    }
    (workdir / "training.json").write_text(json.dumps(results, indent=2))
    ours, builtin = summary["ours"], summary["builtin"]
    print("| | ours | built-in | ratio |")
    print("|---|---|---|---|")
    print(
        f"| structures/s | {ours['structures_per_s']:.2f} "
        f"| {builtin['structures_per_s']:.2f} | {summary['speedup']:.2f} |"
    )
    print(
        f"| atoms/s | {ours['atoms_per_s']:.0f} | {builtin['atoms_per_s']:.0f} "
        f"| {summary['speedup']:.2f} |"
    )
    for name, unit in (("position", "A"), ("momentum", "(eV*u)^(1/2)")):
        a, b = ours["validation_rmse"][name], builtin["validation_rmse"][name]
        print(f"| validation {name} RMSE ({unit}) | {a:.4g} | {b:.4g} | {b / a:.2f} |")
    print(f"loads: ours {ours['loads']}, built-in {builtin['loads']}")


if __name__ == "__main__":
    main()
