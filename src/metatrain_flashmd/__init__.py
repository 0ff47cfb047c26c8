"""FlashMD for metatrain: long-stride molecular dynamics with a PET-based network.

This package is the metatrain architecture ``experimental.flashmd`` (see
:mod:`metatrain_flashmd._hook`). ``__model__`` and ``__trainer__`` are imported on
first access, so that ``import metatrain_flashmd.documentation`` or the command
line stay light; that first access (metatrain loading the architecture) also hides
the deprecation warnings of the dependencies that the user cannot act on (see
:mod:`metatrain_flashmd._warnings`).
"""

from typing import Any


__version__ = "0.1.0"

__authors__ = [("The metatrain-flashmd developers", "@metatrain-flashmd")]
__maintainers__ = [("The metatrain-flashmd developers", "@metatrain-flashmd")]

__all__ = ["__model__", "__trainer__", "__authors__", "__maintainers__"]


def __getattr__(name: str) -> Any:
    if name in ("__model__", "__trainer__"):
        # metatrain is loading the architecture (mtt train, export, eval): keep the
        # deprecation warnings of its dependencies out of its log
        from ._warnings import ignore_dependency_warnings

        ignore_dependency_warnings()
    if name == "__model__":
        from .model import FlashMD

        return FlashMD
    if name == "__trainer__":
        from .trainer import Trainer

        return Trainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
