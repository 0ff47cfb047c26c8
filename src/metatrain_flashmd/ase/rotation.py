"""Random rigid rotations of a whole system, applied around a FlashMD stride.

A learned FlashMD model is only approximately rotation-equivariant. Rotating the
system (positions, cell and momenta) by a rotation drawn uniformly from SO(3) before
each stride, and rotating the prediction back, turns the residual orientation
dependence into noise instead of a systematic bias.
"""

import ase
import numpy as np
from scipy.spatial.transform import Rotation


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A rotation matrix drawn uniformly (Haar measure) from SO(3).

    :param rng: the random generator to draw from.
    :return: a proper rotation matrix, shape (3, 3).
    """
    return Rotation.random(rng=rng).as_matrix()


def rotated_copy(atoms: ase.Atoms, rotation: np.ndarray) -> ase.Atoms:
    """A copy of ``atoms`` with positions, cell and momenta rotated by ``rotation``
    around the origin, without constraints or calculator.

    Row vectors are rotated as ``v @ rotation.T``; the copy keeps every other array
    and ``info`` entry, so the model receives the same additional inputs.

    :param atoms: the system to rotate (not modified).
    :param rotation: rotation matrix, shape (3, 3).
    :return: the rotated copy.
    """
    rotated = atoms.copy()
    rotated.set_constraint()
    rotated.set_cell(atoms.cell.array @ rotation.T, scale_atoms=False)
    rotated.set_positions(atoms.positions @ rotation.T, apply_constraint=False)
    rotated.set_momenta(atoms.get_momenta() @ rotation.T, apply_constraint=False)
    return rotated
