"""Run many replicas from files, each with its own trajectory and log: the library
behind a multi-structure ``mtt-flashmd md``.

Each replica is prepared exactly as :func:`~metatrain_flashmd.ase.run_md` prepares
its one system (same reading, initial momenta, energy calculator, integrator and
files), from its own seed, so that replica ``i`` seeded with ``s`` writes what
``run_md`` seeded with ``s`` writes for the same structure.
"""

import contextlib
import dataclasses
import logging
import pathlib
import time
from typing import List, Optional, Sequence, Tuple, Union

import ase
import numpy as np

from metatrain_flashmd.ase.base import ModelLike
from metatrain_flashmd.ase.run import (
    CSVLog,
    FrameWriter,
    energy_calculator_for,
    loaded_energy_model,
    read_structure,
)
from metatrain_flashmd.ase.structure import read_frame
from metatrain_flashmd.replicas.build import make_replicas, seeded_generators
from metatrain_flashmd.replicas.checks import ReplicaInputError, replica_name
from metatrain_flashmd.replicas.driver import ReplicaOutcome, Replicas


LOGGER = logging.getLogger(__name__)
FILE_MARGIN = 256
"""Open files left for everything but the replicas' trajectories and logs
(libraries, models, the standard streams)."""
Path = Union[str, pathlib.Path]
Structure = Tuple[Union[Path, ase.Atoms], Optional[str]]
"""A replica's starting structure (a file, whose last frame is used, or atoms) and
its label for messages (``None``: the file name, if any)."""


def numbered_paths(path: Path, count: int) -> List[pathlib.Path]:
    """One path per replica from one name: ``out.extxyz`` gives ``out-0.extxyz``,
    ``out-1.extxyz``, ... (zero-padded to the same width)."""
    path = pathlib.Path(path)
    width = len(str(max(count - 1, 0)))
    return [
        path.with_name(f"{path.stem}-{i:0{width}d}{path.suffix}") for i in range(count)
    ]


def _check_paths(
    count: int, outputs: Sequence[Path], logs: Optional[Sequence[Path]]
) -> None:
    """Refuse output lists of the wrong length or naming one file twice."""
    paths = [pathlib.Path(p).resolve() for p in outputs]
    if logs is not None:
        if len(logs) != count:
            raise ValueError(f"got {len(logs)} log files for {count} replicas")
        paths += [pathlib.Path(p).resolve() for p in logs]
    if len(outputs) != count:
        raise ValueError(f"got {len(outputs)} trajectory files for {count} replicas")
    if len(set(paths)) != len(paths):
        raise ValueError("every replica needs trajectory and log files of its own")


