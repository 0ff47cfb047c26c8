r"""Pairs from variable-cell (e.g. NpT) trajectories: the later frame mapped into
the earlier frame's cell.

A FlashMD model maps a state :math:`(q, p)` in a cell :math:`h` to the state one
stride later *in the same cell*. In a constant-pressure trajectory the cell moves
between the two frames of a pair, so the later frame is mapped into the earlier
frame's cell :math:`h_0` by the transformation the barostats use, at fixed
fractional coordinates: with cells as rows and :math:`A = h_1^{-1} h_0`,

.. math::

    q \leftarrow q A, \qquad p \leftarrow p A^{-\mathsf T},

a canonical point transformation (for an isotropic change of the lengths by
:math:`s`, :math:`q \to q/s` and :math:`p \to s\,p`, the inverse of the scaling of
:mod:`metatrain_flashmd.ase.barostat`).

**Error.** The mapped pair is not exactly the fixed-cell dynamics: the atoms felt
the cell's changes during the lag :math:`\tau`. Write :math:`\epsilon` for the
largest strain of the cell relative to the earlier frame over the frames between
the two (the largest :math:`|\sigma - 1|` over the singular values :math:`\sigma`
of :math:`h_0^{-1} h`). To first order in :math:`\epsilon`, a free atom's
displacement is off by at most :math:`2 \epsilon |p| \tau / m` (its velocity
relative to the expanding cell is scaled by :math:`s^{-2}`), and for atoms in a
harmonic well the momentum is off by at most :math:`2 \epsilon |F| \tau`, with
:math:`F` the largest force over the lag; both are relative errors of about
:math:`2 \epsilon` of the free flight and of the impulse. Barostats with
relaxation times of a picosecond change the cell by :math:`10^{-4}` to
:math:`10^{-3}` over tens of femtoseconds, far below a model's own errors. A pair
whose strain exceeds a tolerance (:data:`DEFAULT_MAX_STRAIN`) is refused with an
error: the error bound would be too large, and a jump of the cell that large is
more likely a restart or a different system. Only the frames in the file are seen:
a cell that moves and comes back between two written frames is not measured.
"""

from typing import Any, List, Sequence, Tuple

import numpy as np

from .frames import Frame, TrajectoryError


DEFAULT_MAX_STRAIN = 0.01
"""Largest strain of the cell over a pair accepted by default (1%: targets off by
about 2% of the free flight and of the impulse at most)."""


def cell_strain(reference: np.ndarray, cell: np.ndarray) -> float:
    """Largest principal strain of ``cell`` relative to ``reference`` (3, 3)
    (cell vectors as rows), dimensionless: the largest :math:`|\\sigma - 1|` over
    the singular values of :math:`h_0^{-1} h`; zero for equal cells."""
    deformation = np.linalg.solve(reference, cell)
    values = np.linalg.svd(deformation, compute_uv=False)
    return float(np.max(np.abs(values - 1.0)))


def strains(frames: Sequence[Frame]) -> List[float]:
    """:func:`cell_strain` of each of ``frames`` relative to the first of them; all
    zero when the system is not periodic in all three directions (no cell to
    change)."""
    first = frames[0]
    if not first.pbc.all():
        return [0.0] * len(frames)
    return [
        0.0
        if np.array_equal(frame.cell, first.cell)
        else cell_strain(first.cell, frame.cell)
        for frame in frames
    ]


def into_cell(frame: Frame, cell: np.ndarray) -> Frame:
    """``frame`` mapped into ``cell`` at fixed fractional coordinates: positions
    :math:`q A`, momenta :math:`p A^{-T}` with :math:`A = h^{-1} h_0` (the module
    docstring); a new frame with ``cell``."""
    deformation = np.linalg.solve(frame.cell, cell)
    return Frame(
        index=frame.index,
        numbers=frame.numbers,
        positions=frame.positions @ deformation,
        momenta=np.linalg.solve(deformation, frame.momenta.T).T,
        masses=frame.masses,
        cell=np.array(cell, dtype=np.float64),
        pbc=frame.pbc,
        temperature=frame.temperature,
    )


def check_max_strain(max_strain: float) -> float:
    """``max_strain`` if it is a usable tolerance (finite, >= 0)."""
    if not (np.isfinite(max_strain) and max_strain >= 0):
        raise ValueError(
            f"the largest cell strain must be a number >= 0, got {max_strain}"
        )
    return float(max_strain)


def checked_pair_frame(
    path: Any, window: Sequence[Frame], max_strain: float
) -> Tuple[Frame, float]:
    """The last frame of ``window`` mapped into the first frame's cell, and the
    largest strain of the cell over the window.

    :param path: the trajectory file, for the error message.
    :param window: the frames from the earlier to the later frame of a pair.
    :param max_strain: the largest strain accepted.
    :raises TrajectoryError: for a larger strain.
    """
    earlier, later = window[0], window[-1]
    values = strains(window)
    worst = int(np.argmax(values))
    strain = values[worst]
    if strain > max_strain:
        raise TrajectoryError(
            path,
            f"the cell of frame {window[worst].index} is strained by {strain:.3g} "
            f"relative to frame {earlier.index}'s, more than the tolerance "
            f"{max_strain:g} (--max-cell-strain): mapping the pair from frame "
            f"{earlier.index} into one cell would put targets off by about "
            f"{2 * strain:.2g} of their change. Use a shorter lag or a slower "
            "barostat, or raise the tolerance",
            later.index,
        )
    if strain == 0.0:
        return later, 0.0
    return into_cell(later, earlier.cell), strain


def in_cell_of(frame: Frame, reference: Frame) -> Frame:
    """``frame`` mapped into ``reference``'s cell (:func:`into_cell`) when the cells
    differ in a fully periodic system, ``frame`` itself otherwise: consecutive
    frames of an NpT run compared without the cell's homogeneous scaling."""
    if np.array_equal(frame.cell, reference.cell) or not reference.pbc.all():
        return frame
    return into_cell(frame, reference.cell)
