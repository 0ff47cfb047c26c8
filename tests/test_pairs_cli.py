"""The ``mtt-flashmd pairs`` command, and its options file through ``mtt train``."""

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List

import ase.io
import numpy as np
import pytest
import yaml
from test_pairs import write_lammps_dump

from metatrain_flashmd._names import MOMENTUM_UNIT, TIMESTEP_INFO_KEY
from metatrain_flashmd.cli import main
from metatrain_flashmd.cli.pairs import LEGACY_REVERSAL_NOTE, parse_species


TINY_OVERRIDES = {
    "architecture.model.d_pet": 8,
    "architecture.model.d_head": 8,
    "architecture.model.d_node": 8,
    "architecture.model.d_feedforward": 8,
    "architecture.model.num_heads": 1,
    "architecture.model.num_attention_layers": 1,
    "architecture.model.num_gnn_layers": 1,
    "architecture.training.num_epochs": 1,
    "architecture.training.batch_size": 4,
}


def reported_counts(text: str) -> Dict[str, int]:
    """Structures per set from the summary lines ``training: 42 -> file``."""
    return {
        label: int(count)
        for label, count in re.findall(r"(\w+):\s+(\d+) ->", text, re.MULTILINE)
    }


def test_pairs_command_writes_sets_and_summary(tmp_path, al_trajectory, capsys):
    output = tmp_path / "pairs.xyz"
    status = main(
        ["pairs", str(al_trajectory), "--lag", "10", "--spacing", "4"]
        + ["-o", str(output), "--options", str(tmp_path / "options.yaml")]
    )
    assert status == 0
    captured = capsys.readouterr()
    # not on a terminal: no progress bar, a line at each quarter of the frames
    progress = captured.err.splitlines()
    assert [line.split(":")[0] for line in progress] == [
        "frames 30/120 (25%)",
        "frames 60/120 (50%)",
        "frames 90/120 (75%)",
        "frames 120/120 (100%)",
    ]
    assert "\r" not in captured.err and "done in" in progress[-1]
    assert "read 120 frames" in captured.out
    assert "mtt train reverses the pairs at random on the fly" in captured.out
    assert "pairs 10 fs apart" in captured.out
    counts = reported_counts(captured.out)
    assert set(counts) == {"training", "validation", "test"}
    for label, name in (("training", "train"), ("validation", "val"), ("test", "test")):
        written = ase.io.read(tmp_path / f"pairs-{name}.xyz", ":")
        assert len(written) == counts[label] > 0
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "options.yaml",
        "pairs-test.xyz",
        "pairs-train.xyz",
        "pairs-val.xyz",
    ]
    options = yaml.safe_load((tmp_path / "options.yaml").read_text())
    assert options["architecture"]["training"]["timestep"] == 10.0


def test_reversed_twins_only_on_request_and_quiet(tmp_path, al_trajectory, capsys):
    def run(name: str, extra: List[str]) -> int:
        output = tmp_path / name / "pairs.xyz"
        output.parent.mkdir()
        arguments = ["pairs", str(al_trajectory), "--lag", "6", "-o", str(output)]
        assert main(arguments + ["--test", "0", "--quiet"] + extra) == 0
        assert not (tmp_path / name / "pairs-test.xyz").exists()
        return len(ase.io.read(output.with_name("pairs-train.xyz"), ":"))

    single = run("default", [])
    with_twins = run("twins", ["--write-reversed-twins"])
    assert with_twins == 2 * single > 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""

    # the flags of earlier versions still work, with a note
    assert run("legacy-off", ["--no-time-reversal"]) == single
    assert run("legacy-on", ["--time-reversal"]) == with_twins
    captured = capsys.readouterr()
    assert captured.err == 2 * (LEGACY_REVERSAL_NOTE + "\n")


def test_errors_name_file_and_frame(tmp_path, al_trajectory, capsys):
    frames = ase.io.read(al_trajectory, ":")
    frames[17].positions[4, 1] = np.nan
    source = tmp_path / "bad.extxyz"
    ase.io.write(source, frames)
    out = tmp_path / "out"
    out.mkdir()
    status = main(["pairs", str(source), "--lag", "10", "-o", str(out / "p.xyz")])
    assert status == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"mtt-flashmd pairs: error: {source}, frame 17, atom 4: positions are not "
        "finite (NaN or inf)\n"
    )
    assert list(out.iterdir()) == []


