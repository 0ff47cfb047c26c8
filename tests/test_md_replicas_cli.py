"""``mtt-flashmd md`` with several structures: one replica per file (or per frame
with ``--replicas``), each writing what ``mtt-flashmd md`` writes for its structure
alone with its derived seed; bad input named by file and frame (exit 2); a replica
that stops alone (exit 1)."""

import re
from pathlib import Path
from typing import List

import ase
import ase.build
import ase.io
import numpy as np
import pytest
from ase.calculators.emt import EMT
from ase.optimize import BFGS
from helpers import saved_gentle_model
from toy_models import spring_energy_model

import metatrain_flashmd.ase.run as run
from metatrain_flashmd.ase.base import load_exported as load
from metatrain_flashmd.cli import main


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides) whose strides change the
    state by little, saved."""
    return saved_gentle_model(tmp_path_factory.mktemp("models") / "flashmd.pt")


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in the test's directory (relative output names)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def two_files(al_trajectory: Path, tmp_path: Path) -> List[Path]:
    """Two starting files of different sizes: 32 Al with momenta (the last of two
    frames of EMT MD), and 108 Al without momenta."""
    small, large = tmp_path / "small.extxyz", tmp_path / "large.xyz"
    ase.io.write(small, ase.io.read(al_trajectory, index="0:50:49"))
    crystal = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(3)
    crystal.rattle(0.05, seed=1)
    ase.io.write(large, crystal)
    return [small, large]


def md(model_path: Path, structures: List[Path], *options: str) -> int:
    """Run ``mtt-flashmd md`` for ``structures``; the exit status."""
    return main(["md", str(model_path), *map(str, structures), *options])


def assert_same_frames(path: Path, reference: Path) -> None:
    frames, expected = ase.io.read(path, ":"), ase.io.read(reference, ":")
    assert len(frames) == len(expected)
    for frame, alone in zip(frames, expected):
        assert frame.info["step"] == alone.info["step"]
        np.testing.assert_allclose(frame.positions, alone.positions, atol=1e-7)
        np.testing.assert_allclose(frame.get_momenta(), alone.get_momenta(), atol=1e-7)


def test_files_are_replicas_that_match_runs_alone(
    model_path, two_files, tmp_path, capsys
):
    langevin = ["--thermostat", "langevin", "--temperature", "400"]
    langevin += ["--time-constant", "30", "--steps", "4", "--seed", "5"]
    out, log = tmp_path / "out.extxyz", tmp_path / "out.csv"
    assert md(model_path, two_files, *langevin, "-o", str(out), "--log", str(log)) == 0
    captured = capsys.readouterr()
    written = sorted(path.name for path in tmp_path.glob("out*"))
    assert written == ["out-0.csv", "out-0.extxyz", "out-1.csv", "out-1.extxyz"]
    lines = captured.out.splitlines()
    assert lines[0].startswith(f"replica 0 ({two_files[0]}, last frame): 4 strides")
    assert lines[0].endswith(f"-> {tmp_path / 'out-0.extxyz'}, {log.parent}/out-0.csv")
    assert lines[1].startswith(f"replica 1 ({two_files[1]}, last frame): 4 strides")
    assert lines[2].startswith("2 of 2 replicas completed 4 strides (0.04 ps each)")
    # one progress display for the set: a line at each quarter (not a terminal)
    progress = [
        line for line in captured.err.splitlines() if line.startswith("strides ")
    ]
    assert [line.split(" (")[0] for line in progress] == [
        f"strides {count}/4" for count in (1, 2, 3, 4)
    ]
    # replica i is its structure alone seeded with 5 + i
    for index, (structure, seed) in enumerate(zip(two_files, (5, 6))):
        alone = tmp_path / f"alone-{index}.extxyz"
        options = [*langevin[:-1], str(seed), "-o", str(alone)]
        assert md(model_path, [structure], *options) == 0
        assert_same_frames(tmp_path / f"out-{index}.extxyz", alone)
        rows = (tmp_path / f"out-{index}.csv").read_text().splitlines()
        assert len(rows) == 6
    # which the seed decides: the second file with the first seed differs
    other = tmp_path / "other.extxyz"
    assert md(model_path, two_files[1:], *langevin, "-o", str(other)) == 0
    assert not np.allclose(
        ase.io.read(other).positions, ase.io.read(tmp_path / "out-1.extxyz").positions
    )


def test_every_frame_of_a_file_with_replicas(
    model_path, al_trajectory, tmp_path, caplog, monkeypatch
):
    frames = ase.io.read(al_trajectory, "0:120:40")  # 3 frames, 40 fs apart
    structure = tmp_path / "frames.extxyz"
    ase.io.write(structure, frames)
    springs = tmp_path / "springs.pt"
    spring_energy_model(stiffness=0.05).save(str(springs))
    loads = []
    monkeypatch.setattr(
        run, "load_exported", lambda path: loads.append(path) or load(path)
    )
    nve = ["--steps", "3", "--energy-model", str(springs), "--random-rotation"]
    nve += ["--temperature", "300"]  # unused: the frames have momenta
    nve += ["--seed", "2", "--atom-budget", "64"]  # two model calls per stride
    assert md(model_path, [structure], "--replicas", *nve, "-o", "x.traj") == 0
    assert "300 K is not used by 3 of 3 replicas" in caplog.text
    assert loads == [str(springs)]  # one energy model for the three replicas
    # replica k is frame k alone (rotations drawn with seed 2 + k)
    for index, frame in enumerate(frames):
        single = tmp_path / f"frame-{index}.extxyz"
        ase.io.write(single, frame)
        alone = tmp_path / f"alone-{index}.traj"
        options = [*nve[:-3], str(2 + index), "-o", str(alone)]
        assert md(model_path, [single], *options) == 0
        assert_same_frames(Path(f"x-{index}.traj"), alone)
        energies = [f.get_total_energy() for f in ase.io.read(alone, ":")]
        assert np.ptp(energies) < 1e-6 * abs(energies[0])  # energy rescaling on
    # one structure with --replicas is one numbered replica
    single = tmp_path / "frame-0.extxyz"
    assert md(model_path, [single], "--replicas", *nve, "-o", "one.extxyz") == 0
    assert Path("one-0.extxyz").is_file() and not Path("one.extxyz").exists()


def test_bad_input_names_file_and_frame_before_writing(
    model_path, two_files, tmp_path, capsys
):
    frames = [ase.io.read(two_files[0]) for _ in range(3)]
    frames[1].symbols[2] = "Cu"
    masses = frames[2].get_masses()
    masses[7] = 30.0
    frames[2].set_masses(masses)
    bad = tmp_path / "bad.extxyz"
    ase.io.write(bad, frames)
    options = ["--steps", "2", "--temperature", "300", "-o", "out.extxyz"]
    assert md(model_path, [bad], "--replicas", *options) == 2
    error = capsys.readouterr().err
    assert "2 of 3 replicas cannot be run" in error
    assert f"replica 1 ({bad}, frame 1): this FlashMD model does not know Cu" in error
    assert f"replica 2 ({bad}, frame 2): atom 7 (Al) has mass 30 u" in error
    small = tmp_path / "small-cell.xyz"
    ase.io.write(small, ase.build.bulk("Al", "fcc", a=4.05, cubic=True))
    assert md(model_path, [two_files[0], small], *options) == 2
    error = capsys.readouterr().err
    assert f"replica 1 ({small}, last frame): the periodic cell is narrower" in error
    assert md(model_path, [two_files[0], tmp_path / "missing.xyz"], *options) == 2
    assert "cannot read" in capsys.readouterr().err
    assert not list(tmp_path.glob("out*"))


def test_options_replicas_do_not_support_are_refused(model_path, two_files, capsys):
    npt = ["--steps", "1", "--thermostat", "bussi", "--temperature", "300"]
    npt += ["--energy-calculator", "emt", "--pressure", "0", "-o", "out.extxyz"]
    assert md(model_path, two_files, *npt) == 2
    assert "--pressure: replicas run at constant volume" in capsys.readouterr().err
    single = ["--steps", "1", "--atom-budget", "100", "-o", "out.extxyz"]
    assert md(model_path, two_files[:1], *single) == 2
    assert "--atom-budget is for several replicas" in capsys.readouterr().err
    assert not list(Path().glob("out*"))


def test_a_replica_that_stops_leaves_the_others_running(
    model_path, al_trajectory, tmp_path, capsys
):
    # At rest in an EMT minimum: any move raises the potential energy above the
    # total, which no rescaling of zero momenta can absorb. A vacancy, because in
    # the perfect crystal every environment is symmetric and the model may not
    # move any atom at all (it moved none on one machine of this project).
    at_rest = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    del at_rest[0]
    at_rest.calc = EMT()
    BFGS(at_rest, logfile=None).run(fmax=1e-5)
    at_rest.calc = None
    at_rest.set_momenta(np.zeros((len(at_rest), 3)))
    files = [tmp_path / "moving.extxyz", tmp_path / "rest.extxyz"]
    ase.io.write(files[0], ase.io.read(al_trajectory))
    ase.io.write(files[1], at_rest)
    options = ["--steps", "3", "--energy-calculator", "emt", "-o", "out.extxyz"]
    assert md(model_path, files, *options, "--log", "out.csv") == 1
    captured = capsys.readouterr()
    name = re.escape(f"replica 1 ({files[1]}, last frame)")
    stopped = re.search(name + r" stopped after (\d) of 3 strides", captured.err)
    assert stopped is not None and "EnergyConservationError" in captured.err
    done = int(stopped.group(1))
    assert done < 3 and "1 of 2 replicas completed 3 strides" in captured.out
    assert len(ase.io.read("out-0.extxyz", ":")) == 4
    assert len(ase.io.read("out-1.extxyz", ":")) == done + 1  # kept
    assert len(Path("out-1.csv").read_text().splitlines()) == done + 2


def test_every_md_option_is_either_used_or_refused_by_replicas():
    from metatrain_flashmd.cli import build_parser, md_replicas

    parser = build_parser()
    (md_parser,) = [
        choices["md"]
        for action in parser._actions
        if isinstance(choices := getattr(action, "choices", None), dict)
    ]
    options = {action.dest for action in md_parser._actions} - {"help"}
    assert {"seed", "pressure", "atom_budget"} <= options
    known = set(md_replicas.REPLICA_OPTIONS + md_replicas.CONSTANT_PRESSURE_OPTIONS)
    assert options - known == set(), "classify the new md options for replicas"
