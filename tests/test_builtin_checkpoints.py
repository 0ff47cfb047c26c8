"""Checkpoints of metatrain's built-in FlashMD are recognised, never misread."""

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from metatrain.utils.io import model_from_checkpoint, trainer_from_checkpoint

from metatrain_flashmd.checkpoints import ForeignCheckpointError


BUILTIN = Path(__file__).parent / "builtin_checkpoints"
CHECKPOINTS = sorted(BUILTIN.glob("*.ckpt.gz"))


def load(path: Path) -> dict:
    with gzip.open(path, "rb") as file:
        return torch.load(file, weights_only=False)


def test_all_versions_are_here():
    assert len(CHECKPOINTS) == 12


@pytest.mark.parametrize("path", CHECKPOINTS, ids=lambda p: p.name.split(".")[0])
@pytest.mark.parametrize("context", ["restart", "finetune", "export"])
def test_loading_gives_a_clear_error(path, context):
    with pytest.raises(ForeignCheckpointError) as error:
        model_from_checkpoint(load(path), context=context)
    message = str(error.value)
    version = path.name.split("_")[0].removeprefix("model-")
    assert f"built-in FlashMD (model format {version}" in message
    assert "METATRAIN_FLASHMD_DISABLE=1" in message


def test_trainer_state_gives_a_clear_error():
    with pytest.raises(ForeignCheckpointError, match="built-in FlashMD"):
        trainer_from_checkpoint(load(CHECKPOINTS[0]), context="restart", hypers={})


def test_newer_builtin_version_says_so():
    checkpoint = load(CHECKPOINTS[-1])
    checkpoint["model_ckpt_version"] = 6
    with pytest.raises(ForeignCheckpointError, match="newer built-in FlashMD"):
        model_from_checkpoint(checkpoint, context="export")


def test_mtt_export_prints_the_explanation(tmp_path):
    checkpoint = tmp_path / "builtin.ckpt"
    checkpoint.write_bytes(gzip.decompress(CHECKPOINTS[-1].read_bytes()))
    result = subprocess.run(
        [sys.executable, "-m", "metatrain", "export", str(checkpoint)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "METATRAIN_FLASHMD_DISABLE": ""},
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "written by metatrain's built-in FlashMD" in output
    assert "Traceback" not in output
