"""Analysis of the runs of the fidelity benchmark, and its report ``RESULTS.md``.

:func:`analyse_system` reads the reference and FlashMD trajectories of a system and
returns every figure of merit; :func:`results_markdown` turns the figures of all
systems into ``RESULTS.md`` (targets and verdicts, every run, speed, wall times,
the plots of :mod:`plots`). ``run_fidelity.py``'s report stage writes it, and so
does this script from a run directory of that one::

    python benchmarks/fidelity/report.py                        # work/full -> here
    python benchmarks/fidelity/report.py --workdir benchmarks/fidelity/work/quick \\
        --out benchmarks/fidelity/work/quick/report
"""

import argparse
import datetime
import json
import logging
import os
import platform
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]  # these scripts and the shared ones

import analysis  # noqa: E402
import cases  # noqa: E402
import flashmd_runs  # noqa: E402
import numpy as np  # noqa: E402
import plots  # noqa: E402
import systems  # noqa: E402
from flashmd_runs import NVE_KINDS  # noqa: E402


ROOT = HERE.parents[1]
"""The checkout's root."""
DEFAULT_WORKDIR = HERE / "work" / "full"
"""Run directory of ``run_fidelity.py`` with its default ``--workdir``."""
RESULTS = "RESULTS.md"
"""Name of the generated report."""
SETTINGS = "settings.json"
"""File of a run directory holding the settings its runs were made with."""
LOG = logging.getLogger("fidelity")
TEMPERATURE_TOLERANCE = 0.03
"""Per-element mean temperatures: within 3% of the target (NVT) or of each other
(NVE)."""
RDF_TOLERANCE = 0.05
"""RDF integrated absolute difference (see :func:`analysis.rdf_difference`)."""
DIFFUSION_TOLERANCE = 0.20
"""Diffusion coefficient within 20% of the reference, where the system diffuses."""
SPEEDUP_TARGET = 60.0
"""Speedup over a same-size PET MLIP at 1 fs, at 32 fs strides."""


def _element_summary(trajectory: systems.Trajectory) -> Dict[str, Dict[str, float]]:
    """Mean and standard deviation of each element's temperature, K (frames after
    the first tenth of the run, to skip the initial transient)."""
    skip = len(trajectory.time_fs) // 10
    result = {}
    for symbol, values in analysis.element_temperatures(trajectory).items():
        values = values[skip:]
        result[symbol] = {
            "mean": float(values.mean()),
            "std": float(values.std()),
            "error": analysis.block_error(values),
        }
    return result


def analyse_run(
    trajectory: systems.Trajectory, reference: Dict[str, Any]
) -> Dict[str, Any]:
    """Figures of one run, compared with the reference's (``reference`` is the
    output of this function for the reference run, with ``rdf`` and ``vacf``)."""
    rdf = analysis.rdfs(trajectory)
    vacf = analysis.vacf(trajectory)
    result: Dict[str, Any] = {
        "simulated_ps": float(trajectory.time_fs[-1] / 1000),
        "time_constant_fs": trajectory.time_constant_fs,
        "note": trajectory.note,
        "wall_s": float(trajectory.wall_s),
        "temperatures": _element_summary(trajectory),
        "drift_meV_atom_ps": analysis.energy_drift(trajectory),
        "diffusion": analysis.diffusion(trajectory),
        "equipartition": analysis.equipartition(trajectory),
        "rdf": rdf,
        "vacf": vacf,
    }
    if reference is not None:
        result["rdf_difference"] = {
            key: analysis.rdf_difference(rdf, reference["rdf"], key)
            for key in rdf
            if key != "r"
        }
        result["vacf_difference"] = {
            symbol: analysis.vacf_difference(reference["vacf"], vacf, symbol)
            for symbol in analysis.symbols(trajectory)
        }
    return result


