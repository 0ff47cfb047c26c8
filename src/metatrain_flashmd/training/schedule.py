"""Optimiser and learning-rate schedule: Adam(W), linear warm-up, then cosine decay
to zero."""

import math
from typing import List, Optional

import torch


def make_optimizer(
    parameters: List[torch.nn.Parameter],
    learning_rate: float,
    weight_decay: Optional[float],
) -> torch.optim.Optimizer:
    """Adam, or AdamW with ``weight_decay``; the fused implementation (one kernel
    for all parameters: the same update, far fewer operations per step) where the
    device and dtype support it."""
    for fused in (True, None):
        try:
            if weight_decay is not None:
                return torch.optim.AdamW(
                    parameters, lr=learning_rate, weight_decay=weight_decay, fused=fused
                )
            return torch.optim.Adam(parameters, lr=learning_rate, fused=fused)
        except RuntimeError:
            if fused is None:
                raise
    raise AssertionError("unreachable")


def learning_rate_factor(step: int, warmup_steps: int, total_steps: int) -> float:
    """Factor of the peak learning rate after ``step`` optimisation steps.

    Rises linearly over ``warmup_steps``, then follows half a cosine down to zero at
    ``total_steps`` and stays there: it never rises again, even if training is
    continued past the end of the schedule.
    """
    if step < warmup_steps:
        return step / max(1, warmup_steps)
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return 0.5 * (1.0 + math.cos(math.pi * progress))


def make_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-step scheduler for ``optimizer`` following :func:`learning_rate_factor`."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: learning_rate_factor(step, warmup_steps, total_steps)
    )
