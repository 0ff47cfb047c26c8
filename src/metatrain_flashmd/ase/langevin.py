"""NVT dynamics with FlashMD and a Langevin thermostat."""

import math
from typing import Any, Dict, Optional

import ase
import ase.units

from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike


class Langevin(FlashMDDynamics):
    r"""Canonical (NVT) dynamics: FlashMD strides between Langevin half-steps.

    Around each model stride, the momenta follow the exact solution of the
    Ornstein-Uhlenbeck process :math:`\mathrm{d}p = -p\,\mathrm{d}t/\tau +
    \sqrt{2 m k_B T/\tau}\,\mathrm{d}W` over half a step,

    .. math::

        p_i \leftarrow c\,p_i + \sqrt{(1 - c^2)\, m_i k_B T}\;\xi_i, \qquad
        c = e^{-\Delta t / 2\tau},

    with :math:`\xi_i` standard normal vectors; this is the splitting
    O-:math:`\Phi_{\Delta t}`-O, where the model stride :math:`\Phi_{\Delta t}`
    replaces the velocity Verlet part of the BAOAB-family integrators. With
    ``remove_drift``, the change of each half-step is projected so that the total
    momentum is kept (the thermostat then acts on the :math:`3N - 3` internal
    degrees of freedom only).

    References: G. Bussi, M. Parrinello, "Accurate sampling using Langevin
    dynamics", Phys. Rev. E 75, 056707 (2007); F. Bigi et al., arXiv:2505.19350.

    :param atoms: the system; masses in u, momenta in (eV*u)^(1/2).
    :param model: the exported FlashMD model (path or loaded).
    :param timestep: the stride, in ASE time units; the model's when ``None``.
    :param temperature_K: the bath temperature, in K.
    :param time_constant: the relaxation time :math:`\tau` of the momenta, in ASE
        time units (``x * ase.units.fs``).
    :param remove_drift: keep the total momentum through the thermostat (for models
        that conserve it, such as FlashMD); switch off for systems in an external
        potential.
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
        """Exact Ornstein-Uhlenbeck update of the momenta over ``duration`` (ASE time
        units)."""
        masses = self.masses
        momenta = self.atoms.get_momenta()
        damping = math.exp(-duration / self.time_constant)
        sigma = (1.0 - damping**2) * ase.units.kB * self.temperature_K * masses
        noise = self.rng.standard_normal(momenta.shape)
        change = (damping - 1.0) * momenta + (sigma**0.5) * noise
        if self.remove_drift:
            change -= masses * (change.sum(axis=0) / masses.sum())
        self._exchange_with_bath(momenta + change)
