"""Run many FlashMD integrators together, with one model call per stride for all.

Each replica keeps its own integrator of :mod:`metatrain_flashmd.ase`: its
thermostat and random generator, energy rescaling, random rotations, observers,
trajectory and log are exactly those of a run alone. Only the model evaluation
(the integrator's stride, :math:`(q, p) \\leftarrow \\Phi_{\\Delta t}(q, p)`) is
gathered: the integrators run in threads (see
:mod:`metatrain_flashmd.replicas.exchange`), and the coordinating thread evaluates
the strides of all of them at once, in as few model calls as fit the atom budget
(:mod:`metatrain_flashmd.replicas.budget`).
"""

import contextlib
import dataclasses
import functools
import logging
import threading
import time
from typing import Dict, List, Optional, Sequence

import ase
import numpy as np
from metatomic.torch import AtomisticModel

from metatrain_flashmd._progress import Progress
from metatrain_flashmd.ase.base import FlashMDDynamics
from metatrain_flashmd.replicas.atoms import predict_atoms
from metatrain_flashmd.replicas.budget import default_atom_budget, plan_calls
from metatrain_flashmd.replicas.checks import check_replicas, replica_name
from metatrain_flashmd.replicas.exchange import RunCancelledError, StrideExchange
from metatrain_flashmd.replicas.stride import model_cutoff, model_device


LOGGER = logging.getLogger(__name__)


class ReplicaBlowUpError(RuntimeError):
    """A stride gave a replica non-finite positions or momenta."""


@dataclasses.dataclass
class ReplicaOutcome:
    """What one replica did in :meth:`Replicas.run`."""

    index: int
    """Position of the replica in the run."""
    label: Optional[str]
    """Its label (file and frame), if any."""
    steps: int = 0
    """Strides it completed."""
    mean_temperature: float = float("nan")
    """Mean temperature after each of its strides, K."""
    error: Optional[str] = None
    """Why it stopped early, or ``None`` if it completed every stride."""


def shared_model(integrators: Sequence[FlashMDDynamics]) -> AtomisticModel:
    """The one model all ``integrators`` use; refuses integrators of different
    models or timesteps."""
    model = integrators[0].model
    path = integrators[0].model_path
    for index, dynamics in enumerate(integrators[1:], start=1):
        same = dynamics.model is model or (
            path is not None and dynamics.model_path == path
        )
        if not same or dynamics.dt != integrators[0].dt:
            raise ValueError(
                f"replica {index} uses another model or timestep than replica 0: "
                "build every integrator with the same model (one loaded "
                "AtomisticModel, or the same file) and timestep"
            )
    return model


