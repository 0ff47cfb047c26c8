"""FlashMD strides inside i-PI, with a tiny FlashMD model and EMT as the i-PI
forcefield: each step is the model's stride (not velocity Verlet), thermostats and
barostats act around it, energy rescaling, and the bad inputs refused before any
stride."""

from pathlib import Path
from typing import Any, List

import ase
import numpy as np
import pytest


pytest.importorskip(
    "ipi", reason="i-PI is not installed: pip install 'metatrain-flashmd[ipi]'"
)

from helpers import tiny_model  # noqa: E402
from ipi.scripting import InteractiveSimulation  # noqa: E402
from ipi.utils.depend import dstrip  # noqa: E402
from ipi_inputs import ipi_input, write_structure  # noqa: E402

from metatrain_flashmd.ase import VelocityVerlet  # noqa: E402
from metatrain_flashmd.ase.guard import OutsideTrainingError, TrainingGuard  # noqa: E402
from metatrain_flashmd.ipi import (  # noqa: E402
    UnsupportedSimulationError,
    flashmd_motion_step,
    run_ipi,
)
from metatrain_flashmd.ipi.units import masses_to_ipi  # noqa: E402


# i-PI 3.3 calls threading.currentThread(), deprecated since Python 3.10, and leaves
# the structure file of <initialize><file> open
pytestmark = [
    pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*al.extxyz:pytest.PytestUnraisableExceptionWarning"
    ),
]


GENTLE = {"momentum_rms": 0.16, "position_rms": 0.05, "target_momentum_rms": 0.02}
"""Normalisation making a random model's strides change the state by little."""


@pytest.fixture(scope="module")
def flashmd_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides), gentle, saved."""
    model = tiny_model(predict_momenta_as_difference=True)
    model.set_normalization(**GENTLE)
    path = tmp_path_factory.mktemp("models") / "flashmd.pt"
    model.export().save(str(path))
    return path


@pytest.fixture(scope="module")
def flashmd(flashmd_path: Path) -> Any:
    from metatomic.torch import load_atomistic_model

    return load_atomistic_model(str(flashmd_path))


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in a fresh directory holding the Al structure (i-PI writes there)."""
    monkeypatch.chdir(tmp_path)
    write_structure(tmp_path)
    return tmp_path


def simulation(dynamics: str, **options: Any) -> InteractiveSimulation:
    return InteractiveSimulation(ipi_input(dynamics, **options))


def snapshot(sim: InteractiveSimulation) -> ase.Atoms:
    """The i-PI state in ASE units, through i-PI's own conversion."""
    atoms = sim.get_structures()
    atoms.calc = None
    atoms.pbc = True
    return atoms


def predict(model: Any, atoms: ase.Atoms) -> ase.Atoms:
    """The model's stride from ``atoms``, by the ASE integrator."""
    atoms = atoms.copy()
    atoms.pbc = True
    VelocityVerlet(atoms, model).run(1)
    return atoms


def run_recorded(sim: InteractiveSimulation, model: Any, steps: int) -> Any:
    """Run ``steps`` FlashMD steps; the states before and after, and the atoms the
    model received at each stride."""
    start = snapshot(sim)
    step = flashmd_motion_step(sim, model)
    entries: List[ase.Atoms] = []
    engine = step.runner.engine
    original = engine.stride

    def recorded() -> None:
        entries.append(engine.atoms.copy())
        original()

    engine.stride = recorded
    sim.set_motion_step(step)
    sim.run(steps)
    return start, entries, snapshot(sim)


def fractional(positions: np.ndarray, cell: np.ndarray) -> np.ndarray:
    return np.linalg.solve(cell.T, positions.T).T


# -- each step is one stride of the model ---------------------------------------


def test_nve_step_is_the_models_stride(flashmd):
    sim = simulation("nve")
    start = snapshot(sim)
    sim.set_motion_step(flashmd_motion_step(sim, flashmd))
    sim.run(1)
    after = snapshot(sim)
    expected = predict(flashmd, start)
    np.testing.assert_allclose(after.positions, expected.positions, atol=1e-8)
    np.testing.assert_allclose(after.get_momenta(), expected.get_momenta(), atol=1e-8)
    assert np.abs(after.positions - start.positions).max() > 1e-5
    assert sim.properties("time") == pytest.approx(10.0 * ase.units.fs)
    verlet = simulation("nve")
    verlet.run(1)
    assert np.abs(snapshot(verlet).positions - after.positions).max() > 1e-2


