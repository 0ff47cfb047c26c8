"""Every figure of one run that a validation compares: per-element temperatures,
RDFs, VACFs, diffusion, energy drift and equipartition.

Temperatures in K, distances in A, times in fs, diffusion coefficients in A^2/ps,
energy drifts in meV/atom/ps.
"""

from typing import Any, Dict

import numpy as np

from metatrain_flashmd.observables.energy import energy_drift
from metatrain_flashmd.observables.statistics import block_error, equipartition
from metatrain_flashmd.observables.structure import rdf
from metatrain_flashmd.observables.temperature import (
    element_temperatures,
    temperature,
)
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.observables.transport import diffusion, vacf


MIN_FRAMES = 20
"""Fewest frames a run needs for its figures (fewer: NaN and empty curves)."""


def temperature_series(trajectory: Trajectory) -> Dict[str, np.ndarray]:
    """Instantaneous temperature of each element in each frame, K."""
    return element_temperatures(
        trajectory.numbers,
        trajectory.masses,
        trajectory.momenta,
        trajectory.momentum_fixed,
    )


def temperature_figures(trajectory: Trajectory) -> Dict[str, Dict[str, float]]:
    """Per element, K: ``mean``, ``std`` (of the instantaneous values), and their
    block-averaged standard errors ``error`` and ``std_error`` (the latter from
    the error of the mean squared deviation, the variance, divided by twice the
    standard deviation)."""
    result = {}
    nan = float("nan")
    for symbol, values in temperature_series(trajectory).items():
        if len(values) == 0:
            result[symbol] = {"mean": nan, "std": nan, "error": nan, "std_error": nan}
            continue
        mean, std = float(values.mean()), float(values.std())
        squared = (values - mean) ** 2
        result[symbol] = {
            "mean": mean,
            "std": std,
            "error": block_error(values),
            "std_error": block_error(squared) / (2.0 * std) if std > 0 else nan,
        }
    return result


def whole_temperature_figures(trajectory: Trajectory) -> Dict[str, float]:
    """Temperature of all the atoms together, K: its ``mean`` and block-averaged
    standard ``error`` (NaN without frames)."""
    if trajectory.num_frames == 0:
        return {"mean": float("nan"), "error": float("nan")}
    values = temperature(
        trajectory.momenta, trajectory.masses, trajectory.momentum_fixed
    )
    return {"mean": float(values.mean()), "error": block_error(values)}


def run_figures(trajectory: Trajectory, vacf_max_lag_fs: float) -> Dict[str, Any]:
    """Every figure of ``trajectory`` (see the module docstring).

    :param trajectory: the run, frames equally spaced.
    :param vacf_max_lag_fs: largest lag of the VACFs, fs.
    :return: ``frames``, ``duration_ps``, ``temperature``
        (:func:`temperature_figures`), ``temperature_all``
        (:func:`whole_temperature_figures`), ``rdf`` and ``vacf`` (curves),
        ``diffusion`` (``D_A2_per_ps``, ``msd_half_A2``),
        ``energy_drift_meV_atom_ps`` and
        ``equipartition`` (``direction_ratio``, ``atom_spread``).
    """
    figures: Dict[str, Any] = {
        "frames": trajectory.num_frames,
        "duration_ps": trajectory.duration_fs / 1000.0,
        "temperature": temperature_figures(trajectory),
        "temperature_all": whole_temperature_figures(trajectory),
    }
    if trajectory.num_frames < MIN_FRAMES:
        nan = float("nan")
        figures.update(
            rdf={},
            vacf={},
            diffusion={"D_A2_per_ps": nan, "msd_half_A2": nan},
            energy_drift_meV_atom_ps=nan,
            equipartition={"direction_ratio": nan, "atom_spread": nan},
        )
        return figures
    interval = trajectory.frame_interval_fs
    figures["rdf"] = rdf(
        trajectory.positions, trajectory.cell, trajectory.numbers, trajectory.pbc
    )
    figures["vacf"] = vacf(
        trajectory.momenta,
        trajectory.masses,
        trajectory.numbers,
        interval,
        vacf_max_lag_fs,
    )
    figures["diffusion"] = diffusion(
        trajectory.positions, trajectory.cell, trajectory.pbc, interval
    )
    figures["energy_drift_meV_atom_ps"] = energy_drift(
        trajectory.time_fs,
        trajectory.potential_energy,
        trajectory.momenta,
        trajectory.masses,
    )
    figures["equipartition"] = equipartition(trajectory.momenta, trajectory.masses)
    return figures