def test_lammps_dump_through_the_command(tmp_path, al_trajectory):
    frames = ase.io.read(al_trajectory, ":40")
    dump = tmp_path / "run.lammpstrj"
    write_lammps_dump(dump, frames, "real", steps=list(range(0, 400, 10)))
    momenta = {}
    for units in ("real", "metal"):
        output = tmp_path / units / "pairs.xyz"
        output.parent.mkdir()
        arguments = ["pairs", str(dump), "--lag", "5", "-o", str(output), "-q"]
        arguments += ["--frame-interval", "1", "--species", "Al"]
        arguments += ["--validation", "0.25", "--test", "0"]
        if units == "real":
            arguments += ["--lammps-units", "real"]
        else:  # velocities 1000 times too small: the momenta contradict 1 fs
            arguments += ["--no-interval-check"]
        assert main(arguments) == 0
        pairs = ase.io.read(output.with_name("pairs-train.xyz"), ":")
        assert pairs[0].info[TIMESTEP_INFO_KEY] == 5.0
        momenta[units] = pairs[0].get_momenta()
    np.testing.assert_allclose(momenta["real"], frames[0].get_momenta(), atol=1e-7)
    # the same numbers read as metal velocities (A/ps) are 1000 times smaller
    np.testing.assert_allclose(momenta["metal"], momenta["real"] / 1000, atol=1e-7)


def test_help_states_units_and_naming(capsys):
    with pytest.raises(SystemExit) as exit_status:
        main(["pairs", "--help"])
    assert exit_status.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for phrase in (
        "in fs",
        MOMENTUM_UNIT,
        "pairs-train.xyz, pairs-val.xyz and pairs-test.xyz",
        "relative to the directory of this options file",
        "mtt train reverses them in time at random on the fly",
        "--write-reversed-twins",
        "--species",
        "--lammps-units",
        "A/ps",
    ):
        assert phrase in text, phrase
    assert "--no-time-reversal" not in text  # kept for old scripts, not shown
    assert parse_species("Al,Cu") == parse_species("Al Cu") == ["Al", "Cu"]


# -- through mtt train ---------------------------------------------------------------


def run_module(
    module: str, arguments: List[str], cwd: Path
) -> "subprocess.CompletedProcess[str]":
    environment = {**os.environ, "OMP_NUM_THREADS": "2"}
    return subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
    )


@pytest.fixture(scope="module")
def training_directory(tmp_path_factory, al_trajectory) -> Path:
    """Pairs in ``data/`` and ``options.yaml`` written by the command (run as a
    program), in a directory from which ``mtt train`` is run."""
    directory = tmp_path_factory.mktemp("training")
    (directory / "data").mkdir()
    arguments = ["pairs", str(al_trajectory), "--lag", "10", "--spacing", "10"]
    arguments += ["-o", "data/pairs.xyz", "--options", "options.yaml", "--quiet"]
    result = run_module("metatrain_flashmd.cli", arguments, directory)
    assert result.returncode == 0, result.stderr
    return directory


def mtt_train(directory: Path, *overrides: str) -> "subprocess.CompletedProcess[str]":
    settings = [f"{key}={value}" for key, value in TINY_OVERRIDES.items()]
    settings += overrides
    arguments = ["train", "options.yaml"]
    for setting in settings:
        arguments += ["-r", setting]
    return run_module("metatrain", arguments, directory)


@pytest.mark.slow
def test_written_options_train_one_epoch(training_directory):
    result = mtt_train(training_directory)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (training_directory / "model.pt").is_file()
    assert "Epoch:    0" in result.stdout + result.stderr


@pytest.mark.slow
def test_mtt_train_refuses_pairs_of_another_timestep(training_directory):
    result = mtt_train(training_directory, "architecture.training.timestep=12")
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "holds pairs 10.0 fs apart (info key 'flashmd_timestep')" in output
    assert "training.timestep is 12.0 fs" in output
