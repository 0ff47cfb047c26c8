r"""How atoms move: mean square displacement, diffusion coefficient and velocity
autocorrelation function.

Positions in A, momenta in (eV*u)^(1/2), masses in u, times in fs; diffusion
coefficients in A^2/ps.
"""

from typing import Dict

import ase.data
import numpy as np

from metatrain_flashmd.observables.structure import element_symbols


DIFFUSION_THRESHOLD_A2 = 1.0
"""A run "diffuses" when its mean square displacement at half its length exceeds
this, A^2 (about a tenth of a nearest-neighbour distance squared); below it a
diffusion coefficient is noise around zero (a vibrating crystal)."""


def unwrap(positions: np.ndarray, cell: np.ndarray, pbc: np.ndarray) -> np.ndarray:
    """Positions made continuous across periodic boundaries: each frame-to-frame
    displacement is taken to the nearest periodic image (fractional coordinates, so
    that any cell works).

    :param positions: (frames, n, 3) positions, A.
    :param cell: (3, 3) cell vectors as rows, A.
    :param pbc: (3,) periodic directions.
    :return: (frames, n, 3) unwrapped positions, A, equal to the input in the first
        frame.
    """
    positions = np.asarray(positions, dtype=float)
    steps = np.diff(positions, axis=0)
    periodic = np.asarray(pbc, dtype=bool)
    if periodic.any():
        fractional = steps @ np.linalg.inv(cell)
        fractional[..., periodic] -= np.round(fractional[..., periodic])
        steps = fractional @ cell
    start = positions[:1]
    return np.concatenate([start, start + np.cumsum(steps, axis=0)])


def mean_square_displacement(
    unwrapped: np.ndarray, frame_interval_fs: float, max_lag_fs: float
) -> Dict[str, np.ndarray]:
    """Mean square displacement over all atoms and time origins.

    :param unwrapped: (frames, n, 3) unwrapped positions (:func:`unwrap`), A.
    :param frame_interval_fs: time between frames, fs.
    :param max_lag_fs: largest lag time, fs.
    :return: ``t`` (lags, fs) and ``msd`` (A^2).
    """
    frames = len(unwrapped)
    lags = np.arange(0, min(int(max_lag_fs / frame_interval_fs), frames - 1) + 1)
    values = [
        np.mean(np.sum((unwrapped[lag:] - unwrapped[: frames - lag]) ** 2, axis=2))
        for lag in lags
    ]
    return {"t": lags * frame_interval_fs, "msd": np.array(values)}


def diffusion(
    positions: np.ndarray,
    cell: np.ndarray,
    pbc: np.ndarray,
    frame_interval_fs: float,
) -> Dict[str, float]:
    """Diffusion coefficient from the Einstein relation MSD = 6 D t, fitted to the
    MSD between a quarter and half of the run's length.

    :param positions: (frames, n, 3) positions, A (wrapped or not).
    :param cell: (3, 3) cell vectors as rows, A.
    :param pbc: (3,) periodic directions.
    :param frame_interval_fs: time between frames, fs.
    :return: ``D_A2_per_ps`` (A^2/ps) and ``msd_half_A2``, the MSD at half the
        run's length (A^2); NaN for runs too short to fit.
    """
    duration = frame_interval_fs * (len(positions) - 1)
    curve = mean_square_displacement(
        unwrap(positions, cell, pbc), frame_interval_fs, duration / 2
    )
    window = curve["t"] >= duration / 4
    if np.count_nonzero(window) < 2:
        return {"D_A2_per_ps": float("nan"), "msd_half_A2": float("nan")}
    slope = np.polyfit(curve["t"][window], curve["msd"][window], 1)[0]
    return {
        "D_A2_per_ps": float(slope * 1000.0 / 6.0),
        "msd_half_A2": float(curve["msd"][-1]),
    }


def vacf(
    momenta: np.ndarray,
    masses: np.ndarray,
    numbers: np.ndarray,
    frame_interval_fs: float,
    max_lag_fs: float = 1000.0,
) -> Dict[str, np.ndarray]:
    r"""Normalised velocity autocorrelation function of each element,
    :math:`C(t) = \langle v(0) \cdot v(t) \rangle / \langle v(0) \cdot v(0)
    \rangle`, averaged over the element's atoms and all time origins (by FFT).

    :param momenta: (frames, n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    :param frame_interval_fs: time between frames, fs.
    :param max_lag_fs: largest lag time, fs.
    :return: ``t`` (lags, fs) and one curve per chemical symbol.
    """
    velocities = np.asarray(momenta, dtype=float) / np.asarray(masses)[None, :, None]
    frames = len(velocities)
    lags = min(int(max_lag_fs / frame_interval_fs), frames - 1) + 1
    size = 2 ** int(np.ceil(np.log2(2 * frames)))
    spectrum = np.fft.rfft(velocities, n=size, axis=0)
    correlation = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=0)[:lags]
    correlation = correlation.sum(axis=2) / (frames - np.arange(lags))[:, None]
    result = {"t": np.arange(lags) * frame_interval_fs}
    for symbol in element_symbols(numbers):
        mask = np.asarray(numbers) == ase.data.atomic_numbers[symbol]
        mean = correlation[:, mask].mean(axis=1)
        result[symbol] = mean / mean[0]
    return result


def vacf_difference(
    reference: Dict[str, np.ndarray], other: Dict[str, np.ndarray], symbol: str
) -> float:
    """Root mean square difference of two normalised VACFs of ``symbol`` at the
    lags of ``other`` that ``reference`` covers (``reference`` interpolated
    linearly), dimensionless.

    :param reference: VACFs of :func:`vacf`.
    :param other: VACFs of :func:`vacf`.
    :param symbol: the element.
    """
    t = other["t"][other["t"] <= reference["t"][-1] + 1e-9]
    interpolated = np.interp(t, reference["t"], reference[symbol])
    return float(np.sqrt(np.mean((other[symbol][: len(t)] - interpolated) ** 2)))
