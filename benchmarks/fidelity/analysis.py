"""Observables compared between the reference and FlashMD runs.

Every function takes a :class:`systems.Trajectory` (positions in A, momenta in
(eV*u)^(1/2), masses in u, times in fs) and returns plain arrays or floats; the
observables themselves are the package's (``metatrain_flashmd.observables``), the
same ones ``mtt-flashmd validate`` judges models by.
"""

from typing import Dict, List, Tuple

import numpy as np
from systems import Trajectory

from metatrain_flashmd.observables import energy, statistics, structure, transport


RDF_MAX_A = structure.RDF_MAX_A
"""Largest distance of the RDFs, A."""
RDF_BIN_A = structure.RDF_BIN_A
"""RDF bin width, A."""
DIFFUSION_THRESHOLD_A2 = transport.DIFFUSION_THRESHOLD_A2
"""A system "diffuses" when the reference mean square displacement over the run
exceeds this, A^2; below it the diffusion coefficient is noise around zero and the
20% target does not apply (a vibrating crystal)."""
PERIODIC = np.ones(3, dtype=bool)
"""Every system of the benchmark is periodic in all directions."""


def symbols(trajectory: Trajectory) -> List[str]:
    """Chemical symbols of the elements present, sorted by atomic number."""
    return structure.element_symbols(trajectory.numbers)


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
    """Radial distribution functions (``r``, ``total`` and each element pair such
    as ``Cu-Au``) from frames about ``every_fs`` apart
    (``metatrain_flashmd.observables.structure.rdf``)."""
    frames = trajectory.positions[:: _frame_stride(trajectory, every_fs)]
    return structure.rdf(frames, trajectory.cell, trajectory.numbers, PERIODIC)


def rdf_difference(
    first: Dict[str, np.ndarray], second: Dict[str, np.ndarray], key: str = "total"
) -> float:
    """Integrated absolute difference of two RDFs divided by their range
    (``metatrain_flashmd.observables.structure.rdf_difference``)."""
    return structure.rdf_difference(first, second, key)


def unwrapped(trajectory: Trajectory) -> np.ndarray:
    """Positions made continuous across the periodic boundaries, A."""
    return transport.unwrap(trajectory.positions, trajectory.cell, PERIODIC)


def msd(trajectory: Trajectory, max_lag_fs: float) -> Tuple[np.ndarray, np.ndarray]:
    """Mean square displacement (A^2, all atoms, averaged over time origins) against
    lag time (fs), up to ``max_lag_fs``."""
    curve = transport.mean_square_displacement(
        unwrapped(trajectory), trajectory.frame_interval_fs, max_lag_fs
    )
    return curve["t"], curve["msd"]


def diffusion(trajectory: Trajectory) -> Dict[str, float]:
    """Diffusion coefficient (A^2/ps) from the MSD between 1/4 and 1/2 of the run,
    and the MSD at half the run (A^2)."""
    return transport.diffusion(
        trajectory.positions, trajectory.cell, PERIODIC, trajectory.frame_interval_fs
    )


def vacf(trajectory: Trajectory, max_lag_fs: float = 1000.0) -> Dict[str, np.ndarray]:
    """Normalised velocity autocorrelation function of each element; key ``t``
    holds the lags in fs."""
    return transport.vacf(
        trajectory.momenta,
        trajectory.masses,
        trajectory.numbers,
        trajectory.frame_interval_fs,
        max_lag_fs,
    )


def vacf_difference(
    reference: Dict[str, np.ndarray], other: Dict[str, np.ndarray], symbol: str
) -> float:
    """Root mean square difference of two normalised VACFs."""
    return transport.vacf_difference(reference, other, symbol)


def energy_drift(trajectory: Trajectory) -> float:
    """Slope of the total energy per atom against time, meV/atom/ps (NaN without
    potential energies)."""
    return energy.energy_drift(
        trajectory.time_fs,
        trajectory.potential_energy,
        trajectory.momenta,
        trajectory.masses,
    )


def total_energy(trajectory: Trajectory) -> np.ndarray:
    """Total energy per atom in each frame, meV/atom, relative to the first."""
    total = energy.total_energy_per_atom(
        trajectory.potential_energy, trajectory.momenta, trajectory.masses
    )
    return (total - total[0]) * 1000


def block_error(values: np.ndarray, blocks: int = 10) -> float:
    """Standard error of the mean of a correlated time series by block averaging."""
    return statistics.block_error(values, blocks)


def equipartition(trajectory: Trajectory) -> Dict[str, float]:
    """How evenly the kinetic energy is shared over the second half of the run:
    ``direction_ratio`` and ``atom_spread``
    (``metatrain_flashmd.observables.statistics.equipartition``)."""
    half = trajectory.momenta[len(trajectory.momenta) // 2 :]
    return statistics.equipartition(half, trajectory.masses)
