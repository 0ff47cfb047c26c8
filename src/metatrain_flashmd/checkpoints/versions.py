"""Checkpoint format versions, upgrades, and recognition of foreign checkpoints.

Version numbers
---------------
metatrain compares the ``model_ckpt_version`` stored in a checkpoint with
``__checkpoint_version__`` of the architecture registered under its
``architecture_name``. Checkpoints of metatrain's built-in FlashMD and of this plugin
share the name ``experimental.flashmd``, and the built-in one already used model
versions 1 to 5 and trainer versions 1 to 7. Had this plugin numbered its own formats
from 1 as well, metatrain would refuse built-in checkpoints with a higher number
(claiming metatrain is too old) before this plugin could even recognise them.

This plugin therefore numbers its formats from :data:`VERSION_BASE` + 1 (version 1 of
the plugin format is stored as 1001), and marks its checkpoints with
``"implementation": "metatrain-flashmd"``. A checkpoint without that marker is a
built-in one, whatever its number.

Upgrades
--------
Each change of the plugin's model (trainer) checkpoint layout bumps
:data:`MODEL_VERSION` (:data:`TRAINER_VERSION`) and adds a function
``model_update_v{N}_v{N+1}`` (``trainer_update_v{N}_v{N+1}``) below that rewrites a
checkpoint dictionary in place from format N to N+1.

Built-in checkpoints
--------------------
Checkpoints of the built-in FlashMD in a format listed in
:data:`BUILTIN_MODEL_VERSIONS` and :data:`BUILTIN_TRAINER_VERSIONS` are converted, as
a whole (model and trainer state), by the first ``upgrade_checkpoint`` metatrain calls
(:mod:`metatrain_flashmd.checkpoints.builtin` explains how). Converted checkpoints
carry the marker and the current format numbers, plus a ``converted_from`` record.
Built-in checkpoints of a newer format, and those whose conversion fails, are left
untouched by the upgrade; ``load_checkpoint`` then raises a
:class:`ForeignCheckpointError` that says why.
"""

import logging
from typing import TYPE_CHECKING, Any, Dict, Optional


if TYPE_CHECKING:
    from .builtin import ModelBuilder


VERSION_BASE = 1000
"""Offset of this plugin's format numbers above the built-in FlashMD's."""

MODEL_VERSION = VERSION_BASE + 3
"""Current model checkpoint format (plugin format 3: a ``training_limits``
buffer records what the training set covered)."""

TRAINER_VERSION = VERSION_BASE + 1
"""Current trainer checkpoint format (plugin format 1)."""

IMPLEMENTATION = "metatrain-flashmd"
"""Value of the ``implementation`` key marking this plugin's checkpoints."""

DISABLE_VARIABLE = "METATRAIN_FLASHMD_DISABLE"

BUILTIN_MODEL_VERSIONS = range(1, 6)
"""Model formats of metatrain's built-in FlashMD known to this plugin."""

BUILTIN_TRAINER_VERSIONS = range(1, 8)
"""Trainer formats of metatrain's built-in FlashMD known to this plugin."""


class ForeignCheckpointError(ValueError):
    """A checkpoint this plugin recognises but cannot read."""


def is_builtin_checkpoint(checkpoint: Dict[str, Any]) -> bool:
    """Whether ``checkpoint`` was written by metatrain's built-in FlashMD (and not
    converted yet)."""
    return (
        checkpoint.get("implementation") != IMPLEMENTATION
        and checkpoint.get("architecture_name") == "experimental.flashmd"
    )


def is_known_builtin_version(checkpoint: Dict[str, Any]) -> bool:
    """Whether a built-in ``checkpoint`` has formats this plugin converts."""
    return checkpoint.get("model_ckpt_version") in BUILTIN_MODEL_VERSIONS and (
        checkpoint.get("trainer_ckpt_version") in (None, *BUILTIN_TRAINER_VERSIONS)
    )


