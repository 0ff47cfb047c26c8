"""The log of the FlashMD integrators (``logfile=``): ASE's, without the energy
columns when there is no energy to log.

ASE's :class:`~ase.md.logger.MDLogger` asks the atoms for their potential energy
at every line, which fails without a calculator. A FlashMD simulation needs no
calculator, so a system without one is logged with its kinetic terms only: time,
kinetic energy and temperature.
"""

from typing import IO, Any, Union

import ase
import ase.units
from ase.md.logger import MDLogger


class FlashMDLogger(MDLogger):
    """ASE's MD logger; with kinetic terms only (``Time[ps] Ekin[eV] T[K]``) when
    the atoms have no calculator when it is created.

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
        if header:
            self.logfile.write(self.hdr + "\n")

    def __call__(self) -> None:
        """Write one line."""
        if not self.kinetic_only:
            super().__call__()
            return
        kinetic = self.atoms.get_kinetic_energy()
        if self.peratom:
            kinetic /= self.atoms.get_global_number_of_atoms()
        time_ps = self.dyn.get_time() / (1000 * ase.units.fs)
        self.logfile.write(self.fmt % (time_ps, kinetic, self.atoms.get_temperature()))
        self.logfile.flush()
