r"""i-PI's barostats acting around a FlashMD stride, at constant pressure.

In i-PI's NpT velocity Verlet the barostat enters in two places: the kick of the
momenta also kicks the piston (``barostat.pstep``) and the drift of the positions
also rescales positions, momenta and cell (``barostat.qcstep``). A FlashMD stride
propagates the positions and momenta at fixed cell in one piece, so the coupling to
the cell is split off and applied around it, symmetrically, with the barostat's own
state (piston momentum and mass, external pressure, temperature, thermostat) and
i-PI's internal stress :math:`\sigma` (the forcefield's virial plus the kinetic
term, ``barostat.stress_mts``).

**Isotropic (Bussi-Zykova-Parrinello) barostat.** With the piston momentum
:math:`p_\epsilon`, its mass :math:`W`, :math:`v = p_\epsilon / W`, the volume
:math:`V`, the cell matrix :math:`h` and the internal pressure
:math:`P = \mathrm{tr}\,\sigma / 3`, the equations of motion

.. math::

    \dot q = p/m + v q, \quad \dot p = f - v p, \quad \dot h = v h, \quad
    \dot p_\epsilon = 3 V (P - P_\mathrm{ext}) + 3 k_B T

are split into the particle flow at fixed cell :math:`\Phi_{\Delta t}` (the FlashMD
stride), the exact scaling
:math:`S_\tau: (q, p, h) \to (e^{v\tau} q, e^{-v\tau} p, e^{v\tau} h)` and the piston
kick :math:`K_\tau: p_\epsilon \to p_\epsilon + \tau [3 V (P - P_\mathrm{ext})
+ 3 k_B T]`, composed as :math:`K_{\Delta t/2} S_{\Delta t/2} \Phi_{\Delta t}
S_{\Delta t/2} K_{\Delta t/2}` (a symmetric Trotter splitting, as in i-PI's own
integrator). References: G. Bussi, T. Zykova-Timan, M. Parrinello, J. Chem. Phys.
130, 074101 (2009); M. Ceriotti, J. More, D. Manolopoulos, Comput. Phys. Commun.
185, 1019 (2014).

**Stochastic cell rescaling (Bernetti-Bussi).** The barostat draws the isotropic
length scale :math:`s` of one step (``barostat.prepare``, which integrates the
stochastic equation for :math:`\sqrt{V}` over :math:`\Delta t`); the system is
scaled by :math:`\sqrt{s}` before and after the stride, :math:`(q, p, h) \to
(\sqrt{s}\, q, p / \sqrt{s}, \sqrt{s}\, h)`, and the barostat's effective-energy
bookkeeping is closed (``barostat.finalize``). Reference: M. Bernetti, G. Bussi,
J. Chem. Phys. 153, 114107 (2020).
"""

import math
from typing import Any

import numpy as np
from ipi.engine.barostats import BaroBZP, BaroSCR
from ipi.utils.depend import dstrip
from ipi.utils.units import Constants


def scale_system(motion: Any, factor: float) -> None:
    r"""Scale positions and cell by ``factor`` and momenta by its inverse.

    :math:`(q, p, h) \to (\lambda q, p / \lambda, \lambda h)`: fractional
    coordinates and velocities relative to the cell's expansion are unchanged.

    :param motion: a bound i-PI motion with one bead (atomic units).
    :param factor: the length scale :math:`\lambda > 0`, dimensionless.
    """
    motion.beads.q[0, :] = dstrip(motion.beads.q)[0] * factor
    motion.beads.p[0, :] = dstrip(motion.beads.p)[0] / factor
    motion.cell.h = dstrip(motion.cell.h) * factor


class CellCoupling:
    """No coupling to the cell (NVE and NVT): the stride alone moves the system."""

    def before(self, motion: Any, tau: float) -> None:
        """Act for ``tau`` (atomic units of time) before the stride."""

    def after(self, motion: Any, tau: float) -> None:
        """Act for ``tau`` (atomic units of time) after the stride."""


class IsotropicCoupling(CellCoupling):
    """i-PI's isotropic barostat (:class:`ipi.engine.barostats.BaroBZP`) around a
    stride: piston kick then scaling before, scaling then piston kick after (see the
    module docstring)."""

    def before(self, motion: Any, tau: float) -> None:
        self.kick(motion.barostat, tau)
        self.scale(motion, tau)

    def after(self, motion: Any, tau: float) -> None:
        self.scale(motion, tau)
        self.kick(motion.barostat, tau)

    @staticmethod
    def kick(barostat: BaroBZP, tau: float) -> None:
        r""":math:`p_\epsilon \leftarrow p_\epsilon + \tau [3 V (P - P_\mathrm{ext})
        + 3 k_B T]`, with the pressure :math:`P` (kinetic plus virial) of the
        current positions, momenta and cell (atomic units throughout)."""
        pressure = np.trace(dstrip(barostat.stress_mts(0))) / 3.0
        volume = barostat.cell.V
        drive = volume * (pressure - barostat.pext) + Constants.kb * barostat.temp
        barostat.p += 3.0 * tau * drive

    @staticmethod
    def scale(motion: Any, tau: float) -> None:
        r""":math:`S_\tau`: scale by :math:`e^{v\tau}`, :math:`v = p_\epsilon / W`."""
        barostat = motion.barostat
        velocity = float(barostat.p[0]) / float(barostat.m[0])
        scale_system(motion, math.exp(velocity * tau))


class StochasticRescalingCoupling(CellCoupling):
    """i-PI's stochastic cell rescaling (:class:`ipi.engine.barostats.BaroSCR`)
    around a stride: half the drawn length scale before, half after (see the module
    docstring). The barostat draws the move for its coupling time, the full step."""

    def __init__(self) -> None:
        self._half_scale = 1.0

    def before(self, motion: Any, tau: float) -> None:
        self._half_scale = math.sqrt(motion.barostat.prepare())
        scale_system(motion, self._half_scale)

    def after(self, motion: Any, tau: float) -> None:
        scale_system(motion, self._half_scale)
        motion.barostat.finalize()


def cell_coupling(motion: Any) -> CellCoupling:
    """The coupling to the cell of an i-PI dynamics: none except in NpT.

    :param motion: a bound i-PI dynamics, already checked by
        :func:`metatrain_flashmd.ipi.checks.check_dynamics`.
    """
    if motion.enstype != "npt":
        return CellCoupling()
    if type(motion.barostat) is BaroSCR:
        return StochasticRescalingCoupling()
    return IsotropicCoupling()
