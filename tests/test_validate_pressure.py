"""The virial-pressure check of ``validate``: on EMT fcc Al (108 atoms, Langevin at
300 K) the reference's own halves pass it; a run whose atoms stray 10% less from
their sites (a model too stiff, the momenta untouched) fails it while passing the
temperature checks; a calculator without stress or a cell that is not periodic
gives no pressure check."""

import dataclasses

import ase.build
import ase.units
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import thermalize_momenta

from metatrain_flashmd.validation.compare import compare_run, reference_figures
from metatrain_flashmd.validation.figures import run_figures
from metatrain_flashmd.validation.pressure import pressure_figures, virial_pressures
from metatrain_flashmd.validation.reference import at_rest, run_reference
from metatrain_flashmd.validation.tolerances import Tolerances


TEMPERATURE = 300.0


class EnergyOnlyEMT(EMT):
    """EMT that gives energies and forces but no stress."""

    implemented_properties = ["energy", "forces"]


@pytest.fixture(scope="module")
def halves():
    """The two halves of 4 ps of EMT Langevin NVT (stride 10 fs, steps of 2 fs),
    the first 0.44 ps dropped."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(3)
    thermalize_momenta(atoms, 2 * TEMPERATURE, rng=np.random.default_rng(0))
    bath = dict(
        thermostat="langevin", temperature_K=TEMPERATURE, time_constant_fs=100.0
    )
    trajectory = run_reference(
        at_rest(atoms),
        EMT(),
        "nvt",
        10.0,
        440,
        2.0,
        rng=np.random.default_rng(1),
        **bath,
    )
    return trajectory.without_start(0.1).halves()


def checks(reference, run, calculator):
    """The NVT checks of ``run`` against ``reference``, with pressures from
    ``calculator``, as :func:`~metatrain_flashmd.validation.assess.assess` makes
    them."""
    tolerances = Tolerances()
    noise = reference_figures(reference, tolerances)
    noise.whole["pressure"] = pressure_figures(reference, calculator)
    figures = run_figures(run, tolerances.vacf_max_lag_fs)
    figures["pressure"] = pressure_figures(run, calculator)
    return compare_run(noise, figures, "nvt", tolerances, TEMPERATURE)


def pressure_check(found):
    (check,) = [c for c in found if c.quantity == "pressure"]
    return check


def test_the_halves_of_a_reference_pass(halves):
    check = pressure_check(checks(*halves, EMT()))
    assert check.passed, check
    assert check.unit == "GPa"
    assert check.deviation == pytest.approx(abs(check.value - check.reference))


def test_atoms_held_closer_to_their_sites_fail_while_temperatures_pass(halves):
    first, second = halves
    sites = second.positions.mean(axis=0)
    stiff = dataclasses.replace(
        second, positions=sites + 0.9 * (second.positions - sites)
    )
    found = checks(first, stiff, EMT())
    check = pressure_check(found)
    assert check.passed is False
    assert check.value < check.reference - 0.05  # less thermal pressure, GPa
    assert check.deviation > check.threshold >= Tolerances().pressure
    temperatures = [c for c in found if c.quantity == "temperature_mean"]
    assert temperatures and all(c.passed for c in temperatures)


def test_the_pressure_is_the_virial_of_ase_stress(halves):
    first, _ = halves
    atoms = first.frame(3)
    atoms.calc = EMT()
    expected = -np.trace(atoms.get_stress(voigt=False)) / 3 / ase.units.GPa
    assert virial_pressures(first.window(slice(3, 4)), EMT())[0] == pytest.approx(
        expected
    )


def test_no_stress_or_no_cell_gives_no_pressure_check(halves):
    first, second = halves
    assert pressure_figures(first, EnergyOnlyEMT()) is None
    assert pressure_figures(first, None) is None
    cluster = dataclasses.replace(first, pbc=np.array([False, False, False]))
    assert pressure_figures(cluster, EMT()) is None
    found = checks(first, second, EnergyOnlyEMT())
    assert not [c for c in found if c.quantity == "pressure"]
    assert [c for c in found if c.quantity == "temperature_mean"]
