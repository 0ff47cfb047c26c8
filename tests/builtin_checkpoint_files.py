"""Shared by the tests of built-in FlashMD checkpoints: where they are, how to load
them, and running ``mtt`` with the plugin switched on."""

import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import torch


TESTS = Path(__file__).parent
BUILTIN = TESTS / "builtin_checkpoints"
CHECKPOINTS = sorted(BUILTIN.glob("*.ckpt.gz"))
NEWEST = CHECKPOINTS[-1]
PAIRS = BUILTIN / "al32-pairs.xyz"
TIMESTEP = 30.0
"""fs between the two frames of the pairs the checkpoints were trained on."""


def name_of(path: Path) -> str:
    return path.name.split(".")[0]


def load(path: Path) -> Dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        return torch.load(file, weights_only=False, map_location="cpu")


def mtt(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "metatrain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "METATRAIN_FLASHMD_DISABLE": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr
