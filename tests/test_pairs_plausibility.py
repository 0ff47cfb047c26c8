"""``mtt-flashmd pairs`` refuses momenta that contradict the frame interval or give
no physical temperature, and warns about strides beyond the known range."""

import logging
import re
from pathlib import Path
from typing import List

import ase
import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
from helpers import ase_md_trajectory
from test_pairs import write_lammps_dump

from metatrain_flashmd._stride import stride_warning
from metatrain_flashmd.cli import main
from metatrain_flashmd.pairs.build import build_pairs
from metatrain_flashmd.pairs.reading import ReadOptions


@pytest.fixture(scope="module")
def al_frames(al_trajectory: Path) -> List[ase.Atoms]:
    return ase.io.read(al_trajectory, ":")


def untimed(frames: List[ase.Atoms], path: Path) -> Path:
    """``frames`` written without their times (the interval must then be given)."""
    frames = [atoms.copy() for atoms in frames]
    for atoms in frames:
        atoms.info.pop("time_fs", None)
    ase.io.write(path, frames)
    return path


def pairs_command(tmp_path: Path, source: Path, *arguments: str) -> List[str]:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ["pairs", str(source), "-o", str(out / "pairs.xyz"), "-q", *arguments]


def test_a_frame_interval_the_momenta_contradict_is_refused(
    tmp_path, al_frames, capsys
):
    source = untimed(al_frames, tmp_path / "untimed.extxyz")  # frames 1 fs apart
    arguments = pairs_command(tmp_path, source, "--lag", "8")
    assert main(arguments + ["--frame-interval", "20"]) == 1
    message = capsys.readouterr().err
    moved, predicted = re.search(
        r"atoms move ([\d.e+-]+) A from one frame to the next.* times 20 fs \(from "
        r"--frame-interval\) gives ([\d.e+-]+) A, so the frames look 1 fs apart",
        message,
    ).groups()
    assert float(predicted) / float(moved) == pytest.approx(20, rel=0.05)
    assert "--no-interval-check" in message
    assert list((tmp_path / "out").iterdir()) == []

    # too short an interval (velocities too large for it) is refused as well
    assert main(arguments + ["--frame-interval", "0.4"]) == 1
    assert "look 1 fs apart" in capsys.readouterr().err

    # the right interval passes, and the flag accepts the wrong one
    assert main(arguments + ["--frame-interval", "1"]) == 0
    assert main(arguments + ["--frame-interval", "20", "--no-interval-check"]) == 0


def test_recorded_times_are_checked_and_far_apart_frames_pass(tmp_path, al_frames):
    every_tenth = tmp_path / "sparse.extxyz"  # frames 10 fs apart, times recorded
    ase.io.write(every_tenth, al_frames[::10])
    summary = build_pairs(
        [every_tenth], tmp_path / "pairs.xyz", lag=2, spacing=1, validation=0, test=0
    )
    assert summary.frame_interval == 10.0 and summary.timestep == 20.0

    relabelled = [atoms.copy() for atoms in al_frames]
    for atoms in relabelled:
        atoms.info["time_fs"] *= 5
    wrong = tmp_path / "relabelled.extxyz"
    ase.io.write(wrong, relabelled)
    with pytest.raises(ValueError, match=r"times 5 fs \(from the times recorded in"):
        build_pairs([wrong], tmp_path / "p.xyz", lag=8, validation=0, test=0)


def test_lammps_units_of_another_style_are_refused(tmp_path, al_frames):
    dump = tmp_path / "metal.lammpstrj"
    write_lammps_dump(dump, al_frames[:40], "metal", steps=list(range(0, 400, 10)))
    arguments = {"lag": 5, "frame_interval": 1.0, "validation": 0.25, "test": 0.0}
    as_real = ReadOptions(species=["Al"], lammps_units="real")
    with pytest.raises(ValueError) as error:
        build_pairs([dump], tmp_path / "pairs.xyz", read_options=as_real, **arguments)
    message = str(error.value)
    temperature = np.mean([atoms.get_temperature() for atoms in al_frames[:40]])
    assert "not physical (above 1e+05 K)" in message
    assert "read in LAMMPS 'real' units" in message
    assert f"--lammps-units metal gives {temperature:.1f} K" in message
    assert "--no-interval-check" not in message  # no flag skips this one

    as_metal = ReadOptions(species=["Al"], lammps_units="metal")
    build_pairs([dump], tmp_path / "pairs.xyz", read_options=as_metal, **arguments)


@pytest.mark.parametrize(
    "scale, expected",
    [
        (0.0, "every momentum is zero"),
        (1e3, r"temperature is 1.8\d*e\+08 K, not physical"),
    ],
)
def test_momenta_in_no_physical_unit_are_refused(tmp_path, al_frames, scale, expected):
    frames = [atoms.copy() for atoms in al_frames[:40]]
    for atoms in frames:
        atoms.set_momenta(scale * atoms.get_momenta())
    source = tmp_path / "scaled.extxyz"
    ase.io.write(source, frames)
    with pytest.raises(ValueError, match=expected) as error:
        build_pairs([source], tmp_path / "pairs.xyz", lag=5, validation=0.25, test=0)
    assert "(eV*u)^(1/2)" in str(error.value)


# -- strides beyond the known range -------------------------------------------------


def test_the_stride_warning_says_why():
    assert stride_warning(64.0) is None
    assert stride_warning(64.0, md_step_fs=1.0, frames_per_stride=64) is None
    long = stride_warning(250.0)
    assert "250 fs is above the 200 fs" in long and "chaotic" in long
    many_steps = stride_warning(120.0, md_step_fs=0.5)
    assert "240 times the 0.5 fs step of the reference MD" in many_steps
    assert "at least 150 of its MD steps" in stride_warning(150.0, None, 150)


def test_pairs_warns_about_a_long_stride(tmp_path, al_frames, caplog):
    source = untimed(al_frames, tmp_path / "untimed.extxyz")
    with caplog.at_level(logging.WARNING):
        build_pairs(
            [source],
            tmp_path / "pairs.xyz",
            lag=10,
            frame_interval=25.0,
            validation=0,
            test=0,
            check_interval=False,
        )
    assert "warning: a stride of 250 fs is above the 200 fs" in caplog.text


def test_pairs_knows_the_md_step_of_an_ase_trajectory(tmp_path, caplog):
    source = tmp_path / "md.traj"
    ase_md_trajectory(source, 0.25, loginterval=4, steps=160)  # frames 1 fs apart
    with caplog.at_level(logging.WARNING):
        build_pairs([source], tmp_path / "pairs.xyz", lag=30, validation=0, test=0)
    assert "120 times the 0.25 fs step of the reference MD" in caplog.text
