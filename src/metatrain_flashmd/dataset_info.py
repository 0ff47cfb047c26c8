"""The description of a FlashMD dataset: its two targets, checked when a model is
built, and a :class:`DatasetInfo` for models built outside ``mtt train``."""

from typing import Dict, List

from metatrain.utils.data import DatasetInfo
from metatrain.utils.data.target_info import TargetInfo, get_generic_target_info

from ._names import LENGTH_UNIT, MOMENTUM, MOMENTUM_UNIT, POSITION, TARGET_NAMES


def flashmd_target_info(name: str) -> TargetInfo:
    """Per-atom Cartesian vector target ``position`` (A) or ``momentum``
    ((eV*u)^(1/2)), as ``mtt train`` builds it from a FlashMD options file."""
    units = {POSITION: "A", MOMENTUM: MOMENTUM_UNIT}
    if name not in units:
        raise ValueError(f"a FlashMD target is {POSITION} or {MOMENTUM}, not '{name}'")
    options = {
        "quantity": name,
        "unit": units[name],
        "type": {"cartesian": {"rank": 1}},
        "num_subtargets": 1,
        "sample_kind": "atom",
    }
    return get_generic_target_info(name, options)


def flashmd_dataset_info(atomic_types: List[int]) -> DatasetInfo:
    """Dataset description of a FlashMD model for the elements ``atomic_types``
    (atomic numbers) with its two targets, ``position`` and ``momentum``.

    For models built by hand (tests, benchmarks, scripts); ``mtt train`` builds the
    same from the options file.
    """
    return DatasetInfo(
        length_unit=LENGTH_UNIT,
        atomic_types=list(atomic_types),
        targets={name: flashmd_target_info(name) for name in (POSITION, MOMENTUM)},
    )


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
                "`sample_kind: atom` and `num_subtargets: 1` in its options"
            )
