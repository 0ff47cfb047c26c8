"""Names in built-in FlashMD checkpoints and their counterparts in this plugin.

Targets (``positions`` and ``momenta`` in older formats), units and the parameters of
the built-in model's state dict, renamed to those of this plugin's model; and the
error raised for what has no counterpart.
"""

from typing import Any, Callable, Dict, List, Optional

import torch
from metatrain.utils.data import DatasetInfo

from ..._names import MOMENTUM, MOMENTUM_UNIT, POSITION, TARGET_NAMES


OLD_TARGET_NAMES = {"positions": POSITION, "momenta": MOMENTUM}
"""Target names of older built-in checkpoints and their current spelling."""

OLD_UNITS = {"(eV*u)^1/2": MOMENTUM_UNIT}
"""Unit spellings of older built-in checkpoints and their current spelling."""

BUILTIN_ONLY_BUFFERS = ("species_to_species_index", "masses", "timestep")
"""Top-level buffers of the built-in model (copied as they are)."""

_DROPPED_PREFIXES = ("additive_models.", "scaler.")
"""Built-in sub-modules whose content is folded into other buffers."""

_SIMPLE_PREFIXES = {
    "gnn_layers.": "backbone.gnn_layers.",
    "combination_norms.": "backbone.message_norms.",
    "combination_mlps.": "backbone.message_mixers.",
    "edge_embedder.": "backbone.edge_embedder.",
}
"""Built-in module prefixes that are only renamed."""

_HEAD_MODULES = ("node_heads", "edge_heads")
_LAST_LAYER_MODULES = ("node_last_layers", "edge_last_layers")


ModelBuilder = Callable[[Dict[str, Any], DatasetInfo], torch.nn.Module]
"""Builds a model from hypers and dataset information: the model class itself,
passed in by the model and trainer so that this module does not import them."""


class ConversionError(ValueError):
    """A built-in checkpoint of a known format that cannot be converted."""


def current_target_name(name: str) -> str:
    """Current name of a built-in target (``positions`` -> ``position``).

    :param name: target name stored in a built-in checkpoint.
    :raises ConversionError: if the target is neither positions nor momenta.
    """
    name = OLD_TARGET_NAMES.get(name, name)
    if name not in TARGET_NAMES:
        raise ConversionError(
            f"the checkpoint has a target '{name}'; this plugin's FlashMD learns "
            f"{list(TARGET_NAMES)} only"
        )
    return name


def converted_parameter_name(name: str) -> Optional[str]:
    """Name in this plugin's model of a built-in parameter that maps one-to-one, or
    None if it has no single counterpart (the merged node-encoder parameters).

    :param name: a parameter name of the built-in model's state dict.
    :raises ConversionError: for names this module does not know.
    """
    for old, new in _SIMPLE_PREFIXES.items():
        if name.startswith(old):
            return new + name[len(old) :]
    parts = name.split(".")
    if parts[0] == "node_embedders":
        # node_embedders.<i>.momenta_encoder.<layer>.weight
        if parts[2:3] == ["momenta_encoder"] and parts[3:] in (
            ["0", "weight"],
            ["2", "weight"],
        ):
            return f"backbone.node_encoders.{parts[1]}.momentum_mlp.{parts[3]}.weight"
        return None
    if parts[0] in _HEAD_MODULES and len(parts) > 2:
        return ".".join([parts[0], current_target_name(parts[1]), *parts[2:]])
    if parts[0] in _LAST_LAYER_MODULES and len(parts) > 4:
        # <module>.<target>.<readout layer>.<block name>.<parameter>
        return ".".join([parts[0], current_target_name(parts[1]), parts[2], *parts[4:]])
    raise ConversionError(f"unexpected parameter '{name}' in the checkpoint")


def is_builtin_parameter(name: str) -> bool:
    """Whether a key of a built-in model state dict names a trainable parameter
    (rather than a buffer or the fine-tuning configuration)."""
    return (
        name not in BUILTIN_ONLY_BUFFERS
        and name != "finetune_config"
        and not name.startswith(_DROPPED_PREFIXES)
    )


def builtin_parameter_names(state: Dict[str, Any]) -> List[str]:
    """Names of the built-in model's parameters in the order of its
    ``parameters()``, i.e. of its optimizer (the order of the state dict)."""
    return [name for name in state if is_builtin_parameter(name)]
