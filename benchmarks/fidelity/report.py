"""Analysis of the runs of one benchmark, PNG plots and the results table.

:func:`analyse_system` reads the reference and FlashMD trajectories of a system and
returns every figure of merit; :func:`plot_system` draws its RDFs, per-element
temperatures, VACFs and NVE energies; :func:`results_markdown` turns the figures of
all systems into the tables written into ``README.md`` between the markers
:data:`START` and :data:`END`.
"""

import datetime
import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional

import analysis
import cases
import flashmd_runs
import numpy as np
import systems


START = "<!-- results:start (written by run_fidelity.py --stages report) -->"
END = "<!-- results:end -->"
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
    result = {"system": system, "reference": reference, "strides": {}}
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
#  plots
# ---------------------------------------------------------------------------------

RUN_STYLES = {
    "nvt": "-",
    "nvt_strong": "-.",
    "nvt_bussi": (0, (1, 1, 3, 1)),
    "nve": "--",
    "nve_rescaled": ":",
    "nve_equipartition": (0, (5, 1, 1, 1)),
}
NVE_KINDS = ("nve", "nve_rescaled", "nve_equipartition")
STRIDE_COLOURS = {16: "tab:blue", 32: "tab:orange", 64: "tab:green"}


def _pyplot() -> Any:
    """matplotlib's pyplot with a file-only backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure: Any, path: Path) -> None:
    """Write a small PNG (the plots are committed: each must stay under 300 KB)."""
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    _pyplot().close(figure)


def plot_rdfs(result: Dict[str, Any], path: Path) -> None:
    """Reference RDFs against the FlashMD NVT and NVE ones, one panel per pair."""
    plt = _pyplot()
    reference = result["reference"]["rdf"]
    keys = [key for key in reference if key != "r"]
    figure, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.4))
    axes = np.atleast_1d(axes)
    for axis, key in zip(axes, keys):
        axis.plot(reference["r"], reference[key], "k-", lw=2.2, label="EMT reference")
        for stride, runs in result["strides"].items():
            for kind in flashmd_runs.RUN_KINDS:
                if kind in runs:
                    axis.plot(
                        runs[kind]["rdf"]["r"],
                        runs[kind]["rdf"][key],
                        linestyle=RUN_STYLES[kind],
                        color=STRIDE_COLOURS[stride],
                        lw=1.1,
                        label=f"FlashMD {stride} fs {kind.upper()}",
                    )
        axis.set_xlabel("r (A)")
        axis.set_ylabel(f"g(r) {key}")
        axis.set_xlim(1.8, analysis.RDF_MAX_A)
    axes[0].legend(fontsize=7)
    figure.suptitle(result["system"].label)
    _save(figure, path)


def plot_temperatures(result: Dict[str, Any], work: Path, path: Path) -> None:
    """Per-element temperature traces (100 fs running means) of the reference and
    of each FlashMD run (one panel per run kind that ran), and their
    distributions."""
    plt = _pyplot()
    system = result["system"]
    ran = {kind for runs in result["strides"].values() for kind in runs}
    kinds = ["reference", *[k for k in flashmd_runs.RUN_KINDS if k in ran]]
    figure, axes = plt.subplots(2, len(kinds), figsize=(3.6 * len(kinds), 5.6))
    styles = ["-", "--", ":"]
    for column, kind in enumerate(kinds):
        runs = [("EMT", work / "reference-nve.npz", "black")]
        if kind != "reference":
            runs = [
                (
                    f"{stride} fs",
                    work / f"stride{stride}" / f"flashmd-{kind}.npz",
                    colour,
                )
                for stride, colour in STRIDE_COLOURS.items()
                if (work / f"stride{stride}" / f"flashmd-{kind}.npz").exists()
            ]
        for label, run_path, colour in runs:
            trajectory = systems.load_trajectory(run_path)
            temperatures = analysis.element_temperatures(trajectory)
            window = max(1, int(round(100 / trajectory.frame_interval_fs)))
            window = min(window, len(trajectory.time_fs))  # runs stopped early
            for (symbol, values), style in zip(temperatures.items(), styles):
                smooth = np.convolve(values, np.ones(window) / window, mode="valid")
                times = trajectory.time_fs[window - 1 :] / 1000
                axes[0, column].plot(
                    times,
                    smooth,
                    style,
                    color=colour,
                    lw=0.8,
                    label=f"{label} {symbol}",
                )
                axes[1, column].hist(
                    values,
                    bins=40,
                    histtype="step",
                    density=True,
                    color=colour,
                    linestyle=style,
                    label=f"{label} {symbol}",
                )
        axes[0, column].axhline(system.temperature, color="grey", lw=0.6)
        axes[0, column].set_title(kind if kind == "reference" else f"FlashMD {kind}")
        axes[0, column].set_xlabel("t (ps)")
        axes[0, column].set_ylabel("T (K), 100 fs mean")
        axes[1, column].set_xlabel("instantaneous T (K)")
        axes[0, column].legend(fontsize=6)
    _save(figure, path)


def plot_vacf(result: Dict[str, Any], path: Path) -> None:
    """Normalised VACF of each element: reference (every 4 fs) against FlashMD NVE
    (bare and rescaled) and NVT (one point per stride)."""
    plt = _pyplot()
    reference = result["reference"]["vacf"]
    names = [key for key in reference if key != "t"]
    figure, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 3.4))
    axes = np.atleast_1d(axes)
    for axis, symbol in zip(axes, names):
        axis.plot(reference["t"], reference[symbol], "k-", lw=1.8, label="EMT")
        for stride, runs in result["strides"].items():
            for kind in ("nve", "nve_rescaled", "nvt"):
                if kind in runs:
                    vacf = runs[kind]["vacf"]
                    axis.plot(
                        vacf["t"],
                        vacf[symbol],
                        marker="o",
                        linestyle=RUN_STYLES[kind],
                        ms=3,
                        color=STRIDE_COLOURS[stride],
                        lw=0.9,
                        label=f"{stride} fs {kind.upper()}",
                    )
        axis.axhline(0, color="grey", lw=0.5)
        axis.set_xlim(0, 600)
        axis.set_xlabel("t (fs)")
        axis.set_ylabel(f"VACF {symbol}")
    axes[0].legend(fontsize=7)
    figure.suptitle(result["system"].label)
    _save(figure, path)


def plot_energy(result: Dict[str, Any], work: Path, path: Path) -> None:
    """Total energy per atom against time in NVE: reference, FlashMD without and
    with rescaling."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(5.5, 3.4))
    reference = systems.load_trajectory(work / "reference-nve.npz")
    axis.plot(
        reference.time_fs / 1000, analysis.total_energy(reference), "k-", label="EMT"
    )
    for stride, colour in STRIDE_COLOURS.items():
        for kind in NVE_KINDS:
            run_path = work / f"stride{stride}" / f"flashmd-{kind}.npz"
            if run_path.exists():
                run = systems.load_trajectory(run_path)
                axis.plot(
                    run.time_fs / 1000,
                    analysis.total_energy(run),
                    linestyle=RUN_STYLES[kind],
                    color=colour,
                    label=f"{stride} fs {kind}",
                )
    axis.set_xlabel("t (ps)")
    axis.set_ylabel("E_tot - E_tot(0) (meV/atom)")
    axis.legend(fontsize=7)
    axis.set_title(result["system"].label)
    _save(figure, path)


