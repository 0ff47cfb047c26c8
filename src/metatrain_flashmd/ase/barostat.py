r"""Stochastic cell rescaling around a fixed-cell stride (isotropic NpT).

A FlashMD stride :math:`\Phi_{\Delta t}` moves the positions :math:`q` and momenta
:math:`p` at fixed cell :math:`h`. The cell is coupled to a pressure bath around it
by the isotropic stochastic cell rescaling of Bernetti and Bussi, a first-order
(overdamped) equation for the volume :math:`V` that needs no cell momentum, no cell
mass and no force, only the internal pressure, and that samples the isothermal-
isobaric ensemble (its volume fluctuations included, unlike Berendsen's scheme).
Written for :math:`\lambda = \sqrt V`, whose noise is additive,

.. math::

    \mathrm{d}\lambda = \frac{D}{k_B T} F_\lambda\,\mathrm{d}t
        + \sqrt{2D}\,\mathrm{d}W, \qquad
    D = \frac{k_B T \beta_T}{4 \tau_p}, \qquad
    F_\lambda = 2 \lambda \Big(P_\mathrm{int} - P_0
        + \frac{c\,k_B T}{V}\Big) + \frac{k_B T}{\lambda},

with :math:`P_0` the external pressure, :math:`\beta_T` an estimate of the
isothermal compressibility and :math:`\tau_p` the relaxation time (only their ratio
matters), :math:`W` a Wiener process and the internal pressure

.. math::

    P_\mathrm{int} = \frac{2 K}{3 V} - \frac{1}{3} \mathrm{tr}\,\sigma ,

where :math:`K` is the kinetic energy and :math:`\sigma` the stress of the energy
calculator (ASE's sign: positive in tension). :math:`F_\lambda = -\partial G /
\partial \lambda` derives from :math:`G = K + U + P_0 V - k_B T \ln\lambda - c\,k_B T
\ln V`; its stationary distribution is :math:`e^{-G/k_B T}`, which is
:math:`e^{-(K + U + P_0 V)/k_B T}` in :math:`(q, p, V)` once the Jacobians of the
scaling below are counted: the right mean volume and volume fluctuations.

**Scaling.** A volume move :math:`\lambda \to \lambda'` scales every length by
:math:`s = (\lambda'/\lambda)^{2/3}` (cell and positions, i.e. fixed fractional
coordinates) and the momenta by :math:`1/s`. When the thermostat keeps the total
momentum (``remove_drift``), only the momenta relative to the centre of mass are
scaled and :math:`K` is their kinetic energy; the map then has the Jacobian
:math:`s^3` in :math:`(q, p)`, which is the :math:`c = 1` term above (:math:`c = 0`
otherwise).

**Splitting.** With the thermostat half-steps :math:`O`, one step is

.. math::

    O_{\Delta t/2}\; S_{\sqrt{s}}\; \Phi_{\Delta t}\; S_{\sqrt{s}}\; O_{\Delta t/2},
    \qquad \lambda' = \lambda + \frac{D \Delta t}{k_B T} F_\lambda
        + \sqrt{2 D \Delta t}\,\xi,

where :math:`\xi` is a standard normal number and :math:`F_\lambda` is evaluated
before the move; half the length scale is applied before the stride and half after
(a time-reversible composition for a time-reversible stride). The stress is the
calculator's at the end of the previous step (the thermostat moves no atom), so a
step costs one stress evaluation and no force.

**Conserved quantity.** With :math:`F'_\lambda` at the end of the step, the
barostat accumulates

.. math::

    \Delta E_\mathrm{baro} = -k_B T \Delta\ln\lambda - c\,k_B T \Delta \ln V
        + \tfrac12 \delta (F_\lambda + F'_\lambda)
        + \frac{D \Delta t}{4 k_B T} (F'^2_\lambda - F^2_\lambda),
    \qquad \delta = \lambda' - \lambda,

so that the effective energy :math:`\tilde H = K + U + P_0 V + E_\mathrm{bath} +
E_\mathrm{baro}` (with the thermostat's :math:`E_\mathrm{bath}`) changes per step
by :math:`-k_B T` times the logarithm of the ratio of the probabilities of the step
and of its time reverse. It is constant when the step obeys detailed balance
exactly; its drift measures the sampling error of the discretisation plus the
energy error of the stride. For an exact stride over which the pressure changes
little, the error is of order :math:`\Delta t^{3/2}` per step; a stride long
enough to decorrelate the instantaneous pressure adds a term of order
:math:`\sqrt{D \Delta t}` times the pressure's fluctuation, also small when
:math:`\tau_p \gg \Delta t` (both are tested on an exact toy crystal).

References: M. Bernetti, G. Bussi, "Pressure control using stochastic cell
rescaling", J. Chem. Phys. 153, 114107 (2020); G. Bussi, D. Donadio, M.
Parrinello, J. Chem. Phys. 126, 014101 (2007) for the effective energy.
"""

