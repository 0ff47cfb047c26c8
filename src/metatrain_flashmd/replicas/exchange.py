"""Where replica threads hand their model strides to the thread that batches them.

Each replica runs its own integrator (thermostat half-steps, energy rescaling,
observers, trajectory, log) in a thread of its own; only the model evaluation is
shared. When a replica's step reaches its stride, its thread posts the system here
and waits; the coordinating thread waits until every running replica has either
posted or finished, evaluates all posted systems together and hands each its
prediction (or an error that stops that replica alone). The threads never run the
model, so the Python global interpreter lock costs nothing that matters: all the
computation of a stride happens in the coordinating thread.
"""

import threading
from typing import Any, Dict, Iterable, List, Set


class RunCancelledError(Exception):
    """Raised in a replica's thread when the whole run is interrupted."""


class StrideExchange:
    """The meeting point of ``count`` replica threads and one coordinating thread.

    :param count: number of replicas (indices 0 to count - 1).
    """

    def __init__(self, count: int) -> None:
        self._condition = threading.Condition()
        self._events = [threading.Event() for _ in range(count)]
        self._requests: Dict[int, Any] = {}
        self._waiting: Set[int] = set()
        self._replies: Dict[int, Any] = {}
        self._finished: Set[int] = set()
        self._cancelled = False

    # -- replica side -------------------------------------------------------------

    def request(self, index: int, system: Any) -> Any:
        """Post replica ``index``'s ``system`` and wait for its prediction.

        :raises: the exception handed back instead of a prediction, or
            :class:`RunCancelledError` when the run was cancelled.
        """
        event = self._events[index]
        with self._condition:
            if self._cancelled:
                raise RunCancelledError()
            event.clear()
            self._requests[index] = system
            self._waiting.add(index)
            self._condition.notify_all()
        event.wait()
        with self._condition:
            reply = self._replies.pop(index)
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def finish(self, index: int) -> None:
        """Replica ``index`` will post no more."""
        with self._condition:
            self._finished.add(index)
            self._condition.notify_all()

    # -- coordinating side --------------------------------------------------------

    def collect(self, running: Iterable[int]) -> Dict[int, Any]:
        """Wait until each of the ``running`` replicas has posted or finished, and
        take the posted systems (replica index -> system)."""
        running = list(running)
        with self._condition:
            while not all(i in self._requests or i in self._finished for i in running):
                self._condition.wait()
            requests, self._requests = self._requests, {}
        return requests

    def finished(self) -> List[int]:
        """The replicas that will post no more."""
        with self._condition:
            return sorted(self._finished)

    def reply(self, index: int, value: Any) -> None:
        """Hand replica ``index`` its prediction, or an exception to raise."""
        with self._condition:
            if index not in self._waiting:
                return
            self._waiting.discard(index)
            self._replies[index] = value
        self._events[index].set()

    def cancel(self) -> None:
        """Stop every replica: those waiting for a prediction and later posts
        raise :class:`RunCancelledError`."""
        with self._condition:
            self._cancelled = True
            self._requests = {}
            waiting = sorted(self._waiting)
        for index in waiting:
            self.reply(index, RunCancelledError())
