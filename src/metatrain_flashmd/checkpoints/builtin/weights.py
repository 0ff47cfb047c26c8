"""Built-in FlashMD weights (model state dicts), converted."""

import copy
from typing import Any, Dict, List, Tuple

import metatensor.torch as mts
import torch

from ..limits import no_training_limits
from .names import (
    BUILTIN_ONLY_BUFFERS,
    ConversionError,
    converted_parameter_name,
    current_target_name,
    is_builtin_parameter,
)


_ENCODER_WEIGHTS = (
    "center_encoder.weight",
    "momenta_encoder.0.weight",
    "momenta_encoder.2.weight",
    "momenta_encoder.4.weight",
    "compressor.weight",
)
"""Weights of one built-in node encoder, all used by :func:`merge_node_encoder`."""


def merge_node_encoder(
    center: torch.Tensor,
    momentum_layers: Tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    compressor: torch.Tensor,
) -> Dict[str, torch.Tensor]:
    """Weights of one of our node encoders computing the same features as a
    built-in one (see the module docstring).

    :param center: built-in element embedding, (num_species, h).
    :param momentum_layers: the three bias-free layers of the built-in momentum MLP,
        (4h, 3), (4h, 4h) and (h, 4h).
    :param compressor: built-in compression layer, (h, 2h).
    :return: our ``species_embedding.weight`` and ``momentum_mlp.{0,2,4}.weight``.
    """
    width = center.shape[1]
    if compressor.shape != (width, 2 * width):
        raise ConversionError(
            f"its node encoder compressor has shape {tuple(compressor.shape)}, "
            f"expected {(width, 2 * width)}"
        )
    dtype = center.dtype
    wide = compressor.double()
    first, second, last = momentum_layers
    return {
        "species_embedding.weight": (center.double() @ wide[:, :width].T).to(dtype),
        "momentum_mlp.0.weight": first.clone(),
        "momentum_mlp.2.weight": second.clone(),
        "momentum_mlp.4.weight": (wide[:, width:] @ last.double()).to(dtype),
    }


def _is_merged_encoder_weight(name: str, num_encoders: int) -> bool:
    """Whether ``name`` is a weight of one of the ``num_encoders`` built-in node
    encoders that :func:`merge_node_encoder` reads."""
    parts = name.split(".", 2)
    return (
        len(parts) == 3
        and parts[0] == "node_embedders"
        and parts[1] in [str(i) for i in range(num_encoders)]
        and parts[2] in _ENCODER_WEIGHTS
    )


def _encoder_weights(
    state: Dict[str, Any], num_encoders: int
) -> Dict[str, torch.Tensor]:
    """Our node-encoder weights from a built-in state dict."""
    converted = {}
    for i in range(num_encoders):
        prefix = f"node_embedders.{i}."
        try:
            merged = merge_node_encoder(
                state[prefix + "center_encoder.weight"],
                (
                    state[prefix + "momenta_encoder.0.weight"],
                    state[prefix + "momenta_encoder.2.weight"],
                    state[prefix + "momenta_encoder.4.weight"],
                ),
                state[prefix + "compressor.weight"],
            )
        except KeyError as error:
            raise ConversionError(
                f"its node encoder {i} misses the weight {error}"
            ) from None
        for key, value in merged.items():
            converted[f"backbone.node_encoders.{i}.{key}"] = value
    return converted


def scaler_scales(
    state: Dict[str, Any], target: str, atomic_types: List[int]
) -> torch.Tensor:
    """Per-element scales (in the order of ``atomic_types``) the built-in model
    multiplies the raw prediction of ``target`` with.

    :param state: a built-in model state dict.
    :param target: the target's name as stored in that state dict.
    :param atomic_types: the model's sorted atomic numbers.
    """
    key = f"scaler.{target}_scaler_buffer"
    if key not in state:
        raise ConversionError(f"it has no scales for target '{target}' ({key})")
    scales = mts.load_buffer(state[key])
    if len(scales) != 1 or len(scales.block().properties) != 1:
        raise ConversionError(f"its scales of target '{target}' have several blocks")
    block = scales.block()
    values = block.values.reshape(-1).to(torch.float64)
    indices = block.samples.column(block.samples.names[0]).tolist()
    if indices == [-1]:
        return values.expand(len(atomic_types)).clone()
    result = torch.full((len(atomic_types),), float("nan"), dtype=torch.float64)
    for index, value in zip(indices, values):
        result[index] = value
    if not bool(torch.isfinite(result).all()):
        raise ConversionError(f"its scales of target '{target}' miss some elements")
    return result


def convert_state_dict(
    state: Dict[str, Any],
    hypers: Dict[str, Any],
    targets: List[str],
    atomic_types: List[int],
) -> Dict[str, Any]:
    """This plugin's model state dict from a built-in one.

    :param state: ``model_state_dict`` (or ``best_model_state_dict``) of a built-in
        checkpoint, in any of its formats.
    :param hypers: the built-in model hypers.
    :param targets: the built-in target names, as stored in ``state``.
    :param atomic_types: the model's sorted atomic numbers.
    :raises ConversionError: if ``state`` holds entries this module does not know.
    """
    converted: Dict[str, Any] = {}
    for name in BUILTIN_ONLY_BUFFERS:
        if name not in state:
            raise ConversionError(f"its weights miss '{name}'")
        converted[name] = state[name].clone()
    reference = state["edge_embedder.weight"]
    converted["momentum_input_scale"] = torch.ones(
        len(atomic_types), dtype=reference.dtype
    )
    converted["position_output_scale"] = torch.ones_like(
        converted["momentum_input_scale"]
    )
    converted["momentum_output_scale"] = torch.ones_like(
        converted["momentum_input_scale"]
    )
    # built-in checkpoints record nothing of their training set
    converted["training_limits"] = no_training_limits(
        {"timestep": reference}, len(atomic_types)
    )
    for target in targets:
        buffer = current_target_name(target) + "_output_scale"
        converted[buffer] = scaler_scales(state, target, atomic_types).to(
            reference.dtype
        )

    feedforward = hypers["featurizer_type"] == "feedforward"
    num_encoders = 1 if feedforward else int(hypers["num_gnn_layers"])
    converted.update(_encoder_weights(state, num_encoders))
    for name, value in state.items():
        if not is_builtin_parameter(name):
            continue
        new_name = converted_parameter_name(name)
        if new_name is not None:
            converted[new_name] = value.clone()
        elif not _is_merged_encoder_weight(name, num_encoders):
            raise ConversionError(f"unexpected parameter '{name}' in the checkpoint")
    converted["finetune_config"] = copy.deepcopy(state.get("finetune_config", {}))
    return converted