class Replicas:
    """Independent FlashMD integrators advanced together: one model call per
    stride for all of them (or as few as the atom budget allows).

    The result of each replica is the one of its integrator run alone (same
    thermostat, seed, observers and files), up to the rounding of the batched
    model products. A replica whose stride gives non-finite positions or momenta,
    or whose integrator raises (for example
    :class:`~metatrain_flashmd.ase.EnergyConservationError`), stops with its
    error in its :class:`ReplicaOutcome`; the others go on, and its trajectory
    keeps the frames written before.

    :param integrators: one integrator per replica, built with the same model and
        timestep; each with its own atoms (and calculator, if any) and random
        generator. Attach observers, trajectories and logs to them as usual.
    :param labels: a label per replica for messages (e.g. ``"a.xyz, frame 3"``).
    :param atom_budget: the most atoms in one model call; by default from the
        memory available on the model's device
        (:func:`~metatrain_flashmd.replicas.budget.default_atom_budget`).
    :raises ReplicaInputError: before any stride, naming each replica with an
        element the model does not know, masses other than the model's, a
        periodic cell narrower than the model's cutoff, or non-finite
        coordinates.
    """

    def __init__(
        self,
        integrators: Sequence[FlashMDDynamics],
        *,
        labels: Optional[Sequence[Optional[str]]] = None,
        atom_budget: Optional[int] = None,
    ) -> None:
        self.integrators = list(integrators)
        """The replicas' integrators, in order."""
        if not self.integrators:
            raise ValueError("give at least one integrator")
        if labels is None:
            labels = [None] * len(self.integrators)
        if len(labels) != len(self.integrators):
            raise ValueError(
                f"got {len(labels)} labels for {len(self.integrators)} replicas"
            )
        self.labels = list(labels)
        """The replicas' labels (``None`` for none)."""
        self.model = shared_model(self.integrators)
        self.cutoff = model_cutoff(self.model)
        check_replicas(
            [dynamics.atoms for dynamics in self.integrators],
            self.labels,
            self.model,
            self.cutoff,
        )
        if atom_budget is None:
            atom_budget = default_atom_budget(model_device(self.model))
        if atom_budget < 1:
            raise ValueError(f"the atom budget must be at least 1, got {atom_budget}")
        self.atom_budget = int(atom_budget)
        """The most atoms in one model call."""
        self.model_calls = 0
        """Model evaluations made so far (for diagnostics)."""
        self.stopped: Dict[int, str] = {}
        """The replicas that failed (index -> error); later runs leave them out."""

    def __len__(self) -> int:
        return len(self.integrators)

    def name(self, index: int) -> str:
        """How messages name replica ``index``."""
        return replica_name(index, self.labels[index])

    def run(self, steps: int, progress: bool = False) -> List[ReplicaOutcome]:
        """Advance every replica by ``steps`` strides.

        :param steps: strides per replica.
        :param progress: show the progress of the strides on standard error: one
            bar for all replicas on a terminal, a few lines otherwise.
        :return: what each replica did, in order. Replicas that failed in an
            earlier run are left out (their error is repeated).
        """
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        exchange = StrideExchange(len(self))
        outcomes = [
            ReplicaOutcome(index, label, error=self.stopped.get(index))
            for index, label in enumerate(self.labels)
        ]
        running = [i for i in range(len(self)) if i not in self.stopped]
        threads = [
            threading.Thread(
                target=self._replica,
                args=(index, steps, exchange, outcomes[index]),
                name=f"flashmd-replica-{index}",
                daemon=True,
            )
            for index in running
        ]
        with contextlib.ExitStack() as predictors:
            for index in running:
                predictors.enter_context(
                    self.integrators[index].predict_with(
                        functools.partial(exchange.request, index)
                    )
                )
            try:
                for thread in threads:
                    thread.start()
                self._coordinate(exchange, running, steps, progress)
            except BaseException:
                exchange.cancel()
                raise
            finally:
                for thread in threads:
                    thread.join()
        return outcomes

    def _replica(
        self,
        index: int,
        steps: int,
        exchange: StrideExchange,
        outcome: ReplicaOutcome,
    ) -> None:
        """The thread of replica ``index``: its integrator's own run loop."""
        dynamics = self.integrators[index]
        start = dynamics.nsteps
        temperatures = []
        try:
            for _ in dynamics.irun(steps):
                if dynamics.nsteps > start:
                    temperatures.append(dynamics.atoms.get_temperature())
        except RunCancelledError:
            outcome.error = "the run was interrupted"
        except Exception as error:  # one replica's failure stops it alone
            outcome.error = f"{type(error).__name__}: {error}"
            self.stopped[index] = outcome.error
            LOGGER.warning(
                f"{self.name(index)} stopped after {dynamics.nsteps - start} "
                f"strides: {outcome.error}"
            )
        finally:
            outcome.steps = dynamics.nsteps - start
            if temperatures:
                outcome.mean_temperature = float(np.mean(temperatures))
            exchange.finish(index)

    def _coordinate(
        self,
        exchange: StrideExchange,
        replicas: List[int],
        steps: int,
        progress: bool,
    ) -> None:
        """Serve the strides of ``replicas`` until all have finished."""
        running = set(replicas)
        atom_strides = 0
        start = time.perf_counter()
        with Progress(steps, "stride", enabled=progress, leave=False) as report:
            while True:
                requests = exchange.collect(running)
                running -= set(exchange.finished())
                if not requests:
                    return
                self._serve(requests, exchange)
                atom_strides += sum(len(atoms) for atoms in requests.values())
                rate = atom_strides / (time.perf_counter() - start)
                report.update(
                    1, replicas=len(requests), atom_strides_per_s=f"{rate:.4g}"
                )

    def _serve(self, requests: Dict[int, ase.Atoms], exchange: StrideExchange) -> None:
        """Evaluate the posted strides in calls within the budget, and reply."""
        indices = []
        for index in sorted(requests):
            atoms = requests[index]
            if (
                np.isfinite(atoms.positions).all()
                and np.isfinite(atoms.get_momenta()).all()
            ):
                indices.append(index)
            else:
                exchange.reply(index, self._blew_up(index, "before"))
        sizes = [len(requests[i]) for i in indices]
        for call in plan_calls(sizes, self.atom_budget):
            self._evaluate([indices[i] for i in call], requests, exchange)

    def _evaluate(
        self,
        indices: List[int],
        requests: Dict[int, ase.Atoms],
        exchange: StrideExchange,
    ) -> None:
        """One model call for the replicas ``indices``; when it fails, the halves
        are tried apart, so that a failing replica only stops itself."""
        systems = [requests[i] for i in indices]
        try:
            self.model_calls += 1
            results = predict_atoms(self.model, systems)
        except Exception as error:
            if len(indices) == 1:
                exchange.reply(indices[0], error)
                return
            if _out_of_memory(error):
                self._shrink_budget(sum(len(atoms) for atoms in systems))
            half = len(indices) // 2
            self._evaluate(indices[:half], requests, exchange)
            self._evaluate(indices[half:], requests, exchange)
            return
        for index, (positions, momenta) in zip(indices, results):
            if np.isfinite(positions).all() and np.isfinite(momenta).all():
                exchange.reply(index, (positions, momenta))
            else:
                exchange.reply(index, self._blew_up(index, "after"))

    def _blew_up(self, index: int, when: str) -> ReplicaBlowUpError:
        """The error stopping replica ``index``, non-finite ``when`` its stride."""
        stride = self.integrators[index].nsteps + 1
        return ReplicaBlowUpError(
            f"non-finite positions or momenta {when} stride {stride}: the replica "
            "is stopped at its last finite state"
        )

    def _shrink_budget(self, atoms: int) -> None:
        """Halve the budget below a call of ``atoms`` atoms that ran out of memory."""
        self.atom_budget = max(1, min(self.atom_budget, atoms // 2))
        LOGGER.warning(
            f"a model call of {atoms} atoms ran out of memory: the atom budget is "
            f"now {self.atom_budget}"
        )


def _out_of_memory(error: Exception) -> bool:
    """Whether ``error`` says a model call ran out of memory."""
    text = str(error).lower()
    return (
        isinstance(error, MemoryError)
        or "out of memory" in text
        or ("allocate" in text and "bytes" in text)
    )