@pytest.mark.parametrize("dynamics", ["nvt", "nvt-langevin"])
def test_nvt_thermostat_acts_around_the_stride(flashmd, dynamics):
    sim = simulation(dynamics)
    start, (entry,), after = run_recorded(sim, flashmd, 1)
    np.testing.assert_allclose(entry.positions, start.positions, atol=1e-8)
    assert np.abs(entry.get_momenta() - start.get_momenta()).max() > 1e-4
    expected = predict(flashmd, entry)
    np.testing.assert_allclose(after.positions, expected.positions, atol=1e-8)
    assert np.abs(after.get_momenta() - expected.get_momenta()).max() > 1e-4
    assert sim.syslist[0].motion.thermostat.ethermo != 0.0


@pytest.mark.parametrize("dynamics", ["npt", "npt-scr"])
def test_npt_barostat_scales_the_cell_around_the_stride(flashmd, dynamics):
    sim = simulation(dynamics, pressure_bar=1000.0)
    start, entries, after = run_recorded(sim, flashmd, 3)
    assert len(entries) == 3
    expected = predict(flashmd, entries[-1])
    np.testing.assert_allclose(
        fractional(after.positions, after.cell.array),
        fractional(expected.positions, entries[-1].cell.array),
        atol=1e-9,
    )
    volumes = [start.get_volume()] + [e.get_volume() for e in entries]
    volumes.append(after.get_volume())
    assert np.all(np.abs(np.diff(volumes)) > 1e-6 * volumes[0])
    assert np.abs(after.positions - expected.positions).max() > 1e-8


# -- energy rescaling and random rotations ------------------------------------------


@pytest.mark.parametrize("dynamics", ["nve", "nvt"])
def test_conserve_energy_holds_the_conserved_quantity(flashmd, dynamics):
    drifts = {}
    for conserve in (False, True):
        sim = simulation(dynamics)
        start = sim.properties("conserved")
        step = flashmd_motion_step(sim, flashmd, conserve_energy=conserve)
        sim.set_motion_step(step)
        sim.run(3)
        drifts[conserve] = abs(sim.properties("conserved") - start)
    assert drifts[False] > 1e-4
    assert drifts[True] < 1e-9


def test_random_rotation_is_drawn_from_the_ipi_seed(flashmd):
    positions = []
    for rotation, seed in [(True, 7), (True, 7), (True, 8), (False, 7)]:
        sim = simulation("nve", seed=seed)
        step = flashmd_motion_step(sim, flashmd, random_rotation=rotation)
        sim.set_motion_step(step)
        sim.run(1)
        positions.append(snapshot(sim).positions)
    np.testing.assert_array_equal(positions[0], positions[1])
    assert np.abs(positions[0] - positions[2]).max() > 1e-9
    assert np.abs(positions[0] - positions[3]).max() > 1e-9


# -- masses -----------------------------------------------------------------------


def set_masses(sim: InteractiveSimulation, mass_u: float, index: Any = None) -> None:
    beads = sim.syslist[0].motion.beads
    masses = dstrip(beads.m).copy()
    masses[slice(None) if index is None else index] = masses_to_ipi(mass_u)
    beads.m[:] = masses


def test_table_masses_are_replaced_by_the_models(flashmd):
    sim = simulation("nve")
    set_masses(sim, 26.98)
    with pytest.raises(UnsupportedSimulationError, match=r"mass 26\.98 u"):
        flashmd_motion_step(sim, flashmd, adopt_model_masses=False)
    flashmd_motion_step(sim, flashmd)
    expected = float(flashmd.module.masses[13])
    np.testing.assert_allclose(
        dstrip(sim.syslist[0].motion.beads.m), masses_to_ipi(expected), rtol=1e-12
    )


def test_other_masses_are_refused(flashmd):
    sim = simulation("nve")
    set_masses(sim, 28.0, index=3)
    with pytest.raises(UnsupportedSimulationError, match=r"atom 3 \(Al\) has mass 28"):
        flashmd_motion_step(sim, flashmd)


def test_unknown_elements_are_refused():
    sim = simulation("nve")
    copper = tiny_model(atomic_types=(29,)).export()
    with pytest.raises(UnsupportedSimulationError, match="does not know Al"):
        flashmd_motion_step(sim, copper)


# -- inputs FlashMD cannot drive, refused before any stride ----------------------

