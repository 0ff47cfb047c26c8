"""What the simulation commands (``md``, ``ipi``) print when they end."""

import sys
from typing import TYPE_CHECKING, Callable


if TYPE_CHECKING:
    from ..ase.run import MDSummary


OUTSIDE_TRAINING_STATUS = 3
"""Exit status of a ``--strict`` run stopped outside the model's training
records."""


def run_simulation(command: str, simulate: Callable[[], "MDSummary"]) -> int:
    """Run ``simulate`` and print its summary line; the exit status.

    An :class:`~metatrain_flashmd.ase.verlet.EnergyConservationError` (the model
    left the region it knows, in NVE with energy rescaling) ends the command with
    its message and status 1; an
    :class:`~metatrain_flashmd.ase.guard.OutsideTrainingError` (a ``--strict`` run
    left the region its model was trained on) with its message and status
    :data:`OUTSIDE_TRAINING_STATUS`. In both cases what was written so far is kept.

    :param command: the subcommand's name, for the error message.
    :param simulate: runs the simulation and returns its summary.
    """
    from ..ase.guard import OutsideTrainingError
    from ..ase.verlet import EnergyConservationError

    try:
        summary = simulate()
    except EnergyConservationError as error:
        print(f"mtt-flashmd {command}: error: {error}", file=sys.stderr)
        return 1
    except OutsideTrainingError as error:
        print(f"mtt-flashmd {command}: stopped: {error}", file=sys.stderr)
        return OUTSIDE_TRAINING_STATUS
    print(
        f"{summary.steps} strides ({summary.simulated_ps:.4g} ps): mean temperature "
        f"{summary.mean_temperature:.1f} K, {summary.ps_per_day:.4g} ps/day"
    )
    return 0
