"""Constant pressure through ``mtt-flashmd md`` and :func:`run_md`, and the inputs
refused before any stride."""

import csv
from pathlib import Path

import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms
from ase.io.trajectory import Trajectory
from helpers import tiny_model
from toy_models import spring_energy_model

from metatrain_flashmd.ase import BussiNPT, LangevinNPT, run_md
from metatrain_flashmd.ase.barostat import BarostatError
from metatrain_flashmd.ase.npt import NPT_LOG_COLUMNS, IsobaricDynamics
from metatrain_flashmd.cli import main


FS = ase.units.fs


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides) changing the state by
    little, saved."""
    path = tmp_path_factory.mktemp("models") / "flashmd.pt"
    gentle = dict(momentum_rms=0.16, position_rms=0.05, target_momentum_rms=0.02)
    model = tiny_model(predict_momenta_as_difference=True)
    model.set_normalization(**gentle)
    model.export().save(str(path))
    return path


@pytest.fixture
def structure(tmp_path: Path) -> Path:
    """32 displaced Al atoms without momenta, in an extxyz file."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=0)
    ase.io.write(tmp_path / "al.xyz", atoms)
    return tmp_path / "al.xyz"


def test_cli_writes_the_cell_of_every_frame_and_the_pressure_columns(
    model_path, structure, tmp_path
):
    output, log = tmp_path / "npt.extxyz", tmp_path / "npt.csv"
    status = main(
        [
            "md",
            str(model_path),
            str(structure),
            "--steps",
            "4",
            "--temperature",
            "300",
            "--thermostat",
            "bussi",
            "--pressure",
            "0.5",
            "--barostat-time",
            "200",
            "--energy-calculator",
            "emt",
            "-o",
            str(output),
            "--log",
            str(log),
            "--seed",
            "0",
        ]
    )
    assert status == 0
    frames = ase.io.read(output, ":")
    volumes = [frame.get_volume() for frame in frames]
    assert len(set(volumes)) == 5  # the cell moves at every stride
    for frame in frames:
        assert np.abs(frame.get_momenta().sum(axis=0)).max() < 1e-6  # 8 digits
    with open(log, newline="") as file:
        rows = list(csv.DictReader(file))
    assert set(NPT_LOG_COLUMNS) <= set(rows[0])
    for row, frame in zip(rows, frames):
        assert float(row["volume_A3"]) == pytest.approx(frame.get_volume())
        lengths = [float(row[f"cell_{axis}_A"]) for axis in "abc"]
        np.testing.assert_allclose(lengths, frame.cell.lengths())
        frame.calc = EMT()
        stress = frame.get_stress(include_ideal_gas=True)
        pressure = -stress[:3].mean() / ase.units.GPa
        # the log's kinetic term counts 3N - 3 degrees of freedom, ASE's 3N
        assert float(row["pressure_GPa"]) == pytest.approx(pressure, abs=0.02)


def test_the_trajectory_header_describes_the_barostat(model_path, structure, tmp_path):
    atoms = ase.io.read(structure)
    atoms.calc = EMT()
    atoms.set_momenta(np.full((len(atoms), 3), 0.1) * [1, -1, 0])
    with BussiNPT(
        atoms,
        str(model_path),
        temperature_K=300,
        time_constant=100 * FS,
        pressure_au=1.0 * ase.units.GPa,
        barostat_time_constant=500 * FS,
        trajectory=str(tmp_path / "npt.traj"),
        remove_drift=True,
    ) as dynamics:
        description = dynamics.todict()
        dynamics.run(1)
    with Trajectory(str(tmp_path / "npt.traj")) as written:
        header = written.description
    assert header["pressure_GPa"] == pytest.approx(1.0)
    assert description["pressure_GPa"] == pytest.approx(1.0)
    assert description["barostat_time_constant_fs"] == pytest.approx(500)
    assert description["compressibility_per_GPa"] == pytest.approx(0.01)
    assert description["cell"] == "isotropic"


