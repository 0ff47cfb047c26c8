"""The i-PI input of the documentation (docs/snippets/ipi-input.xml) works as
written: i-PI's metatomic driver with an exported MLIP (a tiny random PET here)
serves energy and stress, and FlashMD strides run in NpT."""

import shutil
from pathlib import Path

import ase.build
import ase.io
import numpy as np
import pytest


pytest.importorskip(
    "ipi", reason="i-PI is not installed: pip install 'metatrain-flashmd[ipi]'"
)

from helpers import TINY_MODEL_HYPERS, tiny_model  # noqa: E402

from metatrain_flashmd.ipi import run_ipi  # noqa: E402


SNIPPET = Path(__file__).parents[1] / "docs" / "snippets" / "ipi-input.xml"

pytestmark = [
    pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*al.xyz:pytest.PytestUnraisableExceptionWarning"
    ),
]


def export_tiny_mlip(path: Path) -> None:
    """A randomly initialised tiny PET energy model for Al, exported (metatomic)."""
    from metatrain.pet import PET
    from metatrain.utils.architectures import get_default_hypers
    from metatrain.utils.data import DatasetInfo
    from metatrain.utils.data.target_info import get_energy_target_info

    hypers = get_default_hypers("pet")["model"]
    hypers.update(TINY_MODEL_HYPERS)
    energy = get_energy_target_info("energy", {"unit": "eV"})
    info = DatasetInfo(
        length_unit="angstrom", atomic_types=[13], targets={"energy": energy}
    )
    PET(hypers, info).export().save(str(path))


def test_documented_input_runs_npt_with_a_metatomic_mlip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(SNIPPET, "input.xml")
    ase.io.write("al.xyz", ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2))
    export_tiny_mlip(tmp_path / "mlip.pt")
    tiny_model(timestep=16.0).export().save("flashmd.pt")
    summary = run_ipi("input.xml", "flashmd.pt", steps=2)
    assert summary.steps == 2
    assert summary.timestep_fs == pytest.approx(16.0)
    # time (ps), conserved, temperature, potential, pressure, volume, every 10 steps
    (row,) = np.loadtxt("flashmd.out", ndmin=2)
    assert row[4] != 0.0 and row[5] != 0.0
    assert Path("flashmd.pos_0.extxyz").is_file()
    assert Path("RESTART").is_file()


def test_command_runs_the_documented_input(tmp_path, monkeypatch, capsys):
    from metatrain_flashmd.cli import main

    monkeypatch.chdir(tmp_path)
    shutil.copy(SNIPPET, "input.xml")
    ase.io.write("al.xyz", ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2))
    export_tiny_mlip(tmp_path / "mlip.pt")
    tiny_model(timestep=8.0).export().save("wrong-stride.pt")
    assert main(["ipi", "input.xml", "--model", "wrong-stride.pt"]) == 1
    error = capsys.readouterr().err
    assert "mtt-flashmd ipi: error:" in error and "8" in error and "16" in error
    assert not Path("flashmd.out").exists() or Path("flashmd.out").stat().st_size == 0

    tiny_model(timestep=16.0).export().save("flashmd.pt")
    assert main(["ipi", "input.xml", "--model", "flashmd.pt", "--steps", "2"]) == 0
    assert "2 strides (0.032 ps)" in capsys.readouterr().out
