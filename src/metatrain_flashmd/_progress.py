"""Progress of a long loop on standard error, shared by ``mtt-flashmd pairs`` (frames
read) and ``mtt-flashmd md`` (strides run).

On a terminal, a live :mod:`tqdm` bar. Anywhere else (a log file, CI, a pipe), where
every update of a bar would stay in the output, a few plain lines instead: one at
each quarter of the work, with the rate and the time left, e.g.::

    strides 250/500 (50%): 8.31 strides/s, 30 s left; T=301.2K
"""

import math
import sys
import time
from typing import Any, Optional, TextIO

import tqdm


MILESTONES = 4
"""Lines written when standard error is not a terminal: at 25, 50, 75 and 100%."""


def format_duration(seconds: float) -> str:
    """A duration (s) for people: ``42 s``, ``3 min 05 s``, ``2 h 03 min``."""
    if not math.isfinite(seconds):
        return "?"
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """Counts work done out of ``total`` units and shows it on ``stream``.

    Use as a context manager; :meth:`update` after each unit of work. When the loop
    ends with an exception, no final line is written.

    :param total: units of work expected (nothing is shown when zero).
    :param unit: name of one unit (``"frame"``, ``"stride"``); an ``s`` is added
        for the plural.
    :param enabled: show anything at all.
    :param stream: where to write; standard error when ``None``.
    :param leave: on a terminal, keep the finished bar on screen.
    """

    def __init__(
        self,
        total: int,
        unit: str,
        enabled: bool = True,
        stream: Optional[TextIO] = None,
        leave: bool = True,
    ) -> None:
        self.total = int(total)
        self.unit = unit
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled and self.total > 0
        self.count = 0
        self.skipped = 0
        """Units found done before (a resumed loop): counted, but not in the rate."""
        self.status = ""
        self.next_milestone = 1
        self.start = time.perf_counter()
        self.bar: Optional[tqdm.tqdm] = None
        if self.enabled and is_terminal(self.stream):
            self.bar = tqdm.tqdm(
                total=self.total, unit=unit, leave=leave, file=self.stream
            )

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, kind: Any, *exception: Any) -> None:
        if self.bar is not None:
            self.bar.close()

    def restart_clock(self) -> None:
        """Measure the rate from now on (after a warm-up, say)."""
        self.start = time.perf_counter()
        if self.bar is not None:
            self.bar.reset(total=self.total)
            self.bar.update(self.count)

    def skip(self, count: int = 1) -> None:
        """Record ``count`` units found already done (kept from an interrupted
        run): they count towards the total but not towards the rate."""
        self.skipped += count
        self.update(count)

    def update(self, count: int = 1, **status: Any) -> None:
        """Record ``count`` more units done; ``status`` (name=value) is shown beside
        the count."""
        self.count += count
        if status:
            self.status = " ".join(f"{name}={value}" for name, value in status.items())
        if not self.enabled:
            return
        if self.bar is not None:
            if status:
                self.bar.set_postfix(status, refresh=False)
            self.bar.update(count)
            return
        reached = min(self.count * MILESTONES // self.total, MILESTONES)
        if reached >= self.next_milestone:
            self.next_milestone = reached + 1
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        """The current state in one line (rate in units per second, of the units
        done in this run; those found done before are named apart)."""
        elapsed = time.perf_counter() - self.start
        done_now = self.count - self.skipped
        rate = done_now / elapsed if elapsed > 0 and done_now > 0 else math.nan
        percent = 100 * self.count // self.total
        text = f"{self.unit}s {self.count}/{self.total} ({percent}%): "
        if self.skipped:
            text += f"{self.skipped} done before, "
        if done_now > 0:
            speed = f"{rate:.0f}" if rate >= 100 else f"{rate:.3g}"
            text += f"{speed} {self.unit}s/s, "
        if self.count >= self.total:
            text += f"done in {format_duration(elapsed)}"
        else:
            text += f"{format_duration((self.total - self.count) / rate)} left"
        if self.status:
            text += f"; {self.status}"
        return text


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed file
        return False
