"""End to end through metatrain's command line, in subprocesses."""

import os
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
import pytest
import torch
import yaml
from helpers import TINY_MODEL_HYPERS

from metatrain_flashmd._names import MOMENTUM_UNIT


TINY = TINY_MODEL_HYPERS
BUILTIN_PAIRS = Path(__file__).parent / "builtin_checkpoints" / "al32-pairs.xyz"


def targets(path: Path) -> dict:
    def vector(key: str, unit: str) -> dict:
        return {
            "read_from": str(path),
            "key": key,
            "unit": unit,
            "type": {"cartesian": {"rank": 1}},
            "sample_kind": "atom",
        }

    return {
        "position": vector("future_positions", "A"),
        "momentum": vector("future_momenta", MOMENTUM_UNIT),
    }


def mtt(*args: str, cwd: Path) -> str:
    # one thread per run: the suite runs in parallel, and competing threads of
    # several processes slow each other down many times over
    env = {**os.environ, "METATRAIN_FLASHMD_DISABLE": "", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "metatrain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def no_motion_rmse(path: Path) -> float:
    """Position RMSE (A, per component) of predicting that no atom moves."""
    frames = ase.io.read(path, ":")
    moves = [atoms.arrays["future_positions"] - atoms.positions for atoms in frames]
    return float(np.sqrt(np.mean(np.concatenate(moves) ** 2)))


@pytest.mark.slow
def test_train_export_eval(tmp_path, al_pairs):
    widths = {"d_pet": 16, "d_node": 16, "d_head": 16, "d_feedforward": 16}
    training = {"timestep": 10, "batch_size": 4, "num_epochs": 20}
    options = {
        "seed": 1,
        "architecture": {
            "name": "experimental.flashmd",
            "model": {**TINY, **widths},
            "training": {**training, "learning_rate": 1e-2},
        },
        "training_set": {"systems": str(al_pairs), "targets": targets(al_pairs)},
        "validation_set": 0.2,
        "test_set": 0.0,
    }
    (tmp_path / "options.yaml").write_text(yaml.safe_dump(options))
    log = mtt("train", "options.yaml", "-o", "model.pt", cwd=tmp_path)
    assert "Epoch:   19" in log
    assert (tmp_path / "model.ckpt").exists()

    mtt("export", "model.ckpt", "-o", "exported.pt", cwd=tmp_path)
    from metatomic.torch import load_atomistic_model

    exported = load_atomistic_model(str(tmp_path / "exported.pt"))
    assert float(exported.module.timestep) == 10.0
    assert float(exported.module.masses[13]) == pytest.approx(26.9815385)

    evaluation = {"systems": str(al_pairs), "targets": targets(al_pairs)}
    (tmp_path / "eval.yaml").write_text(yaml.safe_dump(evaluation))
    log = mtt("eval", "exported.pt", "eval.yaml", "-o", "predicted.xyz", cwd=tmp_path)
    assert "position RMSE (per atom)" in log
    rmse = float(log.split("position RMSE (per atom): ")[1].split()[0])
    # well below the error of predicting no motion (0.022 A for these pairs)
    assert rmse < 0.3 * no_motion_rmse(al_pairs)

    # and training continues from the checkpoint
    log = mtt(
        "train",
        "options.yaml",
        "--restart",
        "model.ckpt",
        "-r",
        "architecture.training.num_epochs=21",
        cwd=tmp_path,
    )
    assert "Epoch:   20" in log and "Epoch:   19" not in log


@pytest.mark.slow
def test_symplectic_variant_trains_with_the_plugin_installed(tmp_path):
    import metatrain.experimental.flashmd_symplectic.model as symplectic

    from metatrain_flashmd.modules import encoder, structures

    assert symplectic.NodeEncoder is encoder.NodeEncoder
    assert symplectic.systems_to_batch is structures.systems_to_batch

    options = {
        "seed": 1,
        "architecture": {
            "name": "experimental.flashmd_symplectic",
            "model": TINY,
            "training": {"timestep": 30, "batch_size": 2, "num_epochs": 1},
        },
        "training_set": {
            "systems": str(BUILTIN_PAIRS),
            "targets": targets(BUILTIN_PAIRS),
        },
        "validation_set": 0.2,
        "test_set": 0.0,
    }
    (tmp_path / "options.yaml").write_text(yaml.safe_dump(options))
    log = mtt("train", "options.yaml", "-o", "model.pt", cwd=tmp_path)
    assert "Epoch:    0" in log
    checkpoint = torch.load(tmp_path / "model.ckpt", weights_only=False)
    assert checkpoint["architecture_name"] == "experimental.flashmd_symplectic"
