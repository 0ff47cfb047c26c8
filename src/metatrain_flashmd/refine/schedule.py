"""The rules that set each round from the data and the last validation, so that
the same command works on a new system (documented in ``docs/refine.rst``).

- **Severity** of a failed validation: the worst ratio ``deviation / threshold``
  over its failed checks (infinite when a run stopped or a deviation could not
  be measured).
- **Epochs** of round k >= 1: ``ceil(E0 * clip(1 + log2(severity) / 2, 1, 3))``,
  with ``E0`` the options file's ``num_epochs``: a check failed by a factor 2
  gets 1.5 E0, by 4 gets 2 E0, by 16 or more (or a run that stopped) 3 E0.
- **Learning rate** of round k: ``lr0 / (1 + k)``, ``lr0`` the options file's;
  each round is a fine-tune (``finetune.read_from`` the last checkpoint) and so
  gets a fresh warm-up (the options' ``warmup_fraction``) and cosine decay.
- **Collection**: :data:`COLLECT_REPLICAS` FlashMD runs from the validation
  start, each as long as a validation run, half NVE without energy rescaling
  (where elements drift apart most freely) and half Langevin at the validation
  temperature (time constant :data:`COLLECT_TIME_CONSTANT_FS`).
- **Restarts**: :data:`VISITED_RESTARTS` reference NVE runs from the most
  troubled visited states, and :data:`IMBALANCED_RESTARTS` from the same states
  with the elements out of equipartition, each ``time_ps / 4`` long (at least
  ``10 (m + 2)`` frames, so that its validation block holds a pair).
- **Imbalance** of those starts: ``delta = clip(1.5 * D, 0.25, 0.75)``, with ``D``
  the largest relative deviation of an element's temperature from the
  validation temperature among the candidate states; elements alternate
  between ``T (1 + delta)`` and ``T (1 - delta)`` (one element: the whole
  system hot, then cold).
- **Pairs** from the restarts: frames every ``stride / m`` with
  ``m = ceil(stride / 8 fs)``, a pair starting at every frame (lag ``m``), 10%
  of each run's frames for validation.
"""

import dataclasses
import math
from typing import Any, Dict, Iterable


EPOCH_FACTOR_MAX = 3.0
"""Most epochs of a round, in units of the options file's ``num_epochs``."""
COLLECT_REPLICAS = 4
"""FlashMD runs per collection (half NVE, half Langevin)."""
COLLECT_TIME_CONSTANT_FS = 100.0
"""Time constant of the collection's Langevin runs, fs."""
VISITED_RESTARTS = 2
"""Reference restarts from visited states, as visited, per round."""
IMBALANCED_RESTARTS = 2
"""Reference restarts with the elements out of equipartition, per round."""
RESTART_FRACTION = 0.25
"""Length of each restart, as a fraction of the validation time."""
IMBALANCE_GAIN = 1.5
IMBALANCE_MIN = 0.25
IMBALANCE_MAX = 0.75
"""``delta = clip(IMBALANCE_GAIN * D, IMBALANCE_MIN, IMBALANCE_MAX)``."""
PAIR_FRAME_INTERVAL_FS = 8.0
"""Largest interval between restart frames, fs (a pair starts at each)."""
PAIR_VALIDATION = 0.1
"""Fraction of each restart's frames kept for validation."""


@dataclasses.dataclass
class RoundSchedule:
    """What one round does."""

    round: int
    """The round's number (1, 2, ...)."""
    severity: float
    """Severity of the previous validation (see the module docstring)."""
    epochs: int
    """Epochs of the fine-tune."""
    learning_rate: float
    """Peak learning rate of the fine-tune."""
    collect_replicas: int
    """FlashMD runs of the collection."""
    collect_strides: int
    """Strides of each of them."""
    visited_restarts: int
    """Reference restarts from visited states."""
    imbalanced_restarts: int
    """Reference restarts out of equipartition."""
    restart_ps: float
    """Length of each restart, ps."""
    frame_interval_fs: float
    """Interval between restart frames, fs."""
    lag: int
    """Frames per stride (the pairs' lag)."""

    def to_dict(self) -> Dict[str, Any]:
        """The schedule as JSON-ready values (an infinite severity as ``None``)."""
        values = dataclasses.asdict(self)
        if not math.isfinite(values["severity"]):
            values["severity"] = None
        return values


def severity(checks: Iterable[Dict[str, Any]]) -> float:
    """The worst ``deviation / threshold`` over the failed checks of a
    ``summary.json`` (``1`` when none failed; infinite when one has no finite
    ratio)."""
    worst = 1.0
    for check in checks:
        if check.get("passed") is not False:
            continue
        deviation, threshold = check.get("deviation"), check.get("threshold")
        if deviation is None or not threshold or not math.isfinite(deviation):
            return math.inf
        worst = max(worst, float(deviation) / float(threshold))
    return worst


def epochs(base_epochs: int, severity_value: float) -> int:
    """Epochs of a refinement round (see the module docstring)."""
    if math.isfinite(severity_value):
        factor = 1.0 + 0.5 * math.log2(max(severity_value, 1.0))
    else:
        factor = EPOCH_FACTOR_MAX
    factor = min(max(factor, 1.0), EPOCH_FACTOR_MAX)
    return max(1, math.ceil(base_epochs * factor - 1e-9))


def learning_rate(base_rate: float, number: int) -> float:
    """Peak learning rate of round ``number`` (0 is the initial training)."""
    return base_rate / (1.0 + number)


def pair_lag(stride_fs: float) -> int:
    """Frames per stride of the restarts: frames at most
    :data:`PAIR_FRAME_INTERVAL_FS` apart."""
    return max(1, math.ceil(stride_fs / PAIR_FRAME_INTERVAL_FS - 1e-9))


def imbalance(largest_deviation: float) -> float:
    """``delta`` of the out-of-equipartition starts, from the largest relative
    deviation of an element's temperature seen among the candidates."""
    if not math.isfinite(largest_deviation):
        return IMBALANCE_MAX
    return min(max(IMBALANCE_GAIN * largest_deviation, IMBALANCE_MIN), IMBALANCE_MAX)


def round_schedule(
    number: int,
    checks: Iterable[Dict[str, Any]],
    base_epochs: int,
    base_rate: float,
    stride_fs: float,
    time_ps: float,
) -> RoundSchedule:
    """The schedule of refinement round ``number`` after a validation whose
    ``summary.json`` checks are ``checks``."""
    worst = severity(checks)
    lag = pair_lag(stride_fs)
    return RoundSchedule(
        round=number,
        severity=worst,
        epochs=epochs(base_epochs, worst),
        learning_rate=learning_rate(base_rate, number),
        collect_replicas=COLLECT_REPLICAS,
        collect_strides=max(1, int(round(time_ps * 1000.0 / stride_fs))),
        visited_restarts=VISITED_RESTARTS,
        imbalanced_restarts=IMBALANCED_RESTARTS,
        restart_ps=RESTART_FRACTION * time_ps,
        frame_interval_fs=stride_fs / lag,
        lag=lag,
    )


def restart_frames(rules: RoundSchedule) -> int:
    """Frames after the first of each restart: ``restart_ps`` at
    ``frame_interval_fs``, at least enough for a validation pair."""
    wanted = round(rules.restart_ps * 1000.0 / rules.frame_interval_fs)
    needed = math.ceil((rules.lag + 2) / PAIR_VALIDATION)
    return max(int(wanted), needed)
