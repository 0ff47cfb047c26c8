"""Replicas run together give what each gives alone: NVE (with energy rescaling),
Langevin, Bussi, mixed sizes; bad input is named before any stride; a failing
replica stops alone."""

import threading
from typing import Any, Dict, List

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.constraints import FixCom
from helpers import tiny_model

from metatrain_flashmd.ase import Bussi, Langevin, VelocityVerlet
from metatrain_flashmd.replicas import (
    ReplicaInputError,
    Replicas,
    driver,
    make_replicas,
    replica_seeds,
)


FS = ase.units.fs
THERMOSTATS: Dict[str, Any] = {
    "verlet": (VelocityVerlet, {}),
    "langevin": (Langevin, {"temperature_K": 600.0, "time_constant": 30 * FS}),
    "bussi": (Bussi, {"temperature_K": 600.0, "time_constant": 30 * FS}),
}


@pytest.fixture(scope="module")
def model() -> Any:
    """A tiny random FlashMD model for Al and Cu (10 fs strides, float64)."""
    return tiny_model(atomic_types=[13, 29]).export()


@pytest.fixture(scope="module")
def gentle_model() -> Any:
    """A tiny random model for Al whose strides change the state by little, so
    that energy rescaling stays possible."""
    model = tiny_model(predict_momenta_as_difference=True)
    model.set_normalization(
        momentum_rms=0.16, position_rms=0.05, target_momentum_rms=0.02
    )
    return model.export()


def systems(seed: int = 0) -> List[ase.Atoms]:
    """Replicas of different sizes and kinds: 32 periodic Al, 108 periodic Al with
    4 Cu, a non-periodic 19-atom Al cluster and another 32 periodic Al; displaced,
    with momenta at zero total momentum (FixCom)."""
    rng = np.random.default_rng(seed)
    cell = ase.build.bulk("Al", "fcc", a=4.05, cubic=True)
    large = cell.repeat(3)
    large.symbols[:4] = "Cu"
    cluster = ase.Atoms("Al19", positions=rng.normal(scale=2.8, size=(19, 3)))
    result = [cell.repeat(2), large, cluster, cell.repeat(2)]
    for atoms in result:
        atoms.positions += rng.normal(scale=0.05, size=(len(atoms), 3))
        momenta = rng.normal(scale=0.4, size=(len(atoms), 3))
        atoms.set_momenta(momenta - momenta.mean(axis=0))
        atoms.set_constraint(FixCom())
    return result


def integrator(name: str, atoms: ase.Atoms, model: Any, seed: int, **kw: Any) -> Any:
    cls, options = THERMOSTATS[name]
    return cls(atoms, model, rng=np.random.default_rng(seed), **options, **kw)


def assert_same_states(first: List[ase.Atoms], second: List[ase.Atoms]) -> None:
    for a, b in zip(first, second):
        np.testing.assert_allclose(a.positions, b.positions, atol=1e-9, rtol=0)
        np.testing.assert_allclose(a.get_momenta(), b.get_momenta(), atol=1e-9, rtol=0)


# -- together as alone ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(THERMOSTATS))
@pytest.mark.parametrize("budget", [None, 60])
def test_replicas_match_runs_alone(name, budget, model):
    rotation = name == "langevin"  # draws from each replica's generator
    alone = systems()
    for seed, atoms in enumerate(alone):
        integrator(name, atoms, model, seed, random_rotation=rotation).run(4)
    together = systems()
    replicas = Replicas(
        [
            integrator(name, atoms, model, seed, random_rotation=rotation)
            for seed, atoms in enumerate(together)
        ],
        atom_budget=budget,
    )
    outcomes = replicas.run(4)
    assert [outcome.steps for outcome in outcomes] == [4] * 4
    assert all(outcome.error is None for outcome in outcomes)
    assert not np.allclose(together[1].positions, systems()[1].positions, atol=1e-3)
    assert_same_states(alone, together)
    # one call per stride; with 60 atoms at most: 108, 32, 32 and 19 go apart
    # except the 19-atom cluster with a 32-atom crystal
    assert replicas.model_calls == 4 * (1 if budget is None else 3)
    assert [d.nsteps for d in replicas.integrators] == [4] * 4


