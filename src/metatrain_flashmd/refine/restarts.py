"""Reference restarts from chosen states: as the model left them, and with the
elements deliberately out of equipartition; and the pairs made from them.

A restart is reference NVE (velocity Verlet, total momentum held at zero) from
a state's positions and momenta, a frame every ``frame_interval_fs``
(:func:`~metatrain_flashmd.validation.reference.run_reference`). An
out-of-equipartition start scales each element's momenta about its own centre
of mass to a temperature ``T (1 + delta)`` or ``T (1 - delta)``, alternating
between elements and from one start to the next; a one-element system is
scaled as a whole, hot then cold. The pairs come from
:func:`~metatrain_flashmd.pairs.build.build_pairs`, the code behind
``mtt-flashmd pairs``.
"""

import math
from pathlib import Path
from typing import Any, List, Tuple

import ase
import numpy as np

from metatrain_flashmd._progress import Progress
from metatrain_flashmd.ase.equipartition import (
    element_internal_kinetic,
    internal_degrees_of_freedom,
    scale_elements,
)
from metatrain_flashmd.observables.temperature import temperature
from metatrain_flashmd.pairs.build import build_pairs
from metatrain_flashmd.refine.errors import RefineError
from metatrain_flashmd.refine.schedule import PAIR_VALIDATION
from metatrain_flashmd.validation.outputs import write_trajectory
from metatrain_flashmd.validation.reference import run_reference


def out_of_equipartition(
    atoms: ase.Atoms, temperature_K: float, delta: float, parity: int
) -> ase.Atoms:
    """A copy of ``atoms`` with element ``i`` (in order of atomic number) at
    ``T (1 + delta)`` when ``i + parity`` is even and ``T (1 - delta)`` otherwise,
    each about its own centre of mass (K); one element: the whole system."""
    momenta, masses, numbers = atoms.get_momenta(), atoms.get_masses(), atoms.numbers
    elements = sorted(set(numbers.tolist()))
    result = atoms.copy()
    if len(elements) == 1:
        target = temperature_K * (1.0 + delta if parity % 2 == 0 else 1.0 - delta)
        now = float(temperature(momenta, masses, momentum_fixed=True))
        result.set_momenta(momenta * math.sqrt(target / now))
        return result
    kinetic = element_internal_kinetic(momenta, masses, numbers)
    scales = {}
    for index, z in enumerate(elements):
        if z not in kinetic or kinetic[z] <= 0:
            continue
        sign = 1.0 if (index + parity) % 2 == 0 else -1.0
        target = temperature_K * (1.0 + sign * delta)
        dofs = internal_degrees_of_freedom(numbers, z)
        scales[z] = math.sqrt(0.5 * dofs * ase.units.kB * target / kinetic[z])
    result.set_momenta(scale_elements(momenta, masses, numbers, scales))
    return result


def restart_starts(
    chosen: List[ase.Atoms],
    temperature_K: float,
    delta: float,
    visited: int,
    imbalanced: int,
) -> List[Tuple[str, ase.Atoms]]:
    """Labelled starts: the first ``visited`` chosen states as they are, then
    ``imbalanced`` out-of-equipartition copies of the chosen states in turn."""
    starts = [(f"visited-{i}", atoms) for i, atoms in enumerate(chosen[:visited])]
    for i in range(imbalanced if chosen else 0):
        atoms = chosen[i % len(chosen)]
        starts.append(
            (f"imbalanced-{i}", out_of_equipartition(atoms, temperature_K, delta, i))
        )
    return starts


def run_restarts(
    starts: List[Tuple[str, ase.Atoms]],
    calculator: Any,
    reference: str,
    directory: Path,
    frame_interval_fs: float,
    frames: int,
    max_timestep_fs: float,
    progress: bool = False,
) -> List[Path]:
    """Reference NVE from each start, written to ``directory/LABEL.extxyz``;
    restarts already written are kept.

    :raises RefineError: naming the reference and the start, if it fails.
    """
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    with Progress(len(starts), "restart", enabled=progress) as bar:
        for label, atoms in starts:
            path = directory / f"{label}.extxyz"
            paths.append(path)
            if path.exists():
                bar.skip(1)
                continue
            try:
                trajectory = run_reference(
                    atoms, calculator, "nve", frame_interval_fs, frames, max_timestep_fs
                )
            except Exception as error:
                raise RefineError(
                    f"{reference}: reference MD from {label} ({path}) failed: "
                    f"{type(error).__name__}: {error}"
                ) from error
            if not np.isfinite(trajectory.momenta).all():
                raise RefineError(f"{reference}: reference MD from {label} blew up")
            write_trajectory(trajectory, path)
            bar.update(1)
    return paths


def restart_pairs(
    paths: List[Path], directory: Path, lag: int, frame_interval_fs: float
) -> Path:
    """Pairs ``lag`` frames apart from the restarts (a pair at every frame), in
    ``directory/pairs-{train,val}.xyz``, with ``directory/options.yaml`` naming
    them; the options file's path."""
    directory.mkdir(parents=True, exist_ok=True)
    options = directory / "options.yaml"
    if not options.exists():
        build_pairs(
            [str(path) for path in paths],
            directory / "pairs.xyz",
            lag=lag,
            frame_interval=frame_interval_fs,
            spacing=1,
            validation=PAIR_VALIDATION,
            test=0.0,
            options=options,
        )
    return options
