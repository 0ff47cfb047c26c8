"""Can this FlashMD model be trusted for this system? The library behind
``mtt-flashmd validate``.

:func:`validate` runs a model and its reference from the same start and judges
what users rely on (per-element temperatures and their distributions, RDFs,
velocity autocorrelations, diffusion, and in NVE the energy drift) against the
reference's own statistical noise; it writes ``report.md``, ``summary.json`` and
plots. Its :class:`ValidationResult` (and ``summary.json``) is what other tools
read to decide what to do next.
"""

from metatrain_flashmd.validation.checks import Check
from metatrain_flashmd.validation.errors import ValidationInputError
from metatrain_flashmd.validation.result import ValidationResult, ValidationSettings
from metatrain_flashmd.validation.tolerances import Tolerances
from metatrain_flashmd.validation.workflow import validate


__all__ = [
    "Check",
    "Tolerances",
    "ValidationInputError",
    "ValidationResult",
    "ValidationSettings",
    "validate",
]
