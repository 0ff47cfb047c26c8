"""Set up an i-PI simulation to advance by FlashMD strides.

:func:`~metatrain_flashmd.ipi.flashmd_motion_step` checks the simulation and the
model once, before any stride, and returns the function that
:meth:`ipi.scripting.InteractiveSimulation.set_motion_step` takes.
"""

from typing import Any, Callable, Optional

from ipi.engine.motion import Dynamics

from metatrain_flashmd.ase.base import (
    FlashMDDynamics,
    ModelLike,
    load_model,
    model_timestep_fs,
)
from metatrain_flashmd.ipi.checks import check_timestep, only_dynamics
from metatrain_flashmd.ipi.step import FlashMDStep
from metatrain_flashmd.ipi.system import atoms_from_ipi, match_masses


MotionStep = Callable[[Dynamics, Optional[int]], None]
"""A replacement of ``Dynamics.step``: ``f(motion, step=None)``."""


def flashmd_motion_step(
    simulation: Any,
    model: ModelLike,
    device: Optional[str] = None,
    *,
    conserve_energy: bool = False,
    random_rotation: bool = False,
    adopt_model_masses: bool = True,
) -> MotionStep:
    """The step function that makes an i-PI simulation advance by FlashMD strides.

    The simulation must be plain molecular dynamics of one classical system
    (``<motion mode='dynamics'>`` with ``nve``, ``nvt`` or ``npt``; see
    :mod:`metatrain_flashmd.ipi.checks`) whose timestep is the model's stride. Each
    step replaces velocity Verlet by one model evaluation and leaves thermostats,
    barostats, the conserved quantity, outputs and checkpoints to i-PI (see
    :mod:`metatrain_flashmd.ipi.step`). Everything is checked here, before any
    stride.

    Usage::

        simulation = InteractiveSimulation(xml)
        simulation.set_motion_step(flashmd_motion_step(simulation, "flashmd.pt"))
        simulation.run(100)

    :param simulation: the i-PI simulation (an
        :class:`ipi.scripting.InteractiveSimulation`), loaded but not yet run with
        this step.
    :param model: the exported FlashMD model: path of a ``.pt`` file or a loaded
        :class:`metatomic.torch.AtomisticModel`.
    :param device: torch device for the model; ``None`` picks the first of the
        model's supported devices that is available.
    :param conserve_energy: after each stride, rescale the momenta so that i-PI's
        conserved quantity (with the potential energy of the input's forcefield) is
        the one just before it.
    :param random_rotation: rotate the system by a random rotation before each
        stride and back after; drawn from i-PI's random generator, so reproducible
        with ``<prng><seed>``.
    :param adopt_model_masses: replace i-PI's masses by the model's when they only
        differ as two tables of standard atomic weights do (see
        :func:`metatrain_flashmd.ipi.system.match_masses`); otherwise any
        difference is an error.
    :return: ``f(motion, step=None)``, for ``simulation.set_motion_step``; its
        ``runner`` attribute is the :class:`~metatrain_flashmd.ipi.step.FlashMDStep`
        doing the work (``runner.engine.atoms`` are the atoms the model sees).
    :raises metatrain_flashmd.ipi.checks.UnsupportedSimulationError: for an input
        FlashMD cannot drive (timestep, motion, ensemble, masses...).
    """
    motion = only_dynamics(simulation)
    model, _ = load_model(model)
    check_timestep(motion, model_timestep_fs(model))
    match_masses(motion, model, adopt_model_masses)
    engine = FlashMDDynamics(
        atoms_from_ipi(motion),
        model,
        device=device,
        random_rotation=random_rotation,
        rng=motion.prng.rng[0],
    )
    runner = FlashMDStep(motion, engine, conserve_energy)

    def flashmd_step(self: Dynamics, step: Optional[int] = None) -> None:
        """One i-PI dynamics step made of one FlashMD stride."""
        runner(self)

    flashmd_step.runner = runner  # type: ignore[attr-defined]
    return flashmd_step
