"""Checks of the trainer hyperparameters beyond what metatrain's validation of the
options (types, names) catches."""

import math
from typing import Any, Mapping


def check_trainer_hypers(hypers: Mapping[str, Any]) -> None:
    """Refuse trainer hyperparameters FlashMD cannot train with: a missing or
    non-positive ``timestep`` (fs), per-structure targets, non-zero baselines, an
    empty batch."""
    timestep = hypers.get("timestep")
    if timestep is None or not (math.isfinite(timestep) and timestep > 0):
        raise ValueError(
            "training.timestep is required: the time between the two frames of "
            "each training pair, in fs (e.g. 32 for pairs 32 steps of 1 fs apart)"
            f"; got {timestep!r}"
        )
    if hypers["per_structure_targets"]:
        raise ValueError(
            "training.per_structure_targets must be empty: FlashMD targets are "
            "per-atom positions and momenta"
        )
    for key in ("atomic_baseline", "fixed_composition_weights"):
        baseline = hypers.get(key, {})
        if isinstance(baseline, str):
            raise ValueError(
                f"training.{key}: FlashMD targets have no composition baseline; "
                "a composition-model checkpoint cannot be used"
            )
        for target, values in (baseline or {}).items():
            numbers = values.values() if isinstance(values, dict) else [values]
            if any(float(v) != 0.0 for v in numbers):
                raise ValueError(
                    f"training.{key}.{target}: displacements and momenta have "
                    "zero mean by symmetry, so only zero baselines are accepted"
                )
    if hypers["batch_size"] < 1:
        raise ValueError("training.batch_size must be at least 1")
