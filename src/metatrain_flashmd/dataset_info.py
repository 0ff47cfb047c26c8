"""The description of a FlashMD dataset, for building a model outside ``mtt train``."""

from typing import List

from metatrain.utils.data import DatasetInfo
from metatrain.utils.data.target_info import TargetInfo, get_generic_target_info

from ._names import LENGTH_UNIT, MOMENTUM, MOMENTUM_UNIT, POSITION


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
