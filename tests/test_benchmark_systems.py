"""The benchmarks' shared structures and EMT dynamics (``benchmarks/systems.py``):
seeded, at rest, and pairs that EMT itself reproduces."""

import importlib.util
from pathlib import Path

import ase.io
import numpy as np
import pytest


def _load_systems():
    """``benchmarks/systems.py`` as a module (the benchmarks are scripts, not a
    package)."""
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "systems.py"
    spec = importlib.util.spec_from_file_location("benchmark_systems", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


systems = _load_systems()


def test_fcc_aluminium_sizes():
    assert len(systems.fcc_aluminium()) == 108
    assert len(systems.inference_system("al:256", Path("."))) == 256
    with pytest.raises(ValueError, match="fcc Al sizes"):
        systems.inference_system("al:100", Path("."))
    with pytest.raises(ValueError, match="unknown system"):
        systems.inference_system("ne:4", Path("."))


def test_displaced_aluminium_is_seeded_and_at_rest():
    first = systems.displaced_aluminium(2, 300.0, seed=3)
    again = systems.displaced_aluminium(2, 300.0, seed=3)
    other = systems.displaced_aluminium(2, 300.0, seed=4)
    np.testing.assert_array_equal(first.positions, again.positions)
    np.testing.assert_array_equal(first.get_momenta(), again.get_momenta())
    assert not np.allclose(first.positions, other.positions)
    np.testing.assert_allclose(first.get_momenta().sum(axis=0), 0.0, atol=1e-10)
    shift = first.positions - systems.fcc_aluminium(2).positions
    assert 0.02 < shift.std() < 0.08  # DISPLACEMENT_A = 0.05 A


def test_equilibrate_keeps_the_centre_of_mass_at_rest():
    start = systems.fcc_aluminium(2)
    atoms = systems.equilibrate(start, 300.0, duration_fs=20.0, seed=1)
    assert atoms.calc is None
    np.testing.assert_allclose(atoms.get_momenta().sum(axis=0), 0.0, atol=1e-8)
    assert 0.0 < atoms.get_temperature() < 1500.0


def test_emt_nve_frames_and_round_trip(tmp_path):
    start = systems.displaced_aluminium(2, 300.0, seed=0)
    run = systems.emt_nve(start, 10.0, 2, tmp_path / "run.extxyz")
    np.testing.assert_allclose(run.time_fs, [0, 2, 4, 6, 8, 10])
    assert run.positions.shape == (6, 32, 3)
    assert len(ase.io.read(tmp_path / "run.extxyz", ":")) == 6
    kinetic = 0.5 * np.sum(run.momenta**2 / run.masses[:, None], axis=(1, 2))
    total = run.potential_energy + kinetic
    assert np.ptp(total) < 1e-3 * len(start)  # eV: velocity Verlet at 1 fs
    systems.save_trajectory(tmp_path / "run.npz", run)
    loaded = systems.load_trajectory(tmp_path / "run.npz")
    np.testing.assert_array_equal(loaded.momenta, run.momenta)
    assert loaded.frame_interval_fs == 2.0


def test_aluminium_pairs_are_reproduced_by_emt(tmp_path):
    path = tmp_path / "pairs.extxyz"
    assert systems.aluminium_pairs(path, 3, lag_fs=4, spacing_fs=2) == 32
    pairs = ase.io.read(path, ":")
    assert len(pairs) == 3
    pair = pairs[1]
    run = systems.emt_nve(pair, 4.0, 4)
    np.testing.assert_allclose(
        run.positions[-1], pair.arrays["future_positions"], atol=1e-6
    )
    np.testing.assert_allclose(
        run.momenta[-1], pair.arrays["future_momenta"], atol=1e-5
    )