def analyse_system(system: cases.System, work: Path) -> Optional[Dict[str, Any]]:
    """Every figure of one system (``None`` before its reference run exists): the
    reference run, its RDF noise floor (first half against second half), and the
    FlashMD runs of each trained stride."""
    path = work / "reference-nve.npz"
    if not path.exists():
        return None
    reference_run = systems.load_trajectory(path)
    reference = analyse_run(reference_run, None)
    half = len(reference_run.time_fs) // 2
    halves = [
        analysis.rdfs(_frames(reference_run, slice(0, half))),
        analysis.rdfs(_frames(reference_run, slice(half, None))),
    ]
    reference["rdf_noise"] = analysis.rdf_difference(*halves)
    result = {"system": system, "work": work, "reference": reference, "strides": {}}
    nvt_path = work / "reference-nvt.npz"
    if nvt_path.exists():
        result["reference_nvt"] = analyse_run(systems.load_trajectory(nvt_path), None)
    for stride in system.strides_fs:
        runs = {}
        for kind in flashmd_runs.RUN_KINDS:
            run_path = work / f"stride{stride}" / f"flashmd-{kind}.npz"
            if run_path.exists():
                runs[kind] = analyse_run(systems.load_trajectory(run_path), reference)
        if runs:
            result["strides"][stride] = runs
    timing_path = work / "timing.json"
    result["timing"] = (
        json.loads(timing_path.read_text()) if timing_path.exists() else {}
    )
    walls = work / "walltimes.json"
    result["walltimes"] = json.loads(walls.read_text()) if walls.exists() else {}
    return result


def _frames(trajectory: systems.Trajectory, window: slice) -> systems.Trajectory:
    """The frames of ``trajectory`` in ``window``."""
    return systems.Trajectory(
        time_fs=trajectory.time_fs[window],
        positions=trajectory.positions[window],
        momenta=trajectory.momenta[window],
        potential_energy=trajectory.potential_energy[window],
        numbers=trajectory.numbers,
        masses=trajectory.masses,
        cell=trajectory.cell,
    )


# ---------------------------------------------------------------------------------
#  tables
# ---------------------------------------------------------------------------------


def _verdict(ok: Optional[bool]) -> str:
    """``pass``, ``MISS`` or ``n/a``."""
    return "n/a" if ok is None else ("pass" if ok else "**MISS**")


def _run_verdict(kind: str, ok: Optional[bool]) -> str:
    """The verdict of one run's figure: the targets apply to the runs the
    benchmark is about (NVT, NVE with energy rescaling, and the extra integrator
    options); the bare model's NVE run is there for its energy drift, so its
    figures are shown without a verdict (but say which side they fall)."""
    if kind == "nve" and ok is not None:
        return f"no target ({'within' if ok else 'outside'})"
    return _verdict(ok)


def _temperatures_text(temperatures: Dict[str, Dict[str, float]]) -> str:
    """``Cu 598(4) ± 35, Au 610(9) ± 60`` (K): mean (block-average standard error
    of the mean) ± standard deviation of the instantaneous values."""
    return ", ".join(
        f"{symbol} {value['mean']:.0f}({value['error']:.0f}) ± {value['std']:.0f}"
        for symbol, value in temperatures.items()
    )


def _equipartition_text(run: Dict[str, Any]) -> str:
    """``1.05 / 0.08``: direction ratio / per-atom spread."""
    figures = run["equipartition"]
    return f"{figures['direction_ratio']:.2f} / {figures['atom_spread']:.2f}"


def _spread(temperatures: Dict[str, Dict[str, float]]) -> Optional[float]:
    """Relative spread of the element mean temperatures (max - min) / mean, or
    ``None`` for a single element."""
    means = [value["mean"] for value in temperatures.values()]
    if len(means) < 2:
        return None
    return (max(means) - min(means)) / float(np.mean(means))


def _worst_rdf(run: Dict[str, Any]) -> str:
    """Total RDF difference, and the worst partial one when there are partials."""
    differences = run["rdf_difference"]
    text = f"{differences['total']:.3f}"
    partials = {k: v for k, v in differences.items() if k != "total"}
    if partials:
        key = max(partials, key=partials.get)
        text += f" ({key} {partials[key]:.3f})"
    return text


