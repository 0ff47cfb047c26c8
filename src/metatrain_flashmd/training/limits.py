"""What the training set covers, per element: the records the integrators' guard
checks every stride against.

For each element of the model, over every training pair (both of its frames for
the momenta and temperatures):

- the smallest distance from an atom of the element to any other atom, periodic
  images included (A; searched within the model's cutoff, so an element with no
  neighbour that close records nothing),
- the largest displacement ``|dr|`` of one of its atoms in one stride (A),
- the largest momentum ``|p|`` of one of its atoms ((eV*u)^(1/2)),
- the lowest and highest kinetic temperature of the element in one structure (K),
  as :func:`metatrain_flashmd.observables.temperature.element_temperatures`
  defines it, with the total momentum counted as fixed when it is zero (as
  ``mtt-flashmd md`` counts it for a structure at rest).

The table has one row per element (in the model's species order) and the columns
of ``metatrain_flashmd._names.TRAINING_LIMITS``; NaN where nothing was seen.
"""

import math
from typing import Dict, List

import ase.data
import numpy as np
import vesin

from .._names import TRAINING_LIMITS
from ..observables.temperature import at_rest, element_temperatures
from .pair_data import Pair


class LimitsAccumulator:
    """Gathers :data:`TRAINING_LIMITS` over pairs given one by one to :meth:`add`.

    :param atomic_types: the model's elements (sorted atomic numbers).
    :param masses: mass of each element, u.
    :param radius: how far to look for an atom's closest neighbour, A.
    """

    def __init__(
        self, atomic_types: List[int], masses: Dict[int, float], radius: float
    ) -> None:
        self.atomic_types = list(atomic_types)
        self.masses = masses
        self.neighbors = vesin.NeighborList(cutoff=float(radius), full_list=True)
        self.table = np.full((len(atomic_types), len(TRAINING_LIMITS)), np.nan)

    def _lower(self, row: int, column: int, value: float) -> None:
        if math.isfinite(value) and not self.table[row, column] <= value:
            self.table[row, column] = value

    def _raise(self, row: int, column: int, value: float) -> None:
        if math.isfinite(value) and not self.table[row, column] >= value:
            self.table[row, column] = value

    def add(self, pair: Pair) -> None:
        """Take the atoms of one training pair into account."""
        closest = self._closest_distances(pair)
        displacement = np.linalg.norm(pair.displacements, axis=1)
        momentum = np.maximum(
            np.linalg.norm(pair.momenta, axis=1),
            np.linalg.norm(pair.future_momenta, axis=1),
        )
        temperatures = [
            self._temperatures(pair, p) for p in (pair.momenta, pair.future_momenta)
        ]
        for row, z in enumerate(self.atomic_types):
            mine = pair.types == z
            if not mine.any():
                continue
            self._lower(row, 0, float(closest[mine].min()))
            self._raise(row, 1, float(displacement[mine].max()))
            self._raise(row, 2, float(momentum[mine].max()))
            for values in temperatures:
                self._lower(row, 3, values.get(z, math.nan))
                self._raise(row, 4, values.get(z, math.nan))

    def _closest_distances(self, pair: Pair) -> np.ndarray:
        """(n,) distance from each atom to its closest neighbour (A, inf if none
        within the radius)."""
        periodic = [bool(p) for p in pair.pbc]
        box = pair.cell if any(periodic) else np.zeros((3, 3))
        first, distances = self.neighbors.compute(
            points=pair.positions, box=box, periodic=periodic, quantities="id"
        )
        closest = np.full(len(pair.types), np.inf)
        np.minimum.at(closest, first.astype(np.int64), distances)
        return closest

    def _temperatures(self, pair: Pair, momenta: np.ndarray) -> Dict[int, float]:
        """Kinetic temperature (K) of each element of ``pair`` with ``momenta``."""
        masses = np.array([self.masses[int(z)] for z in pair.types])
        with np.errstate(divide="ignore", invalid="ignore"):
            values = element_temperatures(pair.types, masses, momenta, at_rest(momenta))
        return {
            ase.data.atomic_numbers[symbol]: float(value)
            for symbol, value in values.items()
        }


def describe_limits(table: np.ndarray, atomic_types: List[int]) -> str:
    """One line per element of the records ``table`` (rows in the order of
    ``atomic_types``), for the training log."""
    lines = []
    for z, row in zip(atomic_types, np.asarray(table, dtype=float)):
        lines.append(
            f"{ase.data.chemical_symbols[z]}: closest neighbour {row[0]:.3f} A, "
            f"displacement up to {row[1]:.3f} A, momentum up to {row[2]:.3f} "
            f"(eV*u)^(1/2), temperature {row[3]:.1f}-{row[4]:.1f} K"
        )
    return "\n".join(lines)


def merged_limits(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """The limits covering both tables (smallest of the minima, largest of the
    maxima; NaN only where both are NaN)."""
    merged = np.array(new, dtype=float)
    for column, name in enumerate(TRAINING_LIMITS):
        pick = np.fmin if name.startswith("min_") else np.fmax
        merged[:, column] = pick(old[:, column], new[:, column])
    return merged
