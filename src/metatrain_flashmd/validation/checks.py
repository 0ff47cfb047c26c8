"""One verdict of a validation, and the rule every verdict follows.

A :class:`Check` compares a *deviation* (dimensionless) of a FlashMD run from its
reference with a *threshold*: the larger of a tolerance and a multiple of the
*noise floor*, the same deviation measured on the reference itself
(:func:`judge`). A check whose ``passed`` is ``None`` only informs.
"""

import dataclasses
import math
from typing import Any, Dict, Optional


@dataclasses.dataclass
class Check:
    """One comparison and its verdict."""

    name: str
    """What is compared, for people (``"mean temperature Al"``)."""
    quantity: str
    """What is compared, for programs: ``temperature_mean``,
    ``temperature_spread``, ``equipartition`` (two or more elements), ``rdf``,
    ``vacf``, ``diffusion``, ``pressure`` (a reference calculator with stress),
    ``energy_drift`` or ``stride``."""
    subject: str
    """The element, pair of elements (``Cu-Au``), ``total`` or ``all``."""
    run: str
    """The FlashMD run judged: ``nvt``, ``nve`` (without energy rescaling) or
    ``nve_rescaled``."""
    value: float
    """The FlashMD run's figure, in ``unit``."""
    reference: float
    """The figure it is compared with (the reference run's, or the target), in
    ``unit``."""
    unit: str
    """Unit of ``value`` and ``reference``."""
    deviation: float
    """How far the run is from the reference, dimensionless (a fraction, or a
    difference of curves), except for ``pressure`` (GPa)."""
    noise_floor: float
    """The same deviation measured on the reference itself, in the unit of
    ``deviation``."""
    threshold: float
    """The largest deviation that passes: max(tolerance, factor x noise floor)."""
    passed: Optional[bool]
    """The verdict; ``None`` for figures shown without one."""
    note: str = ""
    """Anything that qualifies the verdict."""

    @property
    def verdict(self) -> str:
        """``pass``, ``FAIL`` or ``info``."""
        if self.passed is None:
            return "info"
        return "pass" if self.passed else "FAIL"

    def to_dict(self) -> Dict[str, Any]:
        """The check as JSON-ready values (NaN as ``None``)."""
        values = dataclasses.asdict(self)
        values["verdict"] = self.verdict
        return {key: _finite_or_none(value) for key, value in values.items()}

    def failed(self, note: str) -> "Check":
        """This check failed for a reason given in ``note``."""
        joined = f"{self.note}; {note}" if self.note else note
        return dataclasses.replace(self, passed=False, note=joined)


def _finite_or_none(value: Any) -> Any:
    """NaN and infinities as ``None`` (JSON has neither)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def judge(
    deviation: float, tolerance: float, noise_floor: float, factor: float
) -> "tuple[float, bool]":
    """The threshold and verdict of a deviation: it passes when it is at most
    max(``tolerance``, ``factor`` x ``noise_floor``); a NaN deviation fails and a
    NaN noise floor counts as none.

    :return: (threshold, passed).
    """
    threshold = tolerance
    if math.isfinite(noise_floor):
        threshold = max(tolerance, factor * noise_floor)
    return threshold, bool(math.isfinite(deviation) and deviation <= threshold)


def relative(value: float, reference: float) -> float:
    """|value / reference - 1| (NaN when the reference is 0 or NaN)."""
    if not math.isfinite(reference) or reference == 0:
        return float("nan")
    return abs(value / reference - 1.0)
