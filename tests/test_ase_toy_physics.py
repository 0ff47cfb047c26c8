"""Physics of the FlashMD integrators, checked with exact harmonic toy models:
canonical sampling by the thermostats, random rotations, one evaluation per
stride."""

import functools
from typing import Dict, Tuple

import ase.units
import numpy as np
import pytest
from ase.constraints import FixCom
from toy_models import (
    canonical_atoms,
    harmonic_energy,
    harmonic_model,
    harmonic_potential,
    period_fs,
)

from metatrain_flashmd.ase import Bussi, Langevin, VelocityVerlet


FS = ase.units.fs

OMEGA = 2 * np.pi / 37.0  # rad/fs: a 37 fs period, incommensurate with 10 fs strides
ISOTROPIC = (OMEGA, OMEGA, OMEGA)
TEMPERATURE = 300.0
NUM_ATOMS = 64
NUM_STEPS = 800


def test_one_model_evaluation_per_stride():
    model = harmonic_model(ISOTROPIC)
    atoms = canonical_atoms(4, TEMPERATURE, ISOTROPIC, seed=0)
    dynamics = Langevin(atoms, model, temperature_K=300, time_constant=10 * FS)
    dynamics.run(3)
    dynamics.random_rotation = True
    dynamics.run(2)
    assert model.module.evaluations == 5


@functools.cache
def toy_samples(name: str, rotation: bool) -> Dict[str, np.ndarray]:
    """Kinetic and potential energies after each of NUM_STEPS strides of the
    isotropic harmonic toy, with a strong thermostat (tau = 1 fs << 10 fs)."""
    atoms = canonical_atoms(NUM_ATOMS, TEMPERATURE, ISOTROPIC, seed=1)
    cls = Langevin if name == "langevin" else Bussi
    dynamics = cls(
        atoms,
        harmonic_model(ISOTROPIC),
        temperature_K=TEMPERATURE,
        time_constant=1.0 * FS,
        random_rotation=rotation,
        rng=np.random.default_rng(2),
        remove_drift=False,  # the toy does not conserve momentum
    )
    initial = harmonic_energy(atoms, ISOTROPIC)
    kinetic, potential = [], []
    for _ in dynamics.irun(NUM_STEPS):
        kinetic.append(atoms.get_kinetic_energy())
        potential.append(harmonic_potential(atoms, ISOTROPIC))
    # the toy is exact: the energy changes only through the thermostat
    exchanged = harmonic_energy(atoms, ISOTROPIC) + dynamics.bath_energy - initial
    return {
        "kinetic": np.array(kinetic[1:]),
        "potential": np.array(potential[1:]),
        "exchanged": np.array(exchanged),
    }


def mean_and_error(samples: np.ndarray, blocks: int = 20) -> Tuple[float, float]:
    """Mean and its standard error from the means of ``blocks`` consecutive blocks
    (which accounts for correlations shorter than a block)."""
    means = np.array([block.mean() for block in np.array_split(samples, blocks)])
    return float(samples.mean()), float(means.std(ddof=1) / np.sqrt(blocks))


@pytest.mark.xdist_group("harmonic")
@pytest.mark.parametrize("name", ["langevin", "bussi"])
@pytest.mark.parametrize("rotation", [False, True])
def test_thermostats_sample_the_canonical_distribution(name, rotation):
    assert period_fs(OMEGA) == pytest.approx(37.0)
    samples = toy_samples(name, rotation)
    assert abs(samples["exchanged"]) < 1e-9
    kt = ase.units.kB * TEMPERATURE
    expected = 1.5 * NUM_ATOMS * kt  # equipartition, for K and for U
    for key in ("kinetic", "potential"):
        mean, error = mean_and_error(samples[key])
        assert error < 0.01 * expected  # enough samples to see a 5% bias
        assert abs(mean - expected) < 5 * error, (key, mean / expected, error)
    # canonical fluctuations of K: variance N_f (kT)^2 / 2, estimated within ~5%
    variance = samples["kinetic"].var() / (1.5 * NUM_ATOMS * kt**2)
    assert variance == pytest.approx(1.0, abs=0.25)


@pytest.mark.xdist_group("harmonic")
@pytest.mark.parametrize("name", ["langevin", "bussi"])
def test_random_rotation_keeps_the_statistics_of_an_equivariant_model(name):
    plain, rotated = toy_samples(name, False), toy_samples(name, True)
    assert not np.allclose(plain["kinetic"], rotated["kinetic"])
    for key in ("kinetic", "potential"):
        mean_plain, error_plain = mean_and_error(plain[key])
        mean_rotated, error_rotated = mean_and_error(rotated[key])
        bound = 5 * np.hypot(error_plain, error_rotated)
        assert abs(mean_plain - mean_rotated) < bound
        ratio = rotated[key].var() / plain[key].var()
        assert ratio == pytest.approx(1.0, abs=0.3)


@pytest.mark.parametrize("omegas", [ISOTROPIC, (OMEGA, 0.6 * OMEGA, 1.3 * OMEGA)])
def test_random_rotation_follows_an_equivariant_model_exactly(omegas):
    def trajectory(rotation: bool) -> np.ndarray:
        atoms = canonical_atoms(8, TEMPERATURE, omegas, seed=3)
        rng = np.random.default_rng(4)
        dynamics = VelocityVerlet(
            atoms, harmonic_model(omegas), random_rotation=rotation, rng=rng
        )
        return np.array([atoms.get_positions() for _ in dynamics.irun(10)])

    plain, rotated = trajectory(False), trajectory(True)
    if omegas == ISOTROPIC:
        np.testing.assert_allclose(rotated, plain, atol=1e-10)
    else:  # the anisotropic toy is not equivariant: the rotations show
        assert np.abs(rotated - plain).max() > 1e-2


@pytest.mark.xdist_group("harmonic")
@pytest.mark.parametrize("fix_com", [False, True])
def test_bussi_counts_the_degrees_of_freedom_of_a_momentum_conserving_model(fix_com):
    # nearly free atoms (a 6 ns period): the total momentum is conserved, so the
    # thermostat acts on 3N - 3 degrees of freedom, counted by ASE with FixCom
    slow = (1e-6, 1e-6, 1e-6)
    atoms = canonical_atoms(8, TEMPERATURE, ISOTROPIC, seed=5)
    atoms.set_momenta(atoms.get_momenta() - atoms.get_momenta().mean(axis=0))
    atoms.positions -= atoms.positions.mean(axis=0)  # the springs' forces cancel
    if fix_com:
        atoms.set_constraint(FixCom())
    dynamics = Bussi(
        atoms,
        harmonic_model(slow),
        temperature_K=TEMPERATURE,
        time_constant=1.0 * FS,
        rng=np.random.default_rng(6),
    )
    assert atoms.get_number_of_degrees_of_freedom() == (21 if fix_com else 24)
    kinetic = []
    for _ in dynamics.irun(600):
        kinetic.append(atoms.get_kinetic_energy())
        assert np.abs(atoms.get_momenta().sum(axis=0)).max() < 1e-10
    mean, error = mean_and_error(np.array(kinetic[1:]))
    expected = 0.5 * 21 * ase.units.kB * TEMPERATURE
    assert error < 0.02 * expected  # a bias of 3/24 = 12.5% would show
    assert abs(mean - expected) < 5 * error, (mean / expected, error)
