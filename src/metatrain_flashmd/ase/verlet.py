"""NVE dynamics with FlashMD, optionally with exact energy conservation."""

from typing import Any, Dict, Optional

import ase
import ase.units
import numpy as np
from ase.constraints import FixCom

from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike
from metatrain_flashmd.ase.equipartition import (
    exchange_between_elements,
    exchange_fraction,
)
from metatrain_flashmd.observables.temperature import kinetic_energies


def _check_constraints(atoms: ase.Atoms, option: str) -> None:
    """Refuse constraints other than FixCom, which ``option`` cannot honour."""
    others = [c for c in atoms.constraints if not isinstance(c, FixCom)]
    if others:
        raise ValueError(
            f"{option} only supports the FixCom constraint, got "
            + ", ".join(type(c).__name__ for c in others)
        )


class EnergyConservationError(RuntimeError):
    """The kinetic energy cannot absorb the change of potential energy of a stride."""


class VelocityVerlet(FlashMDDynamics):
    r"""Microcanonical (NVE) dynamics: one FlashMD stride per step.

    Each step replaces positions and momenta by the model's prediction at
    :math:`t + \Delta t`. The model conserves total momentum but, being learned,
    not exactly the energy. With ``conserve_energy``, the momenta are then rescaled
    in the centre-of-mass frame so that the total energy, with the potential energy
    :math:`U` given by ``atoms.calc``, equals the one before the stride:

    .. math::

        p_i \leftarrow m_i V + s\,(p_i - m_i V), \qquad
        s = \sqrt{\frac{E - U(q') - |P|^2 / 2M}{K_\mathrm{int}}},

    with :math:`P = \sum_i p_i`, :math:`M = \sum_i m_i`, :math:`V = P/M`,
    :math:`K_\mathrm{int} = \sum_i |p_i - m_i V|^2 / 2 m_i` and :math:`E` the total
    energy before the stride; total momentum is unchanged. When the numerator is
    negative, the step is undone and :class:`EnergyConservationError` raised.

    Rescaling all momenta by one factor holds the total energy but not its share
    between elements: a model that damps one element more than another (measured on
    Cu3Au: the lighter Cu loses about 2 K per 16 fs stride to regression to the
    mean, Au does not) drives them to different temperatures. With
    ``equipartition_time``, kinetic energy is then exchanged between elements after
    each stride with that time constant (see
    :mod:`metatrain_flashmd.ase.equipartition`); total energy and momentum are
    unchanged by it.

    Reference: F. Bigi, S. Chong, A. Kristiadi, M. Ceriotti, "FlashMD: long-stride,
    universal prediction of molecular dynamics", arXiv:2505.19350 (2025).

    :param atoms: the system; masses in u, momenta in (eV*u)^(1/2). With
        ``conserve_energy``, ``atoms.calc`` must give the potential energy (eV) and
        the only allowed constraint is :class:`ase.constraints.FixCom` (also with
        ``equipartition_time``).
    :param model: the exported FlashMD model (path or loaded).
    :param timestep: the stride, in ASE time units; the model's when ``None``.
    :param conserve_energy: rescale the momenta after each stride to keep the total
        energy (one potential energy evaluation per step, no forces).
    :param equipartition_time: time constant (ASE time units) of the kinetic
        energy exchange between elements; none when ``None``. Choose it long
        against the dynamics you study (1-10 ps): it relaxes only the temperature
        difference between elements.
    :param kwargs: passed to :class:`~metatrain_flashmd.ase.base.FlashMDDynamics`
        (``device``, ``random_rotation``, ``rng``, ``trajectory``, ``logfile``, ...).
    """

    def __init__(
        self,
        atoms: ase.Atoms,
        model: ModelLike,
        timestep: Optional[float] = None,
        *,
        conserve_energy: bool = False,
        equipartition_time: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(atoms, model, timestep, **kwargs)
        self.conserve_energy = bool(conserve_energy)
        self.equipartition_time = equipartition_time
        self._exchange_fraction = 0.0
        if equipartition_time is not None:
            self._exchange_fraction = exchange_fraction(self.dt, equipartition_time)
            _check_constraints(atoms, "equipartition_time")
        if not self.conserve_energy:
            return
        if atoms.calc is None:
            raise ValueError(
                "conserve_energy needs the potential energy: attach a calculator "
                "(an MLIP, EMT, ...) to the atoms"
            )
        _check_constraints(atoms, "conserve_energy")

    def todict(self) -> Dict[str, Any]:
        equipartition_fs = None
        if self.equipartition_time is not None:
            equipartition_fs = self.equipartition_time / ase.units.fs
        return {
            **super().todict(),
            "conserve_energy": self.conserve_energy,
            "equipartition_time_fs": equipartition_fs,
        }

    def step(self) -> None:
        """One stride, then the energy rescaling and the exchange between elements
        if asked."""
        if not self.conserve_energy:
            self.stride()
            self._exchange_between_elements()
            return
        atoms = self.atoms
        energy = atoms.get_potential_energy() + atoms.get_kinetic_energy()
        positions, momenta = atoms.get_positions(), atoms.get_momenta()
        self.stride()
        try:
            self._rescale_momenta(energy)
        except EnergyConservationError:
            atoms.set_positions(positions, apply_constraint=False)
            atoms.set_momenta(momenta, apply_constraint=False)
            raise
        self._exchange_between_elements()

    def _exchange_between_elements(self) -> None:
        """Relax the elements' temperatures towards their mean (no-op without
        ``equipartition_time``)."""
        if self._exchange_fraction == 0.0:
            return
        atoms = self.atoms
        momenta = exchange_between_elements(
            atoms.get_momenta(),
            self.masses[:, 0],
            atoms.numbers,
            self._exchange_fraction,
        )
        atoms.set_momenta(momenta, apply_constraint=False)

    def _rescale_momenta(self, energy: float) -> None:
        """Rescale the momenta around the centre of mass to total energy ``energy``
        (eV)."""
        atoms = self.atoms
        masses = self.masses
        potential = atoms.get_potential_energy()
        momenta = atoms.get_momenta()
        com_velocity = momenta.sum(axis=0) / masses.sum()
        relative = momenta - masses * com_velocity
        internal = float(kinetic_energies(relative, masses[:, 0]).sum())
        com_kinetic = 0.5 * masses.sum() * float(com_velocity @ com_velocity)
        available = energy - potential - com_kinetic
        if available < 0 or (internal == 0 and available > 0):
            raise EnergyConservationError(
                f"cannot conserve the energy at step {self.nsteps + 1}: the total "
                f"energy before the stride is {energy:.8g} eV, but the potential "
                f"energy after it is {potential:.8g} eV and the kinetic energy of the "
                f"centre of mass {com_kinetic:.8g} eV, which leaves {available:.8g} "
                f"eV for the internal kinetic energy (now {internal:.8g} eV); the "
                "model has left the region where it is accurate, or the energy "
                "model does not match the one it was trained on"
            )
        scale = np.sqrt(available / internal) if internal > 0 else 0.0
        atoms.set_momenta(masses * com_velocity + scale * relative)
