"""PNG plots of a validation: RDFs, per-element temperatures against time with
their distributions, VACFs and, in NVE, total energies; reference in black.

matplotlib is optional (``pip install metatrain-flashmd[plots]``): without it no
plot is written and the report says so.
"""

import logging
from pathlib import Path
from typing import Any, Dict

import numpy as np

from metatrain_flashmd.observables.energy import total_energy_per_atom
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.validation.figures import temperature_series


LOG = logging.getLogger(__name__)
COLOURS = {"nvt": "tab:blue", "nve": "tab:red", "nve_rescaled": "tab:green"}
"""Colour of each FlashMD run."""
MISSING = "matplotlib is not installed: no plots (pip install metatrain-flashmd[plots])"
"""Why no plot was written."""


def _pyplot() -> Any:
    """matplotlib's pyplot on a file-only backend, or ``None`` without it."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _style(name: str) -> Dict[str, Any]:
    """Line style of the reference or of a FlashMD run."""
    if name == "reference":
        return {"color": "black", "lw": 2.0, "label": "reference"}
    return {
        "color": COLOURS.get(name, "tab:purple"),
        "lw": 1.1,
        "label": f"FlashMD {name}",
    }


def _panels(plt: Any, count: int, rows: int = 1) -> Any:
    """A figure with ``rows`` x ``count`` panels (axes always a 2D array)."""
    figure, axes = plt.subplots(
        rows, count, figsize=(4.0 * count, 3.2 * rows), squeeze=False
    )
    return figure, axes


def _save(plt: Any, figure: Any, path: Path) -> None:
    """Write a small PNG and close the figure."""
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def plot_rdfs(plt: Any, figures: Dict[str, Dict[str, Any]], path: Path) -> None:
    """One panel per RDF (total, then each pair of elements)."""
    keys = [key for key in figures["reference"]["rdf"] if key != "r"]
    figure, axes = _panels(plt, len(keys))
    for axis, key in zip(axes[0], keys):
        for name, run in figures.items():
            if run["rdf"]:
                axis.plot(run["rdf"]["r"], run["rdf"][key], **_style(name))
        axis.set_xlabel("r (A)")
        axis.set_ylabel(f"g(r) {key}")
    axes[0][0].legend(fontsize=7)
    _save(plt, figure, path)


def plot_vacfs(plt: Any, figures: Dict[str, Dict[str, Any]], path: Path) -> None:
    """One panel per element."""
    symbols = [key for key in figures["reference"]["vacf"] if key != "t"]
    figure, axes = _panels(plt, len(symbols))
    for axis, symbol in zip(axes[0], symbols):
        for name, run in figures.items():
            if run["vacf"]:
                axis.plot(run["vacf"]["t"], run["vacf"][symbol], **_style(name))
        axis.axhline(0.0, color="gray", lw=0.6)
        axis.set_xlabel("t (fs)")
        axis.set_ylabel(f"VACF {symbol}")
    axes[0][0].legend(fontsize=7)
    _save(plt, figure, path)


def plot_temperatures(
    plt: Any, runs: Dict[str, Trajectory], target_K: float, path: Path
) -> None:
    """Per element: temperature against time (top) and its histogram (bottom)."""
    series = {name: temperature_series(run) for name, run in runs.items()}
    symbols = list(series["reference"])
    figure, axes = _panels(plt, len(symbols), rows=2)
    for column, symbol in enumerate(symbols):
        top, bottom = axes[0][column], axes[1][column]
        for name, values in series.items():
            style = _style(name)
            time_ps = runs[name].time_fs / 1000.0
            top.plot(time_ps, values[symbol], **{**style, "lw": 0.8})
            bottom.hist(
                values[symbol],
                bins=30,
                density=True,
                histtype="step",
                color=style["color"],
                label=style["label"],
            )
        top.axhline(target_K, color="gray", lw=0.8, ls="--")
        top.set_xlabel("time (ps)")
        top.set_ylabel(f"T {symbol} (K)")
        bottom.set_xlabel(f"T {symbol} (K)")
        bottom.set_ylabel("probability density (1/K)")
    axes[0][0].legend(fontsize=7)
    _save(plt, figure, path)


def plot_energies(plt: Any, runs: Dict[str, Trajectory], path: Path) -> None:
    """Total energy per atom against time, relative to the first frame."""
    figure, axes = _panels(plt, 1)
    for name, run in runs.items():
        if run.num_frames and np.isfinite(run.potential_energy).all():
            total = total_energy_per_atom(run.potential_energy, run.momenta, run.masses)
            axes[0][0].plot(
                run.time_fs / 1000.0, 1000.0 * (total - total[0]), **_style(name)
            )
    axes[0][0].set_xlabel("time (ps)")
    axes[0][0].set_ylabel("total energy change (meV/atom)")
    axes[0][0].legend(fontsize=7)
    _save(plt, figure, path)


def write_plots(
    directory: Path,
    figures: Dict[str, Dict[str, Any]],
    runs: Dict[str, Trajectory],
    target_K: float,
    ensemble: str,
) -> Dict[str, str]:
    """Write the plots to ``directory``; their file names by title (empty, with a
    warning, without matplotlib).

    :param figures: figures of ``reference`` and of each FlashMD run.
    :param runs: trajectories of ``reference`` and of each FlashMD run.
    """
    plt = _pyplot()
    if plt is None:
        LOG.warning(MISSING)
        return {}
    written = {
        "RDFs": "rdf.png",
        "temperatures": "temperature.png",
        "VACFs": "vacf.png",
    }
    plot_rdfs(plt, figures, directory / written["RDFs"])
    plot_temperatures(plt, runs, target_K, directory / written["temperatures"])
    plot_vacfs(plt, figures, directory / written["VACFs"])
    if ensemble == "nve":
        written["total energies"] = "energy.png"
        plot_energies(plt, runs, directory / written["total energies"])
    return written