def describe_builtin_checkpoint(
    checkpoint: Dict[str, Any], reason: Optional[str] = None
) -> str:
    """Explain why a built-in checkpoint cannot be used and what to do instead.

    :param checkpoint: a checkpoint of metatrain's built-in FlashMD.
    :param reason: why the conversion of a checkpoint of a known format failed.
    """
    model_version = checkpoint.get("model_ckpt_version")
    trainer_version = checkpoint.get("trainer_ckpt_version")
    what = (
        "This checkpoint was written by metatrain's built-in FlashMD "
        f"(model format v{model_version}, trainer format v{trainer_version}), not by "
        "the metatrain-flashmd plugin that now provides 'experimental.flashmd'."
    )
    if is_known_builtin_version(checkpoint):
        why = f"The plugin could not convert it: {reason}."
    else:
        why = (
            "It comes from a newer built-in FlashMD than this plugin knows (model "
            f"formats v{BUILTIN_MODEL_VERSIONS[0]}-v{BUILTIN_MODEL_VERSIONS[-1]}, "
            f"trainer formats v{BUILTIN_TRAINER_VERSIONS[0]}-"
            f"v{BUILTIN_TRAINER_VERSIONS[-1]}); upgrade metatrain-flashmd."
        )
    how = (
        f"To use it with the built-in implementation, set {DISABLE_VARIABLE}=1, e.g. "
        f"`{DISABLE_VARIABLE}=1 mtt export model.ckpt`."
    )
    return f"{what} {why} {how}"


def refuse_builtin(checkpoint: Dict[str, Any], reason: Optional[str] = None) -> None:
    """Log and raise :class:`ForeignCheckpointError` for a built-in checkpoint.

    The message is logged too: metatrain's command line wraps loading errors in a
    generic message and would otherwise hide this one.
    """
    message = describe_builtin_checkpoint(checkpoint, reason)
    logging.error(message)
    raise ForeignCheckpointError(message)


class LongRangeError(ValueError):
    """A checkpoint of a model with long-range features, which this plugin lacks."""


def without_long_range(hypers: Dict[str, Any]) -> Dict[str, Any]:
    """Model ``hypers`` without their ``long_range`` section, which this plugin no
    longer has (plugin format 1 carries one).

    :raises LongRangeError: if long-range features are switched on: the model
        cannot be read without them.
    """
    section = hypers.get("long_range") or {}
    if section.get("enable", False):
        raise LongRangeError(
            "it uses long-range features (long_range.enable), which this version of "
            "the plugin does not have"
        )
    return {key: value for key, value in hypers.items() if key != "long_range"}


def convert_builtin(checkpoint: Dict[str, Any], build_model: "ModelBuilder") -> None:
    """Convert a built-in ``checkpoint`` of a known format, in place, to this
    plugin's current format (see :mod:`metatrain_flashmd.checkpoints.builtin`,
    which also drops the built-in ``long_range`` hypers); ``build_model`` is the
    model class.

    :raises ConversionError: if it cannot be converted; ``checkpoint`` is then left
        unchanged.
    """
    from .builtin import convert_checkpoint

    converted = convert_checkpoint(checkpoint, build_model)
    checkpoint.update(converted)
    checkpoint["implementation"] = IMPLEMENTATION
    checkpoint["model_ckpt_version"] = MODEL_VERSION
    if checkpoint.get("trainer_ckpt_version") is not None:
        checkpoint["trainer_ckpt_version"] = TRAINER_VERSION
    logging.info(
        "Converted a checkpoint of metatrain's built-in FlashMD (model format "
        f"v{converted['converted_from']['model_ckpt_version']}, trainer format "
        f"v{converted['converted_from']['trainer_ckpt_version']}) to the "
        "metatrain-flashmd format"
    )


