"""Physics of the constant-pressure integrators, checked on a toy crystal whose
fixed-cell stride is exact and whose NpT volume distribution is known (see
``npt_toys.py``): the order of the effective-energy error, the volume distribution,
the thermal expansion at strides as long as a vibration, one stress call per
stride, and the stress reused only for the configuration it was computed for."""

import functools
from typing import Dict

import ase.units
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from npt_toys import (
    einstein_model,
    exact_expanding_moments,
    exact_volume_moments,
    mean_and_error,
    thermal_toy,
)

from metatrain_flashmd.ase import BussiNPT, LangevinNPT
from metatrain_flashmd.ase.barostat import StressCache
from metatrain_flashmd.observables.temperature import temperature


FS = ase.units.fs
GPA = ase.units.GPa
OMEGA = 2 * np.pi / 37.0  # rad/fs
BULK_MODULUS = 78.0 * GPA  # the volume fluctuates by 2% at 300 K (8 atoms)
TEMPERATURE = 300.0


def toy_dynamics(
    cls, stride_fs: float, pressure_GPa: float, seed: int, gamma=0.0, **kwargs
):
    """An NpT integrator on the thermalised toy crystal with the exact stride
    (Grueneisen parameter ``gamma``)."""
    atoms = thermal_toy(OMEGA, BULK_MODULUS, TEMPERATURE, seed, gamma=gamma)
    options = dict(
        temperature_K=TEMPERATURE,
        time_constant=20 * FS,
        remove_drift=False,  # the sites hold the atoms: no momentum conservation
        pressure_au=pressure_GPa * GPA,
        barostat_time_constant=200 * FS,
        compressibility_au=1.0 / BULK_MODULUS,
        rng=np.random.default_rng(seed),
    )
    options.update(kwargs)
    model = einstein_model(atoms, OMEGA, stride_fs, gamma)
    dynamics = cls(atoms, model, **options)
    dynamics.toy = model.module  # counts its evaluations
    return dynamics


def effective_energy_steps(stride_fs: float, steps: int) -> np.ndarray:
    """Changes of the effective energy at each of ``steps`` strides, eV."""
    dynamics = toy_dynamics(BussiNPT, stride_fs, 0.5, seed=1)
    energies = [dynamics.effective_energy() for _ in dynamics.irun(steps)]
    return np.diff(energies)


def test_the_effective_energy_error_is_of_order_dt_three_halves():
    # the stride and the thermostat are exact, so the effective energy changes only
    # by the discretisation of the volume's equation: -kT log of the ratio of the
    # forward and backward step probabilities, O(dt^3/2) per step
    kt = ase.units.kB * TEMPERATURE
    short = np.sqrt(np.mean(effective_energy_steps(10.0, 120) ** 2))
    long = np.sqrt(np.mean(effective_energy_steps(40.0, 120) ** 2))
    assert short < 0.02 * kt
    assert 4.0**1.5 / 1.6 < long / short < 4.0**1.5 * 1.6, long / short


@functools.cache
def volumes(name: str, pressure_GPa: float) -> Dict[str, np.ndarray]:
    """Volumes (A^3) after each of 2400 strides of 20 fs (the first 100 dropped),
    and the reference volume V0 of the toy crystal."""
    cls = BussiNPT if name == "bussi" else LangevinNPT
    dynamics = toy_dynamics(
        cls, 20.0, pressure_GPa, seed=2, barostat_time_constant=100 * FS
    )
    reference = dynamics.atoms.get_volume()
    samples = [dynamics.atoms.get_volume() for _ in dynamics.irun(2400)]
    return {"volumes": np.array(samples[101:]), "reference": np.array(reference)}


