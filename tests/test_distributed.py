"""Data-parallel training on CPU ranks (gloo), started by torchrun or SLURM-like."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from helpers import TINY_MODEL_HYPERS


PAIRS = Path(__file__).parent / "builtin_checkpoints" / "al32-pairs.xyz"
TINY = TINY_MODEL_HYPERS


def write_options(directory: Path, **training) -> Path:
    section = {
        "systems": str(PAIRS),
        "targets": {
            name: {
                "key": key,
                "unit": unit,
                "type": {"cartesian": {"rank": 1}},
                "sample_kind": "atom",
            }
            for name, key, unit in (
                ("position", "future_positions", "A"),
                ("momentum", "future_momenta", "(eV*u)^(1/2)"),
            )
        },
    }
    options = {
        "seed": 3,
        "base_precision": 64,
        "architecture": {
            "name": "experimental.flashmd",
            "model": TINY,
            "training": {
                "timestep": 30,
                "batch_size": 4,
                "num_epochs": 1,
                "num_workers": 0,
                **training,
            },
        },
        "training_set": section,
        "validation_set": section,
        "test_set": 0.0,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "options.yaml"
    path.write_text(yaml.safe_dump(options))
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(command, cwd: Path, timeout: float = 120, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "METATRAIN_FLASHMD_DISABLE": "", **env}
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
    )


def weights(path: Path) -> dict:
    import metatomic.torch  # noqa: F401 - checkpoints hold metatomic objects

    return torch.load(path, weights_only=False)["model_state_dict"]


@pytest.mark.slow
def test_two_ranks_match_one_process(tmp_path):
    mtt = shutil.which("mtt")
    single, ranks = tmp_path / "single", tmp_path / "ranks"
    write_options(single)
    write_options(ranks)
    result = run([mtt, "train", "options.yaml"], cwd=single)
    assert result.returncode == 0, result.stderr
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    result = run(
        [*torchrun, f"--master-port={free_port()}", mtt, "train", "options.yaml"],
        cwd=ranks,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    output = result.stdout + result.stderr
    assert "Distributed training on 2 ranks (gloo, started by torchrun)" in output

    # one output directory, one log, one checkpoint: rank 1 left nothing behind
    runs = list((ranks / "outputs").glob("*/*"))
    assert len(runs) == 1
    assert len(list(ranks.rglob("train.log"))) == 1
    assert sorted(p.name for p in ranks.glob("*.ckpt")) == ["model.ckpt"]

    a, b = weights(single / "model.ckpt"), weights(ranks / "model.ckpt")
    for name, value in a.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            assert torch.allclose(value, b[name], atol=1e-10, equal_nan=True), name


def slurm_like_rank(directory: Path, rank: int, world_size: int, port: int, **env):
    environment = {
        "SLURM_JOB_ID": "1",
        "SLURM_PROCID": str(rank),
        "SLURM_NTASKS": str(world_size),
        "SLURM_LOCALID": str(rank),
        "SLURM_JOB_NODELIST": "localhost",
        **env,
    }
    return run(
        [
            shutil.which("mtt"),
            "train",
            "options.yaml",
            "-r",
            f"architecture.training.distributed_port={port}",
        ],
        cwd=directory,
        **environment,
    )


def test_batch_smaller_than_the_number_of_ranks_is_refused(tmp_path):
    write_options(tmp_path, batch_size=1)
    result = slurm_like_rank(tmp_path, 0, 2, free_port())
    assert result.returncode != 0
    assert "batch_size (1) is smaller than the number of ranks (2)" in result.stdout


def test_port_in_use_is_reported(tmp_path):
    write_options(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = slurm_like_rank(
            tmp_path, 0, 2, port, METATRAIN_FLASHMD_DIST_TIMEOUT="10"
        )
    assert result.returncode != 0
    assert (
        f"could not join the 2 training processes at localhost:{port}" in result.stdout
    )
    assert "distributed_port" in result.stdout


def test_missing_rank_stops_within_the_timeout(tmp_path):
    write_options(tmp_path)
    start = time.monotonic()
    # rank 1 never starts: rank 0 must give up instead of waiting forever
    result = slurm_like_rank(
        tmp_path, 0, 2, free_port(), METATRAIN_FLASHMD_DIST_TIMEOUT="5"
    )
    assert result.returncode != 0
    assert "rank 0 could not join the 2 training processes" in result.stdout
    assert time.monotonic() - start < 90
