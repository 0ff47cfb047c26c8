"""Everything a validation writes to its report directory: the trajectories (to
reuse the reference with ``--reference-trajectory``, or to restart from a state
the model visited), the plots, ``report.md`` and ``summary.json``."""

import os
from pathlib import Path
from typing import Dict

import ase.io
from ase.calculators.singlepoint import SinglePointCalculator

from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.validation.plots import write_plots
from metatrain_flashmd.validation.report import write_report
from metatrain_flashmd.validation.result import ValidationResult


def write_trajectory(trajectory: Trajectory, path: Path) -> None:
    """Write ``trajectory`` as extended XYZ (momenta, ``time_fs`` and, when known,
    the potential energy of each frame), through a temporary file."""
    frames = []
    for index in range(trajectory.num_frames):
        atoms = trajectory.frame(index)
        energy = float(trajectory.potential_energy[index])
        if energy == energy:  # not NaN
            atoms.calc = SinglePointCalculator(atoms, energy=energy)
        frames.append(atoms)
    temporary = path.with_name(f".{path.name}.partial")
    ase.io.write(temporary, frames, format="extxyz")
    os.replace(temporary, path)


def write_outputs(
    result: ValidationResult,
    runs: Dict[str, Trajectory],
    directory: Path,
    write_reference: bool,
) -> None:
    """Write the trajectories, plots and report of ``result`` to ``directory``.

    :param runs: trajectories of ``reference`` and of each FlashMD run.
    :param write_reference: whether to write the reference trajectory (not when it
        was read from a file).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, trajectory in runs.items():
        if name == "reference" and not write_reference:
            continue
        filename = f"{name}.extxyz" if name == "reference" else f"flashmd-{name}.extxyz"
        write_trajectory(trajectory, directory / filename)
        result.files[f"trajectory_{name}"] = filename
    settings = result.settings
    plots = write_plots(
        directory, result.figures, runs, settings.temperature_K, settings.ensemble
    )
    result.files.update({f"plot_{Path(name).stem}": name for name in plots.values()})
    write_report(result, directory, plots)