def test_energy_rescaling_replicas_match_runs_alone(gentle_model):
    def nve(atoms: ase.Atoms) -> VelocityVerlet:
        return VelocityVerlet(atoms, gentle_model, conserve_energy=True)

    def crystals() -> List[ase.Atoms]:
        chosen = [a for a in systems(seed=3) if a.pbc.all() and "Cu" not in a.symbols]
        for atoms in chosen:
            atoms.calc = EMT()
        return chosen

    alone = crystals()
    energies = [a.get_total_energy() for a in alone]
    for atoms in alone:
        nve(atoms).run(5)
    together = crystals()
    Replicas([nve(atoms) for atoms in together]).run(5)
    assert_same_states(alone, together)
    for atoms, energy in zip(together, energies):
        assert atoms.get_total_energy() == pytest.approx(energy, rel=1e-8)


def test_observers_and_files_are_per_replica(model, tmp_path):
    states = systems()[:2]
    integrators = [
        integrator(
            "bussi", atoms, model, seed, trajectory=str(tmp_path / f"{seed}.traj")
        )
        for seed, atoms in enumerate(states)
    ]
    seen: List[List[int]] = [[], []]
    for index, dynamics in enumerate(integrators):
        dynamics.attach(lambda i=index: seen[i].append(integrators[i].nsteps), 2)
    Replicas(integrators).run(4)
    for dynamics in integrators:
        dynamics.close()
    assert seen == [[0, 2, 4], [0, 2, 4]]
    for index, atoms in enumerate(states):
        frames = ase.io.read(tmp_path / f"{index}.traj", ":")
        assert len(frames) == 5 and len(frames[-1]) == len(atoms)
        np.testing.assert_allclose(frames[-1].positions, atoms.positions)


def test_integrators_run_alone_again_after(model):
    states = systems()[:2]
    integrators = [integrator("langevin", a, model, s) for s, a in enumerate(states)]
    Replicas(integrators).run(1)
    integrators[0].run(1)  # its own model evaluation again
    assert integrators[0].nsteps == 2 and integrators[0].predictor is None


# -- building replicas ---------------------------------------------------------------


def test_make_replicas_seeds_each_replica(model):
    seeds = replica_seeds(7, 4)
    assert seeds == [7, 8, 9, 10] and replica_seeds(None, 2) == [None, None]
    options = dict(temperature_K=600.0, time_constant_fs=30.0)
    together = systems()
    replicas = make_replicas(together, model, "langevin", seeds=seeds, **options)
    replicas.run(3)
    alone = systems()
    for seed, atoms in zip(seeds, alone):
        integrator("langevin", atoms, model, seed).run(3)
    assert_same_states(alone, together)
    with pytest.raises(ValueError, match="3 seeds for 4 replicas"):
        make_replicas(systems(), model, "langevin", seeds=seeds[:3], **options)
    with pytest.raises(ValueError, match="unknown thermostat 'nose'"):
        make_replicas(systems(), model, "nose", **options)


def test_replicas_need_one_model(model):
    other = tiny_model(atomic_types=[13, 29], seed=1).export()
    first, second = systems()[:2]
    with pytest.raises(ValueError, match="replica 1 uses another model"):
        Replicas([VelocityVerlet(first, model), VelocityVerlet(second, other)])
    with pytest.raises(ValueError, match="2 labels for 1 replicas"):
        Replicas([VelocityVerlet(first, model)], labels=["a", "b"])


# -- bad input, named before any stride ---------------------------------------------


def test_bad_replicas_are_named_before_any_stride():
    model = tiny_model(atomic_types=[13]).export()  # Al only
    good, copper, heavy, small = [systems()[0] for _ in range(4)]
    copper.symbols[3] = "Cu"
    masses = heavy.get_masses()
    masses[5] = 28.0
    heavy.set_masses(masses)
    small = ase.build.bulk("Al", "fcc", a=4.05, cubic=True)  # 4.05 A < 4.5 A
    small.set_momenta(np.full((4, 3), 0.1))
    replicas = [good, copper, heavy, small]
    labels = ["a.xyz, frame 0", "b.xyz, frame 2", None, "d.xyz, frame 0"]
    with pytest.raises(ReplicaInputError) as error:
        make_replicas(replicas, model, labels=labels)
    lines = str(error.value).splitlines()
    assert lines[0] == "3 of 4 replicas cannot be run:"
    assert lines[1].startswith("replica 1 (b.xyz, frame 2): this FlashMD model does ")
    assert "not know Cu" in lines[1]
    assert lines[2].startswith("replica 2: atom 5 (Al) has mass 28 u")
    assert lines[3].startswith("replica 3 (d.xyz, frame 0): the periodic cell is ")
    assert "cutoff of 4.5 A (a: 4.05 A, b: 4.05 A, c: 4.05 A" in lines[3]
    np.testing.assert_array_equal(good.positions, systems()[0].positions)


