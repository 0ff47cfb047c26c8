"""The ASE integrators driven by tiny random FlashMD models: checks, conservation,
precision, devices and the run loop without forces."""

from pathlib import Path
from typing import Any, List, Tuple

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
import torch
from ase.calculators.emt import EMT
from ase.constraints import FixAtoms
from ase.md.md import MolecularDynamics
from helpers import tiny_model

from metatrain_flashmd.ase import (
    Bussi,
    EnergyConservationError,
    Langevin,
    VelocityVerlet,
)


FS = ase.units.fs
INTEGRATORS = {
    "verlet": (VelocityVerlet, {}),
    "langevin": (Langevin, {"temperature_K": 300.0, "time_constant": 50 * FS}),
    "bussi": (Bussi, {"temperature_K": 300.0, "time_constant": 50 * FS}),
}


@pytest.fixture(scope="module")
def flashmd_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides, float64), saved."""
    path = tmp_path_factory.mktemp("models") / "flashmd.pt"
    tiny_model().export().save(str(path))
    return path


@pytest.fixture(scope="module")
def flashmd(flashmd_path: Path) -> Any:
    from metatomic.torch import load_atomistic_model

    return load_atomistic_model(str(flashmd_path))


@pytest.fixture(scope="module")
def gentle_flashmd() -> Any:
    """A tiny random FlashMD model whose strides change positions and momenta by
    little (a few hundredths of their typical size at 300 K)."""
    model = tiny_model(predict_momenta_as_difference=True)
    model.set_normalization(
        momentum_rms=0.16, position_rms=0.05, target_momentum_rms=0.02
    )
    return model.export()


@pytest.fixture
def al_atoms(al_trajectory: Path) -> ase.Atoms:
    """32 Al atoms from EMT MD at ~300 K, with momenta (zero in total)."""
    return ase.io.read(al_trajectory, index=0)


def integrator(name: str, atoms: ase.Atoms, model: Any, **kwargs: Any) -> Any:
    cls, options = INTEGRATORS[name]
    return cls(atoms, model, rng=np.random.default_rng(0), **options, **kwargs)


# -- time, momentum and checks at construction ------------------------------------


@pytest.mark.parametrize("name", sorted(INTEGRATORS))
def test_time_advances_by_the_model_timestep(name, flashmd, al_atoms):
    dynamics = integrator(name, al_atoms, flashmd)
    assert dynamics.dt == pytest.approx(10.0 * FS)
    start = al_atoms.get_positions()
    dynamics.run(3)
    assert dynamics.nsteps == 3
    assert dynamics.get_time() == pytest.approx(30.0 * FS)
    assert not np.allclose(al_atoms.get_positions(), start)
    same = integrator(name, al_atoms.copy(), flashmd, timestep=10.0 * FS)
    assert same.dt == pytest.approx(dynamics.dt)


@pytest.mark.parametrize("name", sorted(INTEGRATORS))
@pytest.mark.parametrize("rotation", [False, True])
def test_total_momentum_is_conserved(name, rotation, flashmd, al_atoms):
    momenta = al_atoms.get_momenta()
    momenta += 0.3 * al_atoms.get_masses()[:, None] / al_atoms.get_masses().sum()
    al_atoms.set_momenta(momenta)
    total = al_atoms.get_momenta().sum(axis=0)
    scale = np.abs(al_atoms.get_momenta()).sum()
    dynamics = integrator(name, al_atoms, flashmd, random_rotation=rotation)
    cell = al_atoms.cell.array.copy()
    for _ in dynamics.irun(5):
        drift = al_atoms.get_momenta().sum(axis=0) - total
        assert np.abs(drift).max() < 1e-12 * scale
        np.testing.assert_array_equal(al_atoms.cell.array, cell)


def test_langevin_without_drift_removal_changes_the_total_momentum(flashmd, al_atoms):
    dynamics = integrator("langevin", al_atoms, flashmd, remove_drift=False)
    dynamics.run(2)
    assert np.abs(al_atoms.get_momenta().sum(axis=0)).max() > 1e-3


def test_timestep_mismatch_raises(flashmd, al_atoms):
    with pytest.raises(ValueError, match=r"is 5 fs .* strides of 10 fs"):
        VelocityVerlet(al_atoms, flashmd, timestep=5.0 * FS)


def test_mass_mismatch_raises(flashmd, al_atoms):
    masses = al_atoms.get_masses()
    masses[7] = 28.0
    al_atoms.set_masses(masses)
    with pytest.raises(ValueError, match=r"atom 7 \(Al\) has mass 28 u.*26\.98\d* u"):
        Langevin(al_atoms, flashmd, temperature_K=300, time_constant=10 * FS)


def test_unknown_element_raises(flashmd):
    atoms = ase.build.bulk("Cu", "fcc", a=3.6, cubic=True)
    with pytest.raises(ValueError, match="does not know Cu"):
        VelocityVerlet(atoms, flashmd)


def test_untrained_model_and_non_flashmd_model_raise(al_atoms):
    model = tiny_model()
    model.timestep.fill_(float("nan"))
    with pytest.raises(ValueError, match="no valid timestep"):
        VelocityVerlet(al_atoms, model.export())
    with pytest.raises(FileNotFoundError):
        VelocityVerlet(al_atoms, "no-such-model.pt")


def test_thermostat_arguments_are_checked(flashmd, al_atoms):
    with pytest.raises(ValueError, match="time_constant"):
        Bussi(al_atoms, flashmd, temperature_K=300, time_constant=0.0)
    al_atoms.set_momenta(np.zeros((len(al_atoms), 3)))
    with pytest.raises(ValueError, match="momenta, which are all zero"):
        Bussi(al_atoms, flashmd, temperature_K=300, time_constant=10 * FS)


def test_todict_describes_the_integrator(flashmd_path, al_atoms):
    dynamics = integrator("langevin", al_atoms, flashmd_path, random_rotation=True)
    description = dynamics.todict()
    assert description["md-type"] == "Langevin"
    assert description["timestep"] == pytest.approx(10 * FS)
    assert description["model"] == str(flashmd_path)
    assert description["model_timestep_fs"] == 10.0
    assert description["temperature_K"] == 300.0
    assert description["time_constant_fs"] == pytest.approx(50.0)
    assert description["random_rotation"] is True


# -- precision and devices ---------------------------------------------------------


def one_stride(model: Any, atoms: ase.Atoms, **kwargs: Any) -> Tuple[Any, Any]:
    atoms = atoms.copy()
    VelocityVerlet(atoms, model, **kwargs).run(1)
    return atoms.get_positions(), atoms.get_momenta()


def test_float32_and_float64_models_agree(al_atoms):
    single = tiny_model(dtype=torch.float32).export()
    double = tiny_model(dtype=torch.float64).export()
    positions32, momenta32 = one_stride(single, al_atoms)
    positions64, momenta64 = one_stride(double, al_atoms)
    assert positions32.dtype == np.float64
    assert not np.allclose(positions64, al_atoms.positions, atol=1e-5)
    np.testing.assert_allclose(positions32, positions64, atol=1e-4)
    np.testing.assert_allclose(momenta32, momenta64, atol=1e-4)


def test_device_argument(al_atoms):
    model = tiny_model().export()
    reference = one_stride(model, al_atoms)
    on_cpu = one_stride(model, al_atoms, device="cpu")
    np.testing.assert_array_equal(on_cpu[0], reference[0])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device 'cuda'.*no CUDA device"):
            VelocityVerlet(al_atoms, model, device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu(al_atoms):
    model = tiny_model()
    on_cpu = one_stride(model.export(), al_atoms, device="cpu")
    on_gpu = one_stride(model.export(), al_atoms, device="cuda")
    np.testing.assert_allclose(on_gpu[0], on_cpu[0], atol=1e-8)
    np.testing.assert_allclose(on_gpu[1], on_cpu[1], atol=1e-8)


# -- exact energy conservation -----------------------------------------------------


def total_energy(atoms: ase.Atoms) -> float:
    return atoms.get_potential_energy() + atoms.get_kinetic_energy()


@pytest.mark.parametrize("conserve", [True, False])
def test_energy_rescaling_keeps_the_emt_energy(conserve, gentle_flashmd, al_atoms):
    al_atoms.calc = EMT()
    initial = total_energy(al_atoms)
    total = al_atoms.get_momenta().sum(axis=0)
    dynamics = VelocityVerlet(al_atoms, gentle_flashmd, conserve_energy=conserve)
    energies = [total_energy(al_atoms) for _ in dynamics.irun(50 if conserve else 10)]
    deviation = np.abs(np.array(energies) - initial).max() / abs(initial)
    if conserve:
        assert deviation < 1e-6
        drift = al_atoms.get_momenta().sum(axis=0) - total
        assert np.abs(drift).max() < 1e-10
    else:  # the random model does not conserve it on its own
        assert deviation > 1e-4


def test_energy_rescaling_refuses_what_kinetic_energy_cannot_absorb(flashmd):
    # a perfect crystal at rest is at the minimum: any displacement costs energy
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.calc = EMT()
    dynamics = VelocityVerlet(atoms, flashmd, conserve_energy=True)
    positions = atoms.get_positions()
    with pytest.raises(EnergyConservationError, match="cannot conserve the energy"):
        dynamics.run(1)
    np.testing.assert_array_equal(atoms.get_positions(), positions)
    np.testing.assert_array_equal(atoms.get_momenta(), 0.0)


def test_energy_rescaling_needs_an_energy(flashmd, al_atoms):
    with pytest.raises(ValueError, match="attach a calculator"):
        VelocityVerlet(al_atoms, flashmd, conserve_energy=True)
    al_atoms.calc = EMT()
    al_atoms.set_constraint(FixAtoms(indices=[0]))
    with pytest.raises(ValueError, match="FixAtoms"):
        VelocityVerlet(al_atoms, flashmd, conserve_energy=True)


# -- no force calls: the run loop's hook -------------------------------------------


class RecordingEMT(EMT):
    """EMT recording the properties of each calculation it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: List[List[str]] = []

    def calculate(self, atoms=None, properties=("energy",), system_changes=()):
        self.requests.append(list(properties))
        super().calculate(atoms, properties, system_changes)


