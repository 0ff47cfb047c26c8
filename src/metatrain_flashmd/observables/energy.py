"""Total energy along a run, and its drift.

Potential energies in eV, momenta in (eV*u)^(1/2), masses in u, times in fs.
"""

import numpy as np

from metatrain_flashmd.observables.temperature import kinetic_energies


def total_energy_per_atom(
    potential_energy: np.ndarray, momenta: np.ndarray, masses: np.ndarray
) -> np.ndarray:
    """Potential plus kinetic energy of each frame, divided by the number of atoms,
    eV/atom.

    :param potential_energy: (frames,) potential energies, eV.
    :param momenta: (frames, n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    """
    kinetic = kinetic_energies(momenta, masses).sum(axis=-1)
    return (np.asarray(potential_energy) + kinetic) / len(masses)


def energy_drift(
    time_fs: np.ndarray,
    potential_energy: np.ndarray,
    momenta: np.ndarray,
    masses: np.ndarray,
) -> float:
    """Slope of a straight line fitted to the total energy per atom against time,
    meV/atom/ps; NaN without potential energies or with fewer than three frames.

    :param time_fs: (frames,) times, fs.
    :param potential_energy: (frames,) potential energies, eV.
    :param momenta: (frames, n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    """
    potential_energy = np.asarray(potential_energy, dtype=float)
    if len(time_fs) < 3 or not np.isfinite(potential_energy).all():
        return float("nan")
    total = total_energy_per_atom(potential_energy, momenta, masses)
    slope = np.polyfit(np.asarray(time_fs, dtype=float), total, 1)[0]
    return float(slope * 1e6)  # eV/fs -> meV/ps
