"""Temperatures: one definition, checked against equipartition and by hand."""

import ase.data
import ase.units
import numpy as np
import pytest
from ase.build import bulk
from ase.constraints import FixCom

from metatrain_flashmd.observables.temperature import (
    atoms_element_temperatures,
    degrees_of_freedom,
    element_temperatures,
    temperature,
)


def test_degrees_of_freedom_by_hand():
    masses = np.array([1.0, 1.0, 2.0])
    heavy = np.array([False, False, True])
    assert degrees_of_freedom(masses, heavy, momentum_fixed=False) == 3.0
    # 3 - 3 * 2 / 4: the heavy atom carries half of the centre-of-mass mode
    assert degrees_of_freedom(masses, heavy, momentum_fixed=True) == pytest.approx(1.5)
    everything = np.ones(3, dtype=bool)
    assert degrees_of_freedom(masses, everything, momentum_fixed=True) == 6.0


def test_temperature_by_hand():
    masses = np.array([2.0, 2.0])
    momenta = np.array([[2.0, 0.0, 0.0], [-2.0, 0.0, 0.0]])
    # K = 2 * 4 / (2 * 2) = 2 eV over 3 degrees of freedom
    expected = 2 * 2.0 / (3 * ase.units.kB)
    assert float(temperature(momenta, masses)) == pytest.approx(expected)


def test_elements_share_one_temperature_at_equilibrium():
    """Maxwell-Boltzmann momenta at zero total momentum: every element, light or
    heavy, averages the bath temperature (sharing the three missing degrees of
    freedom per atom instead of per mass would make Au about 15% cold here)."""
    rng = np.random.default_rng(0)
    numbers = np.array([29] * 6 + [79] * 2)
    masses = ase.data.atomic_masses[numbers]
    target = 600.0
    samples = rng.normal(size=(40000, len(numbers), 3))
    momenta = samples * np.sqrt(masses * ase.units.kB * target)[:, None]
    momenta -= masses[:, None] * momenta.sum(axis=1, keepdims=True) / masses.sum()
    temperatures = element_temperatures(numbers, masses, momenta)
    assert list(temperatures) == ["Au", "Cu"]
    for symbol, values in temperatures.items():
        assert values.shape == (40000,)
        assert values.mean() == pytest.approx(target, rel=0.01), symbol


def test_atoms_follow_their_fixcom_constraint():
    atoms = bulk("Cu", cubic=True) * (2, 1, 1)
    atoms.numbers[:2] = 79
    rng = np.random.default_rng(1)
    atoms.set_momenta(rng.normal(size=(len(atoms), 3)))
    free = atoms_element_temperatures(atoms)
    atoms.set_constraint(FixCom())
    fixed = atoms_element_temperatures(atoms)
    assert fixed["Au"] > free["Au"] and fixed["Cu"] > free["Cu"]
    # with the constraint, the whole system has ASE's own temperature
    total = temperature(atoms.get_momenta(), atoms.get_masses(), momentum_fixed=True)
    assert float(total) == pytest.approx(atoms.get_temperature())
