"""The anisotropic barostat on the toy crystal of ``npt_toys.py`` held along each
axis by ``kappa/2 sum_a ln(L_a/L0_a)^2``: each log-length ``u_a`` is then
independent with mean and variance ``kT / kappa`` (the flat measure in the
lengths), and the effective energy's error is of order dt^3/2 per step."""

import ase.units
import numpy as np
import pytest
from npt_toys import einstein_model, mean_and_error, thermal_toy

from metatrain_flashmd.ase import BussiNPT
from metatrain_flashmd.ase.barostat import BarostatError


FS = ase.units.fs
OMEGA = 2 * np.pi / 37.0  # rad/fs
TEMPERATURE = 300.0
KT = ase.units.kB * TEMPERATURE
KAPPA = KT / 0.02**2  # each axis fluctuates by 2%


def anisotropic(
    stride_fs: float, seed: int, barostat_fs: float = 100.0, omega: float = OMEGA
):
    """Bussi NpT with the anisotropic barostat on the axis-held toy crystal."""
    atoms = thermal_toy(omega, 0.0, TEMPERATURE, seed, axis_stiffness=KAPPA)
    model = einstein_model(atoms, omega, stride_fs)
    return BussiNPT(
        atoms,
        model,
        temperature_K=TEMPERATURE,
        time_constant=20 * FS,
        remove_drift=False,
        pressure_au=0.0,
        cell="anisotropic",
        barostat_time_constant=barostat_fs * FS,
        compressibility_au=1.0 / (KAPPA / atoms.get_volume()),
        rng=np.random.default_rng(seed),
    )


def test_each_axis_samples_its_distribution():
    dynamics = anisotropic(20.0, seed=1)
    reference = np.diag(dynamics.atoms.cell.array).copy()
    logs = []
    for _ in dynamics.irun(2000):
        cell = dynamics.atoms.cell.array
        assert np.abs(cell - np.diag(np.diag(cell))).max() < 1e-10
        logs.append(np.log(np.diag(cell) / reference))
    logs = np.array(logs[100:])
    expected = KT / KAPPA  # mean and variance of each u_a
    for axis in range(3):
        mean, error = mean_and_error(logs[:, axis])
        assert abs(mean - expected) < 4 * error + 1e-4, (axis, mean, error)
        assert logs[:, axis].var() == pytest.approx(expected, rel=0.2)
    correlation = np.corrcoef(logs.T)[np.triu_indices(3, 1)]
    assert np.abs(correlation).max() < 0.25  # independent axes
    assert np.ptp(logs[-1]) > 1e-3  # the axes really move apart


def test_the_effective_energy_error_is_of_order_dt_three_halves():
    # slow oscillators (1 ps): the pressure changes little over a stride, as in
    # the limit the order is about; with fast ones, the change of each axis'
    # pressure over a stride gives a term of order dt^1/2 (small: < 0.02 kT)
    rms = []
    for stride in (10.0, 40.0):
        slow = 2 * np.pi / 1000.0
        dynamics = anisotropic(stride, seed=2, barostat_fs=200.0, omega=slow)
        energies = [dynamics.effective_energy() for _ in dynamics.irun(120)]
        rms.append(np.sqrt(np.mean(np.diff(energies) ** 2)))
    assert rms[0] < 0.02 * KT
    assert 4.0**1.5 / 1.6 < rms[1] / rms[0] < 4.0**1.5 * 1.6, rms[1] / rms[0]


def test_a_cell_that_is_not_orthorhombic_is_refused():
    atoms = thermal_toy(OMEGA, 0.0, TEMPERATURE, 3, axis_stiffness=KAPPA)
    atoms.set_cell(atoms.cell.array + [[0, 0.3, 0], [0, 0, 0], [0, 0, 0]])
    with pytest.raises(BarostatError, match="orthorhombic"):
        BussiNPT(
            atoms,
            einstein_model(atoms, OMEGA, 10.0),
            temperature_K=300,
            time_constant=20 * FS,
            pressure_au=0.0,
            cell="anisotropic",
            barostat_time_constant=100 * FS,
        )
