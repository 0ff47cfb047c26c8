"""Warnings of our dependencies that a user cannot act on, kept out of the output.

Two kinds flood the output of ``mtt train``, ``mtt export`` and, when warnings are
shown, of ``mtt-flashmd``: omegaconf's deprecation of ``register_new_resolver``,
raised when metatrain registers its resolvers, and torch's deprecation of
``torch.jit`` (``script``, ``save``, ``load``, ``interface``), raised when metatrain
and metatomic compile or load a TorchScript model. Neither says anything about the
user's data or options, and neither can be fixed by the user.

:func:`ignore_dependency_warnings` hides exactly these, and nothing else: as
Python warnings, and as the log records that metatrain's commands make of warnings
(``logging.captureWarnings``, logger ``py.warnings``), since metatrain shows every
deprecation warning again (``warnings.simplefilter("default",
DeprecationWarning)``) once its logging is set up.
"""

import logging
import re
import warnings
from typing import Tuple, Type


DEPENDENCY_WARNINGS: Tuple[Tuple[str, Type[Warning], str], ...] = (
    (
        r"register_new_resolver\(\) is deprecated",
        UserWarning,
        r"metatrain\.",
    ),
    (r"`torch\.jit\.\w+` is deprecated", DeprecationWarning, r"torch\.jit\."),
)
"""(message, category, module) of each warning to hide: the start of the message
(regular expression), its class, and the start of the module it is attributed to
(where ``warnings.warn`` points: metatrain's call of omegaconf, torch.jit itself)."""


class DependencyWarningFilter(logging.Filter):
    """Drops the log records of :data:`DEPENDENCY_WARNINGS` (as
    :func:`logging.captureWarnings` writes them: ``file:line: Category:
    message``)."""

    patterns = [
        re.compile(rf"{category.__name__}: {message}")
        for message, category, _ in DEPENDENCY_WARNINGS
    ]

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(pattern.search(text) for pattern in self.patterns)


def ignore_dependency_warnings() -> None:
    """Hide the warnings of :data:`DEPENDENCY_WARNINGS`, as warnings and as the log
    records of captured warnings; other warnings are shown as before. Calling it
    again adds nothing."""
    for message, category, module in DEPENDENCY_WARNINGS:
        warnings.filterwarnings(
            "ignore", message=message, category=category, module=module
        )
    logger = logging.getLogger("py.warnings")
    if not any(isinstance(f, DependencyWarningFilter) for f in logger.filters):
        logger.addFilter(DependencyWarningFilter())
