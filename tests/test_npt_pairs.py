"""Pairs from a variable-cell trajectory: the later frame mapped into the earlier
frame's cell gives the fixed-cell dynamics within the bound of
:mod:`metatrain_flashmd.pairs.cells`."""

from pathlib import Path
from typing import List, Tuple

import ase
import ase.io
import ase.units
import numpy as np
import pytest
from npt_toys import toy_crystal

from metatrain_flashmd._names import FUTURE_MOMENTA_KEY, FUTURE_POSITIONS_KEY
from metatrain_flashmd.cli import main
from metatrain_flashmd.pairs.build import FRAME_INFO_KEY
from metatrain_flashmd.pairs.cells import cell_strain


OMEGA = 2 * np.pi / 37.0 / ase.units.fs  # per ASE time unit
FRAME_FS = 2.0
LAG = 8


def einstein_flow(atoms: ase.Atoms, sites: np.ndarray, duration_fs: float):
    """Exact motion at fixed cell of atoms tied to ``sites`` (fractional): new
    positions (A) and momenta ((eV*u)^(1/2))."""
    masses = atoms.get_masses()[:, None]
    d = atoms.positions - sites @ atoms.cell.array
    p = atoms.get_momenta()
    angle = OMEGA * duration_fs * ase.units.fs
    c, s = np.cos(angle), np.sin(angle)
    new_d = d * c + p * s / (masses * OMEGA)
    new_p = p * c - masses * OMEGA * d * s
    return sites @ atoms.cell.array + new_d, new_p


def rescale(atoms: ase.Atoms, factor: float) -> None:
    """Cell and positions times ``factor``, momenta divided by it."""
    atoms.set_cell(atoms.cell.array * factor, scale_atoms=True)
    atoms.set_momenta(atoms.get_momenta() / factor)


def variable_cell_frames(count: int, seed: int) -> Tuple[List[ase.Atoms], np.ndarray]:
    """A toy crystal whose cell is rescaled by a random factor (0.1% rms per length)
    around each exact fixed-cell step of 2 fs, as the barostat does; frames with
    momenta and ``time_fs``, and the sites' fractional coordinates."""
    rng = np.random.default_rng(seed)
    atoms = toy_crystal(2)
    sites = atoms.get_scaled_positions()
    kt = ase.units.kB * 600.0
    masses = atoms.get_masses()[:, None]
    atoms.positions += rng.normal(size=(8, 3)) * np.sqrt(kt / masses) / OMEGA
    atoms.set_momenta(rng.normal(size=(8, 3)) * np.sqrt(kt * masses))
    frames = []
    for index in range(count):
        frame = atoms.copy()
        frame.info["time_fs"] = index * FRAME_FS
        frames.append(frame)
        half = np.exp(0.5 * rng.normal(scale=1e-3))
        rescale(atoms, half)
        positions, momenta = einstein_flow(atoms, sites, FRAME_FS)
        atoms.positions = positions
        atoms.set_momenta(momenta)
        rescale(atoms, half)
    return frames, sites


def test_pairs_follow_the_fixed_cell_dynamics_within_the_bound(tmp_path: Path):
    frames, sites = variable_cell_frames(60, seed=0)
    source = tmp_path / "npt.extxyz"
    ase.io.write(source, frames)
    output = tmp_path / "pairs.xyz"
    arguments = ["pairs", str(source), "--lag", str(LAG), "--spacing", "3"]
    arguments += ["--validation", "0", "--test", "0", "-o", str(output)]
    assert main(arguments) == 0
    pairs = ase.io.read(tmp_path / "pairs-train.xyz", ":")
    assert len(pairs) > 10
    tau = LAG * FRAME_FS * ase.units.fs
    largest = 0.0
    naive, errors = [], []
    for pair in pairs:
        start = pair.info[FRAME_INFO_KEY]
        window = frames[start : start + LAG + 1]
        strain = max(cell_strain(window[0].cell.array, f.cell.array) for f in window)
        largest = max(largest, strain)
        np.testing.assert_allclose(pair.cell.array, window[0].cell.array, atol=1e-6)
        exact_q, exact_p = einstein_flow(window[0], sites, LAG * FRAME_FS)
        masses = pair.get_masses()[:, None]
        speeds = max(np.linalg.norm(f.get_momenta(), axis=1).max() for f in window)
        forces = max(
            np.linalg.norm(
                (f.positions - sites @ f.cell.array) * masses * OMEGA**2, axis=1
            ).max()
            for f in window
        )
        error_q = np.abs(pair.arrays[FUTURE_POSITIONS_KEY] - exact_q).max()
        error_p = np.abs(pair.arrays[FUTURE_MOMENTA_KEY] - exact_p).max()
        assert error_q <= 2 * strain * speeds * tau / masses.min() * 1.05 + 2e-6
        assert error_p <= 2 * strain * forces * tau * 1.05 + 2e-6
        # without the mapping, the later frame's absolute positions are off by the
        # strain times the cell size: far more
        naive.append(np.abs(frames[start + LAG].positions - exact_q).max())
        errors.append(error_q)
    assert 5e-4 < largest < 0.01
    assert np.mean(naive) > 10 * np.mean(errors)


def test_a_cell_change_beyond_the_tolerance_is_refused(tmp_path: Path, capsys):
    frames, _ = variable_cell_frames(30, seed=1)
    source = tmp_path / "npt.extxyz"
    ase.io.write(source, frames)
    arguments = ["pairs", str(source), "--lag", str(LAG), "--validation", "0"]
    arguments += ["--test", "0", "-o", str(tmp_path / "pairs.xyz")]
    assert main(arguments + ["--max-cell-strain", "1e-5"]) == 1
    message = capsys.readouterr().err
    assert "--max-cell-strain" in message and "strained by" in message
    assert not (tmp_path / "pairs-train.xyz").exists()
    with pytest.raises(SystemExit):
        main(arguments + ["--max-cell-strain", "x"])