def convert_or_refuse(checkpoint: Dict[str, Any], build_model: "ModelBuilder") -> None:
    """Make sure ``checkpoint`` is in this plugin's format before it is loaded.

    Built-in checkpoints of known formats are converted in place (metatrain has
    normally done so already through ``upgrade_checkpoint``); others, and those
    whose conversion fails, raise a :class:`ForeignCheckpointError` explaining why.
    """
    if not is_builtin_checkpoint(checkpoint):
        return
    if not is_known_builtin_version(checkpoint):
        refuse_builtin(checkpoint)
    from .builtin import ConversionError

    try:
        convert_builtin(checkpoint, build_model)
    except ConversionError as error:
        try:
            refuse_builtin(checkpoint, str(error))
        except ForeignCheckpointError as refusal:
            raise refusal from error


def model_update_v1001_v1002(checkpoint: Dict[str, Any]) -> None:
    """Plugin model format 1 -> 2: the ``long_range`` model hypers are gone.

    No trainer of format 1 trained long-range models, so the section is always
    disabled; a checkpoint edited to enable it is refused.
    """
    model_data = checkpoint["model_data"]
    try:
        model_data["model_hypers"] = without_long_range(model_data["model_hypers"])
    except LongRangeError as error:
        message = f"This metatrain-flashmd checkpoint cannot be read: {error}."
        # metatrain replaces errors raised during upgrades by a generic message
        logging.error(message)
        raise LongRangeError(message) from error


def model_update_v1002_v1003(checkpoint: Dict[str, Any]) -> None:
    """Plugin model format 2 -> 3: the ``training_limits`` buffer, which models
    trained before it existed have no values for (NaN: the integrators run them
    unguarded, with a note)."""
    from .limits import no_training_limits

    num_species = len(checkpoint["model_data"]["dataset_info"].atomic_types)
    for key in ("model_state_dict", "best_model_state_dict"):
        state_dict = checkpoint.get(key)
        if state_dict is not None and "training_limits" not in state_dict:
            state_dict["training_limits"] = no_training_limits(state_dict, num_species)


def _upgrade(checkpoint: Dict[str, Any], kind: str, current: int) -> Dict[str, Any]:
    key = f"{kind}_ckpt_version"
    version = checkpoint[key]
    while isinstance(version, int) and VERSION_BASE < version < current:
        update = globals()[f"{kind}_update_v{version}_v{version + 1}"]
        update(checkpoint)
        version += 1
        checkpoint[key] = version
    if version != current:
        raise RuntimeError(
            f"Unable to upgrade the checkpoint: the checkpoint is using {kind} "
            f"version {version}, while the current {kind} version is {current}."
        )
    return checkpoint


def _upgrade_builtin(
    checkpoint: Dict[str, Any], build_model: "ModelBuilder"
) -> Dict[str, Any]:
    """Convert a built-in checkpoint of a known format in place, if it converts.

    Otherwise it is passed through untouched: ``load_checkpoint`` then raises the
    explanation, since metatrain reports errors from there as they are, whereas it
    replaces errors raised during upgrades by a generic message.
    """
    if is_known_builtin_version(checkpoint):
        from .builtin import ConversionError

        try:
            convert_builtin(checkpoint, build_model)
        except ConversionError:
            pass
    return checkpoint


def upgrade_model_checkpoint(
    checkpoint: Dict[str, Any], build_model: "ModelBuilder"
) -> Dict[str, Any]:
    """Bring ``checkpoint`` to :data:`MODEL_VERSION`, converting built-in ones
    (model and trainer parts at once, see :func:`convert_builtin`)."""
    if is_builtin_checkpoint(checkpoint):
        return _upgrade_builtin(checkpoint, build_model)
    return _upgrade(checkpoint, "model", MODEL_VERSION)


def upgrade_trainer_checkpoint(
    checkpoint: Dict[str, Any], build_model: "ModelBuilder"
) -> Dict[str, Any]:
    """Bring the trainer part of ``checkpoint`` to :data:`TRAINER_VERSION`,
    converting built-in ones (see :func:`upgrade_model_checkpoint`)."""
    if is_builtin_checkpoint(checkpoint):
        return _upgrade_builtin(checkpoint, build_model)
    return _upgrade(checkpoint, "trainer", TRAINER_VERSION)
