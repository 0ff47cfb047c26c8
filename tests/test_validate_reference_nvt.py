"""The NVT reference of ``validate`` is the FlashMD integrator with exact
strides: the same bath, split around each stride the same way, so that a
perfect model reproduces it exactly (the same random numbers give the same
trajectory), whatever the stride. Against ASE's own thermostats, which act at
every short step, it would differ at long strides by the splitting alone."""

import ase.build
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from exact_stride import verlet_stride_model

from metatrain_flashmd.validation.flashmd_run import run_flashmd
from metatrain_flashmd.validation.reference import run_reference
from metatrain_flashmd.validation.reference_nvt import run_nvt_reference


STRIDE_FS = 20.0
SUBSTEPS = 10  # 2 fs reference steps
STRIDES = 12
BATH = dict(temperature_K=300.0, time_constant_fs=30.0)


@pytest.fixture(scope="module")
def start():
    """32 atoms of fcc Al with momenta at 300 K, no total momentum."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    thermalize_momenta(atoms, 300.0, rng=np.random.default_rng(0))
    Stationary(atoms)
    atoms.rattle(0.05, seed=1)
    return atoms


@pytest.fixture(scope="module")
def exact_model():
    return verlet_stride_model(STRIDE_FS, SUBSTEPS)


@pytest.mark.parametrize("thermostat", ["langevin", "bussi"])
def test_nvt_reference_is_the_integrator_with_exact_strides(
    start, exact_model, thermostat
):
    """With the same seed, the reference and the FlashMD run of an exact stride
    map coincide frame by frame (positions, momenta, energies); ASE's thermostat
    at every 2 fs step, with the same seed, does not."""
    reference = run_nvt_reference(
        start,
        EMT(),
        exact_model,
        STRIDE_FS,
        STRIDES,
        STRIDE_FS / SUBSTEPS,
        thermostat=thermostat,
        rng=np.random.default_rng(7),
        **BATH,
    )
    flashmd = run_flashmd(
        exact_model,
        start,
        "nvt",
        STRIDES,
        thermostat=thermostat,
        calculator=EMT(),
        rng=np.random.default_rng(7),
        **BATH,
    ).trajectory
    assert len(reference.time_fs) == STRIDES + 1
    np.testing.assert_allclose(reference.time_fs, flashmd.time_fs)
    np.testing.assert_allclose(reference.positions, flashmd.positions, atol=1e-8)
    np.testing.assert_allclose(reference.momenta, flashmd.momenta, atol=1e-8)
    np.testing.assert_allclose(
        reference.potential_energy, flashmd.potential_energy, atol=1e-8
    )
    # the bath did act: the momenta are not those of NVE from the same start
    nve = run_reference(start, EMT(), "nve", STRIDE_FS, STRIDES, STRIDE_FS / SUBSTEPS)
    assert np.abs(reference.momenta[-1] - nve.momenta[-1]).max() > 1e-2
    continuous = run_reference(
        start,
        EMT(),
        "nvt",
        STRIDE_FS,
        STRIDES,
        STRIDE_FS / SUBSTEPS,
        thermostat=thermostat,
        rng=np.random.default_rng(7),
        **BATH,
    )
    assert np.abs(continuous.momenta[-1] - reference.momenta[-1]).max() > 1e-2