@pytest.mark.parametrize(("name", "pressure_GPa"), [("bussi", 1.0), ("langevin", 0.0)])
def test_the_volume_distribution_is_the_isothermal_isobaric_one(name, pressure_GPa):
    data = volumes(name, pressure_GPa)
    expected_mean, expected_std = exact_volume_moments(
        TEMPERATURE, pressure_GPa * GPA, BULK_MODULUS, float(data["reference"])
    )
    mean, error = mean_and_error(data["volumes"])
    assert error < 0.1 * expected_std  # precise enough to see the 1 GPa shift
    assert abs(mean - expected_mean) < 4 * error, (mean, expected_mean, error)
    assert data["volumes"].std() == pytest.approx(expected_std, rel=0.15)


def test_the_thermal_expansion_is_exact_at_strides_as_long_as_a_vibration():
    # the toy's expansion, 3 N gamma kT / K0 (4% of the volume), comes from the
    # springs' energy, which trades places with the kinetic energy within a 30 fs
    # stride (the period is 37 fs): the barostat's kinetic and virial pressures
    # must be those of one state, and the scaling must act on the state it was
    # drawn for, or the expansion and the temperature are off
    gamma = 4.0
    dynamics = toy_dynamics(
        LangevinNPT, 30.0, 0.0, seed=4, gamma=gamma, barostat_time_constant=100 * FS
    )
    atoms = dynamics.atoms
    reference = atoms.get_volume()
    samples, temperatures = [], []
    for _ in dynamics.irun(2000):
        samples.append(atoms.get_volume())
        temperatures.append(temperature(atoms.get_momenta(), atoms.get_masses(), False))
    expected, expected_std = exact_expanding_moments(
        TEMPERATURE, 0.0, BULK_MODULUS, reference, len(atoms), gamma
    )
    mean, error = mean_and_error(np.array(samples[100:]))
    assert error < 0.04 * (expected - reference)  # 4 errors: 16% of the expansion
    assert abs(mean - expected) < 4 * error, (mean, expected, error)
    assert np.std(samples[100:]) == pytest.approx(expected_std, rel=0.2)
    mean_t, error_t = mean_and_error(np.array(temperatures[100:]))
    assert abs(mean_t - TEMPERATURE) < 4 * error_t, (mean_t, error_t)


def test_one_stress_call_and_one_model_call_per_stride_and_no_forces():
    dynamics = toy_dynamics(LangevinNPT, 10.0, 0.0, seed=3)
    calculator = dynamics.atoms.calc
    calls_before = calculator.calls
    requested = []
    original = calculator.calculate

    def recording(atoms=None, properties=("energy",), system_changes=()):
        requested.extend(properties)
        return original(atoms, properties, system_changes)

    calculator.calculate = recording
    dynamics.run(7)
    assert calculator.calls - calls_before == 7
    assert set(requested) == {"stress"}
    assert dynamics.toy.evaluations == 7


def test_the_stress_is_reused_only_for_the_same_configuration():
    class CountingEMT(EMT):
        calls = 0

        def calculate(self, *args, **kwargs):
            CountingEMT.calls += 1
            super().calculate(*args, **kwargs)

    atoms = bulk("Cu", cubic=True).repeat(2)
    atoms.rattle(0.05, seed=0)
    atoms.calc = CountingEMT()
    cache = StressCache()
    first = cache.stress(atoms)
    atoms.set_momenta(np.ones((len(atoms), 3)))  # what a thermostat changes
    assert cache.stress(atoms) is first and CountingEMT.calls == 1
    changes = [
        lambda: atoms.positions.__setitem__((0, 0), atoms.positions[0, 0] + 0.01),
        lambda: atoms.set_cell(atoms.cell.array * 1.001, scale_atoms=True),
        lambda: setattr(atoms, "calc", CountingEMT()),
    ]
    for number, change in enumerate(changes, start=2):
        change()
        stress = cache.stress(atoms)
        assert CountingEMT.calls == number
        expected = atoms.get_stress(voigt=False, include_ideal_gas=False)
        np.testing.assert_allclose(stress, expected)
        assert not np.allclose(stress, first)
