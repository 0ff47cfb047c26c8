"""The kinetic-energy exchange between elements of NVE FlashMD runs
(:mod:`metatrain_flashmd.ase.equipartition`, ``VelocityVerlet`` with
``equipartition_time``)."""

import ase
import ase.units
import numpy as np
import pytest
from ase.constraints import FixAtoms
from toy_models import canonical_atoms, harmonic_energy, harmonic_model

from metatrain_flashmd.ase import VelocityVerlet, run_md
from metatrain_flashmd.ase.equipartition import (
    element_internal_kinetic,
    element_internal_temperatures,
    exchange_between_elements,
    exchange_fraction,
)
from metatrain_flashmd.observables.temperature import element_temperatures


KB = ase.units.kB


def two_element_state(seed: int = 0):
    """Momenta, masses and numbers of 40 Cu and 12 Au atoms, Cu much hotter, with a
    non-zero momentum per element and in total."""
    rng = np.random.default_rng(seed)
    numbers = np.array([29] * 40 + [79] * 12)
    masses = np.where(numbers == 29, 63.546, 196.97)
    temperatures = np.where(numbers == 29, 900.0, 300.0)
    momenta = rng.normal(size=(52, 3)) * np.sqrt(KB * temperatures * masses)[:, None]
    momenta += 0.3 * masses[:, None] * np.array([0.01, -0.02, 0.005])
    return momenta, masses, numbers


def per_dof(momenta, masses, numbers):
    kinetic = element_internal_kinetic(momenta, masses, numbers)
    return {z: k / (3 * np.count_nonzero(numbers == z) - 3) for z, k in kinetic.items()}


def test_internal_temperature_is_kinetic_energy_about_each_centre():
    momenta, masses, numbers = two_element_state()
    kinetic = element_internal_kinetic(momenta, masses, numbers)
    internal = element_internal_temperatures(momenta, masses, numbers)
    assert sorted(internal) == [29, 79]
    for z, value in internal.items():
        dofs = 3 * np.count_nonzero(numbers == z) - 3
        assert value == pytest.approx(2 * kinetic[z] / (dofs * KB), rel=1e-12)


def test_internal_and_reported_temperatures_agree_at_equipartition():
    """The exchange's measure (about each element's own centre of mass) and the
    reported one (observables.temperature) average the same temperature."""
    rng = np.random.default_rng(4)
    numbers = np.array([29] * 10 + [79] * 4)
    masses = np.where(numbers == 29, 63.546, 196.97)
    internal = {29: [], 79: []}
    for _ in range(4000):
        momenta = rng.normal(size=(14, 3)) * np.sqrt(KB * 500.0 * masses)[:, None]
        momenta -= masses[:, None] * momenta.sum(axis=0) / masses.sum()
        for z, value in element_internal_temperatures(momenta, masses, numbers).items():
            internal[z].append(value)
    for z, symbol in ((29, "Cu"), (79, "Au")):
        assert np.mean(internal[z]) == pytest.approx(500.0, rel=0.02), symbol
    samples = rng.normal(size=(4000, 14, 3)) * np.sqrt(KB * 500.0 * masses)[:, None]
    samples -= masses[:, None] * samples.sum(axis=1, keepdims=True) / masses.sum()
    for symbol, values in element_temperatures(numbers, masses, samples).items():
        assert values.mean() == pytest.approx(500.0, rel=0.02), symbol


@pytest.mark.parametrize("fraction", [0.0, 0.3, 1.0])
def test_exchange_moves_temperatures_by_the_fraction(fraction):
    momenta, masses, numbers = two_element_state()
    before = per_dof(momenta, masses, numbers)
    after_momenta = exchange_between_elements(momenta, masses, numbers, fraction)
    after = per_dof(after_momenta, masses, numbers)
    dofs = {z: 3 * np.count_nonzero(numbers == z) - 3 for z in before}
    mean = sum(before[z] * dofs[z] for z in before) / sum(dofs.values())
    assert before[29] > 2 * before[79]  # the state is far from equipartition
    for z in before:
        expected = before[z] + fraction * (mean - before[z])
        assert after[z] == pytest.approx(expected, rel=1e-12)

    def kinetic(p):
        return 0.5 * np.sum(p**2 / masses[:, None])

    assert kinetic(after_momenta) == pytest.approx(kinetic(momenta), rel=1e-13)
    for z in (29, 79):
        chosen = numbers == z
        np.testing.assert_allclose(
            after_momenta[chosen].sum(axis=0), momenta[chosen].sum(axis=0), atol=1e-12
        )
    assert not np.shares_memory(after_momenta, momenta)


