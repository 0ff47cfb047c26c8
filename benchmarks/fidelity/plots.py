"""PNG plots of one system of the fidelity benchmark: RDFs, per-element
temperatures, VACFs and NVE total energies, reference against FlashMD.

Each function takes the figures of :func:`report.analyse_system` (and, for the
traces, the system's run directory) and writes one PNG; the plots are committed,
so each is kept small.
"""

from pathlib import Path
from typing import Any, Dict, List, Tuple

import analysis
import flashmd_runs
import numpy as np
import systems
from flashmd_runs import NVE_KINDS


RUN_STYLES = {
    "nvt": "-",
    "nvt_strong": "-.",
    "nvt_bussi": (0, (1, 1, 3, 1)),
    "nve": "--",
    "nve_rescaled": ":",
    "nve_equipartition": (0, (5, 1, 1, 1)),
}
STRIDE_COLOURS = {16: "tab:blue", 32: "tab:orange", 64: "tab:green"}
PLOT_KINDS = ("rdf", "temperature", "vacf", "energy")
"""The plots of each system, in the order of :func:`plot_system`, each written to
``<kind>-<system>.png``."""


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


def _panels(
    reference: Dict[str, np.ndarray], abscissa: str, width: float
) -> Tuple[Any, np.ndarray, List[str]]:
    """A figure with one panel (``width`` inches wide) per curve of ``reference``
    other than ``abscissa``: the figure, its axes and the curves' names."""
    names = [key for key in reference if key != abscissa]
    figure, axes = _pyplot().subplots(1, len(names), figsize=(width * len(names), 3.4))
    return figure, np.atleast_1d(axes), names


def plot_rdfs(result: Dict[str, Any], path: Path) -> None:
    """Reference RDFs against the FlashMD NVT and NVE ones, one panel per pair."""
    reference = result["reference"]["rdf"]
    figure, axes, keys = _panels(reference, "r", 4.2)
    for axis, key in zip(axes, keys):
        axis.plot(reference["r"], reference[key], "k-", lw=2.2, label="EMT reference")
        label = "FlashMD {stride} fs {kind}"
        kinds = flashmd_runs.RUN_KINDS
        _plot_runs(axis, result, ("rdf", "r", key), kinds, label, lw=1.1)
        axis.set_xlabel("r (A)")
        axis.set_ylabel(f"g(r) {key}")
        axis.set_xlim(1.8, analysis.RDF_MAX_A)
    axes[0].legend(fontsize=7)
    figure.suptitle(result["system"].label)
    _save(figure, path)


def _plot_runs(
    axis: Any,
    result: Dict[str, Any],
    curve: Tuple[str, str, str],
    kinds: Tuple[str, ...],
    label: str,
    **style: Any,
) -> None:
    """Draw one curve of each FlashMD run of ``kinds``: ``curve = (observable,
    abscissa, ordinate)`` names the figures of :func:`report.analyse_run` (``rdf``,
    ``r``, ``Cu-Au``); one colour per stride, one line style per kind; ``label``
    is formatted with the stride and the kind."""
    observable, abscissa, ordinate = curve
    for stride, runs in result["strides"].items():
        for kind in kinds:
            if kind in runs:
                figures = runs[kind][observable]
                axis.plot(
                    figures[abscissa],
                    figures[ordinate],
                    linestyle=RUN_STYLES[kind],
                    color=STRIDE_COLOURS[stride],
                    label=label.format(stride=stride, kind=kind.upper()),
                    **style,
                )


def plot_temperatures(result: Dict[str, Any], work: Path, path: Path) -> None:
    """Per-element temperature traces (100 fs running means) of the reference and
    of each FlashMD run (one panel per run kind that ran), and their
    distributions."""
    plt = _pyplot()
    system = result["system"]
    ran = {kind for runs in result["strides"].values() for kind in runs}
    kinds = ["reference", *[k for k in flashmd_runs.RUN_KINDS if k in ran]]
    figure, axes = plt.subplots(
        2, len(kinds), figsize=(3.6 * len(kinds), 5.6), squeeze=False
    )
    for column, kind in enumerate(kinds):
        runs = [("EMT", work / "reference-nve.npz", "black")]
        if kind != "reference":
            runs = [
                (f"{stride} fs", work / f"stride{stride}" / f"flashmd-{kind}.npz", c)
                for stride, c in STRIDE_COLOURS.items()
                if (work / f"stride{stride}" / f"flashmd-{kind}.npz").exists()
            ]
        for label, run_path, colour in runs:
            trajectory = systems.load_trajectory(run_path)
            _draw_temperatures(axes[:, column], trajectory, label, colour)
        axes[0, column].axhline(system.temperature, color="grey", lw=0.6)
        axes[0, column].set_title(kind if kind == "reference" else f"FlashMD {kind}")
        axes[0, column].set_xlabel("t (ps)")
        axes[0, column].set_ylabel("T (K), 100 fs mean")
        axes[1, column].set_xlabel("instantaneous T (K)")
        axes[0, column].legend(fontsize=6)
    _save(figure, path)


def _draw_temperatures(
    axes: Any, trajectory: systems.Trajectory, label: str, colour: str
) -> None:
    """Each element's temperature (K) of ``trajectory``: its 100 fs running mean
    against time (ps) on ``axes[0]``, its histogram on ``axes[1]``."""
    temperatures = analysis.element_temperatures(trajectory)
    window = max(1, int(round(100 / trajectory.frame_interval_fs)))
    window = min(window, len(trajectory.time_fs))  # runs stopped early
    for (symbol, values), style in zip(temperatures.items(), ["-", "--", ":"]):
        smooth = np.convolve(values, np.ones(window) / window, mode="valid")
        times = trajectory.time_fs[window - 1 :] / 1000
        axes[0].plot(
            times, smooth, style, color=colour, lw=0.8, label=f"{label} {symbol}"
        )
        axes[1].hist(
            values,
            bins=40,
            histtype="step",
            density=True,
            color=colour,
            linestyle=style,
            label=f"{label} {symbol}",
        )


def plot_vacf(result: Dict[str, Any], path: Path) -> None:
    """Normalised VACF of each element: reference (every 4 fs) against FlashMD NVE
    (bare and rescaled) and NVT (one point per stride)."""
    reference = result["reference"]["vacf"]
    figure, axes, names = _panels(reference, "t", 4.5)
    for axis, symbol in zip(axes, names):
        axis.plot(reference["t"], reference[symbol], "k-", lw=1.8, label="EMT")
        kinds = ("nve", "nve_rescaled", "nvt")
        curve = ("vacf", "t", symbol)
        style = {"marker": "o", "ms": 3, "lw": 0.9}
        _plot_runs(axis, result, curve, kinds, "{stride} fs {kind}", **style)
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
    paths = [directory / f"{kind}-{name}.png" for kind in PLOT_KINDS]
    plot_rdfs(result, paths[0])
    plot_temperatures(result, work, paths[1])
    plot_vacf(result, paths[2])
    plot_energy(result, work, paths[3])
    return paths
