"""Inference benchmark: metatrain-flashmd against metatrain's built-in FlashMD.

For each system (fcc Al of 32 to 6912 atoms and a Cu/Au alloy melt), both exported
models (default hyperparameters, random weights, float32) are timed in fresh
processes, alternating between the two implementations (and swapping which goes
first every round), through ``metatomic_ase.MetatomicCalculator.run_model`` on 2
threads. Reports the median time per stride and per atom, the peak resident memory,
FLOPs per atom (``FlopCounterMode``) and the fraction of the machine's fp32
matrix-multiplication throughput (measured in the same run) achieved, with the
ratios built-in / ours. Writes ``inference.json`` and a plot in ``--workdir``.

Usage::

    python benchmarks/inference.py              # full run (about 12 minutes)
    python benchmarks/inference.py --quick      # 32 and 864 atoms, melt (3 minutes)
"""

import argparse
import datetime
import json
import statistics
from pathlib import Path
from typing import Any, Dict, List

from common import (
    HERE,
    IMPLEMENTATIONS,
    load_average,
    machine,
    round_order,
    run_json,
)
from systems import copper_gold_melt


FULL_SYSTEMS = ["al:32", "al:256", "al:864", "al:2048", "al:6912", "cuau:5"]
QUICK_SYSTEMS = ["al:32", "al:864", "cuau:5"]


def build_models(workdir: Path, threads: int) -> Dict[str, Dict[str, Any]]:
    """Export one model per implementation (each in its own process)."""
    info = {}
    for implementation in IMPLEMENTATIONS:
        path = workdir / f"{implementation}.pt"
        info[implementation] = run_json(
            "build_model.py", ["--out", str(path)], implementation, threads
        )
        info[implementation]["path"] = str(path)
    ours, builtin = info["ours"]["hypers"], info["builtin"]["hypers"]
    shared = {k: v for k, v in builtin.items() if k in ours}
    if any(ours[k] != v for k, v in shared.items()):
        raise RuntimeError(f"different hyperparameters: {ours} vs {builtin}")
    return info


def matmul_peak(threads: int) -> float:
    return run_json("matmul_peak.py", ["--threads", str(threads)], "ours", threads)[
        "gflops"
    ]


def time_system(
    spec: str,
    models: Dict[str, Dict[str, Any]],
    workdir: Path,
    rounds: int,
    threads: int,
    budget: float,
) -> Dict[str, Any]:
    """Alternate the implementations on one system; returns the raw records."""
    records: Dict[str, List[Dict[str, Any]]] = {name: [] for name in IMPLEMENTATIONS}
    for round_index in range(rounds):
        for implementation in round_order(round_index):
            arguments = [
                "--model",
                models[implementation]["path"],
                "--system",
                spec,
                "--workdir",
                str(workdir),
                "--threads",
                str(threads),
                "--budget",
                str(budget),
            ]
            if round_index == 0:
                arguments.append("--flops")
            record = run_json("infer_worker.py", arguments, implementation, threads)
            record["load"] = load_average()
            records[implementation].append(record)
            print(
                f"  {spec:>8} {implementation:>7}: "
                f"{statistics.median(record['times_s']) * 1e3:9.1f} ms/stride "
                f"(load {record['load']})",
                flush=True,
            )
    return records


def summarize(
    records: Dict[str, List[Dict[str, Any]]], peak_gflops: float
) -> Dict[str, Any]:
    """Median time per stride over all timed calls, memory, FLOPs, ratios."""
    summary: Dict[str, Any] = {}
    for implementation, runs in records.items():
        times = [t for run in runs for t in run["times_s"]]
        atoms = runs[0]["atoms"]
        median = statistics.median(times)
        peak = max(run["peak_rss_bytes"] for run in runs)
        loaded = min(run["rss_loaded_bytes"] for run in runs)
        flops = runs[0]["flops"]
        summary[implementation] = {
            "atoms": atoms,
            "stride_ms": median * 1e3,
            "per_atom_ms": median * 1e3 / atoms,
            "stride_ms_spread": [min(times) * 1e3, max(times) * 1e3],
            "peak_rss_MB": peak / 1e6,
            "peak_rss_per_atom_kB": peak / atoms / 1e3,
            "extra_rss_per_atom_kB": (peak - loaded) / atoms / 1e3,
            "mflop_per_atom": None if flops is None else flops / atoms / 1e6,
            "matmul_fraction": (
                None if flops is None else flops / median / 1e9 / peak_gflops
            ),
            "loads": [run["load"] for run in runs],
        }
    ours, builtin = summary["ours"], summary["builtin"]
    summary["speedup"] = builtin["stride_ms"] / ours["stride_ms"]
    summary["memory_ratio"] = builtin["peak_rss_MB"] / ours["peak_rss_MB"]
    return summary


