"""Build the replicas of a run: one integrator per system, one loaded model."""

from typing import Any, List, Optional, Sequence, Tuple

import ase
import numpy as np

from metatrain_flashmd.ase.base import ModelLike, load_model
from metatrain_flashmd.ase.guard import note_missing_records
from metatrain_flashmd.ase.run import THERMOSTATS, make_integrator
from metatrain_flashmd.replicas.checks import (
    ReplicaInputError,
    check_replicas,
    replica_name,
)
from metatrain_flashmd.replicas.driver import Replicas
from metatrain_flashmd.replicas.stride import model_cutoff


def replica_seeds(seed: Optional[int], count: int) -> List[Optional[int]]:
    """Seeds of ``count`` replicas from one seed: ``seed``, ``seed + 1``, ...; all
    ``None`` (unseeded) without one. Replica ``i`` alone, seeded with the ``i``-th,
    gives the same run."""
    if seed is None:
        return [None] * count
    return [seed + i for i in range(count)]


def seeded_generators(
    seeds: Optional[Sequence[Optional[int]]], count: int
) -> List[np.random.Generator]:
    """A random generator per replica from its seed (unseeded for ``None``, or
    all unseeded when ``seeds`` is ``None``)."""
    seeds = [None] * count if seeds is None else list(seeds)
    if len(seeds) != count:
        raise ValueError(f"got {len(seeds)} seeds for {count} replicas")
    return [np.random.default_rng(seed) for seed in seeds]


def make_replicas(
    systems: Sequence[ase.Atoms],
    model: ModelLike,
    thermostat: str = "none",
    *,
    temperature_K: Optional[float] = None,
    time_constant_fs: float = 100.0,
    equipartition_time_fs: Optional[float] = None,
    seeds: Optional[Sequence[Optional[int]]] = None,
    rngs: Optional[Sequence[np.random.Generator]] = None,
    labels: Optional[Sequence[Optional[str]]] = None,
    atom_budget: Optional[int] = None,
    **kwargs: Any,
) -> Replicas:
    """Replicas of ``systems``, each with its own integrator for ``thermostat``
    (``"none"``, ``"langevin"`` or ``"bussi"``, as
    :func:`~metatrain_flashmd.ase.run_md` picks it: NVE conserves the energy
    exactly when the atoms have a calculator).

    Every replica is checked before any integrator is built, and the errors name
    the replica.

    :param systems: one system per replica (simulated in place; masses in u,
        momenta in (eV*u)^(1/2)); each with its own calculator, if any.
    :param model: the exported FlashMD model, loaded once for all.
    :param thermostat: the thermostat's name.
    :param temperature_K: the bath temperature, K (one for all replicas).
    :param time_constant_fs: the thermostat's time constant, fs.
    :param equipartition_time_fs: NVE only: time constant (fs) of the kinetic
        energy exchange between elements.
    :param seeds: a seed per replica for its random generator (thermostat,
        rotations); unseeded when ``None``.
    :param rngs: random generators per replica instead of ``seeds``.
    :param labels: a label per replica for messages (file and frame).
    :param atom_budget: the most atoms in one model call (see :class:`Replicas`).
    :param kwargs: passed to every integrator (``device``, ``random_rotation``,
        ...; not ``trajectory`` or ``logfile``, which are per replica: attach
        them to :attr:`Replicas.integrators`).
    """
    labels, rngs = _per_replica(len(systems), labels, seeds, rngs)
    _check_thermostat(thermostat, temperature_K)
    loaded, path = load_model(model)
    note_missing_records(loaded, path)  # once for all, naming the file
    check_replicas(systems, labels, loaded, model_cutoff(loaded))
    kwargs.update(
        thermostat=thermostat,
        temperature_K=temperature_K,
        time_constant_fs=time_constant_fs,
        equipartition_time_fs=equipartition_time_fs,
    )
    integrators = []
    for index, atoms in enumerate(systems):
        try:
            dynamics = make_integrator(atoms, loaded, rng=rngs[index], **kwargs)
        except ValueError as error:
            name = replica_name(index, labels[index])
            raise ReplicaInputError(f"{name}: {error}") from error
        dynamics.model_path = path
        dynamics.guard.label = replica_name(index, labels[index])
        integrators.append(dynamics)
    return Replicas(integrators, labels=labels, atom_budget=atom_budget)


def _per_replica(
    count: int,
    labels: Optional[Sequence[Optional[str]]],
    seeds: Optional[Sequence[Optional[int]]],
    rngs: Optional[Sequence[np.random.Generator]],
) -> Tuple[List[Optional[str]], List[np.random.Generator]]:
    """The label and random generator of each of ``count`` replicas, refusing
    lists of another length."""
    labels = [None] * count if labels is None else list(labels)
    if len(labels) != count:
        raise ValueError(f"got {len(labels)} labels for {count} replicas")
    rngs = seeded_generators(seeds, count) if rngs is None else list(rngs)
    if len(rngs) != count:
        raise ValueError(f"got {len(rngs)} random generators for {count} replicas")
    return labels, rngs


def _check_thermostat(thermostat: str, temperature_K: Optional[float]) -> None:
    """Refuse an unknown thermostat, or one without a temperature (K), once for
    all replicas."""
    if thermostat not in THERMOSTATS:
        raise ValueError(
            f"unknown thermostat '{thermostat}', choose from {', '.join(THERMOSTATS)}"
        )
    if thermostat != "none" and temperature_K is None:
        raise ValueError(f"the {thermostat} thermostat needs a temperature")
