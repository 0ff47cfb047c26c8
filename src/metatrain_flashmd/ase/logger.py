"""The log of the FlashMD integrators (``logfile=``): ASE's, without the energy
columns when there is no energy to log.

ASE's :class:`~ase.md.logger.MDLogger` asks the atoms for their potential energy
at every line, which fails without a calculator. A FlashMD simulation needs no
calculator, so a system without one is logged with its kinetic terms only: time,
kinetic energy and temperature. Either way, the temperature of each element
follows (``T_Al[K]``, ...; see
:func:`~metatrain_flashmd.observables.temperature.atoms_element_temperatures`).
"""

from typing import IO, Any, Tuple, Union

import ase
import ase.units
from ase.md.logger import MDLogger

from metatrain_flashmd.observables.temperature import atoms_element_temperatures


class FlashMDLogger(MDLogger):
    """ASE's MD logger; with kinetic terms only (``Time[ps] Ekin[eV] T[K]``) when
    the atoms have no calculator when it is created; then the temperature of each
    element (``T_Al[K]``, ...).

    :param dyn: the integrator (for the time).
    :param atoms: the system.
    :param logfile: file name, open file, or ``"-"`` for standard output.
    :param kwargs: passed to :class:`~ase.md.logger.MDLogger` (``mode``,
        ``comm``, ...; ``stress`` needs a calculator).
    """

    def __init__(
        self, dyn: Any, atoms: ase.Atoms, logfile: Union[IO, str], **kwargs: Any
    ) -> None:
        header = kwargs.pop("header", True)
        super().__init__(dyn, atoms, logfile, header=False, **kwargs)
        self.kinetic_only = atoms.calc is None
        """Whether only the kinetic energy and temperature are logged (no
        calculator when the logger was created)."""
        if self.kinetic_only:
            if self.stress:
                raise ValueError("logging the stress needs a calculator")
            kinetic = "Ekin/N[eV]" if self.peratom else "Ekin[eV]"
            self.hdr = f"{'Time[ps]':<9s} {kinetic:>12s}  {'T[K]':>6s}"
            self.fmt = "%-10.4f %12.4f  %6.1f\n"
        self.symbols = list(atoms_element_temperatures(atoms))
        """The elements whose temperatures are logged."""
        self.hdr += "".join(f"  {f'T_{symbol}[K]':>8s}" for symbol in self.symbols)
        self.fmt = self.fmt.rstrip("\n") + "  %8.1f" * len(self.symbols) + "\n"
        if header:
            self.logfile.write(self.hdr + "\n")

    def __call__(self) -> None:
        """Write one line."""
        atoms = self.atoms
        kinetic = atoms.get_kinetic_energy()
        if self.peratom:
            kinetic /= atoms.get_global_number_of_atoms()
        values: Tuple[float, ...] = (self.dyn.get_time() / (1000 * ase.units.fs),)
        if self.kinetic_only:
            values += (kinetic, atoms.get_temperature())
        else:
            potential = self._potential_energy()
            if self.peratom:
                potential /= atoms.get_global_number_of_atoms()
            values += (potential + kinetic, potential, kinetic, atoms.get_temperature())
            if self.stress:
                values += tuple(self._stress() / ase.units.GPa)
        temperatures = atoms_element_temperatures(atoms)
        values += tuple(temperatures.get(symbol, 0.0) for symbol in self.symbols)
        self.logfile.write(self.fmt % values)
        self.logfile.flush()