MINIMIZE = "<motion mode='minimize'><optimizer mode='bfgs'/></motion>"
FIXED = "<motion mode='dynamics'><fixatoms>[0]</fixatoms>{}</motion>"
NVT = (
    "<dynamics mode='nvt' {}><timestep units='femtosecond'> 10 </timestep>{}</dynamics>"
)
BAD_INPUTS = {
    "timestep": ({"dynamics": "nvt", "timestep_fs": 5.0}, "timestep is 5 fs.*10 fs"),
    "beads": ({"dynamics": "nvt", "beads": 2}, "path-integral .* 2 beads"),
    "minimize": ({"dynamics": "nve", "motion": MINIMIZE}, "geometry optimisation"),
    "mts": ({"dynamics": NVT.format("", "<nmts>[2]</nmts>")}, "multiple time stepping"),
    "baoab": ({"dynamics": NVT.format("splitting='baoab'", "")}, "baoab"),
    "fixatoms": (
        {"dynamics": "nve", "motion": FIXED.format(NVT.format("", ""))},
        "fixes atoms",
    ),
    "barostat": (
        {
            "dynamics": "<dynamics mode='npt'><timestep units='femtosecond'> 10 "
            "</timestep><barostat mode='flexible'><tau units='femtosecond'> 100 "
            "</tau></barostat></dynamics>",
            "pressure_bar": 1.0,
        },
        "barostat .*BaroMTK.* not supported",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_inputs_are_refused_before_any_stride(flashmd, name):
    options, message = BAD_INPUTS[name]
    sim = simulation(**options)
    with pytest.raises(UnsupportedSimulationError, match=message):
        flashmd_motion_step(sim, flashmd)


def test_several_systems_are_refused(flashmd):
    xml = ipi_input("nve")
    start, end = xml.index("<system>"), xml.index("</system>") + len("</system>")
    sim = InteractiveSimulation(xml[:end] + xml[start:end] + xml[end:])
    with pytest.raises(UnsupportedSimulationError, match="2 systems"):
        flashmd_motion_step(sim, flashmd)


# -- run_ipi, the library behind ``mtt-flashmd ipi`` ------------------------------


def test_run_ipi_runs_the_input(flashmd_path, workdir):
    (workdir / "input.xml").write_text(ipi_input("nvt", total_steps=3))
    summary = run_ipi("input.xml", flashmd_path)
    assert summary.steps == 3
    assert summary.timestep_fs == pytest.approx(10.0)
    assert 0 < summary.mean_temperature < 2000
    rows = np.loadtxt(workdir / "simulation.out", ndmin=2)
    np.testing.assert_allclose(rows[:, 1], [0.0, 10.0, 20.0, 30.0])
    summary = run_ipi(workdir / "input.xml", flashmd_path, steps=2)
    assert summary.steps == 2


def test_run_ipi_restarts_from_the_checkpoint(flashmd_path, workdir):
    (workdir / "input.xml").write_text(ipi_input("nvt", total_steps=4))
    run_ipi("input.xml", flashmd_path, steps=2)
    summary = run_ipi("RESTART", flashmd_path)
    assert summary.steps == 2
    rows = np.loadtxt(workdir / "simulation.out", ndmin=2)
    np.testing.assert_allclose(rows[:, 1], [0.0, 10.0, 20.0, 30.0, 40.0])


def test_run_ipi_checks_before_any_stride(flashmd_path, workdir):
    (workdir / "input.xml").write_text(ipi_input("nve", timestep_fs=2.0))
    with pytest.raises(UnsupportedSimulationError, match="2 fs"):
        run_ipi("input.xml", flashmd_path)
    assert not (workdir / "RESTART").exists()
    with pytest.raises(FileNotFoundError, match="no i-PI input"):
        run_ipi("missing.xml", flashmd_path)
    with pytest.raises(ValueError, match="positive"):
        run_ipi("input.xml", flashmd_path, steps=-1)


def test_guard_warnings_count_the_ipi_strides(flashmd):
    """The training-records guard runs inside i-PI strides and names the stride
    it stopped at (the engine's stride counter follows i-PI's steps)."""
    sim = simulation("nve")
    step = flashmd_motion_step(sim, flashmd)
    sim.set_motion_step(step)
    sim.run(2)
    # from now on any displacement is outside a (made-up) record of 1e-9 A
    limits = {13: np.array([0.1, 1e-9, 1e3, 1e-3, 1e6])}
    step.runner.engine.guard = TrainingGuard(limits, strict=True)
    with pytest.raises(OutsideTrainingError, match="^stride 3: displacement"):
        sim.run(1)