def recorder(calls: List[str], name: str, function: Any) -> Any:
    def record(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return function(*args, **kwargs)

    return record


@pytest.mark.parametrize("name", sorted(INTEGRATORS))
def test_run_loop_asks_for_no_forces(name, flashmd, al_atoms):
    al_atoms.calc = RecordingEMT()
    dynamics = integrator(name, al_atoms, flashmd)
    calls: List[str] = []
    for method in ("step", "_refresh_properties", "log", "call_observers"):
        setattr(dynamics, method, recorder(calls, method, getattr(dynamics, method)))
    al_atoms.get_forces = recorder(calls, "get_forces", al_atoms.get_forces)
    list(dynamics.irun(steps=2))
    after_step = ["_refresh_properties", "log", "call_observers"]
    assert calls == after_step + 2 * (["step"] + after_step)
    assert al_atoms.calc.requests == []

    # the recording would see ASE's own hook ask for forces
    MolecularDynamics._refresh_properties(dynamics)
    assert calls[-1] == "get_forces"
    assert al_atoms.calc.requests == [["forces"]]


def test_energy_rescaling_asks_for_energies_only(flashmd, al_atoms):
    al_atoms.calc = RecordingEMT()
    dynamics = VelocityVerlet(al_atoms, flashmd, conserve_energy=True)
    dynamics.run(3)
    assert al_atoms.calc.requests == [["energy"]] * 4


def test_runs_without_a_calculator(flashmd, al_atoms):
    assert al_atoms.calc is None
    integrator("bussi", al_atoms, flashmd).run(2)


def test_observers_logger_and_trajectory(flashmd, al_atoms, tmp_path):
    al_atoms.calc = EMT()
    trajectory, logfile = tmp_path / "md.traj", tmp_path / "md.log"
    dynamics = integrator(
        "langevin", al_atoms, flashmd, trajectory=str(trajectory), logfile=str(logfile)
    )
    seen: List[Tuple[int, float]] = []
    dynamics.attach(lambda: seen.append((dynamics.nsteps, dynamics.get_time())), 2)
    dynamics.run(4)
    dynamics.close()
    assert seen == [(0, 0.0), (2, pytest.approx(20 * FS)), (4, pytest.approx(40 * FS))]
    frames = ase.io.read(trajectory, ":")
    assert len(frames) == 5
    np.testing.assert_allclose(frames[-1].get_momenta(), al_atoms.get_momenta())
    np.testing.assert_allclose(frames[-1].positions, al_atoms.positions)
    lines = logfile.read_text().splitlines()
    assert len(lines) == 6 and lines[0].split()[0] == "Time[ps]"
    assert float(lines[-1].split()[0]) == pytest.approx(0.04)
    potential = float(lines[-1].split()[2])  # written with 4 decimals
    assert potential == pytest.approx(al_atoms.get_potential_energy(), abs=1e-4)


def test_predict_with_replaces_the_model_evaluation_only(flashmd, al_atoms):
    """The public hook of :class:`~metatrain_flashmd.replicas.Replicas`: a predictor
    gives the stride, the thermostat still acts around it, and the model is used
    again after the block."""
    seen: List[ase.Atoms] = []

    def drift(atoms: ase.Atoms) -> Tuple[np.ndarray, np.ndarray]:
        seen.append(atoms.copy())
        return atoms.positions + 0.01, atoms.get_momenta()

    dynamics = integrator("verlet", al_atoms, flashmd)
    assert dynamics.model.capabilities().outputs.keys() >= {"position", "momentum"}
    start, momenta = al_atoms.positions.copy(), al_atoms.get_momenta()
    with dynamics.predict_with(drift):
        assert dynamics.predictor is drift
        dynamics.run(2)
    assert dynamics.predictor is None and len(seen) == 2
    np.testing.assert_allclose(al_atoms.positions, start + 0.02, atol=1e-12)
    np.testing.assert_array_equal(al_atoms.get_momenta(), momenta)
    dynamics.run(1)  # the model's own stride again
    assert len(seen) == 2
    assert np.abs(al_atoms.positions - start - 0.02).max() > 1e-3
    langevin = integrator("langevin", al_atoms, flashmd)
    with langevin.predict_with(drift):
        langevin.run(1)
    assert not np.allclose(al_atoms.get_momenta(), momenta)  # the bath acted
