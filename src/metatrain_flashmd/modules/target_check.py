"""Validation of the targets a FlashMD model is asked to learn."""

from typing import Dict

from metatrain.utils.data import TargetInfo

from .._names import TARGET_NAMES


def check_targets(targets: Dict[str, TargetInfo]) -> None:
    """Raise a clear error unless every target is ``position`` or ``momentum``, a
    per-atom Cartesian vector with one sub-target."""
    for name, info in targets.items():
        if name not in TARGET_NAMES:
            raise ValueError(
                f"FlashMD learns the targets 'position' and 'momentum' only, but the "
                f"options ask for '{name}'. Name the targets 'position' (key "
                "future_positions) and 'momentum' (key future_momenta), as "
                "`mtt-flashmd pairs --options` writes them."
            )
        layout = info.layout
        block = layout.block(0) if len(layout) > 0 else None
        if (
            block is None
            or len(layout) != 1
            or block.samples.names != ["system", "atom"]
            or len(block.components) != 1
            or block.components[0].names != ["xyz"]
            or len(block.properties) != 1
        ):
            raise ValueError(
                f"target '{name}' must be a per-atom Cartesian vector with one "
                "sub-target: set `type: {cartesian: {rank: 1}}`, "
                "`per_atom: true` and `num_subtargets: 1` in its options"
            )
