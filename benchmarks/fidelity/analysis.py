"""Observables compared between the reference and FlashMD runs.

Every function takes a :class:`systems.Trajectory` (positions in A, momenta in
(eV*u)^(1/2), masses in u, times in fs) and returns plain arrays or floats.
"""

from typing import Dict, List, Tuple

import ase.data
import numpy as np
from systems import Trajectory


RDF_MAX_A = 6.0
"""Largest distance of the RDFs, A (under half of the 12 A box of 108 atoms)."""
RDF_BIN_A = 0.05
"""RDF bin width, A."""
DIFFUSION_THRESHOLD_A2 = 1.0
"""A system "diffuses" when the reference mean square displacement over the run
exceeds this, A^2; below it the diffusion coefficient is noise around zero and the
20% target does not apply (a vibrating crystal)."""


def symbols(trajectory: Trajectory) -> List[str]:
    """Chemical symbols of the elements present, sorted by atomic number."""
    return [ase.data.chemical_symbols[z] for z in sorted(set(trajectory.numbers))]


def element_temperatures(trajectory: Trajectory) -> Dict[str, np.ndarray]:
    """Instantaneous temperature of each element in each frame, K, in the order of
    :func:`symbols`: the package's one definition
    (``metatrain_flashmd.observables.temperature.element_temperatures``), with the
    total momentum fixed (every run here keeps it at zero), so that
    element e has 3 N_e - 3 M_e / M degrees of freedom (M_e: mass of its atoms, M:
    total mass)."""
    from metatrain_flashmd.observables.temperature import element_temperatures

    by_symbol = element_temperatures(
        trajectory.numbers, trajectory.masses, trajectory.momenta, momentum_fixed=True
    )
    return {symbol: by_symbol[symbol] for symbol in symbols(trajectory)}


def _frame_stride(trajectory: Trajectory, every_fs: float) -> int:
    """Frames to skip so that frames used are about ``every_fs`` apart."""
    return max(1, int(round(every_fs / trajectory.frame_interval_fs)))


def rdfs(trajectory: Trajectory, every_fs: float = 32.0) -> Dict[str, np.ndarray]:
    """Radial distribution functions: ``r`` (bin centres, A), ``total`` and each
    element pair (``Cu-Au``, ...), from frames about ``every_fs`` apart.

    Normalised by the ideal-gas pair density of the same (partial) densities, so
    that g -> 1 at large r; minimum-image distances in the (orthorhombic) cell.
    """
    edges = np.arange(0.0, RDF_MAX_A + RDF_BIN_A / 2, RDF_BIN_A)
    centres = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    lengths = np.diag(trajectory.cell)
    volume = float(np.prod(lengths))
    frames = trajectory.positions[:: _frame_stride(trajectory, every_fs)]
    names = symbols(trajectory)
    masks = {s: trajectory.numbers == ase.data.atomic_numbers[s] for s in names}
    selections = [("total", slice(None), slice(None))]
    if len(names) > 1:
        for i, a in enumerate(names):
            for b in names[i:]:
                selections.append((f"{a}-{b}", masks[a], masks[b]))
    histograms = {name: np.zeros(len(centres)) for name, _, _ in selections}
    for positions in frames:
        delta = positions[:, None, :] - positions[None, :, :]
        delta -= lengths * np.round(delta / lengths)
        distance = np.linalg.norm(delta, axis=2)
        for name, first, second in selections:
            block = distance[first][:, second]
            histograms[name] += np.histogram(block[block > 1e-8], edges)[0]
    result = {"r": centres}
    for name, first, second in selections:
        n_first = np.ones(len(trajectory.numbers))[first].sum()
        n_second = np.ones(len(trajectory.numbers))[second].sum()
        same = name == "total" or name.split("-")[0] == name.split("-")[1]
        pairs = n_first * (n_second - 1) if same else n_first * n_second
        ideal = pairs / volume * shell * len(frames)
        result[name] = histograms[name] / ideal
    return result


def rdf_difference(
    first: Dict[str, np.ndarray], second: Dict[str, np.ndarray], key: str = "total"
) -> float:
    """Integrated absolute difference of two RDFs, divided by the range:
    (1 / r_max) * integral_0^r_max |g1 - g2| dr (dimensionless; 0 for identical
    RDFs, about 2 for RDFs with no overlapping peaks)."""
    r = first["r"]
    return float(np.sum(np.abs(first[key] - second[key])) * RDF_BIN_A / r[-1])


def unwrapped(trajectory: Trajectory) -> np.ndarray:
    """Positions made continuous across the periodic boundaries (each frame-to-frame
    displacement taken by the minimum image), A."""
    lengths = np.diag(trajectory.cell)
    steps = np.diff(trajectory.positions, axis=0)
    steps -= lengths * np.round(steps / lengths)
    start = trajectory.positions[:1]
    return np.concatenate([start, start + np.cumsum(steps, axis=0)])