def markdown(results: Dict[str, Any]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| system | atoms | ours ms/stride | built-in ms/stride | speed-up "
        "| ours ms/atom | built-in ms/atom | ours peak MB (kB/atom) "
        "| built-in peak MB (kB/atom) | ours MFLOP/atom (matmul %) "
        "| built-in MFLOP/atom (matmul %) | load (1 min) |",
        "|" + "---|" * 12,
    ]
    for spec, summary in results["systems"].items():
        ours, builtin = summary["ours"], summary["builtin"]

        def flops(entry: Dict[str, Any]) -> str:
            if entry["mflop_per_atom"] is None:
                return "-"
            return (
                f"{entry['mflop_per_atom']:.1f} ({100 * entry['matmul_fraction']:.0f}%)"
            )

        loads = ", ".join(load.split()[0] for load in ours["loads"] + builtin["loads"])
        lines.append(
            f"| {spec} | {ours['atoms']} | {ours['stride_ms']:.1f} "
            f"| {builtin['stride_ms']:.1f} | {summary['speedup']:.2f} "
            f"| {ours['per_atom_ms']:.3f} | {builtin['per_atom_ms']:.3f} "
            f"| {ours['peak_rss_MB']:.0f} ({ours['peak_rss_per_atom_kB']:.0f}) "
            f"| {builtin['peak_rss_MB']:.0f} ({builtin['peak_rss_per_atom_kB']:.0f}) "
            f"| {flops(ours)} | {flops(builtin)} | {loads} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="three systems, 1 round")
    parser.add_argument("--systems", nargs="*", help="e.g. al:864 cuau:5")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--budget", type=float, default=6.0, help="s per process")
    parser.add_argument("--workdir", default=str(HERE / "work"))
    parser.add_argument("--reuse-models", action="store_true")
    args = parser.parse_args()

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    systems = args.systems or (QUICK_SYSTEMS if args.quick else FULL_SYSTEMS)
    rounds = args.rounds or (1 if args.quick else 2)
    started = datetime.datetime.now().astimezone()
    print(f"{started.isoformat(timespec='seconds')}, load {load_average()}")
    copper_gold_melt(workdir / "cuau-5.extxyz", repeat=5)

    if args.reuse_models and all(
        (workdir / f"{name}.pt").exists() for name in IMPLEMENTATIONS
    ):
        models = {
            name: {"path": str(workdir / f"{name}.pt")} for name in IMPLEMENTATIONS
        }
    else:
        models = build_models(workdir, args.threads)
    peaks = [matmul_peak(args.threads)]
    print(f"fp32 matmul throughput: {peaks[0]:.0f} GFLOP/s", flush=True)

    records = {}
    for spec in systems:
        records[spec] = time_system(
            spec, models, workdir, rounds, args.threads, args.budget
        )
    peaks.append(matmul_peak(args.threads))
    peak = statistics.mean(peaks)
    results = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": args.threads,
        "matmul_gflops": peaks,
        "models": models,
        "systems": {spec: summarize(r, peak) for spec, r in records.items()},
        "records": records,
    }
    (workdir / "inference.json").write_text(json.dumps(results, indent=2))
    print(f"fp32 matmul throughput: {peaks} GFLOP/s (start, end)")
    print(markdown(results))
    try:
        from plot import plot_inference

        plot_inference(results, workdir / "time_per_atom.png")
    except ImportError:
        print("matplotlib not available: no plot")


if __name__ == "__main__":
    main()
