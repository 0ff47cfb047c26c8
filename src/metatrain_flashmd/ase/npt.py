r"""Constant-pressure (NpT) dynamics with FlashMD: a thermostat and a stochastic
cell-rescaling barostat around each fixed-cell stride.

One step of :class:`LangevinNPT` or :class:`BussiNPT` is

.. math::

    O_{\Delta t/2}\; S_{\sqrt{s}}\; \Phi_{\Delta t}\; S_{\sqrt{s}}\; O_{\Delta t/2},

with :math:`O` the thermostat's half-step on the momenta (as in
:class:`~metatrain_flashmd.ase.Langevin` and :class:`~metatrain_flashmd.ase.Bussi`),
:math:`\Phi_{\Delta t}` the model's stride at fixed cell and :math:`S_{\sqrt s}`
half of the isotropic cell move drawn by
:class:`~metatrain_flashmd.ase.barostat.StochasticCellRescaling` (cell and positions
scaled by :math:`\sqrt s`, momenta by :math:`1/\sqrt s`); the module
:mod:`metatrain_flashmd.ase.barostat` gives the equations and why they sample the
isothermal-isobaric ensemble. The pressure comes from ``atoms.calc``'s stress plus
the kinetic term: one stress evaluation per stride, no force.

Reference: M. Bernetti, G. Bussi, J. Chem. Phys. 153, 114107 (2020).
"""

from typing import Any, Dict, List, Optional

import ase
import ase.units
import numpy as np

from metatrain_flashmd.ase.anisotropic import (
    AnisotropicCellRescaling,
    check_orthorhombic,
)
from metatrain_flashmd.ase.barostat import (
    BarostatError,
    StochasticCellRescaling,
    check_npt_system,
)
from metatrain_flashmd.ase.base import FlashMDDynamics, ModelLike
from metatrain_flashmd.ase.bussi import Bussi
from metatrain_flashmd.ase.langevin import Langevin


DEFAULT_COMPRESSIBILITY = 1.0 / (100.0 * ase.units.GPa)
"""Default :math:`\\beta_T`, A^3/eV: a bulk modulus of 100 GPa (a typical metal;
liquid water is about 2 GPa)."""


class IsobaricDynamics(FlashMDDynamics):
    """Adds the stochastic cell-rescaling barostat to a FlashMD thermostat (see the
    module docstring); use :class:`~metatrain_flashmd.ase.LangevinNPT` or
    :class:`~metatrain_flashmd.ase.BussiNPT`.

    :param atoms: the system, periodic in all three directions, with a calculator
        giving the stress (``atoms.calc``); masses in u, momenta in (eV*u)^(1/2).
    :param model: the exported FlashMD model (path or loaded).
    :param timestep: the stride, in ASE time units; the model's when ``None``.
    :param pressure_au: external pressure :math:`P_0`, eV/A^3 (ASE's unit:
        ``x * ase.units.GPa``).
    :param barostat_time_constant: relaxation time :math:`\\tau_p` of the volume,
        ASE time units (``x * ase.units.fs``).
    :param compressibility_au: estimate :math:`\\beta_T` of the isothermal
        compressibility, A^3/eV (``1 / (x * ase.units.GPa)``); only its ratio to
        :math:`\\tau_p` matters.
    :param cell: ``"isotropic"`` (one scale for the whole cell) or
        ``"anisotropic"`` (one per Cartesian axis, orthorhombic cells:
        :mod:`metatrain_flashmd.ase.anisotropic`); ``"flexible"`` is refused with
        an error.
    :param kwargs: passed to the thermostat (``temperature_K``, ``time_constant``,
        ``remove_drift``, ``rng``, ``device``, ``random_rotation``, ``trajectory``,
        ``logfile``, ...).
    :raises ~metatrain_flashmd.ase.barostat.BarostatError: before any stride,
        for a system that is not fully periodic, without a calculator or whose
        calculator has no stress, with constraints other than FixCom, or for bad
        settings.
    """

    def __init__(
        self,
        atoms: ase.Atoms,
        model: ModelLike,
        timestep: Optional[float] = None,
        *,
        pressure_au: float,
        barostat_time_constant: float,
        compressibility_au: float = DEFAULT_COMPRESSIBILITY,
        cell: str = "isotropic",
        **kwargs: Any,
    ) -> None:
        check_npt_system(atoms, cell)
        super().__init__(atoms, model, timestep, **kwargs)
        temperature = getattr(self, "temperature_K", None)
        if temperature is None:
            raise BarostatError(
                "constant pressure needs a thermostat: use LangevinNPT or BussiNPT"
            )
        settings = (
            pressure_au,
            temperature,
            barostat_time_constant,
            compressibility_au,
            getattr(self, "remove_drift", False),
            self.rng.standard_normal,
        )
        if cell == "anisotropic":
            check_orthorhombic(atoms)
            volume = atoms.get_volume()
            self.barostat = AnisotropicCellRescaling(*settings, volume=volume)
        else:
            self.barostat = StochasticCellRescaling(*settings)
        self.barostat.stress_cache.stress(atoms)  # refuses one without stress

    @property
    def barostat_energy(self) -> float:
        """:math:`E_\\mathrm{baro}`, eV: the effective energy :math:`K + U + P_0 V`
        plus the thermostat's
        :attr:`~metatrain_flashmd.ase.FlashMDDynamics.bath_energy` plus this is
        conserved by an exact stride up to the sampling error of the
        discretisation."""
        return self.barostat.energy

    def effective_energy(self) -> float:
        """:math:`\\tilde H`, eV, at the current state (the potential energy from
        ``atoms.calc``, cached after a step)."""
        atoms = self.atoms
        enthalpy = atoms.get_potential_energy() + atoms.get_kinetic_energy()
        enthalpy += self.barostat.pressure * atoms.get_volume()
        return enthalpy + self.bath_energy + self.barostat.energy

    def pressure(self) -> float:
        """Instantaneous internal pressure, eV/A^3: kinetic term (momenta relative
        to the centre of mass with ``remove_drift``) plus the calculator's."""
        return self.barostat.internal_pressure(self.atoms)

    def todict(self) -> Dict[str, Any]:
        return {**super().todict(), **self.barostat.todict()}

    def step(self) -> None:
        """Thermostat half-step, half the cell move, the stride, the other half,
        thermostat half-step."""
        self.thermostat(0.5 * self.dt)
        half = np.sqrt(self.barostat.draw(self.atoms, self.dt))
        self.barostat.scale(self.atoms, half)
        self.stride()
        self.barostat.scale(self.atoms, half)
        self.barostat.finish(self.atoms)
        self.thermostat(0.5 * self.dt)