def msd(trajectory: Trajectory, max_lag_fs: float) -> Tuple[np.ndarray, np.ndarray]:
    """Mean square displacement (A^2, all atoms, averaged over time origins) against
    lag time (fs), up to ``max_lag_fs``."""
    positions = unwrapped(trajectory)
    dt = trajectory.frame_interval_fs
    lags = np.arange(0, min(int(max_lag_fs / dt), len(positions) - 1) + 1)
    values = np.array(
        [
            np.mean(np.sum((positions[k:] - positions[: len(positions) - k]) ** 2, 2))
            for k in lags
        ]
    )
    return lags * dt, values


def diffusion(trajectory: Trajectory) -> Dict[str, float]:
    """Diffusion coefficient from the slope of the MSD between 1/4 and 1/2 of the
    run (Einstein: MSD = 6 D t), in A^2/ps, and the MSD at half the run (A^2); NaN
    for runs too short to fit."""
    duration = trajectory.time_fs[-1] - trajectory.time_fs[0]
    lags, values = msd(trajectory, duration / 2)
    window = lags >= duration / 4
    if np.count_nonzero(window) < 2:  # a run stopped after a few frames
        return {"D_A2_per_ps": float("nan"), "msd_half_A2": float("nan")}
    slope = np.polyfit(lags[window], values[window], 1)[0]
    return {"D_A2_per_ps": float(slope * 1000 / 6), "msd_half_A2": float(values[-1])}


def vacf(trajectory: Trajectory, max_lag_fs: float = 1000.0) -> Dict[str, np.ndarray]:
    """Normalised velocity autocorrelation function of each element, C(t) =
    <v(0).v(t)> / <v(0).v(0)>, averaged over atoms and time origins (FFT), at the
    frame interval, up to ``max_lag_fs``; key ``t`` holds the lags in fs."""
    velocities = trajectory.momenta / trajectory.masses[None, :, None]
    frames = len(velocities)
    lags = min(int(max_lag_fs / trajectory.frame_interval_fs), frames - 1) + 1
    size = 2 ** int(np.ceil(np.log2(2 * frames)))
    spectrum = np.fft.rfft(velocities, n=size, axis=0)
    correlation = np.fft.irfft(spectrum * spectrum.conj(), n=size, axis=0)[:lags]
    correlation = correlation.sum(axis=2) / (frames - np.arange(lags))[:, None]
    result = {"t": np.arange(lags) * trajectory.frame_interval_fs}
    for symbol in symbols(trajectory):
        mask = trajectory.numbers == ase.data.atomic_numbers[symbol]
        mean = correlation[:, mask].mean(axis=1)
        result[symbol] = mean / mean[0]
    return result


def vacf_difference(
    reference: Dict[str, np.ndarray], other: Dict[str, np.ndarray], symbol: str
) -> float:
    """Root mean square difference of two normalised VACFs at the other's lags
    (the reference interpolated), over the lags both cover."""
    t = other["t"][other["t"] <= reference["t"][-1]]
    interpolated = np.interp(t, reference["t"], reference[symbol])
    return float(np.sqrt(np.mean((other[symbol][: len(t)] - interpolated) ** 2)))


def energy_drift(trajectory: Trajectory) -> float:
    """Slope of a linear fit of the total energy per atom against time, meV/atom/ps
    (NaN without potential energies)."""
    if np.isnan(trajectory.potential_energy).any() or len(trajectory.time_fs) < 3:
        return float("nan")
    kinetic = 0.5 * np.sum(trajectory.momenta**2 / trajectory.masses[:, None], (1, 2))
    total = (trajectory.potential_energy + kinetic) / len(trajectory.numbers)
    slope = np.polyfit(trajectory.time_fs, total, 1)[0]
    return float(slope * 1000 * 1000)


def total_energy(trajectory: Trajectory) -> np.ndarray:
    """Total energy per atom in each frame, meV/atom, relative to the first."""
    kinetic = 0.5 * np.sum(trajectory.momenta**2 / trajectory.masses[:, None], (1, 2))
    total = (trajectory.potential_energy + kinetic) / len(trajectory.numbers)
    return (total - total[0]) * 1000


def block_error(values: np.ndarray, blocks: int = 10) -> float:
    """Standard error of the mean of a correlated time series by block averaging
    (``blocks`` contiguous blocks), in the units of ``values``."""
    usable = len(values) - len(values) % blocks
    if usable < blocks * 2:
        return float("nan")
    means = values[:usable].reshape(blocks, -1).mean(axis=1)
    return float(means.std(ddof=1) / np.sqrt(blocks))


def equipartition(trajectory: Trajectory) -> Dict[str, float]:
    """How evenly the kinetic energy is shared, over the second half of the run.

    ``direction_ratio``: largest over smallest of the x, y, z kinetic temperatures
    (1 at equipartition); ``atom_spread``: standard deviation over atoms of the
    time-averaged per-atom kinetic temperature, relative to its mean (for a long
    canonical run it tends to 0; compare with the reference of the same length).
    """
    half = trajectory.momenta[len(trajectory.momenta) // 2 :]
    kinetic = half**2 / trajectory.masses[None, :, None]
    direction = kinetic.mean(axis=(0, 1))
    atoms = kinetic.sum(axis=2).mean(axis=0)
    return {
        "direction_ratio": float(direction.max() / direction.min()),
        "atom_spread": float(atoms.std() / atoms.mean()),
    }
