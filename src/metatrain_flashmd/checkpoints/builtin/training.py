"""Built-in FlashMD trainer state converted: optimizer moments and learning-rate
schedule, and the random seed the built-in does not record."""

import copy
import logging
from typing import Any, Dict, List, Optional, Tuple

from metatrain.utils.data import DatasetInfo

from .names import ModelBuilder, builtin_parameter_names, converted_parameter_name


BUILTIN_SEED = 0
"""Random seed (shuffling, augmentation) given to converted checkpoints, which record
none."""


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