class LangevinNPT(IsobaricDynamics, Langevin):
    """Isothermal-isobaric dynamics: :class:`~metatrain_flashmd.ase.Langevin`
    half-steps and stochastic cell rescaling around each FlashMD stride (see
    :class:`~metatrain_flashmd.ase.npt.IsobaricDynamics` for the barostat's
    parameters)."""


class BussiNPT(IsobaricDynamics, Bussi):
    """Isothermal-isobaric dynamics: :class:`~metatrain_flashmd.ase.Bussi`
    half-steps and stochastic cell rescaling around each FlashMD stride (see
    :class:`~metatrain_flashmd.ase.npt.IsobaricDynamics` for the barostat's
    parameters)."""


def make_npt_integrator(
    atoms: ase.Atoms,
    model: ModelLike,
    thermostat: str,
    temperature_K: Optional[float],
    time_constant_fs: float,
    pressure_GPa: float,
    barostat_time_fs: float,
    compressibility_per_GPa: float,
    cell: str,
    equipartition_time_fs: Optional[float] = None,
    **kwargs: Any,
) -> IsobaricDynamics:
    """The NpT integrator of :func:`~metatrain_flashmd.ase.run_md`, refusing a
    missing thermostat, temperature or calculator before the model is loaded.

    :param atoms: the system, with its energy calculator (``atoms.calc``).
    :param model: the exported FlashMD model.
    :param thermostat: ``"langevin"`` or ``"bussi"``.
    :param temperature_K: the bath temperature, K.
    :param time_constant_fs: the thermostat's time constant, fs.
    :param pressure_GPa: the external pressure, GPa.
    :param barostat_time_fs: the barostat's time constant, fs.
    :param compressibility_per_GPa: the barostat's compressibility, 1/GPa.
    :param cell: the cell fluctuations (``"isotropic"`` or ``"anisotropic"``).
    :param equipartition_time_fs: refused unless ``None`` (an NVE option).
    :param kwargs: passed to the integrator (``device``, ``rng``, ...).
    """
    if equipartition_time_fs is not None:
        raise BarostatError(
            "--equipartition-time is for NVE; at constant pressure the thermostat "
            "already acts on every element"
        )
    if thermostat not in ("langevin", "bussi"):
        raise BarostatError(
            "constant pressure (--pressure) needs a thermostat: add --thermostat "
            f"langevin or --thermostat bussi (got '{thermostat}')"
        )
    if temperature_K is None:
        raise BarostatError(
            "constant pressure (--pressure) needs the bath temperature: give "
            "--temperature"
        )
    if atoms.calc is None:
        raise BarostatError(
            "constant pressure (--pressure) needs the stress of an energy "
            "calculator: give --energy-calculator emt or --energy-model MLIP.pt"
        )
    check_npt_system(atoms, cell)
    if not compressibility_per_GPa > 0:
        raise BarostatError(
            f"the compressibility must be positive, got {compressibility_per_GPa}/GPa"
        )
    cls = LangevinNPT if thermostat == "langevin" else BussiNPT
    return cls(
        atoms,
        model,
        temperature_K=temperature_K,
        time_constant=time_constant_fs * ase.units.fs,
        pressure_au=pressure_GPa * ase.units.GPa,
        barostat_time_constant=barostat_time_fs * ase.units.fs,
        compressibility_au=compressibility_per_GPa / ase.units.GPa,
        cell=cell,
        **kwargs,
    )


NPT_LOG_COLUMNS = [
    "volume_A3",
    "cell_a_A",
    "cell_b_A",
    "cell_c_A",
    "pressure_GPa",
    "barostat_energy_eV",
]
"""Columns that an NpT run adds to the CSV log of ``mtt-flashmd md``."""


def npt_log_columns(dynamics: FlashMDDynamics) -> List[str]:
    """:data:`NPT_LOG_COLUMNS` for an NpT integrator, none otherwise."""
    return list(NPT_LOG_COLUMNS) if isinstance(dynamics, IsobaricDynamics) else []


def npt_log_values(dynamics: FlashMDDynamics) -> List[float]:
    """The values of :func:`npt_log_columns` now: volume (A^3), cell lengths (A),
    internal pressure (GPa; the stress is the one cached by the last step) and
    ``barostat_energy`` (eV)."""
    if not isinstance(dynamics, IsobaricDynamics):
        return []
    atoms = dynamics.atoms
    lengths = atoms.cell.lengths()
    return [
        atoms.get_volume(),
        *lengths.tolist(),
        dynamics.pressure() / ase.units.GPa,
        dynamics.barostat_energy,
    ]
