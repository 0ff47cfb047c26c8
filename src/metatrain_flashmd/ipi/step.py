r"""One i-PI dynamics step with a FlashMD stride in place of velocity Verlet.

i-PI's NVT and NpT integrators (``ipi/engine/motion/dynamics.py``, OBABO splitting)
do, per step of length :math:`\Delta t`,

.. math::

    O_{\Delta t/2}\;
    \underbrace{B_{\Delta t/2}\, A_{\Delta t/2}\, A_{\Delta t/2}\,
    B_{\Delta t/2}}_{\text{velocity Verlet}}\; O_{\Delta t/2},

where :math:`O` is the thermostat (on the particles and, in NpT, on the piston),
:math:`B` a kick of the momenta by the forces (and of the piston by the stress in
NpT) and :math:`A` a drift of the positions (with the cell scaling in NpT); NVE has
no :math:`O`. Here the velocity Verlet block is replaced by one FlashMD stride
:math:`\Phi_{\Delta t}` at fixed cell, with the barostat's coupling to the cell
:math:`C` (:mod:`metatrain_flashmd.ipi.barostat`) split around it:

.. math::

    O_{\Delta t/2}\; C_{\Delta t/2}\; \Phi_{\Delta t}\; C_{\Delta t/2}\;
    O_{\Delta t/2}.

The thermostat half-steps are i-PI's own (``integrator.tstep``), so any i-PI
thermostat works, with its share of the conserved quantity; i-PI's momentum
constraints (``integrator.pconstraints``, e.g. ``<fixcom>``) follow the thermostat
and the stride as in i-PI.

**Energy conservation (optional).** A learned stride does not conserve the energy
exactly. With ``conserve_energy``, i-PI's conserved quantity :math:`H` (kinetic plus
potential energy from the i-PI forcefield, plus the thermostat's and barostat's
terms) is evaluated just before the stride, after the first thermostat half-step
and the cell coupling, and again just after it, at the new positions and before
the cell coupling and the second thermostat half-step. The momenta relative to the
centre of mass are then scaled by :math:`s` so that :math:`H` is the same:

.. math::

    p_i \leftarrow m_i V + s (p_i - m_i V), \qquad
    s = \sqrt{\frac{K_\mathrm{int} + H_\mathrm{before} - H_\mathrm{after}}
                   {K_\mathrm{int}}},

with :math:`V` the centre-of-mass velocity and :math:`K_\mathrm{int}` the kinetic
energy relative to it. An exact stride conserves :math:`H` in every ensemble (the
cell, piston and thermostat are fixed during it), so this holds in NVE, NVT and
NpT. When the numerator is negative the stride is undone and
:class:`~metatrain_flashmd.ase.EnergyConservationError` raised. i-PI evaluates its
forcefield when a quantity needs it and keeps the result until the positions or the
cell change: in NVE and NVT the energy before the stride is the one the last step
ended with, so rescaling costs one evaluation per step (without it, i-PI only
evaluates the forcefield for its outputs); in NpT it costs three, as the cell
coupling moves the positions before and after the stride (without it, one: the
barostat needs the stress at every step).

Reference: F. Bigi, S. Chong, A. Kristiadi, M. Ceriotti, "FlashMD: long-stride,
universal prediction of molecular dynamics", arXiv:2505.19350 (2025).
"""

from typing import Any

import numpy as np
from ipi.utils.depend import dstrip

from metatrain_flashmd.ase.base import FlashMDDynamics
from metatrain_flashmd.ase.verlet import EnergyConservationError
from metatrain_flashmd.ipi.barostat import cell_coupling
from metatrain_flashmd.ipi.system import read_state, write_state
from metatrain_flashmd.ipi.units import HARTREE_TO_EV


class FlashMDStep:
    """The replacement of one i-PI dynamics step (see the module docstring).

    :param motion: the bound i-PI dynamics it replaces the step of, already
        checked.
    :param engine: the FlashMD integrator base whose :meth:`stride` does the model
        evaluation, on atoms kept in sync with the i-PI system.
    :param conserve_energy: rescale the momenta after each stride to keep i-PI's
        conserved quantity.
    """

    def __init__(
        self, motion: Any, engine: FlashMDDynamics, conserve_energy: bool
    ) -> None:
        self.motion = motion
        self.engine = engine
        self.conserve_energy = bool(conserve_energy)
        self.coupling = cell_coupling(motion)
        self.thermostatted = motion.enstype != "nve"

    def __call__(self, motion: Any) -> None:
        """Advance ``motion`` by one step of the model's stride."""
        if motion is not self.motion:
            raise RuntimeError(
                "this FlashMD step was built for another i-PI simulation: call "
                "flashmd_motion_step with the simulation it is set on"
            )
        half = 0.5 * motion.dt
        self.thermostat()
        self.coupling.before(motion, half)
        self.stride()
        self.coupling.after(motion, half)
        self.thermostat()
        motion.ensemble.time += motion.dt

    def thermostat(self) -> None:
        """i-PI's thermostat half-step (nothing in NVE), then its constraints."""
        if self.thermostatted:
            self.motion.integrator.tstep()
            self.motion.integrator.pconstraints()

    def stride(self) -> None:
        """One FlashMD stride at fixed cell, then i-PI's constraints and, if asked,
        the energy rescaling."""
        motion = self.motion
        before = float(motion.ensemble.econs) if self.conserve_energy else 0.0
        q, p = dstrip(motion.beads.q).copy(), dstrip(motion.beads.p).copy()
        atoms = self.engine.atoms
        read_state(motion, atoms)
        self.engine.stride()
        self.engine.nsteps += 1  # the guard's warnings count the strides run here
        write_state(motion, atoms)
        motion.integrator.pconstraints()
        if not self.conserve_energy:
            return
        try:
            self.rescale(before)
        except EnergyConservationError:
            motion.beads.q[:] = q
            motion.beads.p[:] = p
            raise

    def rescale(self, target: float) -> None:
        """Scale the momenta around the centre of mass so that i-PI's conserved
        quantity is ``target`` (hartree)."""
        motion = self.motion
        change = target - float(motion.ensemble.econs)
        p = dstrip(motion.beads.p)[0].reshape(-1, 3)
        m = dstrip(motion.beads.m)[:, None]
        velocity = p.sum(axis=0) / m.sum()
        relative = p - m * velocity
        internal = 0.5 * float(np.sum(relative**2 / m))
        available = internal + change
        if available < 0 or (internal == 0 and available > 0):
            raise EnergyConservationError(
                "cannot conserve the energy: the conserved quantity rose by "
                f"{-change * HARTREE_TO_EV:.8g} eV over the FlashMD stride, more "
                "than the kinetic energy relative to the centre of mass "
                f"({internal * HARTREE_TO_EV:.8g} eV); the model has left the "
                "region where it is accurate, or the forcefield does not match the "
                "one it was trained on"
            )
        scale = np.sqrt(available / internal) if internal > 0 else 0.0
        motion.beads.p[0, :] = (m * velocity + scale * relative).reshape(-1)
