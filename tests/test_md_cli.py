"""``mtt-flashmd md`` and the library function behind it, :func:`run_md`."""

import csv
import os
import signal
from pathlib import Path
from typing import Any, Dict, List

import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
from helpers import saved_gentle_model
from toy_models import spring_energy_model

from metatrain_flashmd._names import FRAME_TIME_INFO_KEY, MOMENTUM_UNIT
from metatrain_flashmd.ase import FlashMDDynamics, run_md
from metatrain_flashmd.cli import main


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides) whose strides change the
    state by little, saved."""
    return saved_gentle_model(tmp_path_factory.mktemp("models") / "flashmd.pt")


@pytest.fixture
def bare_structure(tmp_path: Path) -> Path:
    """32 Al atoms without momenta."""
    path = tmp_path / "al.xyz"
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=0)
    ase.io.write(path, atoms)
    return path


def read_log(path: Path) -> List[Dict[str, float]]:
    with open(path, newline="") as file:
        return [
            {key: float(value) for key, value in row.items()}
            for row in csv.DictReader(file)
        ]


def test_run_writes_a_trajectory_with_momenta_and_a_log(
    model_path, al_trajectory, tmp_path
):
    output, log = tmp_path / "md.extxyz", tmp_path / "md.csv"
    summary = run_md(
        model_path,
        al_trajectory,
        3,
        output,
        temperature_K=300.0,
        thermostat="langevin",
        time_constant_fs=50.0,
        energy_calculator="emt",
        seed=0,
        log=log,
    )
    frames = ase.io.read(output, ":")
    assert len(frames) == 4
    times = [frame.info[FRAME_TIME_INFO_KEY] for frame in frames]
    assert times == [0.0, 10.0, 20.0, 30.0]
    assert all(frame.has("momenta") for frame in frames)
    assert not np.allclose(frames[-1].get_momenta(), frames[0].get_momenta())
    rows = read_log(log)
    assert [row["time_ps"] for row in rows] == pytest.approx([0, 0.01, 0.02, 0.03])
    for row, frame in zip(rows, frames):
        assert row["temperature_Al_K"] == pytest.approx(row["temperature_K"])
        kinetic = frame.get_kinetic_energy()
        assert row["kinetic_energy_eV"] == pytest.approx(kinetic, rel=1e-8)
        assert row["potential_energy_eV"] == pytest.approx(
            frame.get_potential_energy(), rel=1e-8
        )
        total = row["potential_energy_eV"] + row["kinetic_energy_eV"]
        assert row["total_energy_eV"] == pytest.approx(total, rel=1e-8)
        assert "bath_energy_eV" in row
    # the initial state is at rest: FixCom removes 3 degrees of freedom
    ndof = 3 * len(frames[0]) - 3
    expected = 2 * frames[0].get_kinetic_energy() / (ndof * ase.units.kB)
    assert rows[0]["temperature_K"] == pytest.approx(expected, rel=1e-8)
    assert summary.steps == 3
    assert summary.simulated_ps == pytest.approx(0.03)
    mean = np.mean([row["temperature_K"] for row in rows[1:]])
    assert summary.mean_temperature == pytest.approx(mean, rel=1e-8)
    assert summary.ps_per_day > 0


def test_nve_with_an_energy_model_conserves_the_energy(
    model_path, al_trajectory, tmp_path
):
    energy_model = tmp_path / "springs.pt"
    spring_energy_model(stiffness=0.05).save(str(energy_model))
    log = tmp_path / "md.csv"
    run_md(
        model_path,
        al_trajectory,
        5,
        tmp_path / "md.traj",
        energy_model=energy_model,
        log=log,
    )
    rows = read_log(log)
    frames = ase.io.read(tmp_path / "md.traj", ":")
    assert len(rows) == len(frames) == 6
    springs = 0.025 * np.sum(frames[-1].positions ** 2)
    assert rows[-1]["potential_energy_eV"] == pytest.approx(springs, rel=1e-8)
    totals = np.array([row["total_energy_eV"] for row in rows])
    assert np.abs(totals - totals[0]).max() < 1e-6 * abs(totals[0])
    assert "bath_energy_eV" not in rows[0]


def test_initial_momenta_from_the_temperature(model_path, bare_structure, tmp_path):
    output = tmp_path / "md.extxyz"
    run_md(model_path, bare_structure, 0, output, temperature_K=600.0, seed=1)
    (frame,) = ase.io.read(output, ":")
    momenta = frame.get_momenta()
    assert np.abs(momenta.sum(axis=0)).max() < 1e-6  # written with 8 decimals
    # 93 degrees of freedom: the temperature is 600 K within ~4 standard deviations
    ndof = 3 * len(frame) - 3
    temperature = 2 * frame.get_kinetic_energy() / (ndof * ase.units.kB)
    assert temperature == pytest.approx(600.0, rel=4 * np.sqrt(2 / ndof))
    with pytest.raises(ValueError, match="no momenta: give a temperature"):
        run_md(model_path, bare_structure, 1, output)


def test_thermostats_need_a_temperature(model_path, al_trajectory, tmp_path):
    with pytest.raises(ValueError, match="bussi thermostat needs a temperature"):
        run_md(model_path, al_trajectory, 1, tmp_path / "md.xyz", thermostat="bussi")
    with pytest.raises(ValueError, match="unsupported trajectory format"):
        run_md(model_path, al_trajectory, 1, tmp_path / "md.pdb")


def run_twice(model_path: Path, structure: Path, tmp_path: Path, seeds: Any) -> Any:
    positions = []
    for index, seed in enumerate(seeds):
        output = tmp_path / f"md-{index}.extxyz"
        run_md(
            model_path,
            structure,
            3,
            output,
            temperature_K=300.0,
            thermostat="bussi",
            time_constant_fs=20.0,
            random_rotation=True,
            seed=seed,
        )
        positions.append([frame.positions for frame in ase.io.read(output, ":")])
    return np.array(positions)


def test_a_seed_reproduces_a_run(model_path, bare_structure, tmp_path):
    same = run_twice(model_path, bare_structure, tmp_path, seeds=[7, 7])
    np.testing.assert_array_equal(same[0], same[1])
    different = run_twice(model_path, bare_structure, tmp_path, seeds=[7, 8])
    assert not np.allclose(different[0], different[1])


def test_command_line(model_path, al_trajectory, tmp_path, capsys):
    output, log = tmp_path / "md.extxyz", tmp_path / "md.csv"
    arguments = ["md", str(model_path), str(al_trajectory), "--steps", "2"]
    arguments += ["--thermostat", "bussi", "--temperature", "250"]
    arguments += ["--time-constant", "40", "--seed", "3", "--device", "cpu"]
    arguments += ["--random-rotation", "--energy-calculator", "emt"]
    arguments += ["-o", str(output), "--log", str(log)]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    assert "mean temperature" in printed and "ps/day" in printed
    assert len(ase.io.read(output, ":")) == 3
    assert len(read_log(log)) == 3

    bare = tmp_path / "bare.xyz"
    ase.io.write(bare, ase.build.bulk("Al", cubic=True))
    arguments = ["md", str(model_path), str(bare), "--steps", "1"]
    assert main(arguments + ["-o", str(tmp_path / "x.xyz")]) == 1
    assert "no momenta" in capsys.readouterr().err


def test_progress_is_a_few_lines_when_not_on_a_terminal(
    model_path, al_trajectory, tmp_path, capsys
):
    arguments = ["md", str(model_path), str(al_trajectory), "--steps", "12"]
    assert main(arguments + ["-o", str(tmp_path / "md.xyz"), "--seed", "0"]) == 0
    captured = capsys.readouterr()
    assert "\r" not in captured.err
    lines = captured.err.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"strides {count}/12 ({percent}%)"
        for count, percent in ((3, 25), (6, 50), (9, 75), (12, 100))
    ]
    assert "left; " in lines[0] and "done in" in lines[-1]
    assert all("ps_per_day=" in line and " T=" in line for line in lines)
    assert "mean temperature" in captured.out


def test_help_gives_the_units(capsys):
    with pytest.raises(SystemExit):
        main(["md", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "time constant in fs" in text
    assert "temperature in K" in text
    assert MOMENTUM_UNIT in text


def _interrupt() -> None:
    raise KeyboardInterrupt


def _terminate() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("stop, status", [(_interrupt, 130), (_terminate, 143)])
def test_a_stopped_run_keeps_what_it_wrote(
    model_path, al_trajectory, tmp_path, monkeypatch, stop, status
):
    """Ctrl-C, or ``kill PID`` (``SIGTERM``), during a run closes its files with
    every frame written (the process does not vanish mid-write); exit status 130
    or 143, and the previous ``SIGTERM`` handler back afterwards."""
    strides = []
    stride = FlashMDDynamics.stride

    def stopped(self: FlashMDDynamics) -> None:
        if len(strides) == 2:
            stop()
        strides.append(1)
        stride(self)

    monkeypatch.setattr(FlashMDDynamics, "stride", stopped)
    handler = signal.getsignal(signal.SIGTERM)  # pytest-xdist has its own
    output, log = tmp_path / "md.extxyz", tmp_path / "md.csv"
    arguments = ["md", str(model_path), str(al_trajectory), "--steps", "10"]
    assert main(arguments + ["-o", str(output), "--log", str(log)]) == status
    frames = ase.io.read(output, ":")
    assert len(frames) == 3
    assert frames[-1].info["step"] == 2
    assert [row["step"] for row in read_log(log)] == [0, 1, 2]
    assert signal.getsignal(signal.SIGTERM) is handler