import math
from typing import Any, Callable, Dict, Optional, Tuple

import ase
import ase.units
import numpy as np
from ase.calculators.calculator import PropertyNotImplementedError

from metatrain_flashmd.observables.temperature import kinetic_energies


CELL_MODES = ("isotropic", "anisotropic", "flexible")
"""Cell fluctuations one could ask for: ``isotropic`` (this module),
``anisotropic`` (:mod:`metatrain_flashmd.ase.anisotropic`); ``flexible`` is
refused."""

MAX_LENGTH_CHANGE = 0.05
"""Largest relative change of a cell length in one step before the barostat stops
with an error (the step is then far too long for the coupling)."""


class BarostatError(ValueError):
    """The system or its settings cannot be run at constant pressure."""


def check_npt_system(atoms: ase.Atoms, cell: str) -> None:
    """Refuse, before any stride, what this barostat cannot handle: other cell
    modes, a system not periodic in all three directions, constraints other than
    :class:`ase.constraints.FixCom`, or no calculator.

    :param atoms: the system, with its energy calculator.
    :param cell: the cell fluctuations asked for, one of :data:`CELL_MODES`.
    """
    if cell not in CELL_MODES:
        raise BarostatError(
            f"unknown cell mode '{cell}', choose from {', '.join(CELL_MODES)}"
        )
    if cell == "flexible":
        raise BarostatError(
            "flexible cell fluctuations are not implemented: the stochastic cell "
            "rescaling here scales the cell isotropically or along the three "
            "Cartesian axes, without shear; use --cell isotropic or anisotropic"
        )
    if not atoms.pbc.all():
        raise BarostatError(
            f"constant pressure needs a system periodic in all three directions, "
            f"this one has pbc={atoms.pbc.tolist()}: without a periodic cell there "
            "is no volume to couple to the pressure"
        )
    names = [type(c).__name__ for c in atoms.constraints]
    if any(name != "FixCom" for name in names):
        raise BarostatError(
            f"constant pressure supports no constraint but FixCom, got {names}: a "
            "fixed atom or bond would not follow the cell's scaling"
        )
    if atoms.calc is None:
        raise BarostatError(
            "constant pressure needs a calculator giving the stress (e.g. EMT or a "
            "metatomic energy model): none is attached to the atoms"
        )


def potential_stress(atoms: ase.Atoms) -> np.ndarray:
    """The stress (3, 3) of ``atoms.calc``, eV/A^3 (ASE's sign: positive in
    tension), without the ideal-gas term: one stress call (cached by ASE until
    the positions or the cell change).

    :raises BarostatError: if the calculator gives no stress or a stress that is
        not finite.
    """
    try:
        stress = atoms.get_stress(voigt=False, include_ideal_gas=False)
    except (PropertyNotImplementedError, NotImplementedError) as error:
        raise BarostatError(
            f"the energy calculator {type(atoms.calc).__name__} gives no stress, "
            f"which constant pressure needs ({error or 'not implemented'}): use a "
            "calculator with stress (EMT, a metatomic energy model, ...)"
        ) from None
    if not np.isfinite(stress).all():
        raise BarostatError(f"the calculator's stress is not finite: {stress}")
    return stress


