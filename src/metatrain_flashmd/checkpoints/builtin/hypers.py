"""Built-in FlashMD hyperparameters and dataset information, converted."""

import copy
import logging
from typing import Any, Dict

from metatrain.utils.data import DatasetInfo, TargetInfo
from metatrain.utils.data.target_info import get_generic_target_info

from .names import (
    OLD_TARGET_NAMES,
    OLD_UNITS,
    ConversionError,
    current_target_name,
)


_REQUIRED_MODEL_HYPERS = (
    "predict_momenta_as_difference",
    "cutoff",
    "cutoff_width",
    "d_pet",
    "d_head",
    "d_node",
    "d_feedforward",
    "num_heads",
    "num_attention_layers",
    "num_gnn_layers",
    "normalization",
    "activation",
    "transformer_type",
    "featurizer_type",
)
"""Model hypers every built-in checkpoint records (``attention_temperature`` came
later)."""


def convert_model_hypers(hypers: Dict[str, Any]) -> Dict[str, Any]:
    """Model hypers of this plugin computing the same function as the built-in
    model with ``hypers``: this plugin's hypers (defaults for those the built-in
    model has not), without the built-in ``long_range`` entry.

    :param hypers: ``model_data["model_hypers"]`` of a built-in checkpoint.
    :raises ConversionError: for long-range models, which are not converted.
    """
    from metatrain.utils.hypers import init_with_defaults

    from ...documentation import ModelHypers

    hypers = dict(hypers)
    long_range = hypers.pop("long_range", None) or {}
    if long_range.get("enable", False):
        raise ConversionError(
            "it uses long-range features (long_range.enable), which this plugin "
            "does not convert"
        )
    converted = init_with_defaults(ModelHypers)
    unknown = sorted(set(hypers) - set(converted))
    if unknown:
        raise ConversionError(f"it has unknown model hyperparameters {unknown}")
    missing = sorted(set(_REQUIRED_MODEL_HYPERS) - set(hypers))
    if missing:
        raise ConversionError(f"its model hyperparameters miss {missing}")
    converted.update(copy.deepcopy(hypers))
    # added in the built-in model format 3; the attention was unscaled before
    if "attention_temperature" not in hypers:
        converted["attention_temperature"] = 1.0
    converted["momentum_encoder_width"] = 4 * int(hypers["d_node"])
    # the built-in model enforces neither conservation law
    converted["conserve_momentum"] = False
    converted["conserve_center_of_mass"] = False
    return converted


def _renamed_targets(values: Any) -> Any:
    """``values`` with its keys renamed to current target names, if it is a dict."""
    if not isinstance(values, dict):
        return copy.deepcopy(values)
    return {OLD_TARGET_NAMES.get(k, k): copy.deepcopy(v) for k, v in values.items()}


def _converted_loss(loss: Any) -> Any:
    """The ``loss`` trainer hyper with current target names and without the
    built-in's former ``sliding_factor`` entry."""
    loss = _renamed_targets(loss)
    if isinstance(loss, dict):
        for spec in loss.values():
            if isinstance(spec, dict):
                spec.pop("sliding_factor", None)
    return loss


def convert_train_hypers(hypers: Dict[str, Any]) -> Dict[str, Any]:
    """Trainer hypers of this plugin describing the built-in run with ``hypers``.

    Entries this plugin does not have are dropped with a log message, and so is the
    deprecated ``distributed`` (when unset, distributed runs are detected). The
    built-in trainer augmented with random rotations but not with time reversal,
    and it recorded no seed offset.

    :param hypers: ``train_hypers`` of a built-in checkpoint (any trainer format).
    """
    from metatrain.utils.hypers import init_with_defaults

    from ...documentation import TrainerHypers

    converted = init_with_defaults(TrainerHypers)
    converted.update(time_reversal=False, random_rotations=True, seed_offset=0)
    hypers = dict(hypers)
    # the baseline was called fixed_composition_weights before trainer format 3
    baseline = hypers.pop("fixed_composition_weights", {})
    baseline = hypers.pop("atomic_baseline", baseline)
    converted["atomic_baseline"] = _renamed_targets(baseline)
    converted["loss"] = _converted_loss(hypers.pop("loss", "mse"))
    converted["fixed_scaling_weights"] = _renamed_targets(
        hypers.pop("fixed_scaling_weights", {})
    )
    bounds = hypers.pop("batch_atom_bounds", None)
    if bounds is not None:
        low, high = bounds
        converted["min_atoms_per_batch"] = 0 if low is None else int(low)
        converted["max_atoms_per_batch"] = high
    # deprecated in metatrain; unset, distributed runs are detected
    hypers.pop("distributed", None)
    dropped = []
    for key, value in hypers.items():
        if key in converted:
            converted[key] = copy.deepcopy(value)
        else:
            dropped.append(key)
    if dropped:
        logging.info(
            f"Built-in FlashMD training options {sorted(dropped)} have no "
            "counterpart in metatrain-flashmd and were dropped"
        )
    return converted


# -- dataset information ------------------------------------------------------------


def convert_target_info(name: str, info: TargetInfo) -> TargetInfo:
    """Information on the target ``name`` (current spelling) with the layout
    metatrain gives today to a per-atom Cartesian vector, and the quantity, unit
    (current spelling) and description of ``info``.

    :param name: the target's current name.
    :param info: the built-in checkpoint's information on that target.
    :raises ConversionError: if the target is not one per-atom Cartesian vector.
    """
    layout = info.layout
    block = layout.block(0) if len(layout) == 1 else None
    if (
        block is None
        or block.samples.names != ["system", "atom"]
        or len(block.components) != 1
        or len(block.components[0]) != 3
        or len(block.properties) != 1
    ):
        raise ConversionError(
            f"its target '{name}' is not a per-atom Cartesian vector with one "
            "sub-target"
        )
    return get_generic_target_info(
        name,
        {
            "quantity": info.quantity,
            "unit": OLD_UNITS.get(info.unit, info.unit),
            "description": info.description,
            "type": {"cartesian": {"rank": 1}},
            "num_subtargets": 1,
            "sample_kind": "atom",
        },
    )


def convert_dataset_info(info: DatasetInfo) -> DatasetInfo:
    """``info`` with current target names, units and layouts.

    :param info: ``model_data["dataset_info"]`` of a built-in checkpoint.
    """
    targets = {}
    for name, target in info.targets.items():
        new_name = current_target_name(name)
        targets[new_name] = convert_target_info(new_name, target)
    return DatasetInfo(
        length_unit=info.length_unit,
        atomic_types=list(info.atomic_types),
        targets=targets,
        extra_data=dict(getattr(info, "extra_data", {}) or {}),
    )
