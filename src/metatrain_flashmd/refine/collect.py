r"""Collect the states a FlashMD model visits, score them, and choose the starts
of the reference restarts.

:data:`~metatrain_flashmd.refine.schedule.COLLECT_REPLICAS` runs from the
validation start go in one batched call (:mod:`metatrain_flashmd.replicas`):
half NVE without energy rescaling, half Langevin at the validation temperature,
each with its own seed (the first run of each kind from the start as it is, the
others from its positions with fresh Maxwell-Boltzmann momenta). At most
:data:`MAX_SCORED` states per run, evenly spaced, are scored
(:func:`~metatrain_flashmd.refine.trouble.trouble`). States past a runaway are
left out of the choice: an element hotter than twice the validation
temperature, a potential energy per atom more than :math:`\tfrac32 k_B T`
above the data's mean (what a harmonic solid at twice the temperature would
have), or a closest contact under :data:`CONTACT_FLOOR` times the data's mean.
The chosen states are those with the highest trouble score, at least a tenth of
a run apart when from the same run; the runs' starts are not chosen, unless every
later state ran away (a badly under-trained model): then the reference restarts
from the runs' starts (:func:`run_starts`), the region the model must learn first.
"""

import dataclasses
import math
from pathlib import Path
from typing import Any, Dict, List

import ase
import ase.io
import ase.units
import numpy as np
from ase.md.velocitydistribution import Stationary, thermalize_momenta

from metatrain_flashmd.refine.schedule import COLLECT_TIME_CONSTANT_FS
from metatrain_flashmd.refine.trouble import trouble
from metatrain_flashmd.replicas import make_replicas


MAX_SCORED = 64
"""Most states scored per run."""
CONTACT_FLOOR = 0.8
"""Closest contact below this fraction of the data's mean: a runaway state."""


@dataclasses.dataclass
class Visited:
    """One state a FlashMD run visited, with its scores."""

    atoms: ase.Atoms
    replica: int
    stride: int
    scores: Dict[str, float]

    def candidate(self, stats: Dict[str, Any], temperature_K: float) -> bool:
        """Whether a restart may start here (see the module docstring)."""
        contact = self.scores["closest_contact"]
        excess = 1.5 * ase.units.kB * temperature_K
        return (
            math.isfinite(self.scores["score"])
            and self.scores["imbalance"] <= 1.0
            and self.scores["energy_excess"] <= excess
            and contact >= CONTACT_FLOOR * stats["contact"]["mean"]
        )


