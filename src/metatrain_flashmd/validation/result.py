"""What a validation found: its settings, every check, every figure, and the
per-stride diagnostics, in memory and as the JSON of ``summary.json``.

``summary.json`` (format :data:`SUMMARY_FORMAT`) holds, at the top level,
``rules`` (:data:`JUDGING_RULES`), ``passed`` (true when no check failed),
``failed`` (the names of the failed checks), ``settings``, ``tolerances``,
``checks`` (each check's fields, see
:class:`~metatrain_flashmd.validation.Check`), ``figures`` (the reference's
and each FlashMD run's, with the RDF and VACF curves), ``stopped`` (runs that
stopped early, and why), ``stride`` (per-stride diagnostics on reference states
and on states a FlashMD run visited) and ``files``.
"""

import dataclasses
import math
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from metatrain_flashmd.validation.checks import Check
from metatrain_flashmd.validation.tolerances import Tolerances


SUMMARY_FORMAT = 1
"""Version of the layout of ``summary.json``."""

JUDGING_RULES = 3
"""Version of the rules the checks are judged by, ``rules`` in ``summary.json``
(a summary without it: version 1). 1: in NVE, each element's mean temperature
against the reference's mean for that element; 2: against the reference's
temperature of all atoms; 3: the NVT reference made by a calculator is the
FlashMD integrator with exact strides (:mod:`.reference_nvt`), no longer ASE's
thermostat at every reference step. A verdict is only comparable with another
of the same rules."""


def judging_rules(summary: Dict[str, Any]) -> int:
    """The :data:`JUDGING_RULES` a ``summary.json`` was judged by: its
    ``rules``; without them, 2 when the reference's figures have
    ``temperature_all`` (added with rules 2), else 1."""
    if "rules" in summary:
        return int(summary["rules"])
    reference = summary.get("figures", {}).get("reference", {})
    return 2 if "temperature_all" in reference else 1


def judged_as_today(summary: Dict[str, Any]) -> bool:
    """Whether today's rules would judge ``summary``'s runs the same way: judged
    by today's rules, or by rules that differ from them only where it does not
    apply (rules 1: NVE with several elements; rules 1 and 2: NVT against a
    reference calculator)."""
    rules = judging_rules(summary)
    if rules >= JUDGING_RULES:
        return True
    settings = summary.get("settings", {})
    if settings.get("ensemble") == "nvt":
        return settings.get("reference_kind") == "trajectory"
    elements = summary.get("figures", {}).get("reference", {}).get("temperature", {})
    return rules >= 2 or len(elements) == 1


@dataclasses.dataclass
class ValidationSettings:
    """How a validation was run."""

    model: str
    """The FlashMD model (its path)."""
    start: str
    """The START structure (its path)."""
    reference: str
    """The reference: a calculator's name or a trajectory's path."""
    reference_kind: str
    """``calculator`` or ``trajectory``."""
    temperature_K: float  # noqa: N815
    """The validation temperature (NVT bath, initial momenta), K."""
    ensemble: str
    """``nvt`` or ``nve``."""
    time_ps: Optional[float]
    """Length of each run, ps (``None`` until START is read: then chosen by
    :func:`~metatrain_flashmd.validation.inputs.default_time_ps`)."""
    stride_fs: float
    """The model's stride, fs."""
    thermostat: str
    """NVT: ``langevin`` or ``bussi``, the same for reference and FlashMD."""
    time_constant_fs: float
    """NVT: the thermostat's time constant, fs."""
    reference_timestep_fs: float
    """Largest timestep of reference MD, fs."""
    equilibration_ps: float
    """Equilibration of a START without momenta, ps."""
    discard_fraction: float
    """Fraction of each run dropped from the start of the analysis."""
    stride_pairs: int
    """Pairs for the per-stride diagnostics."""
    seed: Optional[int]
    """Seed of every random choice."""
    bare_nve: bool = True
    """NVE: whether FlashMD also runs without energy rescaling (judged on its
    energy drift)."""


@dataclasses.dataclass
class ValidationResult:
    """The outcome of :func:`~metatrain_flashmd.validation.validate`."""

    settings: ValidationSettings
    """How the validation was run."""
    tolerances: Tolerances
    """The tolerances it was judged by."""
    checks: List[Check]
    """Every comparison and its verdict."""
    figures: Dict[str, Dict[str, Any]]
    """Figures of ``reference`` and of each FlashMD run (``nvt``, ``nve``,
    ``nve_rescaled``)."""
    stopped: Dict[str, str]
    """FlashMD runs that stopped before the end, and why."""
    stride: Dict[str, Dict[str, Any]]
    """Per-stride diagnostics on pairs starting at frames of the reference run
    (``reference``) and of a FlashMD run (``visited``, with a reference
    calculator), each with ``elements``, ``slopes``, ``thermostat_offset_K``,
    ``heating_K_per_ps``, ``pairs`` and ``source``; empty without pairs."""
    files: Dict[str, str] = dataclasses.field(default_factory=dict)
    """Files written, by role (``report``, ``summary``, plots, trajectories)."""

    @property
    def passed(self) -> bool:
        """Whether no check failed."""
        return not self.failures

    @property
    def failures(self) -> List[Check]:
        """The checks that failed."""
        return [check for check in self.checks if check.passed is False]

    def to_dict(self) -> Dict[str, Any]:
        """The contents of ``summary.json``."""
        return {
            "format": SUMMARY_FORMAT,
            "rules": JUDGING_RULES,
            "passed": self.passed,
            "failed": [f"{check.name} ({check.run})" for check in self.failures],
            "settings": dataclasses.asdict(self.settings),
            "tolerances": self.tolerances.to_dict(),
            "checks": [check.to_dict() for check in self.checks],
            "figures": jsonable(self.figures),
            "stopped": dict(self.stopped),
            "stride": jsonable(self.stride),
            "files": dict(self.files),
        }


def jsonable(value: Any) -> Any:
    """``value`` with arrays as lists, numpy scalars as Python numbers, NaN and
    infinities as ``None`` and paths as strings."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (np.integer, np.bool_)):
        return value.item()
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, Path):
        return str(value)
    return value
