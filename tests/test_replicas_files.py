"""Replicas from files write, each, what ``run_md`` writes for its structure and
seed."""

from pathlib import Path
from typing import Any, List

import ase
import ase.build
import ase.io
import numpy as np
import pytest
from helpers import tiny_model

from metatrain_flashmd.ase import run_md
from metatrain_flashmd.replicas import (
    ReplicaInputError,
    ReplicaOptions,
    numbered_paths,
    run_replicas,
)


@pytest.fixture(scope="module")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random FlashMD model for Al (10 fs strides, float64), saved."""
    path = tmp_path_factory.mktemp("models") / "flashmd.pt"
    tiny_model().export().save(str(path))
    return path


@pytest.fixture
def structures(al_trajectory: Path, tmp_path: Path) -> List[Path]:
    """Three starting files: 32 Al with momenta (frames 0 and 5 of EMT MD) and 108
    Al without momenta."""
    paths = [tmp_path / "a.extxyz", tmp_path / "b.extxyz", tmp_path / "c.xyz"]
    ase.io.write(paths[0], ase.io.read(al_trajectory, index=0))
    ase.io.write(paths[1], ase.io.read(al_trajectory, index=5))
    large = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(3)
    large.rattle(0.05, seed=1)
    ase.io.write(paths[2], large)
    return paths


def test_each_replica_writes_what_run_md_writes(model_path, structures, tmp_path):
    options = ReplicaOptions(
        thermostat="bussi",
        temperature_K=500.0,
        time_constant_fs=40.0,
        energy_calculator="emt",
        random_rotation=True,
    )
    outputs = numbered_paths(tmp_path / "together.extxyz", 3)
    logs = numbered_paths(tmp_path / "together.csv", 3)
    seeds = [11, 12, 13]
    outcomes = run_replicas(
        model_path,
        [(path, None) for path in structures],
        4,
        outputs,
        options,
        logs=logs,
        seeds=seeds,
        interval=2,
    )
    assert [o.label for o in outcomes] == [str(path) for path in structures]
    assert [o.steps for o in outcomes] == [4, 4, 4]
    assert all(o.error is None and o.mean_temperature > 0 for o in outcomes)
    for structure, output, log, seed in zip(structures, outputs, logs, seeds):
        alone, alone_log = tmp_path / "alone.extxyz", tmp_path / "alone.csv"
        run_md(
            model_path,
            structure,
            4,
            alone,
            seed=seed,
            log=alone_log,
            interval=2,
            **vars(options),
        )
        frames, expected = ase.io.read(output, ":"), ase.io.read(alone, ":")
        assert len(frames) == len(expected) == 3
        for frame, reference in zip(frames, expected):
            assert frame.info["step"] == reference.info["step"]
            np.testing.assert_allclose(frame.positions, reference.positions, atol=1e-9)
            np.testing.assert_allclose(
                frame.get_momenta(), reference.get_momenta(), atol=1e-9
            )
        rows, reference_rows = log.read_text().splitlines(), alone_log.read_text()
        assert rows[0] == reference_rows.splitlines()[0] and len(rows) == 4


def test_files_and_labels_are_checked(model_path, structures, tmp_path):
    copper = ase.io.read(structures[0])
    copper.symbols[0] = "Cu"
    ase.io.write(structures[1], copper)
    outputs = numbered_paths(tmp_path / "out.traj", 3)
    replicas: List[Any] = [(path, None) for path in structures]
    replicas[1] = (structures[1], "b.extxyz, frame 0")
    name = r"replica 1 \(b.extxyz, frame 0\): "
    with pytest.raises(ReplicaInputError, match=name + "this FlashMD model does not"):
        run_replicas(model_path, replicas, 2, outputs, ReplicaOptions(temperature_K=1))
    with pytest.raises(ReplicaInputError, match=r"replica 2 \(.*c.xyz\): .*no momenta"):
        run_replicas(model_path, replicas, 2, outputs)
    with pytest.raises(ValueError, match="2 trajectory files for 3 replicas"):
        run_replicas(model_path, replicas, 2, outputs[:2])
    with pytest.raises(ValueError, match="files of its own"):
        run_replicas(model_path, replicas, 2, [outputs[0]] * 3)


def test_numbered_paths():
    assert [p.name for p in numbered_paths("run/out.extxyz", 2)] == [
        "out-0.extxyz",
        "out-1.extxyz",
    ]
    assert numbered_paths("out.traj", 11)[3].name == "out-03.traj"


def test_room_is_made_for_the_files_of_many_replicas(monkeypatch):
    import resource

    from metatrain_flashmd.replicas import files

    limits = {"soft": 1024, "hard": 4096}
    monkeypatch.setattr(
        resource, "getrlimit", lambda kind: (limits["soft"], limits["hard"])
    )
    monkeypatch.setattr(
        resource, "setrlimit", lambda kind, new: limits.update(soft=new[0])
    )
    files.reserve_open_files(500)  # fits: unchanged
    assert limits["soft"] == 1024
    files.reserve_open_files(2000)  # 1000 replicas with logs
    assert limits["soft"] == 2000 + files.FILE_MARGIN
    with pytest.raises(ValueError, match="4096, see ulimit -Hn"):
        files.reserve_open_files(4000)
