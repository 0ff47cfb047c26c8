"""Checks of every replica's input, all done before the first stride.

One replica with an element the model does not know, masses other than the model's,
a cell narrower than the model's cutoff or non-finite coordinates would fail or
poison the shared model calls; each problem is reported with the replica's index
and label (its file and frame, when it came from one), all of them at once.
"""

from typing import List, Optional, Sequence

import ase
import numpy as np
from metatomic.torch import AtomisticModel

from metatrain_flashmd.ase.base import check_masses


class ReplicaInputError(ValueError):
    """One or more replicas cannot be run; the message has one line per problem."""


def replica_name(index: int, label: Optional[str]) -> str:
    """How messages name a replica: ``replica 3 (b.xyz, frame 2)``."""
    return f"replica {index}" + (f" ({label})" if label else "")


def cell_widths(atoms: ase.Atoms) -> np.ndarray:
    """Distance between opposite faces of the cell along each cell vector, A
    (zero for a degenerate cell)."""
    cell = atoms.cell.array
    volume = abs(float(np.linalg.det(cell)))
    widths = np.zeros(3)
    for i in range(3):
        normal = np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])
        area = float(np.linalg.norm(normal))
        widths[i] = volume / area if area > 0 else 0.0
    return widths


def cell_problem(atoms: ase.Atoms, cutoff: float) -> Optional[str]:
    """Why the periodic cell of ``atoms`` cannot be used with a model of ``cutoff``
    (A), or ``None``.

    A periodic direction narrower than the cutoff makes atoms their own
    neighbours across the boundary: the model never saw such neighbourhoods in
    training, and an atom's images would move in lock-step with it.
    """
    if not atoms.pbc.any():
        return None
    widths = cell_widths(atoms)
    narrow = [i for i in range(3) if atoms.pbc[i] and widths[i] < cutoff]
    if not narrow:
        return None
    described = ", ".join(f"{'abc'[i]}: {widths[i]:.4g} A" for i in narrow)
    return (
        f"the periodic cell is narrower than the model's cutoff of {cutoff:g} A "
        f"({described}, measured between opposite faces): repeat the cell "
        "(atoms.repeat) until every periodic width reaches the cutoff"
    )


def replica_problems(
    atoms: ase.Atoms, model: AtomisticModel, cutoff: float
) -> List[str]:
    """Everything that keeps ``atoms`` from being run with ``model``.

    :param atoms: the replica's system; masses in u, momenta in (eV*u)^(1/2).
    :param model: the exported FlashMD model.
    :param cutoff: the model's neighbour-list cutoff, A.
    """
    problems = []
    if len(atoms) == 0:
        return ["it has no atoms"]
    try:
        check_masses(atoms, model)
    except ValueError as error:
        problems.append(str(error))
    problem = cell_problem(atoms, cutoff)
    if problem is not None:
        problems.append(problem)
    if not np.isfinite(atoms.positions).all():
        problems.append("its positions are not all finite")
    if not np.isfinite(atoms.get_momenta()).all():
        problems.append("its momenta are not all finite")
    return problems


def check_replicas(
    systems: Sequence[ase.Atoms],
    labels: Sequence[Optional[str]],
    model: AtomisticModel,
    cutoff: float,
) -> None:
    """Raise :class:`ReplicaInputError` naming every replica that cannot be run.

    :param systems: the replicas' atoms.
    :param labels: a label per replica (file and frame), or ``None``.
    :param model: the exported FlashMD model.
    :param cutoff: the model's neighbour-list cutoff, A.
    """
    lines = []
    bad = 0
    for index, (atoms, label) in enumerate(zip(systems, labels)):
        problems = replica_problems(atoms, model, cutoff)
        bad += bool(problems)
        lines += [f"{replica_name(index, label)}: {problem}" for problem in problems]
    if lines:
        raise ReplicaInputError(
            f"{bad} of {len(systems)} replicas cannot be run:\n" + "\n".join(lines)
        )
