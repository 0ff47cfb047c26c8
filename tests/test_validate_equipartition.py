"""The equipartition check of ``validate``: on EMT Cu3Au (108 atoms, NVE at
600 K) the reference's own halves pass it, a run whose copper is hotter than its
gold by a few percent fails it, and it judges the elements' spread, not their
mean (a run uniformly hotter passes it while failing the temperature check).
In NVE each element's mean temperature is judged against the reference's
temperature of all atoms."""

import dataclasses

import ase.build
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import thermalize_momenta
from test_validate_runs import compared

from metatrain_flashmd.observables.temperature import temperature
from metatrain_flashmd.validation.compare import element_spread
from metatrain_flashmd.validation.reference import at_rest, run_reference


STRIDE_FS = 10.0
TEMPERATURE = 600.0


@pytest.fixture(scope="module")
def reference():
    """5.5 ps of EMT NVE of L1_2 Cu3Au, 108 atoms, from Maxwell-Boltzmann momenta
    at 2 x 600 K (the first 0.55 ps dropped)."""
    atoms = ase.build.bulk("Cu", "fcc", a=3.73, cubic=True)
    atoms.numbers[0] = 79  # Au at the corners: L1_2
    atoms = atoms.repeat(3)
    thermalize_momenta(atoms, 2 * TEMPERATURE, rng=np.random.default_rng(0))
    trajectory = run_reference(at_rest(atoms), EMT(), "nve", STRIDE_FS, 550, 2.0)
    return trajectory.without_start(0.1)


def nve_checks(reference, run):
    """The checks of trajectory ``run`` against ``reference``, as in NVE."""
    return compared(reference, run, "nve_rescaled", None)


def checks_of(reference, run):
    """The equipartition and mean-temperature checks of ``run`` (NVE)."""
    checks = nve_checks(reference, run)
    balance = [c for c in checks if c.quantity == "equipartition"]
    assert len(balance) == 1
    means = {c.subject: c for c in checks if c.quantity == "temperature_mean"}
    return balance[0], means


def heated(trajectory, factors):
    """``trajectory`` with the momenta of each element scaled so that its
    temperature is ``factors[symbol]`` times the original."""
    scale = np.ones(len(trajectory.numbers))
    for number, factor in factors.items():
        scale[trajectory.numbers == number] = np.sqrt(factor)
    return dataclasses.replace(trajectory, momenta=trajectory.momenta * scale[:, None])


def test_the_halves_of_a_reference_pass(reference):
    first, second = reference.halves()
    balance, _ = checks_of(first, second)
    assert balance.passed, balance


def test_copper_hotter_than_gold_fails(reference):
    """Cu 6% hotter and Au 6% colder than in the reference's second half."""
    first, second = reference.halves()
    run = heated(second, {29: 1.06, 79: 0.94})
    balance, means = checks_of(first, run)
    assert balance.passed is False
    assert balance.deviation == pytest.approx(
        element_spread({s: m.value for s, m in means.items()})
    )
    assert balance.deviation > balance.threshold
    assert balance.note.startswith("hottest Cu")


def test_a_uniformly_hotter_run_keeps_equipartition(reference):
    first, second = reference.halves()
    balance, means = checks_of(first, heated(second, {29: 1.2, 79: 1.2}))
    assert balance.passed
    assert not means["Cu"].passed and not means["Au"].passed


def test_one_element_has_no_equipartition_check():
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    thermalize_momenta(atoms, 600, rng=np.random.default_rng(1))
    trajectory = run_reference(at_rest(atoms), EMT(), "nve", STRIDE_FS, 100, 2.0)
    checks = nve_checks(*trajectory.halves())
    assert "equipartition" not in {c.quantity for c in checks}
    assert "temperature_mean" in {c.quantity for c in checks}


def test_nve_elements_are_judged_against_the_whole_system(reference):
    """A reference whose gold came out 5% cold (noise, in a short run) does not
    fail a run at equipartition: each element is held to the temperature of all
    the reference's atoms; a run whose gold is 6% hot still fails."""
    first, second = reference.halves()
    skewed = heated(first, {79: 0.95})
    whole = temperature(skewed.momenta, skewed.masses, skewed.momentum_fixed)
    _, means = checks_of(skewed, second)
    assert means["Au"].reference == pytest.approx(whole.mean())
    assert means["Cu"].reference == pytest.approx(whole.mean())
    assert means["Au"].passed and means["Cu"].passed
    _, means = checks_of(skewed, heated(second, {79: 1.06}))
    assert not means["Au"].passed
    assert means["Cu"].passed