def reserve_open_files(count: int) -> None:
    """Make room for ``count`` more open files (the replicas' trajectories and
    logs, open for the whole run): raise this process's soft limit on open files
    towards the hard one when needed, with :data:`FILE_MARGIN` to spare.

    :raises ValueError: if the hard limit is too low, before any file is written.
    """
    try:
        import resource
    except ImportError:  # not a POSIX system: nothing to ask
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    needed = count + FILE_MARGIN
    if soft == resource.RLIM_INFINITY or soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise ValueError(
            f"the replicas' {count} trajectories and logs need about {needed} open "
            f"files, more than this system allows a process ({hard}, see ulimit "
            "-Hn): run fewer replicas at once, or without logs"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


@dataclasses.dataclass
class ReplicaOptions:
    """The dynamics every replica of :func:`run_replicas` runs (the options of
    :func:`~metatrain_flashmd.ase.run_md`)."""

    thermostat: str = "none"
    """``"none"`` (NVE), ``"langevin"`` or ``"bussi"``."""
    temperature_K: Optional[float] = None  # noqa: N815 - ASE spelling
    """Bath temperature and temperature of the initial momenta of structures
    without momenta, K."""
    time_constant_fs: float = 100.0
    """Thermostat time constant, fs."""
    equipartition_time_fs: Optional[float] = None
    """NVE only, see :class:`~metatrain_flashmd.ase.VelocityVerlet`."""
    energy_model: Optional[Path] = None
    """Metatomic model of the potential energy (eV), loaded once for all replicas
    (each has its own calculator)."""
    energy_calculator: Optional[str] = None
    """``"emt"`` instead of ``energy_model``."""
    random_rotation: bool = False
    """Randomly rotate each system around each stride."""


def run_replicas(
    model: ModelLike,
    structures: Sequence[Structure],
    steps: int,
    outputs: Sequence[Path],
    options: Optional[ReplicaOptions] = None,
    *,
    logs: Optional[Sequence[Path]] = None,
    seeds: Optional[Sequence[Optional[int]]] = None,
    device: Optional[str] = None,
    interval: int = 1,
    atom_budget: Optional[int] = None,
    progress: bool = False,
) -> List[ReplicaOutcome]:
    """Run ``steps`` FlashMD strides of every structure together, one model call per
    stride for all (see :class:`~metatrain_flashmd.replicas.Replicas`).

    :param model: the exported FlashMD model (``.pt`` path or loaded).
    :param structures: (structure, label) per replica.
    :param steps: number of strides.
    :param outputs: a trajectory file per replica (``.extxyz``, ``.xyz`` or
        ``.traj``), overwritten (see :func:`numbered_paths`).
    :param options: the dynamics, the same for every replica; NVE without energy
        when ``None``.
    :param logs: a CSV log file per replica, overwritten; none when ``None``.
    :param seeds: a seed per replica (initial momenta, rotations, thermostat); see
        :func:`~metatrain_flashmd.replicas.replica_seeds`.
    :param device: torch device; ``None`` picks one.
    :param interval: write a frame and a log row every ``interval`` strides.
    :param atom_budget: the most atoms in one model call; from the device's memory
        when ``None``.
    :param progress: show one progress bar on standard error.
    :return: what each replica did; a replica that failed has its ``error`` set,
        and its files keep what was written before.
    """
    options = ReplicaOptions() if options is None else options
    count = len(structures)
    if steps < 0 or interval < 1:
        raise ValueError("steps must be >= 0 and interval >= 1")
    _check_paths(count, outputs, logs)
    reserve_open_files(count * (1 if logs is None else 2))
    rngs = seeded_generators(seeds, count)
    systems, labels = _read_replicas(structures, options, rngs, device)
    replicas = make_replicas(
        systems,
        model,
        options.thermostat,
        temperature_K=options.temperature_K,
        time_constant_fs=options.time_constant_fs,
        equipartition_time_fs=options.equipartition_time_fs,
        rngs=rngs,
        labels=labels,
        atom_budget=atom_budget,
        device=device,
        random_rotation=options.random_rotation,
    )
    with contextlib.ExitStack() as stack:
        _attach_files(replicas, outputs, logs, interval, stack)
        start = time.perf_counter()
        outcomes = replicas.run(steps, progress=progress)
    _log_summary(replicas, outcomes, steps, time.perf_counter() - start)
    return outcomes


def _log_summary(
    replicas: Replicas, outcomes: List[ReplicaOutcome], steps: int, seconds: float
) -> None:
    """Log what the run did: replicas completed, atoms, time and model calls."""
    count = len(outcomes)
    failed = sum(outcome.error is not None for outcome in outcomes)
    atoms = sum(len(dynamics.atoms) for dynamics in replicas.integrators)
    logging.info(
        f"{count - failed} of {count} replicas ({atoms} atoms in all) completed "
        f"{steps} strides of {type(replicas.integrators[0]).__name__} in "
        f"{seconds:.1f} s ({replicas.model_calls} model calls of at most "
        f"{replicas.atom_budget} atoms)"
    )


def _read_replicas(
    structures: Sequence[Structure],
    options: ReplicaOptions,
    rngs: Sequence[np.random.Generator],
    device: Optional[str],
) -> Tuple[List[ase.Atoms], List[Optional[str]]]:
    """Each replica's starting atoms (as :func:`~metatrain_flashmd.ase.run_md`
    reads them, with its energy calculator) and label (the file name when none
    is given); reading errors name the replica."""
    systems, labels = [], []
    with_momenta = 0
    energy_model = options.energy_model
    if energy_model is not None:  # loaded once, for the calculators of all
        energy_model = loaded_energy_model(energy_model)
    for index, ((structure, label), rng) in enumerate(zip(structures, rngs)):
        if label is None and not isinstance(structure, ase.Atoms):
            label = str(structure)
        try:
            start = read_frame(structure)
            with_momenta += start.has("momenta")
            atoms = read_structure(start, options.temperature_K, rng)
        except (ValueError, OSError) as error:
            name = replica_name(index, label)
            raise ReplicaInputError(f"{name}: {error}") from error
        atoms.calc = energy_calculator_for(
            energy_model, options.energy_calculator, device
        )
        systems.append(atoms)
        labels.append(label)
    if (
        with_momenta
        and options.thermostat == "none"
        and options.temperature_K is not None
    ):
        LOGGER.warning(
            f"note: the temperature {options.temperature_K:g} K is not used by "
            f"{with_momenta} of {len(systems)} replicas: their structures have "
            "momenta and NVE keeps them"
        )
    return systems, labels


def _attach_files(
    replicas: Replicas,
    outputs: Sequence[Path],
    logs: Optional[Sequence[Path]],
    interval: int,
    stack: contextlib.ExitStack,
) -> None:
    """Give each replica its trajectory writer and, if asked, its CSV log, every
    ``interval`` strides; ``stack`` closes them."""
    energy = replicas.integrators[0].atoms.calc is not None
    for index, dynamics in enumerate(replicas.integrators):
        stack.callback(dynamics.close)
        writer = FrameWriter(outputs[index], dynamics, energy, stack)
        dynamics.attach(writer, interval)
        if logs is not None:
            file = stack.enter_context(open(logs[index], "w", newline=""))
            dynamics.attach(CSVLog(file, dynamics, energy), interval)
