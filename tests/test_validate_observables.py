"""The observables a validation compares (``metatrain_flashmd.observables``), on
data with known answers."""

import math

import ase.build
import numpy as np
import pytest

from metatrain_flashmd.observables.energy import energy_drift, total_energy_per_atom
from metatrain_flashmd.observables.statistics import block_error, equipartition
from metatrain_flashmd.observables.structure import rdf, rdf_difference, rdf_keys
from metatrain_flashmd.observables.trajectory import trajectory_from_atoms
from metatrain_flashmd.observables.transport import (
    diffusion,
    mean_square_displacement,
    unwrap,
    vacf,
    vacf_difference,
)


PERIODIC = np.ones(3, dtype=bool)


def rattled_alloy(seed: int = 0) -> ase.Atoms:
    """32 atoms of fcc Cu with 8 Au, randomly displaced."""
    atoms = ase.build.bulk("Cu", "fcc", a=3.7, cubic=True).repeat(2)
    atoms.symbols[:8] = "Au"
    atoms.rattle(0.2, seed=seed)
    return atoms


def test_rdf_counts_every_image_and_normalises():
    """Against a brute-force count over 5 x 5 x 5 images (the cell is 7.4 A, and
    r_max 6 A reaches past half of it)."""
    atoms = rattled_alloy()
    result = rdf(atoms.positions[None], atoms.cell.array, atoms.numbers, PERIODIC)
    assert (
        list(result)
        == ["r", *rdf_keys(atoms.numbers)]
        == [
            "r",
            "total",
            "Cu-Cu",
            "Cu-Au",
            "Au-Au",
        ]
    )
    shifts = np.array(np.meshgrid(*[range(-2, 3)] * 3)).reshape(3, -1).T
    images = (shifts @ atoms.cell.array)[:, None, None, :]
    delta = atoms.positions[None, :, None] - atoms.positions[None, None, :] + images
    distance = np.linalg.norm(delta, axis=-1)
    distinct = ~np.eye(len(atoms), dtype=bool)[None]
    counts = (
        np.histogram(
            distance[np.broadcast_to(distinct, distance.shape)],
            np.arange(0, 6.025, 0.05),
        )[0]
        / 2
    )
    shells = 4 / 3 * np.pi * np.diff(np.arange(0, 6.025, 0.05) ** 3)
    ideal = 32 * 31 / 2 * shells / atoms.get_volume()
    np.testing.assert_allclose(result["total"], counts / ideal, atol=1e-12)
    # the partials, weighted by their pair counts, add up to the total
    pairs = {"Cu-Cu": 24 * 23 / 2, "Cu-Au": 24 * 8, "Au-Au": 8 * 7 / 2}
    weighted = sum(result[key] * count for key, count in pairs.items())
    np.testing.assert_allclose(weighted / (32 * 31 / 2), result["total"], atol=1e-12)


def test_rdf_difference():
    atoms = rattled_alloy()
    first = rdf(atoms.positions[None], atoms.cell.array, atoms.numbers)
    assert rdf_difference(first, first) == 0.0
    other = {**first, "total": first["total"] + 0.5}
    assert rdf_difference(first, other) == pytest.approx(0.5)


def test_unwrap_and_msd_across_a_triclinic_cell():
    cell = np.array([[5.0, 0.0, 0.0], [2.0, 5.0, 0.0], [0.0, 1.0, 5.0]])
    velocity = np.array([0.7, -0.4, 0.9])  # A per frame
    true = np.array([[[0.1, 0.2, 0.3]]]) + np.arange(40)[:, None, None] * velocity
    fractional = true @ np.linalg.inv(cell)
    wrapped = (fractional - np.floor(fractional)) @ cell
    np.testing.assert_allclose(unwrap(wrapped, cell, PERIODIC), true, atol=1e-10)
    curve = mean_square_displacement(true, 2.0, 20.0)
    np.testing.assert_allclose(curve["t"], np.arange(11) * 2.0)
    np.testing.assert_allclose(curve["msd"], np.arange(11) ** 2 * (velocity @ velocity))


def test_diffusion_of_a_random_walk():
    """Steps of variance s^2 per direction and frame: D = s^2 / (2 dt)."""
    rng = np.random.default_rng(0)
    steps = rng.normal(scale=0.1, size=(400, 100, 3))
    positions = np.cumsum(steps, axis=0)
    result = diffusion(positions, np.eye(3) * 1000.0, PERIODIC, 10.0)
    expected = 0.1**2 / (2 * 10.0) * 1000  # A^2/ps
    assert result["D_A2_per_ps"] == pytest.approx(expected, rel=0.1)
    half_ps = 199 * 10.0 / 1000  # the largest lag up to half of 399 frames
    assert result["msd_half_A2"] == pytest.approx(6 * expected * half_ps, rel=0.1)


def test_vacf_of_oscillators():
    """Atoms oscillating at one frequency: C(t) = cos(w t), whatever the mass."""
    times = np.arange(400) * 2.0
    omega = 2 * np.pi / 100.0
    phases = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    masses = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    velocity = np.cos(omega * times[:, None] + phases[None])
    momenta = np.zeros((400, 8, 3))
    momenta[:, :, 0] = velocity * masses
    numbers = np.array([13] * 4 + [29] * 4)
    curves = vacf(momenta, masses, numbers, 2.0, 200.0)
    for symbol in ("Al", "Cu"):
        np.testing.assert_allclose(
            curves[symbol], np.cos(omega * curves["t"]), atol=0.02
        )
    assert vacf_difference(curves, curves, "Al") == 0.0


def test_energy_drift_and_block_error():
    masses = np.ones(4)
    momenta = np.zeros((11, 4, 3))
    time_fs = np.arange(11) * 100.0
    potential = 4 * 0.002 * time_fs / 1000.0  # 2 meV/atom/ps
    assert energy_drift(time_fs, potential, momenta, masses) == pytest.approx(2.0)
    np.testing.assert_allclose(
        total_energy_per_atom(potential, momenta, masses)[1], 2e-4
    )
    assert math.isnan(energy_drift(time_fs, potential * np.nan, momenta, masses))
    noise = np.random.default_rng(1).normal(size=10000)
    assert block_error(noise) == pytest.approx(0.01, rel=0.4)
    assert math.isnan(block_error(noise[:15]))


def test_equipartition():
    momenta = np.ones((5, 3, 3))
    figures = equipartition(momenta, np.ones(3))
    assert figures == {"direction_ratio": 1.0, "atom_spread": 0.0}


def test_trajectory_windows():
    frames = [rattled_alloy(seed) for seed in range(10)]
    for index, frame in enumerate(frames):
        frame.set_momenta(np.full((32, 3), float(index)))
    trajectory = trajectory_from_atoms(frames, time_fs=np.arange(10) * 4.0)
    assert trajectory.frame_interval_fs == 4.0 and trajectory.duration_fs == 36.0
    first, second = trajectory.halves()
    assert (first.num_frames, second.time_fs[0]) == (5, 20.0)
    assert trajectory.without_start(0.1).num_frames == 9
    frame = trajectory.frame(3)
    assert frame.info["time_fs"] == 12.0 and frame.get_momenta()[0, 0] == 3.0
    assert list(frame.symbols[:8]) == ["Au"] * 8
