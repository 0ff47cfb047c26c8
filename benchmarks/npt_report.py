"""The report of the NpT benchmark (``npt.py --stages report``): ``RESULTS.md`` in
the run directory, with the targets, each run's block statistics, the thermal
expansion and the cost of a stride; runs that do not exist are listed as not run.
"""

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import npt_dynamics as dyn


TARGETS = """Targets: mean volume within 0.5% of the EMT reference's; volume standard
deviation within 20% of the reference's; per-element temperature within 3% of the
bath's; statistical error (10 block averages) of each mean volume below 0.2%; the
volume change from 300 K to 600 K of the reference's sign, beyond two combined
errors; an NpT stride costing at most an NVT stride plus one EMT stress call."""


def load(path: Path, discard_fs: float) -> Optional[Dict[str, Dict[str, float]]]:
    """Block statistics of a saved run, or ``None`` if it was not run."""
    if not path.exists():
        return None
    record = dyn.load_record(path)
    stats = dyn.summary(record, discard_fs)
    stats["note"] = record.note
    return stats


def mark(ok: bool) -> str:
    """A verdict."""
    return "yes" if ok else "**no**"


def run_row(name: str, stats: Dict, reference: Dict, temperature: float) -> str:
    """A table row: volume statistics against the reference, temperature, verdicts."""
    volume, ref = stats["volume"], reference["volume"]
    shift = (volume["mean"] - ref["mean"]) / ref["mean"]
    ratio = volume["std"] / ref["std"]
    relative_error = volume["error"] / volume["mean"]
    temperature_key = next(k for k in stats if k.startswith("T_"))
    temp = stats[temperature_key]["mean"]
    temp_error = stats[temperature_key]["error"]
    deviation = (temp - temperature) / temperature
    cells = [
        name,
        f"{volume['mean']:.2f} ± {volume['error']:.2f} ({100 * relative_error:.2f}%)",
        f"{100 * shift:+.2f}% {mark(abs(shift) < 0.005)}",
        f"{volume['std']:.2f} (×{ratio:.2f}) {mark(abs(ratio - 1) < 0.2)}",
        f"{mark(relative_error < 0.002)}",
        f"{temp:.1f} ± {temp_error:.1f} ({100 * deviation:+.1f}%) "
        f"{mark(abs(deviation) < 0.03)}",
    ]
    return "| " + " | ".join(cells) + " |"


