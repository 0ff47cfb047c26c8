"""Conversion of checkpoints written by metatrain's built-in FlashMD.

metatrain shipped its own ``experimental.flashmd`` before this plugin took over the
name. Its checkpoints (the formats listed in
:mod:`metatrain_flashmd.checkpoints.versions`) hold the same network in another
layout; this module rewrites them into the plugin's current format, so that the
converted model computes the same function of the same inputs.

What differs, and how it is converted
-------------------------------------

Hyperparameters
    The built-in model hypers are a subset of ours (``attention_temperature`` was
    added in its model format 3; 1.0 before). The converted model also sets
    ``momentum_encoder_width = 4 * d_node`` (the width of the built-in momentum
    encoder) and switches ``conserve_momentum`` and ``conserve_center_of_mass`` off:
    the built-in model enforces neither, and the converted one must compute the same
    function. Long-range models are not converted.

Targets
    Older formats called the targets ``positions`` and ``momenta`` and spelled the
    momentum unit ``(eV*u)^1/2``; they become ``position`` and ``momentum`` in
    ``(eV*u)^(1/2)``.

Node encoder
    The built-in encoder concatenates an element embedding ``E[s]`` (width h) with a
    bias-free SiLU MLP of the raw momentum, ``f(p)`` (3 -> 4h -> 4h -> h), and maps
    the result back to width h with a bias-free linear layer ``C = [C_s | C_p]``:
    ``C_s E[s] + C_p f(p)``. Ours is ``E'[s] + f'(p)``, so ``E' = E C_s^T`` and the
    last layer of ``f'`` is ``C_p`` times the last layer of ``f``; the first two
    layers are copied. Both products are computed in float64.

Inputs and outputs
    The built-in network reads raw momenta, so every per-element input scale is 1.
    Its raw outputs are multiplied by the scales of metatrain's ``Scaler`` (one per
    target and element) and, for positions (and momenta when predicting
    differences), the input values are added. Our model multiplies its raw outputs
    by the per-element ``position_output_scale`` and ``momentum_output_scale`` and
    adds the same input values, so the scaler's scales are copied into those.

Last layers
    Built-in last layers are keyed by target, readout layer and block name; there is
    only one block (a Cartesian vector), whose name is dropped.

Trainer state
    The epoch, best epoch, best metric, best weights and scheduler state are kept.
    The built-in records no random seed: converted checkpoints use
    :data:`BUILTIN_SEED`. The learning-rate schedule of the original run is
    reconstructed (``schedule_steps``, see :func:`convert_schedule`), so that a
    restart resumes it where the built-in run stopped, as restarts of this plugin's
    own checkpoints do. The Adam moments of parameters that map one-to-one are
    carried over, in this plugin's parameter order; the merged encoder parameters
    start with fresh moments. An optimizer state that does not match the
    checkpoint's parameters is dropped with a warning (a fresh optimizer is then
    used).

Restarts differ in one respect: the built-in trainer ran ``num_epochs`` *more*
epochs at every restart, and recomputed its schedule for them, whereas this plugin's
``num_epochs`` counts all epochs, including those of the original run, whose
schedule it continues (a run that completed its schedule continues at learning rate
zero). To train a finished built-in model further, fine-tune it instead.
"""

import copy
import logging
from typing import Any, Callable, Dict, List, Optional, Tuple

import metatensor.torch as mts
import torch
from metatrain.utils.data import DatasetInfo, TargetInfo
from metatrain.utils.data.target_info import get_generic_target_info

from .._names import MOMENTUM, MOMENTUM_UNIT, POSITION, TARGET_NAMES


BUILTIN_SEED = 0
"""Random seed (shuffling, augmentation) given to converted checkpoints, which record
none."""

OLD_TARGET_NAMES = {"positions": POSITION, "momenta": MOMENTUM}
"""Target names of older built-in checkpoints and their current spelling."""

OLD_UNITS = {"(eV*u)^1/2": MOMENTUM_UNIT}
"""Unit spellings of older built-in checkpoints and their current spelling."""

_BUILTIN_ONLY_BUFFERS = ("species_to_species_index", "masses", "timestep")
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

_ENCODER_WEIGHTS = (
    "center_encoder.weight",
    "momenta_encoder.0.weight",
    "momenta_encoder.2.weight",
    "momenta_encoder.4.weight",
    "compressor.weight",
)
"""Weights of one built-in node encoder, all used by :func:`merge_node_encoder`."""

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

_HEAD_MODULES = ("node_heads", "edge_heads")
_LAST_LAYER_MODULES = ("node_last_layers", "edge_last_layers")


ModelBuilder = Callable[[Dict[str, Any], DatasetInfo], torch.nn.Module]
"""Builds a model from hypers and dataset information: the model class itself,
passed in by the model and trainer so that this module does not import them."""


class ConversionError(ValueError):
    """A built-in checkpoint of a known format that cannot be converted."""


