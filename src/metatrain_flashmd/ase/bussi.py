"""NVT dynamics with FlashMD and stochastic velocity rescaling."""

import math
from typing import Any, Dict, Optional

import ase
import ase.units
import numpy as np

from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike
from metatrain_flashmd.observables.temperature import (
    kinetic_energies,
    momentum_is_fixed,
)


class Bussi(FlashMDDynamics):
    r"""Canonical (NVT) dynamics: FlashMD strides between stochastic velocity
    rescalings (Bussi-Donadio-Parrinello thermostat).

    Around each model stride, all momenta are multiplied by one factor
    :math:`\alpha` that evolves the kinetic energy :math:`K` exactly along the
    stochastic process relaxing it to the canonical distribution over half a step:

    .. math::

        \alpha^2 = \Big(\sqrt{c} + R_1 \sqrt{\tfrac{(1 - c)\bar K}{N_f K}}\Big)^2
            + (1 - c)\,\frac{\bar K}{N_f K} \sum_{i=2}^{N_f} R_i^2,
        \qquad c = e^{-\Delta t / 2\tau}, \quad \bar K = \tfrac12 N_f k_B T,

    with :math:`R_i` standard normal numbers (the sum drawn as a :math:`\chi^2`
    variable with :math:`N_f - 1` degrees of freedom) and the sign of :math:`\alpha`
    the one of the bracket. :math:`N_f` is
    :meth:`ase.Atoms.get_number_of_degrees_of_freedom`, which counts the atoms'
    constraints. With ``remove_drift``, the rescaling acts in the centre-of-mass
    frame, :math:`p_i \leftarrow m_i V + \alpha (p_i - m_i V)` with
    :math:`V = \sum_i p_i / \sum_i m_i`, on the kinetic energy :math:`K` of the
    motion relative to the centre of mass, and :math:`N_f` excludes the three
    centre-of-mass degrees of freedom (already excluded by a
    :class:`ase.constraints.FixCom` constraint): the total momentum is kept. The
    target :math:`\bar K` then corresponds to the temperature of
    :mod:`metatrain_flashmd.observables.temperature` with the total momentum fixed
    (:math:`3N - 3` degrees of freedom, for atoms without other constraints).

    Reference: G. Bussi, D. Donadio, M. Parrinello, "Canonical sampling through
    velocity rescaling", J. Chem. Phys. 126, 014101 (2007), appendix.

    :param atoms: the system; masses in u, momenta in (eV*u)^(1/2), not all zero.
    :param model: the exported FlashMD model (path or loaded).
    :param timestep: the stride, in ASE time units; the model's when ``None``.
    :param temperature_K: the bath temperature, in K.
    :param time_constant: the relaxation time :math:`\tau` of the kinetic energy,
        in ASE time units (``x * ase.units.fs``).
    :param remove_drift: keep the total momentum (for models that conserve it, such
        as FlashMD); switch off for systems in an external potential.
    :param kwargs: passed to :class:`~metatrain_flashmd.ase.base.FlashMDDynamics`
        (``device``, ``random_rotation``, ``rng``, ``trajectory``, ``logfile``, ...).
    """

    def __init__(
        self,
        atoms: ase.Atoms,
        model: ModelLike,
        timestep: Optional[float] = None,
        *,
        temperature_K: float,
        time_constant: float,
        remove_drift: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(atoms, model, timestep, **kwargs)
        if not temperature_K >= 0:
            raise ValueError(f"temperature_K must be >= 0 K, got {temperature_K}")
        if not time_constant > 0:
            raise ValueError(
                f"time_constant must be positive (ASE time units), got {time_constant}"
            )
        if atoms.get_kinetic_energy() <= 0:
            raise ValueError(
                "the Bussi thermostat rescales the momenta, which are all zero: set "
                "initial momenta (e.g. ase.md.velocitydistribution."
                "MaxwellBoltzmannDistribution)"
            )
        self.temperature_K = float(temperature_K)
        self.time_constant = float(time_constant)
        self.remove_drift = bool(remove_drift)

    def todict(self) -> Dict[str, Any]:
        return {
            **super().todict(),
            "temperature_K": self.temperature_K,
            "time_constant_fs": self.time_constant / ase.units.fs,
            "remove_drift": self.remove_drift,
        }

    def thermostat(self, duration: float) -> None:
        """Rescale the momenta for a relaxation over ``duration`` (ASE time
        units)."""
        atoms = self.atoms
        momenta = atoms.get_momenta()
        ndof = atoms.get_number_of_degrees_of_freedom()
        drift = np.zeros(3)
        if self.remove_drift:
            drift = self.masses * (momenta.sum(axis=0) / self.masses.sum())
            if not momentum_is_fixed(atoms):
                ndof -= 3
        relative = momenta - drift
        kinetic = float(kinetic_energies(relative, self.masses[:, 0]).sum())
        alpha = self.scaling(kinetic, ndof, duration)
        self._exchange_with_bath(drift + alpha * relative)

    def scaling(self, kinetic: float, ndof: int, duration: float) -> float:
        """Draw the factor :math:`\\alpha` of the class docstring.

        :param kinetic: the kinetic energy :math:`K` to rescale, eV.
        :param ndof: its number of degrees of freedom :math:`N_f`.
        :param duration: the time over which it relaxes, ASE time units.
        """
        if kinetic <= 0 or ndof < 1:
            raise ValueError(
                f"the Bussi thermostat cannot rescale a kinetic energy of {kinetic} "
                f"eV over {ndof} degrees of freedom"
            )
        target = 0.5 * ndof * ase.units.kB * self.temperature_K
        damping = math.exp(-duration / self.time_constant)
        ratio = (1.0 - damping) * target / (ndof * kinetic)
        first = self.rng.standard_normal()
        rest = self.rng.chisquare(ndof - 1) if ndof > 1 else 0.0
        bracket = math.sqrt(damping) + first * math.sqrt(ratio)
        return math.copysign(math.sqrt(bracket**2 + ratio * rest), bracket)
