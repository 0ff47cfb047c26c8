"""Conversion of checkpoints written by metatrain's built-in FlashMD.

metatrain shipped its own ``experimental.flashmd`` before this plugin took over the
name. Its checkpoints (the formats listed in
:mod:`metatrain_flashmd.checkpoints.versions`) hold the same network in another
layout; this package rewrites them into the plugin's current format, so that the
converted model computes the same function of the same inputs. Its modules:
``names`` maps the built-in names to ours, ``hypers`` converts hyperparameters and
dataset information, ``weights`` the weights, ``training`` the optimizer state and
learning-rate schedule, and ``checkpoint`` whole checkpoints
(:func:`convert_checkpoint`); this package exports their public functions.

What differs, and how it is converted
-------------------------------------

Hyperparameters
    The built-in model hypers are a subset of ours (``attention_temperature`` was
    added in its model format 3; 1.0 before). The converted model also sets
    ``momentum_encoder_width = 4 * d_node`` (the width of the built-in momentum
    encoder) and switches ``conserve_momentum`` and ``conserve_center_of_mass`` off:
    the built-in model enforces neither, and the converted one must compute the same
    function. Long-range models are not converted; the (disabled) ``long_range``
    entry of the others is dropped.

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
    :data:`~metatrain_flashmd.checkpoints.builtin.training.BUILTIN_SEED`. The
    learning-rate schedule of the original run is reconstructed
    (``schedule_steps``, see :func:`convert_schedule`), so that a restart resumes it
    where the built-in run stopped, as restarts of this plugin's own checkpoints
    do. The Adam moments of parameters that map one-to-one are carried over, in this
    plugin's parameter order; the merged encoder parameters start with fresh
    moments. An optimizer state that does not match the checkpoint's parameters is
    dropped with a warning (a fresh optimizer is then used).

Restarts differ in one respect: the built-in trainer ran ``num_epochs`` *more*
epochs at every restart, and recomputed its schedule for them, whereas this plugin's
``num_epochs`` counts all epochs, including those of the original run, whose
schedule it continues (a run that completed its schedule continues at learning rate
zero). To train a finished built-in model further, fine-tune it instead.
"""

from .checkpoint import convert_checkpoint, convert_model_part, convert_trainer_part
from .hypers import (
    convert_dataset_info,
    convert_model_hypers,
    convert_target_info,
    convert_train_hypers,
)
from .names import (
    OLD_TARGET_NAMES,
    OLD_UNITS,
    ConversionError,
    ModelBuilder,
    builtin_parameter_names,
    converted_parameter_name,
    current_target_name,
    is_builtin_parameter,
)
from .training import (
    BUILTIN_SEED,
    convert_optimizer_state,
    convert_schedule,
    trainable_parameter_names,
)
from .weights import convert_state_dict, merge_node_encoder, scaler_scales


__all__ = [
    "BUILTIN_SEED",
    "OLD_TARGET_NAMES",
    "OLD_UNITS",
    "ConversionError",
    "ModelBuilder",
    "builtin_parameter_names",
    "convert_checkpoint",
    "convert_dataset_info",
    "convert_model_hypers",
    "convert_model_part",
    "convert_optimizer_state",
    "convert_schedule",
    "convert_state_dict",
    "convert_target_info",
    "convert_train_hypers",
    "convert_trainer_part",
    "converted_parameter_name",
    "current_target_name",
    "is_builtin_parameter",
    "merge_node_encoder",
    "scaler_scales",
    "trainable_parameter_names",
]