def fidelity_rows(result: Dict[str, Any]) -> List[str]:
    """Table rows of one system: the reference run, then each FlashMD run."""
    system = result["system"]
    reference = result["reference"]
    rows = [
        f"| {system.name} | 1 (EMT) | NVE | {reference['simulated_ps']:.1f} | "
        f"{_temperatures_text(reference['temperatures'])} | - | "
        f"noise {reference['rdf_noise']:.3f} | - | "
        f"{reference['diffusion']['D_A2_per_ps']:.2g} | "
        f"{reference['drift_meV_atom_ps']:.3g} | |"
    ]
    nvt = result.get("reference_nvt")
    if nvt is not None:
        rows.append(
            f"| {system.name} | 1 (EMT) | NVT (Langevin "
            f"{nvt['time_constant_fs']:g} fs) | {nvt['simulated_ps']:.1f} | "
            f"{_temperatures_text(nvt['temperatures'])} | - | - | - | "
            f"{nvt['diffusion']['D_A2_per_ps']:.2g} | - | |"
        )
    for stride, runs in result["strides"].items():
        for kind, run in runs.items():
            vacf = ", ".join(f"{s} {v:.2f}" for s, v in run["vacf_difference"].items())
            drift = run["drift_meV_atom_ps"]
            rows.append(
                f"| {system.name} | {stride} | {kind} | {run['simulated_ps']:.1f} | "
                f"{_temperatures_text(run['temperatures'])} | "
                f"{_equipartition_text(run)} | {_worst_rdf(run)} | "
                f"{vacf} | {run['diffusion']['D_A2_per_ps']:.2g} | "
                f"{'-' if np.isnan(drift) else f'{drift:.3g}'} | {run['note'][:70]} |"
            )
    return rows


def target_rows(result: Dict[str, Any]) -> List[str]:
    """One row per target and (system, stride): measured value and verdict."""
    rows = []
    for stride, runs in result["strides"].items():
        label = f"{result['system'].name}, {stride} fs"
        rows += _nvt_temperature_rows(result["system"].temperature, runs, label)
        rows += _nve_temperature_rows(result["reference"], runs, label)
        rows += _rdf_rows(runs, label)
        rows += _diffusion_rows(result, runs, label)
    rows += _speed_target_rows(result)
    return rows


def _nvt_temperature_rows(
    target_K: float, runs: Dict[str, Any], label: str
) -> List[str]:
    """Thermostatted runs: each element's mean temperature within 3% of the
    thermostat's ``target_K``."""
    rows = []
    for kind in ("nvt", "nvt_strong", "nvt_bussi"):
        if kind not in runs:
            continue
        thermostat = "Bussi" if kind == "nvt_bussi" else "Langevin"
        temperatures = runs[kind]["temperatures"]
        worst = max(abs(v["mean"] / target_K - 1) for v in temperatures.values())
        rows.append(
            f"| NVT per-element mean T within 3% of {target_K:.0f} K "
            f"({thermostat} {runs[kind]['time_constant_fs']:g} fs) | {label} | "
            f"worst {100 * worst:.1f}% ({_temperatures_text(temperatures)}) | "
            f"{_verdict(worst <= TEMPERATURE_TOLERANCE)} |"
        )
    return rows


def _nve_temperature_rows(
    reference: Dict[str, Any], runs: Dict[str, Any], label: str
) -> List[str]:
    """NVE runs: the elements' mean temperatures within 3% of each other; then,
    without a target, each element's mean temperature against the EMT NVE run's
    from the same start, in %."""
    spreads, against = [], []
    for kind in NVE_KINDS:
        if kind not in runs:
            continue
        temperatures = runs[kind]["temperatures"]
        spread = _spread(temperatures)
        text = "single element" if spread is None else f"{100 * spread:.1f}%"
        ok = None if spread is None else spread <= TEMPERATURE_TOLERANCE
        name = kind
        if kind == "nve_equipartition":
            name += f" ({runs[kind]['time_constant_fs']:g} fs)"
        spreads.append(
            f"| {name} per-element mean T within 3% of each other | {label} | "
            f"{text} ({_temperatures_text(temperatures)}) | "
            f"{_run_verdict(kind, ok)} |"
        )
        pieces = []
        for symbol, value in temperatures.items():
            ratio = value["mean"] / reference["temperatures"][symbol]["mean"]
            pieces.append(f"{symbol} {100 * (ratio - 1):+.1f}%")
        against.append(
            f"| (no target) {kind} mean T against the EMT NVE run from the "
            f"same start | {label} | {', '.join(pieces)} | - |"
        )
    return spreads + against


