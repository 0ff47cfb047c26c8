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
"""

import logging
from typing import Any, Dict


VERSION_BASE = 1000
"""Offset of this plugin's format numbers above the built-in FlashMD's."""

MODEL_VERSION = VERSION_BASE + 1
"""Current model checkpoint format (plugin format 1)."""

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
    """Whether ``checkpoint`` was written by metatrain's built-in FlashMD."""
    return (
        checkpoint.get("implementation") != IMPLEMENTATION
        and checkpoint.get("architecture_name") == "experimental.flashmd"
    )


def describe_builtin_checkpoint(checkpoint: Dict[str, Any]) -> str:
    """Explain what a built-in checkpoint is and how to use it."""
    model_version = checkpoint.get("model_ckpt_version")
    trainer_version = checkpoint.get("trainer_ckpt_version")
    known = model_version in BUILTIN_MODEL_VERSIONS and trainer_version in (
        None,
        *BUILTIN_TRAINER_VERSIONS,
    )
    what = (
        "This checkpoint was written by metatrain's built-in FlashMD "
        f"(model format v{model_version}, trainer format v{trainer_version}), not by "
        "the metatrain-flashmd plugin that now provides 'experimental.flashmd'."
    )
    if known:
        why = "This version of the plugin cannot convert built-in checkpoints yet."
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


def refuse_builtin(checkpoint: Dict[str, Any]) -> None:
    """Log and raise :class:`ForeignCheckpointError` for a built-in checkpoint.

    The message is logged too: metatrain's command line wraps loading errors in a
    generic message and would otherwise hide this one.
    """
    message = describe_builtin_checkpoint(checkpoint)
    logging.error(message)
    raise ForeignCheckpointError(message)


def refuse_foreign_model_checkpoint(checkpoint: Dict[str, Any]) -> None:
    """Raise a clear error unless ``checkpoint`` is in this plugin's current format."""
    if is_builtin_checkpoint(checkpoint):
        refuse_builtin(checkpoint)


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


def upgrade_model_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """Bring the model part of ``checkpoint`` to :data:`MODEL_VERSION`.

    Built-in checkpoints are passed through untouched: ``load_checkpoint`` refuses
    them, and metatrain reports its errors as they are, whereas it replaces errors
    raised here by a generic message.
    """
    if is_builtin_checkpoint(checkpoint):
        return checkpoint
    return _upgrade(checkpoint, "model", MODEL_VERSION)


def upgrade_trainer_checkpoint(checkpoint: Dict[str, Any]) -> Dict[str, Any]:
    """Bring the trainer part of ``checkpoint`` to :data:`TRAINER_VERSION` (built-in
    checkpoints pass through, see :func:`upgrade_model_checkpoint`)."""
    if is_builtin_checkpoint(checkpoint):
        return checkpoint
    return _upgrade(checkpoint, "trainer", TRAINER_VERSION)