def test_replica_errors_of_the_integrators_are_named(model):
    still = systems()
    still[2].set_momenta(np.zeros((19, 3)))
    with pytest.raises(ReplicaInputError, match="replica 2 .*momenta, which are all"):
        make_replicas(
            still, model, "bussi", temperature_K=300.0, labels=[None, None, "c", None]
        )
    broken = systems()
    broken[0].positions[4, 1] = np.nan
    with pytest.raises(ReplicaInputError, match="replica 0: its positions are not"):
        make_replicas(broken, model)


# -- a replica that fails stops alone ------------------------------------------------


def failing_predictions(monkeypatch: Any, replica_size: int, after: int, how: str):
    """Make the model calls give non-finite results (``how="nan"``) or raise
    (``how="raise"``) for the replica of ``replica_size`` atoms from its stride
    ``after + 1`` on."""
    calls = {"strides": 0}
    original = driver.predict_atoms

    def predict(model: Any, states: List[ase.Atoms]) -> Any:
        target = [len(atoms) == replica_size for atoms in states]
        if any(target):
            calls["strides"] += 1
        if any(target) and calls["strides"] > after:
            if how == "raise":
                raise RuntimeError("neighbour list exploded")
            results = original(model, states)
            results[target.index(True)][1][0, 0] = np.nan
            return results
        return original(model, states)

    monkeypatch.setattr(driver, "predict_atoms", predict)


@pytest.mark.parametrize("how", ["nan", "raise"])
def test_a_replica_that_blows_up_stops_alone(how, model, monkeypatch, tmp_path):
    together = systems()
    integrators = [
        integrator("langevin", a, model, s, trajectory=str(tmp_path / f"{s}.traj"))
        for s, a in enumerate(together)
    ]
    failing_predictions(monkeypatch, replica_size=108, after=2, how=how)
    labels = ["a", "b.xyz, frame 0", "c", "d"]
    outcomes = Replicas(integrators, labels=labels).run(5)
    for dynamics in integrators:
        dynamics.close()
    assert [outcome.steps for outcome in outcomes] == [5, 2, 5, 5]
    expected = "non-finite positions or momenta after stride 3"
    if how == "raise":
        expected = "RuntimeError: neighbour list exploded"
    assert expected in outcomes[1].error
    assert len(ase.io.read(tmp_path / "1.traj", ":")) == 3  # frames 0, 1, 2 kept
    assert np.isfinite(together[1].get_momenta()).all()
    monkeypatch.undo()
    alone = systems()
    for seed in (0, 2, 3):
        integrator("langevin", alone[seed], model, seed).run(5)
        assert_same_states([alone[seed]], [together[seed]])


def test_an_integrator_error_stops_its_replica_alone(model):
    at_rest = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    at_rest.calc = EMT()  # at the minimum: no kinetic energy to absorb the stride
    moving = systems()[0]
    integrators = [
        VelocityVerlet(at_rest, model, conserve_energy=True),
        VelocityVerlet(moving, model),
    ]
    replicas = Replicas(integrators, labels=["rest", None])
    outcomes = replicas.run(3)
    assert outcomes[0].steps == 0
    assert outcomes[0].error.startswith("EnergyConservationError: cannot conserve")
    assert outcomes[1].steps == 3 and outcomes[1].error is None
    again = replicas.run(1)  # a failed replica is left out of later runs
    assert again[0].steps == 0 and again[0].error == outcomes[0].error
    assert again[1].steps == 1 and integrators[1].nsteps == 4


def test_an_interrupted_run_stops_every_thread(model, monkeypatch):
    integrators = [VelocityVerlet(atoms, model) for atoms in systems()]

    def interrupt(*args: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(driver, "predict_atoms", interrupt)
    with pytest.raises(KeyboardInterrupt):
        Replicas(integrators).run(3)
    names = [thread.name for thread in threading.enumerate()]
    assert not [name for name in names if name.startswith("flashmd-replica")]
    assert all(d.predictor is None for d in integrators)
