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

where :math:`T_e = 2 K_e / (n_e k_B)` is the *internal* temperature of element
:math:`e`: its kinetic energy :math:`K_e` about its own centre of mass, over
:math:`n_e = 3 N_e - 3` degrees of freedom. Each element's momenta are scaled
about its centre-of-mass velocity by :math:`\sqrt{T_e^\mathrm{new} / T_e}`. This
is a weak coupling between the elements' kinetic energies (time constant
:math:`\tau`), not a thermostat: the total energy stays what the integrator makes
it.

The temperature of an element is defined once, in
:mod:`metatrain_flashmd.observables.temperature`, which the logs and benchmarks
report: all of the element's kinetic energy, over :math:`3 N_e - 3 M_e / M`
degrees of freedom. The exchange measures something narrower on purpose. It must
leave the momentum of every element unchanged (so that the total momentum, and the
motion of the elements' centres of mass relative to each other, stay the model's),
so it can only scale each element's motion about its own centre of mass, and it
measures and equalises that part alone. :math:`T_e` is the same definition
applied to the atoms of :math:`e` taken as a system of their own, with its
momentum fixed (:func:`element_internal_temperatures`). At equipartition both
measures average the same temperature; they differ by the kinetic energy of the
element's centre of mass, three degrees of freedom out of :math:`3 N_e`.
"""

import math
from typing import Dict, Iterator, Tuple

import numpy as np

from metatrain_flashmd.observables.temperature import kinetic_energies, temperature


def element_internal_kinetic(
    momenta: np.ndarray, masses: np.ndarray, numbers: np.ndarray
) -> Dict[int, float]:
    """Kinetic energy (eV) of each element around its own centre of mass, for the
    elements with at least two atoms.

    :param momenta: (n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    """
    return {
        z: float(kinetic_energies(relative, element_masses).sum())
        for z, relative, element_masses in _about_own_centres(momenta, masses, numbers)
    }


def element_internal_temperatures(
    momenta: np.ndarray, masses: np.ndarray, numbers: np.ndarray
) -> Dict[int, float]:
    """Internal temperature :math:`T_e` (K) of each element with at least two
    atoms: :func:`~metatrain_flashmd.observables.temperature.temperature` of its
    momenta about its own centre of mass, with that momentum fixed (so over
    :math:`3 N_e - 3` degrees of freedom).

    :param momenta: (n, 3) momenta, (eV*u)^(1/2).
    :param masses: (n,) masses, u.
    :param numbers: (n,) atomic numbers.
    """
    return {
        z: float(temperature(relative, element_masses, momentum_fixed=True))
        for z, relative, element_masses in _about_own_centres(momenta, masses, numbers)
    }


def _about_own_centres(
    momenta: np.ndarray, masses: np.ndarray, numbers: np.ndarray
) -> Iterator[Tuple[int, np.ndarray, np.ndarray]]:
    """For each element with at least two atoms: its atomic number, its atoms'
    momenta about their centre of mass ((k, 3), (eV*u)^(1/2)) and masses ((k,),
    u)."""
    for z in np.unique(numbers):
        chosen = numbers == z
        if np.count_nonzero(chosen) < 2:
            continue
        _, relative = _around_centre_of_mass(momenta[chosen], masses[chosen, None])
        yield int(z), relative, masses[chosen]


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
    """Momenta after moving each element's internal temperature :math:`T_e` the
    ``fraction`` (0 to 1) of the way to their mean (see the module docstring).

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
    temperatures = {
        z: t
        for z, t in element_internal_temperatures(momenta, masses, numbers).items()
        if t > 0.0
    }
    if len(temperatures) < 2 or fraction == 0.0:
        return np.array(momenta, dtype=np.float64, copy=True)
    dofs = {z: internal_degrees_of_freedom(numbers, z) for z in temperatures}
    mean = sum(dofs[z] * t for z, t in temperatures.items()) / sum(dofs.values())
    scales = {
        z: math.sqrt((t + fraction * (mean - t)) / t) for z, t in temperatures.items()
    }
    return scale_elements(momenta, masses, numbers, scales)


def internal_degrees_of_freedom(numbers: np.ndarray, z: int) -> int:
    """Degrees of freedom of element ``z`` around its centre of mass, 3 N - 3: those
    of :func:`~metatrain_flashmd.observables.temperature.degrees_of_freedom` for
    the element's atoms alone, with their momentum fixed."""
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
