r"""Kinetic temperature of a system and of each of its elements.

The one definition used by the integrators' logs, the command line and the
benchmarks. For atoms of masses :math:`m_i` and momenta :math:`\mathbf p_i`, the
temperature of a set :math:`S` of atoms (an element, or all of them) is

.. math::

    T_S = \frac{2 K_S}{f_S\, k_B}, \qquad
    K_S = \sum_{i \in S} \frac{|\mathbf p_i|^2}{2 m_i}, \qquad
    f_S = 3 N_S - 3\,\frac{M_S}{M} \quad\text{(total momentum fixed)},

with :math:`N_S` atoms of total mass :math:`M_S` out of :math:`M`. When the total
momentum is held at zero (FlashMD conserves it exactly; ASE marks it with a
:class:`~ase.constraints.FixCom` constraint), the centre-of-mass mode, which
carries the fraction :math:`m_i / M` of each atom's kinetic energy at equilibrium,
is missing: each atom has :math:`3 (1 - m_i / M)` degrees of freedom, so that at
equipartition every element has the same temperature and the whole system counts
:math:`3 N - 3`. Without that constraint :math:`f_S = 3 N_S`.

Momenta are in (eV*u)^(1/2), masses in u, energies in eV, temperatures in K.
"""

from typing import Dict

import ase
import ase.data
import ase.units
import numpy as np
from ase.constraints import FixCom


def kinetic_energies(momenta: np.ndarray, masses: np.ndarray) -> np.ndarray:
    """Kinetic energy of each atom, eV.

    :param momenta: (..., n, 3) momenta, (eV*u)^(1/2); leading axes (frames) allowed.
    :param masses: (n,) masses, u.
    :return: (..., n) kinetic energies.
    """
    return 0.5 * np.sum(np.asarray(momenta) ** 2, axis=-1) / np.asarray(masses)


def degrees_of_freedom(
    masses: np.ndarray, selection: np.ndarray, momentum_fixed: bool
) -> float:
    """Degrees of freedom :math:`f_S` of the atoms in ``selection``.

    :param masses: (n,) masses of all atoms, u.
    :param selection: (n,) boolean mask of the atoms counted.
    :param momentum_fixed: whether the total momentum is held fixed (3 degrees of
        freedom removed from the whole system, shared in proportion to mass).
    """
    masses = np.asarray(masses, dtype=float)
    count = 3.0 * np.count_nonzero(selection)
    if not momentum_fixed:
        return count
    return count - 3.0 * masses[selection].sum() / masses.sum()


def temperature(
    momenta: np.ndarray, masses: np.ndarray, momentum_fixed: bool = True
) -> np.ndarray:
    """Temperature of all the atoms, K (an array over any leading frame axes).

    :param momenta: (..., n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param momentum_fixed: whether the total momentum is held fixed.
    """
    everything = np.ones(len(masses), dtype=bool)
    dof = degrees_of_freedom(masses, everything, momentum_fixed)
    kinetic = kinetic_energies(momenta, masses).sum(axis=-1)
    return 2.0 * kinetic / (dof * ase.units.kB)


def element_temperatures(
    numbers: np.ndarray,
    masses: np.ndarray,
    momenta: np.ndarray,
    momentum_fixed: bool = True,
) -> Dict[str, np.ndarray]:
    """Temperature of each element, K, keyed by chemical symbol in alphabetical
    order (arrays over any leading frame axes of ``momenta``).

    :param numbers: (n,) atomic numbers.
    :param masses: (n,) masses, u.
    :param momenta: (..., n, 3) momenta, (eV*u)^(1/2).
    :param momentum_fixed: whether the total momentum is held fixed.
    """
    numbers = np.asarray(numbers)
    kinetic = kinetic_energies(momenta, masses)
    symbols = {ase.data.chemical_symbols[z]: z for z in np.unique(numbers)}
    result = {}
    for symbol in sorted(symbols):
        selection = numbers == symbols[symbol]
        dof = degrees_of_freedom(masses, selection, momentum_fixed)
        result[symbol] = (
            2.0 * kinetic[..., selection].sum(axis=-1) / (dof * ase.units.kB)
        )
    return result


def at_rest(momenta: np.ndarray) -> bool:
    """Whether the total of ``momenta`` ((n, 3), (eV*u)^(1/2)) is zero up to
    rounding (relative to the sum of their magnitudes): a system whose total
    momentum is held at zero."""
    momenta = np.asarray(momenta)
    total = np.linalg.norm(momenta.sum(axis=0))
    return bool(total <= 1e-8 * np.abs(momenta).sum())


def momentum_is_fixed(atoms: ase.Atoms) -> bool:
    """Whether ``atoms`` holds its total momentum fixed (a FixCom constraint)."""
    return any(isinstance(constraint, FixCom) for constraint in atoms.constraints)


def atoms_element_temperatures(atoms: ase.Atoms) -> Dict[str, float]:
    """:func:`element_temperatures` of ``atoms`` (K, by chemical symbol), with the
    total momentum counted as fixed when the atoms have a FixCom constraint."""
    values = element_temperatures(
        atoms.numbers, atoms.get_masses(), atoms.get_momenta(), momentum_is_fixed(atoms)
    )
    return {symbol: float(value) for symbol, value in values.items()}