def run_collection(
    model: Any,
    start: ase.Atoms,
    temperature_K: float,
    replicas: int,
    strides: int,
    seed: int,
    progress: bool = False,
) -> List[List[ase.Atoms]]:
    """The states (one per stride, with momenta) of ``replicas`` FlashMD runs of
    ``strides`` strides from ``start``; a run that fails stops there. With
    ``progress``, the strides are shown on standard error."""
    half = max(1, replicas // 2)
    runs: List[List[ase.Atoms]] = []
    for offset, thermostat in ((0, "none"), (half, "langevin")):
        count = half if thermostat == "none" else max(1, replicas - half)
        seeds = [seed + offset + i for i in range(count)]
        systems = [_start_copy(start, i, s, temperature_K) for i, s in enumerate(seeds)]
        group = make_replicas(
            systems,
            model,
            thermostat,
            temperature_K=temperature_K,
            time_constant_fs=COLLECT_TIME_CONSTANT_FS,
            seeds=seeds,
        )
        records: List[List[ase.Atoms]] = [[] for _ in systems]
        for dynamics, record in zip(group.integrators, records):
            dynamics.attach(_recorder(dynamics.atoms, record), interval=1)
        group.run(strides, progress=progress)
        runs.extend(records)
    return runs


def _start_copy(
    start: ase.Atoms, index: int, seed: int, temperature_K: float
) -> ase.Atoms:
    """The start of replica ``index`` of a group: the start itself for the first,
    and for the others its positions with Maxwell-Boltzmann momenta at
    ``temperature_K`` drawn with ``seed`` (NVE runs from one state would be the
    same run)."""
    atoms = start.copy()
    atoms.calc = None
    if index > 0:
        thermalize_momenta(atoms, temperature_K, rng=np.random.default_rng(seed))
        Stationary(atoms)
    return atoms


def _recorder(atoms: ase.Atoms, record: List[ase.Atoms]) -> Any:
    """An observer appending a copy of ``atoms`` (with momenta) while finite."""

    def observe() -> None:
        momenta = atoms.get_momenta()
        if np.isfinite(atoms.positions).all() and np.isfinite(momenta).all():
            frame = ase.Atoms(
                numbers=atoms.numbers,
                positions=atoms.positions,
                cell=atoms.cell,
                pbc=atoms.pbc,
                masses=atoms.get_masses(),
            )
            frame.set_momenta(momenta)
            record.append(frame)

    return observe


def score_runs(
    runs: List[List[ase.Atoms]],
    temperature_K: float,
    stats: Dict[str, Any],
    calculator: Any,
) -> List[Visited]:
    """At most :data:`MAX_SCORED` evenly spaced states of each run, scored."""
    visited = []
    for replica, frames in enumerate(runs):
        step = max(1, math.ceil(len(frames) / MAX_SCORED))
        for stride in range(0, len(frames), step):
            atoms = frames[stride]
            scores = trouble(atoms, temperature_K, stats, calculator)
            visited.append(Visited(atoms, replica, stride, scores))
    return visited


def choose(
    visited: List[Visited], count: int, stats: Dict[str, Any], temperature_K: float
) -> List[Visited]:
    """The ``count`` candidates with the highest trouble score, at least a tenth
    of a run apart within a run (fewer when there are not enough); the starts of
    the runs are not candidates."""
    candidates = [
        s for s in visited if s.stride > 0 and s.candidate(stats, temperature_K)
    ]
    candidates.sort(key=lambda state: -state.scores["score"])
    longest = max((state.stride for state in visited), default=0)
    separation = max(1, longest // 10)
    chosen: List[Visited] = []
    for state in candidates:
        if len(chosen) == count:
            break
        if all(
            other.replica != state.replica
            or abs(other.stride - state.stride) >= separation
            for other in chosen
        ):
            chosen.append(state)
    return chosen


def run_starts(visited: List[Visited], count: int) -> List[Visited]:
    """The first state of each run (at most ``count``, distinct runs; finite
    scores only): the fallback of :func:`choose` when every later state ran
    away."""
    starts = [
        state
        for state in visited
        if state.stride == 0 and math.isfinite(state.scores["score"])
    ]
    return starts[:count]


def write_visited(path: Path, visited: List[Visited]) -> None:
    """Write the scored states (scores as info keys) to ``path``, whole."""
    frames = []
    for state in visited:
        atoms = state.atoms.copy()
        atoms.info.update({"replica": state.replica, "stride": state.stride})
        atoms.info.update(
            {k: float(v) if math.isfinite(v) else 1e30 for k, v in state.scores.items()}
        )
        frames.append(atoms)
    temporary = path.with_name(f".{path.name}.partial")
    ase.io.write(temporary, frames, format="extxyz")
    temporary.replace(path)


def read_visited(path: Path) -> List[Visited]:
    """The scored states of :func:`write_visited`."""
    visited = []
    for atoms in ase.io.read(str(path), index=":"):
        info = dict(atoms.info)
        scores = {
            k: float(v) for k, v in info.items() if k not in ("replica", "stride")
        }
        scores = {k: v for k, v in scores.items() if k != "time_fs"}
        atoms.info = {}
        visited.append(
            Visited(atoms, int(info["replica"]), int(info["stride"]), scores)
        )
    return visited
