"""Losses of the normalised, mass-scaled targets."""

from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Optional

import torch


LOSS_TYPES = ("mse", "mae", "huber")


@dataclass
class TargetLoss:
    """How the error of one target enters the total loss."""

    type: str = "mse"
    weight: float = 1.0
    reduction: str = "mean"
    delta: float = 1.0

    def __call__(
        self, errors: torch.Tensor, count: Optional[float] = None
    ) -> torch.Tensor:
        """Loss of normalised ``errors`` (n, 3), prediction minus target.

        :param count: number of error components the mean runs over (all ranks of a
            distributed batch); defaults to ``errors.numel()``.
        """
        if self.type == "mse":
            values = errors**2
        elif self.type == "mae":
            values = errors.abs()
        else:
            values = torch.nn.functional.huber_loss(
                errors, torch.zeros_like(errors), reduction="none", delta=self.delta
            )
        total = values.sum()
        if self.reduction == "mean":
            total = total / (errors.numel() if count is None else count)
        return self.weight * total


def parse_loss(config: Any, targets: Iterable[str]) -> Dict[str, TargetLoss]:
    """Per-target losses from the ``loss`` trainer hyperparameter: a type for every
    target, or a mapping from target name to a type or a specification."""
    targets = list(targets)
    if isinstance(config, str):
        config = {name: config for name in targets}
    if not isinstance(config, Mapping):
        raise ValueError(f"training.loss must be a string or a mapping, got {config!r}")
    unknown = [name for name in config if name not in targets]
    if unknown:
        raise ValueError(
            f"training.loss names {unknown}, which are not targets of this run "
            f"({targets})"
        )
    losses = {}
    for name in targets:
        spec = config.get(name, "mse")
        if isinstance(spec, str):
            spec = {"type": spec}
        spec = dict(spec)
        if spec.pop("gradients", None):
            raise ValueError(
                f"training.loss.{name}.gradients: FlashMD targets have no gradients"
            )
        kind = spec.get("type", "mse")
        if kind not in LOSS_TYPES:
            raise ValueError(
                f"training.loss.{name}.type is '{kind}'; FlashMD supports {LOSS_TYPES}"
            )
        if spec.get("reduction", "mean") not in ("mean", "sum"):
            raise ValueError(f"training.loss.{name}.reduction must be 'mean' or 'sum'")
        extra = set(spec) - {"type", "weight", "reduction", "delta"}
        if extra:
            raise ValueError(
                f"training.loss.{name} has unknown options {sorted(extra)}"
            )
        losses[name] = TargetLoss(
            type=kind,
            weight=float(spec.get("weight", 1.0)),
            reduction=spec.get("reduction", "mean"),
            delta=float(spec.get("delta", 1.0)),
        )
    return losses