def reference_of(runs: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """What FlashMD runs are compared with: the pooled reference runs when there
    are several, else the reference run."""
    pooled_names = [k for k in runs if k.startswith("EMT reference") and "pooled" in k]
    if pooled_names:
        return runs[pooled_names[0]]
    return runs.get("EMT reference (1 fs)")


def volume_table(runs: Dict[str, Dict], temperature: float) -> List[str]:
    """The table of one temperature's runs (the reference's row first)."""
    reference = reference_of(runs)
    lines = [
        f"### {temperature} K",
        "",
        "| run | mean volume (A^3), block error | vs reference | std (A^3) "
        "| error < 0.2% | temperature (K) |",
        "|---|---|---|---|---|---|",
    ]
    if reference is None:
        return lines + ["", "no reference run yet", ""]
    for name, stats in runs.items():
        if stats is None:
            lines.append(f"| {name} | not run | | | | |")
        else:
            lines.append(run_row(name, stats, reference, temperature))
    notes = [f"- {name}: {s['note']}" for name, s in runs.items() if s and s["note"]]
    return lines + [""] + notes + [""] * bool(notes)


def expansion_lines(by_temperature: Dict[int, Dict[str, Any]]) -> List[str]:
    """The volume change from the lowest to the highest temperature, per run,
    and its difference from the reference's (with the combined error)."""
    low, high = sorted(by_temperature)
    lines = [
        f"### Volume change {low} K -> {high} K",
        "",
        "| run | change (A^3) | reference's sign, beyond 2 errors "
        "| minus the reference's (A^3) | within the reference's error; within 2 "
        "combined errors |",
        "|---|---|---|---|---|",
    ]
    reference = _change(
        reference_of(by_temperature[low]), reference_of(by_temperature[high])
    )
    for name in by_temperature[low]:
        first, second = by_temperature[low][name], by_temperature[high].get(name)
        if first is None or second is None or reference is None:
            lines.append(f"| {name} | not run | | | |")
            continue
        change, error = _change(first, second)
        ok = math.copysign(1.0, change) == math.copysign(1.0, reference[0])
        ok = ok and abs(change) > 2 * error
        gap, combined = change - reference[0], math.hypot(error, reference[1])
        lines.append(
            f"| {name} | {change:+.2f} ± {error:.2f} | {mark(ok)} | {gap:+.2f} ± "
            f"{combined:.2f} | {mark(abs(gap) <= reference[1])}; "
            f"{mark(abs(gap) <= 2 * combined)} |"
        )
    return lines + [""]


def _change(low: Optional[Dict], high: Optional[Dict]) -> Optional[tuple]:
    """Volume change between two runs' statistics and its error (``None`` if one
    is missing)."""
    if low is None or high is None:
        return None
    change = high["volume"]["mean"] - low["volume"]["mean"]
    return change, math.hypot(high["volume"]["error"], low["volume"]["error"])


def cost_lines(work: Path) -> List[str]:
    """CPU time per stride, NpT against NVT plus one EMT stress call."""
    path = work / "timing.json"
    timing = json.loads(path.read_text()) if path.exists() else {}
    lines = [
        "### Cost of a stride (ms)",
        "",
        "CPU time of the process (one thread), medians of 9 alternating rounds "
        "of 20 NVT strides, 20 NpT strides and 20 EMT stress calls after a change "
        "of the cell (a new neighbour list, as in a barostat step), on each "
        "temperature's start. Barostat: within the same NpT steps, their time "
        "minus the model's strides, the thermostat and the calculator's stress "
        "calls (its own arithmetic; share of the NpT stride in brackets).",
        "",
        "| case | NpT | NVT | EMT stress | barostat | NpT <= NVT + stress |",
        "|---|---|---|---|---|---|",
    ]
    for key, value in timing.items():
        npt, nvt, stress = (1e3 * value[k] for k in ("npt", "nvt", "stress"))
        ok = npt <= nvt + stress
        lines.append(
            f"| {key} | {npt:.1f} | {nvt:.1f} | {stress:.1f} | "
            f"{_overhead(value)} | {mark(ok)} |"
        )
    if not timing:
        lines.append("| not run | | | | |")
    return lines + [""]


def _overhead(value: Dict[str, Any]) -> str:
    """The barostat's own cost per NpT stride, ms (and % of the stride)."""
    if "barostat" not in value:
        return "-"
    share = 100 * value["barostat"] / value["npt"]
    return f"{1e3 * value['barostat']:.2f} ({share:.1f}%)"


def collect(work: Path, cfg: Any, temperature: int) -> Dict[str, Any]:
    """Statistics of every run at one temperature, by name (``None``: not run),
    with the runs of several seeds also pooled."""
    directory = work / f"T{temperature}"
    runs: Dict[str, Any] = {}
    seeds = getattr(cfg, "reference_extra_seeds", [])
    _add_seeds(runs, directory, "reference", "EMT reference (1 fs)", seeds, cfg)
    for stride in cfg.strides:
        name = f"FlashMD ASE NpT {stride} fs"
        seeds = getattr(cfg, "extra_seeds", [])
        _add_seeds(runs, directory, f"flashmd-npt-s{stride}", name, seeds, cfg)
    for stride in cfg.ipi_strides:
        name = f"FlashMD i-PI NpT {stride} fs"
        seeds = getattr(cfg, "ipi_extra_seeds", [])
        _add_seeds(runs, directory, f"ipi-npt-s{stride}", name, seeds, cfg)
        path = directory / f"ipi-nvt-s{stride}.npz"
        runs[f"FlashMD i-PI NVT {stride} fs"] = load(path, cfg.discard_fs)
    return runs


def _add_seeds(
    runs: Dict[str, Any], directory: Path, stem: str, name: str, seeds, cfg: Any
) -> None:
    """The run ``stem``, its repeats with ``seeds`` that exist, and, with two or
    more, their pooled statistics."""
    runs[name] = load(directory / f"{stem}.npz", cfg.discard_fs)
    group = [runs[name]] if runs[name] is not None else []
    for seed in seeds:
        path = directory / f"{stem}-seed{seed}.npz"
        if path.exists():
            runs[f"{name}, seed {seed}"] = load(path, cfg.discard_fs)
            group.append(runs[f"{name}, seed {seed}"])
    if len(group) > 1:
        runs[f"{name}, {len(group)} seeds pooled"] = pooled(group)


def pooled(group: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The mean of independent runs' block statistics: means averaged, errors
    combined (sqrt(sum e^2) / n), standard deviations averaged."""
    result: Dict[str, Any] = {"note": ""}
    for key in group[0]:
        if key == "note":
            continue
        means = [run[key]["mean"] for run in group]
        errors = [run[key]["error"] for run in group]
        result[key] = {
            "mean": sum(means) / len(group),
            "error": math.sqrt(sum(e * e for e in errors)) / len(group),
            "std": sum(run[key]["std"] for run in group) / len(group),
        }
    return result


def validation_lines(work: Path, cfg: Any, temperatures: Sequence[int]) -> List[str]:
    """The ``validate`` verdicts of each model at each temperature (NVT, EMT)."""
    lines = [
        "### validate (NVT at the reference's mean volume, EMT reference)",
        "",
        "| temperature | stride | verdict | T vs target | virial pressure vs "
        "reference (GPa) | failed checks |",
        "|---|---|---|---|---|---|",
    ]
    for temperature in temperatures:
        for stride in cfg.strides:
            path = work / f"T{temperature}" / f"validate-s{stride}" / "summary.json"
            if not path.exists():
                lines.append(f"| {temperature} K | {stride} fs | not run | | |")
                continue
            summary = json.loads(path.read_text())
            means = [
                f"{c['subject']} {c['value']:.1f} K "
                f"({100 * (c['value'] / c['reference'] - 1):+.1f}%)"
                for c in summary["checks"]
                if c["quantity"] == "temperature_mean" and c["value"] is not None
            ]
            pressures = [
                f"{c['value']:.3f} vs {c['reference']:.3f}"
                for c in summary["checks"]
                if c["quantity"] == "pressure" and c["value"] is not None
            ]
            verdict = "pass" if summary["passed"] else "**FAIL**"
            failed = "; ".join(summary["failed"]) or "-"
            lines.append(
                f"| {temperature} K | {stride} fs | {verdict} | {', '.join(means)} "
                f"| {', '.join(pressures) or '-'} | {failed} |"
            )
    return lines + [""]


def density_lines(work: Path, cfg: Any) -> List[str]:
    """The ``density`` stage: each model's temperature in FlashMD NVT at the
    NpT-equilibrated start's volume and at the reference's mean volume."""
    lines = [
        "### FlashMD NVT at two densities (``density`` stage)",
        "",
        "| temperature | stride | at the start's volume | at the mean volume |",
        "|---|---|---|---|",
    ]
    found = False
    for temperature in cfg.seed_temperatures:
        for stride in cfg.strides:
            cells = [
                _density_cell(work, cfg, temperature, f"density-{label}-s{stride}")
                for label in ("start", "mean-volume")
            ]
            found = found or any(cell != "not run" for cell in cells)
            lines.append(f"| {temperature} K | {stride} fs | {' | '.join(cells)} |")
    return lines + [""] if found else []


def _density_cell(work: Path, cfg: Any, temperature: int, stem: str) -> str:
    """Pooled temperature and volume of the runs ``T{T}/{stem}-seed*.npz``."""
    paths = sorted((work / f"T{temperature}").glob(f"{stem}-seed*.npz"))
    runs = [run for run in (load(path, cfg.discard_fs) for path in paths) if run]
    if not runs:
        return "not run"
    group = pooled(runs)
    mean, error = group["T_Al"]["mean"], group["T_Al"]["error"]
    change = 100 * (mean / temperature - 1)
    volume = group["volume"]["mean"]
    seeds = len(runs)
    return (
        f"{mean:.1f} ± {error:.1f} K ({change:+.1f}%), {volume:.0f} A^3, {seeds} seeds"
    )


def report_options(work: Path, cfg: Any) -> str:
    """The options of ``npt.py`` that select ``work``'s runs."""
    options = " --quick" if work.name.startswith("quick") else ""
    if getattr(cfg, "refine_rounds", 0):
        options += f" --refine {cfg.refine_rounds}"
        if "-tol" in work.name:
            options += (
                f" --refine-temperature-tolerance {cfg.refine_temperature_tolerance:g}"
            )
        options += " --strides " + ",".join(str(stride) for stride in cfg.strides)
    return options


def write_report(work: Path, cfg: Any, temperatures: Sequence[int]) -> None:
    """Write ``RESULTS.md`` in ``work`` from the runs there, and print it."""
    by_temperature = {t: collect(work, cfg, t) for t in temperatures}
    lines = [
        "# NpT benchmark results",
        "",
        f"Generated by `python benchmarks/npt.py{report_options(work, cfg)} "
        f"--stages report` from `{work}`.",
        "",
        TARGETS,
        "",
    ]
    for temperature, runs in by_temperature.items():
        volume_runs = {k: v for k, v in runs.items() if "NVT" not in k}
        lines += volume_table(volume_runs, temperature)
        nvt = {k: v for k, v in runs.items() if "NVT" in k and v is not None}
        for name, stats in nvt.items():
            temp = next(v for k, v in stats.items() if k.startswith("T_"))["mean"]
            lines.append(
                f"- {name}: temperature {temp:.1f} K "
                f"({100 * (temp / temperature - 1):+.1f}%, "
                f"{mark(abs(temp / temperature - 1) < 0.03)})"
            )
        lines.append("")
    volume_only = {
        t: {k: v for k, v in runs.items() if "NVT" not in k}
        for t, runs in by_temperature.items()
    }
    lines += expansion_lines(volume_only)
    lines += validation_lines(work, cfg, temperatures)
    lines += density_lines(work, cfg)
    lines += cost_lines(work)
    text = "\n".join(lines)
    (work / "RESULTS.md").write_text(text + "\n")
    print(text)