def plot_system(result: Dict[str, Any], work: Path, directory: Path) -> List[Path]:
    """All plots of one system, as ``<kind>-<system>.png`` in ``directory``."""
    name = result["system"].name
    paths = [
        directory / f"{kind}-{name}.png"
        for kind in ("rdf", "temperature", "vacf", "energy")
    ]
    plot_rdfs(result, paths[0])
    plot_temperatures(result, work, paths[1])
    plot_vacf(result, paths[2])
    plot_energy(result, work, paths[3])
    return paths


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
        f"{_temperatures_text(reference['temperatures'])} | "
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
    system = result["system"]
    target = system.temperature
    reference = result["reference"]
    diffuses = reference["diffusion"]["msd_half_A2"] > analysis.DIFFUSION_THRESHOLD_A2
    rows = []
    for stride, runs in result["strides"].items():
        label = f"{system.name}, {stride} fs"
        for kind in ("nvt", "nvt_strong", "nvt_bussi"):
            if kind not in runs:
                continue
            thermostat = "Bussi" if kind == "nvt_bussi" else "Langevin"
            temperatures = runs[kind]["temperatures"]
            worst = max(abs(v["mean"] / target - 1) for v in temperatures.values())
            rows.append(
                f"| NVT per-element mean T within 3% of {target:.0f} K "
                f"({thermostat} {runs[kind]['time_constant_fs']:g} fs) | {label} | "
                f"worst {100 * worst:.1f}% ({_temperatures_text(temperatures)}) | "
                f"{_verdict(worst <= TEMPERATURE_TOLERANCE)} |"
            )
        for kind in NVE_KINDS:
            if kind not in runs:
                continue
            spread = _spread(runs[kind]["temperatures"])
            text = "single element" if spread is None else f"{100 * spread:.1f}%"
            ok = None if spread is None else spread <= TEMPERATURE_TOLERANCE
            name = kind
            if kind == "nve_equipartition":
                name += f" ({runs[kind]['time_constant_fs']:g} fs)"
            rows.append(
                f"| {name} per-element mean T within 3% of each other | {label} | "
                f"{text} ({_temperatures_text(runs[kind]['temperatures'])}) | "
                f"{_run_verdict(kind, ok)} |"
            )
        for kind in NVE_KINDS:
            if kind in runs:
                pieces = []
                for symbol, value in runs[kind]["temperatures"].items():
                    ref = reference["temperatures"][symbol]["mean"]
                    pieces.append(f"{symbol} {100 * (value['mean'] / ref - 1):+.1f}%")
                rows.append(
                    f"| (no target) {kind} mean T against the EMT NVE run from the "
                    f"same start | {label} | {', '.join(pieces)} | - |"
                )
        for kind in flashmd_runs.RUN_KINDS:
            if kind in runs:
                worst = max(runs[kind]["rdf_difference"].values())
                rows.append(
                    f"| RDF difference < 0.05 ({kind}) | {label} | "
                    f"{_worst_rdf(runs[kind])} | "
                    f"{_run_verdict(kind, worst < RDF_TOLERANCE)} |"
                )
        for kind in flashmd_runs.RUN_KINDS:
            if kind not in runs or (kind != "nve" and not diffuses):
                continue
            # thermostatted runs against the EMT run with the same bath, if made
            langevin = kind in ("nvt", "nvt_strong")
            same_bath = langevin and "reference_nvt" in result
            if same_bath and not np.isclose(
                runs[kind]["time_constant_fs"],
                result["reference_nvt"]["time_constant_fs"],
            ):
                continue
            source = result["reference_nvt"] if same_bath else reference
            name = "the EMT Langevin run" if same_bath else "reference"
            d_ref = source["diffusion"]["D_A2_per_ps"]
            d_run = runs[kind]["diffusion"]["D_A2_per_ps"]
            ok = abs(d_run / d_ref - 1) <= DIFFUSION_TOLERANCE if diffuses else None
            rows.append(
                f"| D within 20% of {name} ({kind}) | {label} | {d_run:.2g} vs "
                f"{d_ref:.2g} A^2/ps (reference MSD "
                f"{reference['diffusion']['msd_half_A2']:.2g} A^2: "
                f"{'diffusing' if diffuses else 'not diffusing'}) | "
                f"{_run_verdict(kind, ok)} |"
            )
    speed = speed_figures(result)
    for stride, figures in speed.items():
        ok = figures["vs_mlip"] >= SPEEDUP_TARGET if stride == 32 else None
        rows.append(
            f"| speedup over PET MLIP at 1 fs >= 60x (at 32 fs) | "
            f"{system.name}, {stride} fs | {figures['vs_mlip']:.0f}x | {_verdict(ok)} |"
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


def results_markdown(results: List[Dict[str, Any]], context: Dict[str, Any]) -> str:
    """The generated part of ``README.md``: run facts, targets, full table, speed."""
    lines = [
        START,
        "",
        f"Generated {context['date']} on {context['machine']}; load average at "
        f"report time {context['load']}. Settings: {context['settings']}.",
        "",
        "### Targets",
        "",
        "The targets apply to the FlashMD runs with a thermostat (`nvt`, "
        "`nvt_strong`, `nvt_bussi`) and to NVE with energy rescaling "
        "(`nve_rescaled`, `nve_equipartition`); the bare model's NVE run (`nve`) is "
        "there for the energy drift without rescaling, and its figures are shown "
        "with the side of the threshold they fall on, without a verdict.",
        "",
        "| target | case | measured | verdict |",
        "| --- | --- | --- | --- |",
    ]
    for result in results:
        lines += target_rows(result)
    lines += [
        "",
        "### All runs",
        "",
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
        "(meV/atom/ps).",
        "",
        "| system | stride (fs) | run | ps | T per element (K) | equipartition | "
        "RDF diff | VACF diff | D | drift | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        lines += fidelity_rows(result)
    lines += [
        "",
        "### Speed (one 108-atom structure, median of timed calls)",
        "",
        "| system | stride (fs) | FlashMD ms/stride | EMT ms/fs | PET MLIP ms/fs "
        "(energy+forces) | PET energy only (ms) | speedup vs EMT | "
        "speedup vs MLIP |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result in results:
        lines += speed_rows(result)
    lines += ["", "### Wall times (s)", "", "```"]
    for result in results:
        lines.append(f"{result['system'].name}: {json.dumps(result['walltimes'])}")
    lines += ["```", "", END]
    return "\n".join(lines)


def write_readme(path: Path, generated: str) -> None:
    """Replace the generated block of ``README.md`` (create the file if needed)."""
    text = path.read_text() if path.exists() else f"# Fidelity\n\n{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    path.write_text(head + generated + tail)


def context_facts(settings_text: str) -> Dict[str, Any]:
    """Date, machine and load for the report header."""
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
        "load": ", ".join(f"{x:.1f}" for x in os.getloadavg()),
        "settings": settings_text,
    }
