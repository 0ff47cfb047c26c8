"""Statistical error of a time average, and how evenly kinetic energy is shared.

Both are measured on a run itself: the noise floors of the validation come from
them and from comparing the two halves of a reference run.
"""

from typing import Dict

import numpy as np

from metatrain_flashmd.observables.temperature import kinetic_energies


def block_error(values: np.ndarray, blocks: int = 10) -> float:
    """Standard error of the mean of a correlated time series, from the scatter of
    the means of ``blocks`` contiguous blocks (in the units of ``values``); NaN
    when there are fewer than two values per block.

    :param values: (frames,) the series.
    :param blocks: number of blocks; each should be longer than the correlation
        time of the series.
    """
    values = np.asarray(values, dtype=float)
    usable = len(values) - len(values) % blocks
    if usable < 2 * blocks:
        return float("nan")
    means = values[:usable].reshape(blocks, -1).mean(axis=1)
    return float(means.std(ddof=1) / np.sqrt(blocks))


def equipartition(momenta: np.ndarray, masses: np.ndarray) -> Dict[str, float]:
    """How evenly the kinetic energy is shared between directions and atoms, over
    the frames given.

    :param momenta: (frames, n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :return: ``direction_ratio``, the largest over the smallest of the mean
        kinetic energies along x, y and z (1 at equipartition), and
        ``atom_spread``, the standard deviation over atoms of their time-averaged
        kinetic energy relative to its mean (it tends to 0 for a long canonical
        run; compare runs of the same length).
    """
    momenta = np.asarray(momenta, dtype=float)
    per_direction = momenta**2 / np.asarray(masses)[None, :, None]
    direction = per_direction.mean(axis=(0, 1))
    atoms = kinetic_energies(momenta, masses).mean(axis=0)
    return {
        "direction_ratio": float(direction.max() / direction.min()),
        "atom_spread": float(atoms.std() / atoms.mean()),
    }