# -- names ------------------------------------------------------------------------


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
        name not in _BUILTIN_ONLY_BUFFERS
        and name != "finetune_config"
        and not name.startswith(_DROPPED_PREFIXES)
    )


# -- hyperparameters ----------------------------------------------------------------


def convert_model_hypers(hypers: Dict[str, Any]) -> Dict[str, Any]:
    """Model hypers of this plugin computing the same function as the built-in
    model with ``hypers``.

    :param hypers: ``model_data["model_hypers"]`` of a built-in checkpoint.
    :raises ConversionError: for long-range models, which are not converted.
    """
    from metatrain.utils.hypers import init_with_defaults

    from ..documentation import ModelHypers

    if hypers.get("long_range", {}).get("enable", False):
        raise ConversionError(
            "it uses long-range features (long_range.enable), which this version of "
            "the plugin does not convert"
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

    from ..documentation import TrainerHypers

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


# -- weights ------------------------------------------------------------------------


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
    for name in _BUILTIN_ONLY_BUFFERS:
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


# -- trainer state ------------------------------------------------------------------


def builtin_parameter_names(state: Dict[str, Any]) -> List[str]:
    """Names of the built-in model's parameters in the order of its
    ``parameters()``, i.e. of its optimizer (the order of the state dict)."""
    return [name for name in state if is_builtin_parameter(name)]


def convert_optimizer_state(
    optimizer_state: Optional[Dict[str, Any]],
    builtin_state: Dict[str, Any],
    parameter_names: List[str],
) -> Optional[Dict[str, Any]]:
    """An optimizer state for this plugin's trainer from a built-in one.

    Parameters mapping one-to-one keep their moments; the others start afresh.
    Returns None (and logs a warning) if ``optimizer_state`` does not match the
    parameters of ``builtin_state``.

    :param optimizer_state: the built-in ``optimizer_state_dict`` (or None).
    :param builtin_state: the built-in model state dict the optimizer trained.
    :param parameter_names: the converted model's trainable parameters, in the order
        this plugin's trainer gives them to its optimizer.
    """
    if optimizer_state is None:
        return None
    builtin_names = builtin_parameter_names(builtin_state)
    groups = optimizer_state.get("param_groups", [])
    problem = None
    if len(groups) != 1:
        problem = f"it has {len(groups)} parameter groups instead of one"
    elif len(groups[0]["params"]) != len(builtin_names):
        problem = (
            f"it optimises {len(groups[0]['params'])} parameters, but the model has "
            f"{len(builtin_names)}"
        )
    else:
        for index, name in zip(groups[0]["params"], builtin_names):
            moment = optimizer_state["state"].get(index, {}).get("exp_avg")
            if moment is not None and moment.shape != builtin_state[name].shape:
                problem = f"its state of '{name}' has the wrong shape"
                break
    if problem is not None:
        logging.warning(
            "The optimizer state of the built-in FlashMD checkpoint cannot be "
            f"converted ({problem}); the restarted run starts with a fresh optimizer"
        )
        return None

    by_name = {}
    for index, name in zip(groups[0]["params"], builtin_names):
        new_name = converted_parameter_name(name)
        if new_name is not None:  # merged encoder weights start afresh
            by_name[new_name] = index
    state = {}
    for new_index, name in enumerate(parameter_names):
        old_index = by_name.get(name)
        if old_index is not None and old_index in optimizer_state["state"]:
            state[new_index] = copy.deepcopy(optimizer_state["state"][old_index])
    group = copy.deepcopy({k: v for k, v in groups[0].items() if k != "params"})
    group["params"] = list(range(len(parameter_names)))
    return {"state": state, "param_groups": [group]}


def convert_schedule(
    scheduler_state: Optional[Dict[str, Any]],
    train_hypers: Dict[str, Any],
    epoch: Optional[int],
) -> Tuple[Optional[Dict[str, int]], Optional[Dict[str, Any]]]:
    """This plugin's ``schedule_steps`` and scheduler state for a built-in run.

    The built-in scheduler counted optimisation steps, over a schedule of
    ``num_epochs`` times the number of steps per epoch with a linear warm-up over
    ``warmup_fraction`` of them, like this plugin's. The steps per epoch are the
    steps taken divided by the epochs completed. Without a scheduler state (or
    epoch), both are None: the restarted run then starts a new schedule.

    :param scheduler_state: the built-in ``scheduler_state_dict``.
    :param train_hypers: the built-in training hypers.
    :param epoch: the last epoch the built-in run completed (from 0).
    """
    if scheduler_state is None or epoch is None:
        return None, None
    steps_per_epoch = max(1, round(int(scheduler_state["last_epoch"]) / (epoch + 1)))
    total = int(train_hypers["num_epochs"]) * steps_per_epoch
    warmup = int(float(train_hypers["warmup_fraction"]) * total)
    return {"warmup": warmup, "total": total}, copy.deepcopy(scheduler_state)


def trainable_parameter_names(
    build_model: ModelBuilder,
    hypers: Dict[str, Any],
    dataset_info: DatasetInfo,
    finetune_config: Dict[str, Any],
) -> List[str]:
    """Names of the parameters this plugin's trainer optimises for a model with
    ``hypers``, in its order (a model is built to find them).

    :param build_model: the model class (or any callable building the model from
        hypers and dataset information).
    :param hypers: converted model hypers.
    :param dataset_info: converted dataset information.
    :param finetune_config: the fine-tuning strategy stored with the weights.
    """
    from metatrain.pet.modules.finetuning import apply_finetuning_strategy

    model = build_model(hypers, dataset_info)
    if finetune_config:
        model = apply_finetuning_strategy(
            model, finetune_config, apply_inherit_heads=False
        )
    return [name for name, p in model.named_parameters() if p.requires_grad]


# -- whole checkpoints --------------------------------------------------------------


def _model_dtype(state: Dict[str, Any]) -> str:
    """Name of the floating-point type of the built-in model's weights."""
    return str(state["edge_embedder.weight"].dtype).replace("torch.", "")


def convert_model_part(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """The model entries (``model_data``, both state dicts) of this plugin's format
    for a built-in ``checkpoint``; ``checkpoint`` is left unchanged.

    :raises ConversionError: if the model cannot be converted.
    """
    model_data = checkpoint["model_data"]
    hypers = model_data["model_hypers"]
    dataset_info = model_data["dataset_info"]
    targets = list(dataset_info.targets)
    atomic_types = sorted(dataset_info.atomic_types)
    state = checkpoint["model_state_dict"]
    best = checkpoint.get("best_model_state_dict")
    return {
        "model_data": {
            "model_hypers": convert_model_hypers(hypers),
            "dataset_info": convert_dataset_info(dataset_info),
            "dtype": _model_dtype(state),
        },
        "model_state_dict": convert_state_dict(state, hypers, targets, atomic_types),
        "best_model_state_dict": None
        if best is None
        else convert_state_dict(best, hypers, targets, atomic_types),
    }


def convert_trainer_part(
    checkpoint: Dict[str, Any], model_part: Dict[str, Any], build_model: ModelBuilder
) -> Dict[str, Any]:
    """The trainer entries of this plugin's format for a built-in ``checkpoint``
    whose model entries convert to ``model_part``; ``checkpoint`` is left unchanged.
    ``build_model`` builds a model to list its trainable parameters.
    """
    state = checkpoint["model_state_dict"]
    best = checkpoint.get("best_model_state_dict")
    names = trainable_parameter_names(
        build_model,
        model_part["model_data"]["model_hypers"],
        model_part["model_data"]["dataset_info"],
        state.get("finetune_config", {}),
    )
    optimizer = convert_optimizer_state(
        checkpoint.get("optimizer_state_dict"), state, names
    )
    best_optimizer = None
    if best is not None:
        best_optimizer = convert_optimizer_state(
            checkpoint.get("best_optimizer_state_dict"), best, names
        )
    train_hypers = checkpoint.get("train_hypers", {})
    schedule_steps, scheduler_state = convert_schedule(
        checkpoint.get("scheduler_state_dict"), train_hypers, checkpoint.get("epoch")
    )
    if schedule_steps is not None and (
        scheduler_state["last_epoch"] >= schedule_steps["total"]
    ):
        logging.info(
            "The built-in FlashMD run had completed its learning-rate schedule: a "
            "restart continues at learning rate zero. To train this model further, "
            "fine-tune it (training.finetune.read_from) instead."
        )
    return {
        "train_hypers": convert_train_hypers(train_hypers),
        "epoch": checkpoint.get("epoch"),
        "seed": BUILTIN_SEED,
        "optimizer_state_dict": optimizer,
        "scheduler_state_dict": scheduler_state,
        "schedule_steps": schedule_steps,
        "best_epoch": checkpoint.get("best_epoch"),
        "best_metric": checkpoint.get("best_metric"),
        "best_optimizer_state_dict": best_optimizer,
    }


def convert_checkpoint(
    checkpoint: Dict[str, Any], build_model: ModelBuilder
) -> Dict[str, Any]:
    """All entries of this plugin's format (except the format numbers and marker)
    for a built-in ``checkpoint`` of a known format; ``checkpoint`` is left
    unchanged, so that a failed conversion leaves no half-converted checkpoint.
    ``build_model`` (the model class) lists the trainer's parameters.

    :raises ConversionError: if the checkpoint cannot be converted.
    """
    try:
        converted = convert_model_part(checkpoint)
        if checkpoint.get("trainer_ckpt_version") is not None:
            converted.update(convert_trainer_part(checkpoint, converted, build_model))
    except ConversionError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise ConversionError(f"{type(error).__name__}: {error}") from error
    converted["converted_from"] = {
        "implementation": "metatrain built-in experimental.flashmd",
        "model_ckpt_version": checkpoint.get("model_ckpt_version"),
        "trainer_ckpt_version": checkpoint.get("trainer_ckpt_version"),
    }
    return converted