def atoms_with(kind: str) -> ase.Atoms:
    """32 Al atoms at rest with EMT, made wrong in one way."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.set_momenta(np.random.default_rng(0).normal(size=(32, 3)))
    atoms.calc = EMT()
    if kind == "no stress":
        atoms.calc = SinglePointCalculator(atoms, energy=0.0)
    elif kind == "no calculator":
        atoms.calc = None
    elif kind == "not periodic":
        atoms.pbc = [True, True, False]
    elif kind == "fixed atoms":
        atoms.set_constraint(FixAtoms([0]))
    return atoms


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("no stress", "gives no stress"),
        ("no calculator", "needs a calculator giving the stress"),
        ("not periodic", "periodic in all three directions"),
        ("fixed atoms", "no constraint but FixCom"),
        ("flexible", "flexible cell fluctuations are not implemented"),
    ],
)
def test_bad_systems_are_refused_before_any_stride(model_path, kind, message):
    atoms = atoms_with(kind)
    cell = "flexible" if kind == "flexible" else "isotropic"
    with pytest.raises(BarostatError, match=message):
        LangevinNPT(
            atoms,
            str(model_path),
            temperature_K=300,
            time_constant=100 * FS,
            pressure_au=0.0,
            barostat_time_constant=500 * FS,
            cell=cell,
        )


def test_a_barostat_without_thermostat_is_refused(model_path):
    with pytest.raises(BarostatError, match="needs a thermostat"):
        IsobaricDynamics(
            atoms_with("good"),
            str(model_path),
            pressure_au=0.0,
            barostat_time_constant=500 * FS,
        )


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(thermostat="none"), "needs a thermostat: add --thermostat"),
        (dict(energy_calculator=None), "give --energy-calculator emt"),
        (dict(temperature_K=None), "needs the bath temperature"),
        (dict(equipartition_time_fs=1000.0), "--equipartition-time is for NVE"),
    ],
)
def test_run_md_refuses_incomplete_npt_settings(
    model_path, structure, tmp_path, options, message
):
    settings = dict(
        temperature_K=300.0,
        thermostat="langevin",
        energy_calculator="emt",
        pressure_GPa=0.0,
    )
    settings.update(options)
    atoms = ase.io.read(structure)
    atoms.set_momenta(np.random.default_rng(0).normal(size=(32, 3)))
    output = tmp_path / "out.extxyz"
    with pytest.raises(BarostatError, match=message):
        run_md(model_path, atoms, 2, output, **settings)
    assert not output.exists()


def test_the_stress_of_a_metatomic_energy_model_drives_the_barostat(
    model_path, structure, tmp_path
):
    energy_model = tmp_path / "springs.pt"
    spring_energy_model(stiffness=0.05).save(str(energy_model))
    output, log = tmp_path / "npt.extxyz", tmp_path / "npt.csv"
    run_md(
        model_path,
        structure,
        3,
        output,
        temperature_K=300.0,
        seed=0,
        thermostat="langevin",
        pressure_GPa=0.0,
        energy_model=energy_model,
        log=log,
    )
    with open(log, newline="") as file:
        rows = list(csv.DictReader(file))
    for row, frame in zip(rows, ase.io.read(output, ":")):
        # springs k/2 |r|^2: virial stress k sum_i r_i r_i^T / V
        volume = frame.get_volume()
        virial = -0.05 * np.sum(frame.positions**2) / (3 * volume)
        momenta = frame.get_momenta() - frame.get_momenta().mean(axis=0)
        kinetic = np.sum(momenta**2 / frame.get_masses()[:, None]) / (3 * volume)
        expected = (virial + kinetic) / ase.units.GPa
        assert float(row["pressure_GPa"]) == pytest.approx(expected, rel=1e-5)
        assert float(row["volume_A3"]) == pytest.approx(volume)


def test_an_anisotropic_run_scales_the_axes_independently(
    model_path, structure, tmp_path
):
    output = tmp_path / "npt.extxyz"
    settings = dict(temperature_K=300.0, seed=0, thermostat="bussi")
    settings.update(energy_calculator="emt", barostat_time_fs=200.0)
    run_md(
        model_path,
        structure,
        3,
        output,
        pressure_GPa=0.0,
        cell="anisotropic",
        **settings,
    )
    cell = ase.io.read(output).cell.array
    np.testing.assert_allclose(cell - np.diag(np.diag(cell)), 0.0, atol=1e-12)
    assert np.ptp(np.diag(cell)) > 1e-6
