"""Run an i-PI input with FlashMD strides: the library behind ``mtt-flashmd ipi``.

:func:`~metatrain_flashmd.ipi.run_ipi` loads an i-PI XML input, replaces its
dynamics step by FlashMD strides (:func:`~metatrain_flashmd.ipi.flashmd_motion_step`)
and runs it; i-PI writes the outputs and checkpoints the input asks for, relative to the
current directory, as the ``i-pi`` command does.
"""

import pathlib
import time
from typing import Any, List, Optional, Union

from ipi.scripting import InteractiveSimulation
from ipi.utils.units import unit_to_user

from metatrain_flashmd.ase.base import ModelLike
from metatrain_flashmd.ase.run import MDSummary
from metatrain_flashmd.ipi.motion import MotionStep, flashmd_motion_step
from metatrain_flashmd.ipi.units import time_to_fs


def load_simulation(input_path: Union[str, pathlib.Path]) -> InteractiveSimulation:
    """Load an i-PI XML input.

    :param input_path: the i-PI input file.
    :raises FileNotFoundError: when there is no such file.
    """
    path = pathlib.Path(input_path)
    if not path.is_file():
        raise FileNotFoundError(f"no i-PI input at '{path}'")
    with open(path) as file:
        return InteractiveSimulation(file)


def recording_temperature(
    flashmd_step: MotionStep, system: Any, temperatures: List[float]
) -> MotionStep:
    """``flashmd_step``, followed by appending the system's temperature (K, i-PI's
    definition, with its constraints' degrees of freedom) to ``temperatures``."""

    def step_and_record(self: Any, step: Optional[int] = None) -> None:
        """A FlashMD step, then the temperature."""
        flashmd_step(self, step)
        value = system.properties["temperature"][0]
        temperatures.append(float(unit_to_user("temperature", "kelvin", value)))

    return step_and_record


def run_ipi(
    input_path: Union[str, pathlib.Path],
    model: ModelLike,
    steps: Optional[int] = None,
    *,
    device: Optional[str] = None,
    conserve_energy: bool = False,
    random_rotation: bool = False,
    adopt_model_masses: bool = True,
) -> MDSummary:
    """Run the i-PI simulation of ``input_path`` with FlashMD strides.

    Everything is checked before the first stride (timestep against the model's,
    motion class, ensemble, masses): see
    :func:`~metatrain_flashmd.ipi.flashmd_motion_step`, which takes the
    same options.

    :param input_path: the i-PI XML input; its timestep must be the model's stride
        and its forcefield serves the potential energy and stress i-PI reports,
        the barostat uses and ``conserve_energy`` holds.
    :param model: the exported FlashMD model (path or loaded).
    :param steps: number of strides; the input's ``<total_steps>`` (minus the steps
        already done, on a restart) when ``None``.
    :param device: torch device for the model.
    :param conserve_energy: rescale the momenta to keep i-PI's conserved quantity.
    :param random_rotation: randomly rotate the system around each stride.
    :param adopt_model_masses: take the model's masses where i-PI's differ only as
        tables of atomic weights do.
    :return: steps done, stride (fs), wall-clock time (s) and mean temperature (K).
    """
    if steps is not None and steps < 0:
        raise ValueError(f"the number of steps must be positive, got {steps}")
    simulation = load_simulation(input_path)
    try:
        step = flashmd_motion_step(
            simulation,
            model,
            device,
            conserve_energy=conserve_energy,
            random_rotation=random_rotation,
            adopt_model_masses=adopt_model_masses,
        )
        if steps is None:
            steps = max(int(simulation.tsteps) - int(simulation.step), 0)
        system = simulation.syslist[0]
        temperatures: List[float] = []
        simulation.set_motion_step(recording_temperature(step, system, temperatures))
        start = time.perf_counter()
        if steps > 0:
            simulation.run(steps)
        wall_time = time.perf_counter() - start
    finally:
        simulation.stop()
    mean = sum(temperatures) / len(temperatures) if temperatures else float("nan")
    return MDSummary(
        steps=len(temperatures),
        timestep_fs=time_to_fs(system.motion.dt),
        wall_time_s=wall_time,
        mean_temperature=mean,
    )
