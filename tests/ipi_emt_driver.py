"""An i-PI Python driver (``<ffdirect><pes>custom</pes>``) computing energy, forces
and stress with ASE's EMT, for the i-PI tests: ``<parameters>{template: FILE}
</parameters>`` names a structure file giving the elements."""

from ase.calculators.emt import EMT
from ipi.pes._ase import ASEDriver


__DRIVER_NAME__ = "emt"
__DRIVER_CLASS__ = "EMTDriver"


class EMTDriver(ASEDriver):
    """ASE's EMT as an i-PI driver."""

    def check_parameters(self) -> None:
        """Read the template and attach EMT."""
        super().check_parameters()
        self.ase_calculator = EMT()
