"""Stopping a command cleanly: ``SIGTERM`` (``kill PID``, a batch system's time
limit) unwinds a command as Ctrl-C does, so that files are closed with every
frame written, an ``mtt`` child is stopped and a refine's lock released, instead
of the process vanishing mid-write."""

import contextlib
import signal
import threading
from typing import Any, Iterator


SIGTERM_STATUS = 143
"""Exit status of a command stopped by ``SIGTERM`` (128 + 15, as the shell's)."""
INTERRUPT_STATUS = 130
"""Exit status of a command stopped by Ctrl-C (128 + 2)."""


class Terminated(BaseException):
    """``SIGTERM`` received. A ``BaseException``, like ``KeyboardInterrupt``, so
    that no step takes it for a failure of its own and carries on."""


@contextlib.contextmanager
def sigterm_unwinds() -> Iterator[None]:
    """Within the block, ``SIGTERM`` raises :class:`Terminated`; the previous
    handler is restored after it. Nothing changes outside the main thread,
    where Python does not deliver signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