class StressCache:
    """The calculator's stress of the last configuration asked for, reused while
    the calculator, atomic numbers, positions and cell are exactly those of that
    call. A barostat step asks twice for the stress of the same configuration
    (at the end of a step and at the start of the next, with only the
    thermostat's momentum update between them); this makes the second request
    cost an array comparison instead of ASE's full state check."""

    def __init__(self) -> None:
        self._key: Tuple[Any, ...] = ()
        self._stress = np.zeros((3, 3))

    def stress(self, atoms: ase.Atoms) -> np.ndarray:
        """:func:`potential_stress` of ``atoms``, eV/A^3, computed only when the
        configuration differs from the last call's."""
        key = self._key
        if (
            key
            and key[0] is atoms.calc
            and np.array_equal(key[1], atoms.positions)
            and np.array_equal(key[2], atoms.cell.array)
            and np.array_equal(key[3], atoms.numbers)
        ):
            return self._stress
        self._stress = potential_stress(atoms)
        self._key = (
            atoms.calc,
            atoms.positions.copy(),
            atoms.cell.array.copy(),
            atoms.numbers.copy(),
        )
        return self._stress


class StochasticCellRescaling:
    """Isotropic stochastic cell rescaling acting on :class:`ase.Atoms` around a
    fixed-cell stride (see the module docstring for the equations).

    :param pressure: external pressure :math:`P_0`, eV/A^3 (``x * ase.units.GPa``).
    :param temperature_K: the bath temperature :math:`T`, K.
    :param time_constant: relaxation time :math:`\\tau_p`, ASE time units.
    :param compressibility: estimate :math:`\\beta_T` of the isothermal
        compressibility, A^3/eV (``1 / (x * ase.units.GPa)`` for a bulk modulus of x
        GPa); only :math:`\\beta_T / \\tau_p` matters.
    :param remove_drift: scale the momenta relative to the centre of mass (the
        thermostat keeps the total momentum), :math:`c = 1`; all momenta and
        :math:`c = 0` otherwise.
    :param normal: draws a standard normal number (the integrator's generator).
    """

    def __init__(
        self,
        pressure: float,
        temperature_K: float,
        time_constant: float,
        compressibility: float,
        remove_drift: bool,
        normal: Callable[[], float],
    ) -> None:
        if not math.isfinite(pressure):
            raise BarostatError(f"the pressure must be finite, got {pressure}")
        for name, value in (
            ("barostat time constant", time_constant),
            ("compressibility", compressibility),
            ("temperature (K) of a barostat", temperature_K),
        ):
            if not value > 0:
                raise BarostatError(f"the {name} must be positive, got {value}")
        self.pressure = float(pressure)
        self.temperature_K = float(temperature_K)
        self.time_constant = float(time_constant)
        self.compressibility = float(compressibility)
        self.remove_drift = bool(remove_drift)
        self.normal = normal
        self.energy = 0.0
        """:math:`E_\\mathrm{baro}`, eV: add it to :math:`K + U + P_0 V` and the
        thermostat's bath energy for the effective energy."""
        self._pending: Dict[str, float] = {}
        self.stress_cache = StressCache()

    @property
    def kt(self) -> float:
        """:math:`k_B T`, eV."""
        return ase.units.kB * self.temperature_K

    @property
    def dof_correction(self) -> float:
        """:math:`c`: 1 when the momenta are scaled relative to the centre of
        mass, 0 otherwise."""
        return 1.0 if self.remove_drift else 0.0

    def todict(self) -> Dict[str, object]:
        """The barostat's settings, in GPa, fs and 1/GPa."""
        return {
            "barostat": "stochastic cell rescaling",
            "pressure_GPa": self.pressure / ase.units.GPa,
            "barostat_time_constant_fs": self.time_constant / ase.units.fs,
            "compressibility_per_GPa": self.compressibility * ase.units.GPa,
            "cell": "isotropic",
        }

    def drift(self, momenta: np.ndarray, masses: np.ndarray) -> np.ndarray:
        """The momenta (N, 3) that the scaling keeps: each atom's share of the
        total momentum with ``remove_drift``, zero otherwise."""
        if not self.remove_drift:
            return np.zeros_like(momenta)
        return masses[:, None] * (momenta.sum(axis=0) / masses.sum())

    def drift_and_internal(self, atoms: ase.Atoms) -> Tuple[np.ndarray, float]:
        """The momenta that the scaling keeps (centre-of-mass part, or zero) and the
        kinetic energy of the rest, eV."""
        momenta, masses = atoms.get_momenta(), atoms.get_masses()
        drift = self.drift(momenta, masses)
        kinetic = float(kinetic_energies(momenta - drift, masses).sum())
        return drift, kinetic

    def internal_pressure(
        self, atoms: ase.Atoms, volume: Optional[float] = None
    ) -> float:
        """:math:`P_\\mathrm{int}`, eV/A^3: the kinetic term of the scaled momenta
        plus that of the calculator's stress, :math:`-\\mathrm{tr}\\,\\sigma / 3`
        (one stress call per configuration, see :class:`StressCache`); ``volume``
        (A^3) is the cell's, computed when not given."""
        _, kinetic = self.drift_and_internal(atoms)
        if volume is None:
            volume = atoms.get_volume()
        virial = -float(np.trace(self.stress_cache.stress(atoms))) / 3.0
        return 2.0 * kinetic / (3.0 * volume) + virial

    def force(self, atoms: ase.Atoms, volume: float) -> float:
        """:math:`F_\\lambda`, eV/A^(3/2), at the current state, whose cell
        volume is ``volume`` (A^3)."""
        lam = math.sqrt(volume)
        drive = self.internal_pressure(atoms, volume) - self.pressure
        drive += self.dof_correction * self.kt / volume
        return 2.0 * lam * drive + self.kt / lam

    def diffusion(self) -> float:
        """:math:`D = k_B T \\beta_T / 4 \\tau_p`, A^3 per ASE time unit."""
        return self.kt * self.compressibility / (4.0 * self.time_constant)

    def draw(self, atoms: ase.Atoms, duration: float) -> float:
        """Draw the move of :math:`\\lambda` over ``duration`` (ASE time units) from
        the current state; the length scale :math:`s` of the whole move."""
        if self._pending:
            raise RuntimeError("a cell move is already pending: call finish() first")
        volume = atoms.get_volume()
        lam = math.sqrt(volume)
        force = self.force(atoms, volume)
        diffusion = self.diffusion()
        step = diffusion * duration * force / self.kt
        step += math.sqrt(2.0 * diffusion * duration) * self.normal()
        new_lam = lam + step
        if not (math.isfinite(new_lam) and new_lam > 0):
            pressure = self.internal_pressure(atoms) / ase.units.GPa
            raise BarostatError(
                "the barostat moved the volume to a non-positive value from "
                f"{volume:.6g} A^3: the pressure ({pressure:.6g} GPa) is far from "
                "the target; increase the barostat time constant"
            )
        scale = (new_lam / lam) ** (2.0 / 3.0)
        if abs(scale - 1.0) > MAX_LENGTH_CHANGE:
            raise BarostatError(
                f"the barostat changed the cell lengths by {100 * (scale - 1):+.3g}% "
                "in one step: increase the barostat time constant or lower the "
                "compressibility"
            )
        self._pending = dict(
            volume=volume, lam=lam, force=force, step=step, duration=duration
        )
        return scale

    def scale(self, atoms: ase.Atoms, factor: Any) -> None:
        """Scale the cell and positions by ``factor`` and the momenta (relative to
        the centre of mass with ``remove_drift``) by its inverse; constraints are
        not applied (FixCom would move the atoms back). ``factor`` is a number, or
        one per Cartesian axis (3,)."""
        momenta = atoms.get_momenta()
        drift = self.drift(momenta, atoms.get_masses())
        atoms.set_cell(atoms.cell.array * factor, scale_atoms=False)
        atoms.set_positions(atoms.positions * factor, apply_constraint=False)
        atoms.set_momenta(drift + (momenta - drift) / factor, apply_constraint=False)

    def finish(self, atoms: ase.Atoms) -> None:
        """Close the pending move: add its :math:`\\Delta E_\\mathrm{baro}` (one
        stress call at the new state, reused by the next :meth:`draw`)."""
        if not self._pending:
            raise RuntimeError("no pending cell move: call draw() first")
        state, self._pending = self._pending, {}
        volume = atoms.get_volume()
        force = self.force(atoms, volume)
        kt = self.kt
        log_lam = 0.5 * math.log(volume / state["volume"])
        change = -kt * log_lam - self.dof_correction * kt * 2.0 * log_lam
        change += 0.5 * state["step"] * (state["force"] + force)
        change += (
            self.diffusion()
            * state["duration"]
            / (4.0 * kt)
            * (force**2 - state["force"] ** 2)
        )
        self.energy += change
