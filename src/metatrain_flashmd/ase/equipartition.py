r"""Kinetic-energy exchange between elements that relaxes them to one temperature.

A learned stride is not symplectic: its small errors act on each element like a
friction or a heating of its own (regression to the mean shrinks the predicted
momenta of the atoms the model finds hardest to predict). With one thermostat per
atom (Langevin, Bussi) the bath absorbs this; in NVE, even with the total energy
held exactly by rescaling, the imbalance accumulates and the elements drift to
different temperatures. :func:`exchange_between_elements` moves kinetic energy
between elements, without changing the total kinetic energy, the total momentum or
the momentum of each element:

.. math::

    T_e \leftarrow T_e + f\,(\bar T - T_e), \qquad
    \bar T = \frac{\sum_e n_e T_e}{\sum_e n_e}, \qquad
    f = 1 - e^{-\Delta t / \tau},

where :math:`T_e = 2 K_e / (n_e k_B)` is the temperature of element :math:`e` from
its kinetic energy :math:`K_e` around its own centre of mass, with :math:`n_e =
3 N_e - 3` degrees of freedom. Each element's momenta are scaled around its centre
of mass velocity by :math:`\sqrt{T_e^\mathrm{new} / T_e}`. This is a weak coupling
between the elements' kinetic energies (time constant :math:`\tau`), not a
thermostat: the total energy stays what the integrator makes it.
"""

import math
from typing import Dict, Tuple

import numpy as np


def element_internal_kinetic(
    momenta: np.ndarray, masses: np.ndarray, numbers: np.ndarray
) -> Dict[int, float]:
    """Kinetic energy (eV) of each element around its own centre of mass, for the
    elements with at least two atoms.

    :param momenta: (n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    """
    result = {}
    for z in np.unique(numbers):
        chosen = numbers == z
        if chosen.sum() < 2:
            continue
        _, relative = _around_centre_of_mass(momenta[chosen], masses[chosen, None])
        result[int(z)] = 0.5 * float(np.sum(relative**2 / masses[chosen, None]))
    return result


def scale_elements(
    momenta: np.ndarray,
    masses: np.ndarray,
    numbers: np.ndarray,
    scales: Dict[int, float],
) -> np.ndarray:
    """Momenta with those of each element in ``scales`` (by atomic number) scaled
    by its factor around that element's centre-of-mass velocity, which is kept.

    :param momenta: (n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    :param scales: the factor of each element to scale.
    :return: new (n, 3) momenta, a copy.
    """
    result = np.array(momenta, dtype=np.float64, copy=True)
    for z, scale in scales.items():
        chosen = numbers == z
        m = masses[chosen, None]
        velocity, relative = _around_centre_of_mass(result[chosen], m)
        result[chosen] = m * velocity + scale * relative
    return result


def exchange_between_elements(
    momenta: np.ndarray, masses: np.ndarray, numbers: np.ndarray, fraction: float
) -> np.ndarray:
    """Momenta after moving each element's temperature the ``fraction`` (0 to 1) of
    the way to the mean temperature (see the module docstring).

    Elements with fewer than two atoms, or with no kinetic energy around their
    centre of mass, are left alone; with fewer than two elements left, the momenta
    are returned unchanged.

    :param momenta: (n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    :param fraction: how far to move, 0 (not at all) to 1 (to one temperature).
    :return: new (n, 3) momenta, a copy.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    kinetic = {
        z: k
        for z, k in element_internal_kinetic(momenta, masses, numbers).items()
        if k > 0.0
    }
    if len(kinetic) < 2 or fraction == 0.0:
        return np.array(momenta, dtype=np.float64, copy=True)
    dofs = {z: internal_degrees_of_freedom(numbers, z) for z in kinetic}
    mean = sum(kinetic.values()) / sum(dofs.values())  # kinetic energy per dof
    scales = {}
    for z, k in kinetic.items():
        per_dof = k / dofs[z]
        scales[z] = math.sqrt((per_dof + fraction * (mean - per_dof)) / per_dof)
    return scale_elements(momenta, masses, numbers, scales)


def internal_degrees_of_freedom(numbers: np.ndarray, z: int) -> int:
    """Degrees of freedom of element ``z`` around its centre of mass, 3 N - 3."""
    return 3 * int(np.count_nonzero(numbers == z)) - 3


def _around_centre_of_mass(
    momenta: np.ndarray, masses: np.ndarray
) -> Tuple[np.ndarray, np.ndarray]:
    """Centre-of-mass velocity (3,) of atoms with ``momenta`` (k, 3) and
    ``masses`` (k, 1), and their momenta relative to it (k, 3)."""
    velocity = momenta.sum(axis=0) / masses.sum()
    return velocity, momenta - masses * velocity


def exchange_fraction(timestep: float, time_constant: float) -> float:
    """The fraction ``1 - exp(-timestep / time_constant)`` moved per step (both in
    the same time unit)."""
    if not time_constant > 0.0:
        raise ValueError(
            f"the equipartition time constant must be positive, got {time_constant}"
        )
    return 1.0 - math.exp(-timestep / time_constant)
