"""One pass over the training pairs: validation and normalisation statistics."""

import logging
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from .limits import LimitsAccumulator
from .pair_data import IndexedPairs


@dataclass
class PairStatistics:
    """Root mean squares of the mass-scaled quantities over all atoms and components.

    ``momentum_rms``: p/sqrt(m), eV^(1/2); ``displacement_rms``: sqrt(m)*dr,
    A*u^(1/2); ``target_momentum_rms``: p'/sqrt(m) (or (p'-p)/sqrt(m)), eV^(1/2).
    """

    momentum_rms: float
    displacement_rms: float
    target_momentum_rms: float
    num_pairs: int
    num_atoms: int
    largest_displacement: float
    sizes: List[int]
    """Number of atoms of each pair."""


def gather_statistics(
    pairs: IndexedPairs,
    masses: Dict[int, float],
    difference: bool,
    limits: Optional[LimitsAccumulator] = None,
) -> PairStatistics:
    """Read (and so check) every pair once and return its statistics.

    :param masses: mass of each element, u.
    :param difference: the momentum target is p' - p rather than p'.
    :param limits: also given every pair, to record what the set covers.
    """
    sums = np.zeros(3)
    num_atoms = 0
    largest = 0.0
    sizes = []
    for index in range(len(pairs)):
        _, pair = pairs[index]
        if limits is not None:
            limits.add(pair)
        m = np.array([masses[int(z)] for z in pair.types])[:, None]
        target = (
            pair.future_momenta - pair.momenta if difference else pair.future_momenta
        )
        sums += [
            np.sum(pair.momenta**2 / m),
            np.sum(pair.displacements**2 * m),
            np.sum(target**2 / m),
        ]
        num_atoms += len(pair.types)
        sizes.append(len(pair.types))
        largest = max(largest, float(np.linalg.norm(pair.displacements, axis=1).max()))
    if num_atoms == 0:
        return PairStatistics(1.0, 1.0, 1.0, len(pairs), 0, 0.0, sizes)
    rms = np.sqrt(sums / (3 * num_atoms))
    for value, what in zip(rms, ("momenta", "displacements", "target momenta")):
        if value == 0.0:
            logging.warning(f"all {what} of the training set are zero")
    rms = np.where(rms > 0.0, rms, 1.0)
    return PairStatistics(
        momentum_rms=float(rms[0]),
        displacement_rms=float(rms[1]),
        target_momentum_rms=float(rms[2]),
        num_pairs=len(pairs),
        num_atoms=num_atoms,
        largest_displacement=largest,
        sizes=sizes,
    )