def test_exchange_leaves_single_atoms_and_single_elements_alone():
    momenta, masses, numbers = two_element_state()
    numbers = numbers.copy()
    numbers[-1] = 47  # one Ag atom: no internal kinetic energy, left alone
    result = exchange_between_elements(momenta, masses, numbers, 1.0)
    np.testing.assert_array_equal(result[-1], momenta[-1])
    assert 47 not in element_internal_kinetic(momenta, masses, numbers)

    single = np.full_like(numbers, 29)
    np.testing.assert_array_equal(
        exchange_between_elements(momenta, masses, single, 1.0), momenta
    )


def test_exchange_arguments_are_checked():
    momenta, masses, numbers = two_element_state()
    with pytest.raises(ValueError, match="between 0 and 1"):
        exchange_between_elements(momenta, masses, numbers, 1.5)
    with pytest.raises(ValueError, match="must be positive"):
        exchange_fraction(1.0, 0.0)
    assert exchange_fraction(10.0, 100.0) == pytest.approx(1 - np.exp(-0.1))


# -- in the NVE integrator ---------------------------------------------------------

OMEGA = 2 * np.pi / 37.0  # rad/fs
ISOTROPIC = (OMEGA, OMEGA, OMEGA)


def hot_and_cold_oscillators() -> ase.Atoms:
    """32 Cu oscillators at 900 K and 32 Au oscillators at 300 K (harmonic toy)."""
    hot = canonical_atoms(32, 900.0, ISOTROPIC, seed=3)
    cold = canonical_atoms(32, 300.0, ISOTROPIC, seed=4)
    atoms = ase.Atoms("Cu32Au32")
    # the Al draws scaled to each element's mass: same temperatures
    scale = np.sqrt(hot.get_masses()[0] / atoms.get_masses()[:, None])
    atoms.positions = np.concatenate([hot.positions, cold.positions]) * scale
    atoms.set_velocities(
        np.concatenate([hot.get_velocities(), cold.get_velocities()]) * scale
    )
    return atoms


def element_energies(atoms: ase.Atoms) -> np.ndarray:
    """Harmonic energy per atom (eV) of Cu and of Au."""
    energies = []
    for symbol in ("Cu", "Au"):
        part = atoms[[s == symbol for s in atoms.get_chemical_symbols()]]
        part.set_momenta(atoms.get_momenta()[atoms.symbols == symbol])
        energies.append(harmonic_energy(part, ISOTROPIC) / len(part))
    return np.array(energies)


@pytest.mark.parametrize("equipartition_fs", [None, 50.0])
def test_nve_exchange_brings_elements_to_one_temperature(equipartition_fs):
    atoms = hot_and_cold_oscillators()
    model = harmonic_model(ISOTROPIC, atomic_types=(29, 79))
    time_constant = None
    if equipartition_fs is not None:
        time_constant = equipartition_fs * ase.units.fs
    dynamics = VelocityVerlet(atoms, model, equipartition_time=time_constant)
    initial_total = harmonic_energy(atoms, ISOTROPIC)
    initial = element_energies(atoms)
    assert initial[0] > 2 * initial[1]
    energies = []
    for _ in dynamics.irun(300):
        energies.append(element_energies(atoms))
    final = np.mean(energies[-100:], axis=0)
    # the exchange moves kinetic energy, so the total energy stays exact
    total = harmonic_energy(atoms, ISOTROPIC)
    assert total == pytest.approx(initial_total, rel=1e-10)
    if equipartition_fs is None:  # independent oscillators keep their energy
        np.testing.assert_allclose(element_energies(atoms), initial, rtol=1e-10)
    else:
        assert abs(final[0] - final[1]) < 0.05 * final.mean()
    assert dynamics.todict()["equipartition_time_fs"] == pytest.approx(equipartition_fs)


def test_nve_exchange_refuses_other_constraints():
    atoms = hot_and_cold_oscillators()
    atoms.set_constraint(FixAtoms(indices=[0]))
    model = harmonic_model(ISOTROPIC, atomic_types=(29, 79))
    with pytest.raises(ValueError, match="equipartition_time only supports"):
        VelocityVerlet(atoms, model, equipartition_time=100 * ase.units.fs)


def test_run_md_equipartition_is_for_nve_only(tmp_path):
    model = harmonic_model(ISOTROPIC, atomic_types=(29, 79))
    structure = tmp_path / "start.extxyz"
    ase.io.write(structure, hot_and_cold_oscillators())
    output = tmp_path / "md.extxyz"
    run_md(model, structure, 5, output, equipartition_time_fs=50.0)
    assert len(ase.io.read(output, ":")) == 6
    with pytest.raises(ValueError, match="is for NVE"):
        run_md(
            model,
            structure,
            1,
            output,
            thermostat="langevin",
            temperature_K=300.0,
            equipartition_time_fs=50.0,
        )
