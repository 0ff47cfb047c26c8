"""Shared fixtures: small EMT trajectories and tiny FlashMD models."""

from pathlib import Path

import pytest
from helpers import (  # noqa: F401 - re-exported fixtures' helpers
    aluminium_trajectory,
    tiny_model,
    write_pairs,
)


@pytest.fixture(scope="session")
def al_trajectory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """extxyz file: 120 frames, 1 fs apart, of 32-atom fcc Al with EMT at ~300 K,
    with momenta (positions wrapped into the cell)."""
    path = tmp_path_factory.mktemp("data") / "al-md.extxyz"
    aluminium_trajectory(path, num_frames=120)
    return path


@pytest.fixture(scope="session")
def al_pairs(tmp_path_factory: pytest.TempPathFactory, al_trajectory: Path) -> Path:
    """Pairs 10 fs apart from :func:`al_trajectory` (extxyz, with future arrays)."""
    path = tmp_path_factory.mktemp("data") / "al-pairs.extxyz"
    write_pairs(al_trajectory, path, lag=10, spacing=2)
    return path