def _rdf_rows(runs: Dict[str, Any], label: str) -> List[str]:
    """Every run: total and partial RDF differences below 0.05."""
    rows = []
    for kind in flashmd_runs.RUN_KINDS:
        if kind in runs:
            worst = max(runs[kind]["rdf_difference"].values())
            rows.append(
                f"| RDF difference < 0.05 ({kind}) | {label} | "
                f"{_worst_rdf(runs[kind])} | "
                f"{_run_verdict(kind, worst < RDF_TOLERANCE)} |"
            )
    return rows


def _diffusion_rows(
    result: Dict[str, Any], runs: Dict[str, Any], label: str
) -> List[str]:
    """Diffusion coefficient within 20% of the reference's, where the system
    diffuses (and for the bare NVE run, shown without a verdict, always): the
    Langevin runs against the EMT Langevin run with the same bath if there is one,
    the others against EMT NVE."""
    reference = result["reference"]
    msd = reference["diffusion"]["msd_half_A2"]
    diffuses = msd > analysis.DIFFUSION_THRESHOLD_A2
    rows = []
    for kind in flashmd_runs.RUN_KINDS:
        if kind not in runs or (kind != "nve" and not diffuses):
            continue
        same_bath = kind in ("nvt", "nvt_strong") and "reference_nvt" in result
        if same_bath and not np.isclose(
            runs[kind]["time_constant_fs"], result["reference_nvt"]["time_constant_fs"]
        ):
            continue
        source = result["reference_nvt"] if same_bath else reference
        name = "the EMT Langevin run" if same_bath else "reference"
        d_ref = source["diffusion"]["D_A2_per_ps"]
        d_run = runs[kind]["diffusion"]["D_A2_per_ps"]
        ok = abs(d_run / d_ref - 1) <= DIFFUSION_TOLERANCE if diffuses else None
        rows.append(
            f"| D within 20% of {name} ({kind}) | {label} | {d_run:.2g} vs "
            f"{d_ref:.2g} A^2/ps (reference MSD {msd:.2g} A^2: "
            f"{'diffusing' if diffuses else 'not diffusing'}) | "
            f"{_run_verdict(kind, ok)} |"
        )
    return rows


def _speed_target_rows(result: Dict[str, Any]) -> List[str]:
    """Speed-up over the PET MLIP at 1 fs of at least 60x at 32 fs strides (the
    other strides shown without a verdict)."""
    rows = []
    for stride, figures in speed_figures(result).items():
        ok = figures["vs_mlip"] >= SPEEDUP_TARGET if stride == 32 else None
        rows.append(
            f"| speedup over PET MLIP at 1 fs >= 60x (at 32 fs) | "
            f"{result['system'].name}, {stride} fs | {figures['vs_mlip']:.0f}x | "
            f"{_verdict(ok)} |"
        )
    return rows


def speed_figures(result: Dict[str, Any]) -> Dict[int, Dict[str, float]]:
    """Per stride: cost of one stride (ms, median) and the speedups per simulated
    time over EMT and over the PET MLIP, both at 1 fs steps: stride / (median over
    the interleaved rounds of t_stride / t_reference_call)."""
    import timing as timing_module

    timing = result["timing"]
    figures = {}
    for stride in result["system"].strides_fs:
        key = f"flashmd_stride{stride}"
        if key not in timing or "mlip" not in timing:
            continue
        figures[stride] = {
            "stride_ms": 1000 * timing[key]["median_s"],
            "vs_emt": stride / timing_module.median_ratio(timing[key], timing["emt"]),
            "vs_mlip": stride / timing_module.median_ratio(timing[key], timing["mlip"]),
        }
    return figures


def speed_rows(result: Dict[str, Any]) -> List[str]:
    """Speed table rows of one system."""
    timing = result["timing"]
    rows = []
    for stride, figures in speed_figures(result).items():
        rows.append(
            f"| {result['system'].name} | {stride} | {figures['stride_ms']:.1f} | "
            f"{1000 * timing['emt']['median_s']:.1f} | "
            f"{1000 * timing['mlip']['median_s']:.1f} | "
            f"{1000 * timing['mlip_energy_only']['median_s']:.1f} | "
            f"{figures['vs_emt']:.1f}x | {figures['vs_mlip']:.0f}x |"
        )
    return rows


