r"""Anisotropic stochastic cell rescaling: the three Cartesian axes of the cell
scaled independently around a fixed-cell stride.

The isotropic scheme of :mod:`metatrain_flashmd.ase.barostat` moves one variable,
the volume. Here each Cartesian axis :math:`a` has its own logarithmic length
:math:`y_a` (a move :math:`\delta_a` scales the :math:`a` components of the cell
vectors and positions by :math:`e^{\delta_a}` and of the momenta by
:math:`e^{-\delta_a}`), for an orthorhombic cell its three edge lengths
:math:`L_a = L_a^0 e^{y_a}`. The target is the isothermal-isobaric ensemble of
an orthorhombic box whose edges fluctuate independently,

.. math::

    \rho(q, p, L) \,\mathrm{d}q\,\mathrm{d}p\,\mathrm{d}L_1 \mathrm{d}L_2
    \mathrm{d}L_3 \propto e^{-(K + U + P_0 V)/k_B T},

whose volume marginal is the isotropic ensemble's when the energy depends on the
volume only (the flat measure in the lengths is the one of Monte Carlo moves of
independent box lengths). With :math:`\mathrm dL_a = L_a \mathrm d y_a` it is
:math:`e^{-G/k_B T}` in :math:`y`, :math:`G = K + U + P_0 V - k_B T \sum_a y_a -
c\,k_B T \ln V` (:math:`c` as in the isotropic case), sampled by the overdamped
Langevin equation with a constant diffusion :math:`D`,

.. math::

    \mathrm d y_a = \frac{D}{k_B T} F_a \,\mathrm d t + \sqrt{2 D}\,\mathrm d W_a,
    \qquad F_a = -\frac{\partial G}{\partial y_a}
        = V (P_{aa} - P_0) + (1 + c)\, k_B T, \qquad
    D = \frac{k_B T \beta_T}{3 V_0 \tau_p},

with :math:`P_{aa} = 2 K_{aa} / V - \sigma_{aa}` the diagonal of the internal
pressure tensor (:math:`K_{aa} = \sum_i p_{ia}^2 / 2 m_i`, :math:`\sigma` the
calculator's stress) and :math:`V_0` the initial volume; the volume then relaxes
at the isotropic scheme's rate. A step draws :math:`\delta_a = (D \Delta t / k_B
T) F_a + \sqrt{2 D \Delta t}\,\xi_a` and applies half of it before the stride and
half after, as the isotropic scheme does; the barostat energy accumulates

.. math::

    \Delta E_\mathrm{baro} = -(1 + c)\, k_B T \sum_a \delta_a
        + \tfrac12 \sum_a \delta_a (F_a + F'_a)
        + \frac{D \Delta t}{4 k_B T} \big(|F'|^2 - |F|^2\big),

so that the same effective energy measures the sampling error. Shear (the
off-diagonal stress) is not coupled: the cell's angles change only through the
unequal scaling of a non-orthorhombic cell, which is therefore refused.

References: M. Bernetti, G. Bussi, J. Chem. Phys. 153, 114107 (2020) (the
isotropic scheme); V. Del Tatto, P. Raiteri, M. Bernetti, G. Bussi, Appl. Sci. 12,
1139 (2022) (its anisotropic variants).
"""

import math
from typing import Dict

import ase
import numpy as np

from metatrain_flashmd.ase.barostat import (
    MAX_LENGTH_CHANGE,
    BarostatError,
    StochasticCellRescaling,
)


ORTHORHOMBIC_ATOL = 1e-8
"""Largest off-diagonal cell component (A) of a cell taken as orthorhombic."""


def check_orthorhombic(atoms: ase.Atoms) -> None:
    """Refuse a cell whose vectors are not along the Cartesian axes."""
    cell = atoms.cell.array
    if np.abs(cell - np.diag(np.diag(cell))).max() > ORTHORHOMBIC_ATOL:
        raise BarostatError(
            "anisotropic cell fluctuations need an orthorhombic cell with its "
            "vectors along x, y and z (the axes are scaled independently and shear "
            "is not coupled); this cell is "
            f"{np.round(cell, 6).tolist()}: use --cell isotropic"
        )


class AnisotropicCellRescaling(StochasticCellRescaling):
    """Stochastic cell rescaling of the three Cartesian axes (see the module
    docstring); the parameters are those of
    :class:`~metatrain_flashmd.ase.barostat.StochasticCellRescaling`, and
    ``volume`` is :math:`V_0`, A^3."""

    def __init__(self, *args: object, volume: float, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.volume = float(volume)

    def todict(self) -> Dict[str, object]:
        return {**super().todict(), "cell": "anisotropic"}

    def forces(self, atoms: ase.Atoms) -> np.ndarray:
        """:math:`F_a` (3,), eV, at the current state (one stress call unless
        cached)."""
        momenta, masses = atoms.get_momenta(), atoms.get_masses()
        relative = momenta - self.drift(momenta, masses)
        kinetic = 0.5 * np.sum(relative**2 / masses[:, None], axis=0)
        stress = self.stress_cache.stress(atoms)
        volume = atoms.get_volume()
        pressures = 2.0 * kinetic / volume - np.diag(stress)
        return volume * (pressures - self.pressure) + (1.0 + self.dof_correction) * (
            self.kt
        )

    def diffusion(self) -> float:
        """:math:`D = k_B T \\beta_T / 3 V_0 \\tau_p`, per ASE time unit."""
        return self.kt * self.compressibility / (3.0 * self.volume * self.time_constant)

    def draw(self, atoms: ase.Atoms, duration: float) -> np.ndarray:
        """Draw the move :math:`\\delta` over ``duration`` (ASE time units); the
        length scales :math:`e^{\\delta_a}` (3,) of the whole move."""
        if self._pending:
            raise RuntimeError("a cell move is already pending: call finish() first")
        check_orthorhombic(atoms)
        forces = self.forces(atoms)
        diffusion = self.diffusion()
        noise = np.array([self.normal() for _ in range(3)])
        step = diffusion * duration * forces / self.kt
        step += math.sqrt(2.0 * diffusion * duration) * noise
        scales = np.exp(step)
        if (
            not np.isfinite(scales).all()
            or np.abs(scales - 1).max() > MAX_LENGTH_CHANGE
        ):
            raise BarostatError(
                f"the barostat changed the cell lengths by {100 * (scales - 1)}% in "
                "one step: increase the barostat time constant or lower the "
                "compressibility"
            )
        self._pending = dict(forces=forces, step=step, duration=duration)
        return scales

    def finish(self, atoms: ase.Atoms) -> None:
        """Close the pending move: add its :math:`\\Delta E_\\mathrm{baro}` (one
        stress call at the new state, reused by the next :meth:`draw`)."""
        if not self._pending:
            raise RuntimeError("no pending cell move: call draw() first")
        state, self._pending = self._pending, {}
        forces, step = self.forces(atoms), state["step"]
        change = -(1.0 + self.dof_correction) * self.kt * float(step.sum())
        change += 0.5 * float(np.dot(step, state["forces"] + forces))
        change += (
            self.diffusion()
            * state["duration"]
            / (4.0 * self.kt)
            * float(np.dot(forces, forces) - np.dot(state["forces"], state["forces"]))
        )
        self.energy += change
