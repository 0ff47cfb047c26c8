"""Whole built-in FlashMD checkpoints converted: model and trainer parts at once."""

import logging
from typing import Any, Dict

from .hypers import convert_dataset_info, convert_model_hypers, convert_train_hypers
from .names import ConversionError, ModelBuilder
from .training import (
    BUILTIN_SEED,
    convert_optimizer_state,
    convert_schedule,
    trainable_parameter_names,
)
from .weights import convert_state_dict


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