TARGETS_NOTE = (
    "The targets apply to the FlashMD runs with a thermostat (`nvt`, "
    "`nvt_strong`, `nvt_bussi`) and to NVE with energy rescaling "
    "(`nve_rescaled`, `nve_equipartition`); the bare model's NVE run (`nve`) is "
    "there for the energy drift without rescaling, and its figures are shown "
    "with the side of the threshold they fall on, without a verdict."
)
RUNS_NOTE = (
    "Temperatures: mean ± standard deviation of the instantaneous per-element "
    "temperature after the first tenth of the run (K), with the standard "
    "error of the mean from 10 blocks in brackets. Equipartition (second half "
    "of the run): largest/smallest of the x, y, z kinetic temperatures, and "
    "the spread (std/mean) over atoms of the time-averaged per-atom kinetic "
    "energy. RDF: (1/r_max) "
    "integral |g - g_ref| dr, r_max = 6 A, total (worst partial); for the "
    "reference, the same between its two halves (noise floor). VACF: RMS "
    "difference of the normalised VACF at the run's frame times, up to 1 ps. "
    "D from the MSD slope (A^2/ps). Drift: linear fit of the total energy "
    "(meV/atom/ps)."
)
RUNS_HEADER = (
    "| system | stride (fs) | run | ps | T per element (K) | equipartition | "
    "RDF diff | VACF diff | D | drift | note |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
)
SPEED_HEADER = (
    "| system | stride (fs) | FlashMD ms/stride | EMT ms/fs | PET MLIP ms/fs "
    "(energy+forces) | PET energy only (ms) | speedup vs EMT | "
    "speedup vs MLIP |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)
PLOT_TITLES = {"rdf": "RDF", "temperature": "temperature", "vacf": "VACF"}
PLOT_TITLES["energy"] = "NVE energy"
"""Column titles of the plot list, by :data:`plots.PLOT_KINDS`."""


def results_markdown(results: List[Dict[str, Any]], context: Dict[str, Any]) -> str:
    """The whole of ``RESULTS.md``: how it was generated, the targets, every run,
    speed, wall times and the plots."""
    lines = [
        "# FlashMD fidelity benchmark: results",
        "",
        f"Generated by `{context['command']}` from the runs in "
        f"`{context['workdir']}`, which `{context['pipeline']}` makes (its report "
        "stage writes this file too); do not edit it by hand. "
        "What the runs are and what the figures say: the fidelity benchmark's "
        "README.md.",
        "",
        f"Generated {context['date']} on {context['machine']}; load average at "
        f"report time {context['load']}. Settings: {context['settings']}.",
        "",
        "## Targets",
        "",
        TARGETS_NOTE,
        "",
        "| target | case | measured | verdict |",
        "| --- | --- | --- | --- |",
        *[row for result in results for row in target_rows(result)],
        "",
        "## All runs",
        "",
        RUNS_NOTE,
        "",
        RUNS_HEADER,
        *[row for result in results for row in fidelity_rows(result)],
        "",
        "## Speed (one 108-atom structure, median of timed calls)",
        "",
        SPEED_HEADER,
        *[row for result in results for row in speed_rows(result)],
        "",
        *refine_section(results, context),
        "## Wall times (s)",
        "",
        "```",
        *[f"{r['system'].name}: {json.dumps(r['walltimes'])}" for r in results],
        "```",
        "",
        *plot_list(results),
    ]
    return "\n".join(lines)


def refine_section(results: List[Dict[str, Any]], context: Dict[str, Any]) -> List[str]:
    """The table of the product refines (``--refine-with product``), if any."""
    import product_refine

    rows = [
        row
        for r in results
        for row in product_refine.refine_rows(r["system"].name, r["work"])
    ]
    if not rows:
        return []
    return [
        "## Refines (`mtt-flashmd refine`, the same rules for every system)",
        "",
        "Judged by: the versions of `validate`'s judging rules (`rules` in each "
        "round's `summary.json`, see the package's changelog) its rounds were "
        "judged by.",
        "",
        "| system | stride | ensemble | outcome | rounds | kept | severity | "
        "failing checks of the kept round | judged by |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
        "",
    ]


def plot_list(results: List[Dict[str, Any]]) -> List[str]:
    """The ``Plots`` section: a table linking each system's PNGs (written beside
    ``RESULTS.md`` by :func:`plots.plot_system`)."""
    lines = [
        "## Plots",
        "",
        "| system | " + " | ".join(PLOT_TITLES[k] for k in plots.PLOT_KINDS) + " |",
        "| --- |" + " --- |" * len(plots.PLOT_KINDS),
    ]
    for result in results:
        name = result["system"].name
        links = [f"[{k}-{name}.png]({k}-{name}.png)" for k in plots.PLOT_KINDS]
        lines.append(f"| {name} | " + " | ".join(links) + " |")
    return lines


def context_facts(settings_text: str, workdir: Path) -> Dict[str, Any]:
    """What the header of ``RESULTS.md`` says (but the command that writes it):
    the run directory and the pipeline command that makes it, date (UTC), machine,
    load and settings."""
    now = datetime.datetime.now(datetime.timezone.utc)
    pipeline = "python benchmarks/fidelity/run_fidelity.py"
    if workdir.name.startswith("quick"):
        pipeline += " --quick"
    if workdir.name.endswith("-refine"):
        pipeline += " --refine-with product"
    return {
        "workdir": shown_path(workdir),
        "pipeline": pipeline,
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "settings": settings_text,
    }


# ---------------------------------------------------------------------------------
#  the report of a run directory
# ---------------------------------------------------------------------------------


def shown_path(path: Path) -> str:
    """``path`` as a reader of the repository would type it: relative to the
    checkout's root when inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def report_command(names: List[str], workdir: Path, directory: Path) -> str:
    """The command of this script that rewrites the same report."""
    parts = ["python", "benchmarks/fidelity/report.py"]
    if workdir.resolve() != DEFAULT_WORKDIR.resolve():
        parts += ["--workdir", shown_path(workdir)]
    if directory.resolve() != HERE.resolve():
        parts += ["--out", shown_path(directory)]
    if list(names) != list(cases.SYSTEMS):
        parts += ["--only", ",".join(names)]
    return " ".join(parts)


def write_report(
    names: List[str], workdir: Path, directory: Path, settings_text: str
) -> Path:
    """Analyse the systems ``names`` that have a reference run in ``workdir`` (one
    directory per system), draw their plots and write ``RESULTS.md`` in
    ``directory`` and ``results.json`` (targets and speed) in ``workdir``.

    :return: the path of ``RESULTS.md``.
    """
    directory.mkdir(parents=True, exist_ok=True)
    results = []
    for name in names:
        result = analyse_system(cases.SYSTEMS[name], workdir / name)
        if result is None:
            LOG.info(f"{name}: no reference run yet, not in the report")
            continue
        plots.plot_system(result, workdir / name, directory)
        results.append(result)
    context = context_facts(settings_text, workdir)
    context["command"] = report_command(names, workdir, directory)
    path = directory / RESULTS
    path.write_text(results_markdown(results, context) + "\n")
    summary = [
        {
            "system": r["system"].name,
            "targets": target_rows(r),
            "speed": speed_figures(r),
        }
        for r in results
    ]
    (workdir / "results.json").write_text(json.dumps(summary, indent=1))
    return path


def main(argv: Optional[List[str]] = None) -> None:
    """Write the report of a run directory of ``run_fidelity.py``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help="run directory: a folder per system (run_fidelity.py's --workdir "
        "with full/ or quick/ below it)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="where RESULTS.md and the PNGs go"
    )
    parser.add_argument("--only", default=",".join(cases.SYSTEMS), help="systems")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    names = [name for name in args.only.split(",") if name]
    unknown = [name for name in names if name not in cases.SYSTEMS]
    if unknown:
        raise SystemExit(f"unknown systems: {', '.join(unknown)}")
    settings = args.workdir / SETTINGS
    text = settings.read_text().strip() if settings.exists() else "not recorded"
    print(write_report(names, args.workdir, args.out, text))


if __name__ == "__main__":
    main()
