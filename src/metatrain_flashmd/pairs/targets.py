"""Training targets from trajectory pairs: unwrapped displacements and their checks."""

from dataclasses import dataclass
from typing import Optional

import numpy as np


def cell_heights(cell: np.ndarray) -> np.ndarray:
    """Distances between opposite faces of the cell (3,), A; inf where a cell vector
    is zero (non-periodic direction)."""
    heights = np.full(3, np.inf)
    volume = abs(np.linalg.det(cell))
    if volume == 0.0:
        return heights
    for axis in range(3):
        other = np.cross(cell[(axis + 1) % 3], cell[(axis + 2) % 3])
        heights[axis] = volume / np.linalg.norm(other)
    return heights


def minimum_image(
    displacements: np.ndarray, cell: np.ndarray, pbc: np.ndarray
) -> np.ndarray:
    """Displacements (n, 3), A, mapped to their shortest periodic image.

    Trajectories written with positions wrapped into the cell show atoms that crossed
    a face as jumping by a cell vector; this undoes it along periodic directions.
    """
    if not pbc.any():
        return displacements
    fractional = np.linalg.solve(cell.T, displacements.T).T
    fractional[:, pbc] -= np.round(fractional[:, pbc])
    return fractional @ cell


@dataclass
class PairProblem:
    """What is wrong with one training pair, for an error message."""

    reason: str
    atom: Optional[int] = None


def check_pair(
    positions: np.ndarray,
    momenta: np.ndarray,
    future_positions: np.ndarray,
    future_momenta: np.ndarray,
    cell: np.ndarray,
    pbc: np.ndarray,
) -> "tuple[np.ndarray, Optional[PairProblem]]":
    """Unwrapped displacements (n, 3) of one pair and the first problem found.

    Problems: non-finite values, shapes that do not match (atoms differing between
    the frames), and a displacement of half the shortest cell height or more (the
    minimum image is then ambiguous: the stride is too long for the cell).
    """
    n = positions.shape[0]
    for name, array in (
        ("momenta", momenta),
        ("future positions", future_positions),
        ("future momenta", future_momenta),
    ):
        if array.shape != (n, 3):
            return np.zeros((n, 3)), PairProblem(
                f"{name} have shape {tuple(array.shape)} for {n} atoms: the two "
                "frames of the pair must hold the same atoms"
            )
    for name, array in (
        ("positions", positions),
        ("momenta", momenta),
        ("future positions", future_positions),
        ("future momenta", future_momenta),
    ):
        bad = ~np.isfinite(array).all(axis=1)
        if bad.any():
            atom = int(np.nonzero(bad)[0][0])
            return np.zeros((n, 3)), PairProblem(f"{name} are not finite", atom)

    displacements = minimum_image(future_positions - positions, cell, pbc)
    heights = cell_heights(cell)
    limit = 0.5 * np.min(np.where(pbc, heights, np.inf))
    lengths = np.linalg.norm(displacements, axis=1)
    if np.isfinite(limit) and (lengths >= limit).any():
        atom = int(np.argmax(lengths))
        return displacements, PairProblem(
            f"atom moves by {lengths[atom]:.3f} A in one stride, at least half the "
            f"shortest cell height ({2 * limit:.3f} A): its periodic image is "
            "ambiguous. Use a shorter stride or a larger cell",
            atom,
        )
    return displacements, None
