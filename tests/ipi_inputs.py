"""i-PI inputs for the tests: fcc Al with EMT (``ipi_emt_driver.py``) in NVE, NVT
and NpT, written as a user would write them."""

from pathlib import Path
from typing import Optional

import ase
import ase.build
import ase.io
import numpy as np


EMT_DRIVER = Path(__file__).with_name("ipi_emt_driver.py")
STRUCTURE = "al.extxyz"

THERMOSTAT = "<thermostat mode='svr'><tau units='femtosecond'>50</tau></thermostat>"
DYNAMICS = {
    "nve": "<dynamics mode='nve'>{timestep}</dynamics>",
    "nvt": f"<dynamics mode='nvt'>{{timestep}}{THERMOSTAT}</dynamics>",
    "nvt-langevin": "<dynamics mode='nvt'>{timestep}<thermostat mode='langevin'>"
    "<tau units='femtosecond'>50</tau></thermostat></dynamics>",
    "npt": f"<dynamics mode='npt'>{{timestep}}{THERMOSTAT}"
    "<barostat mode='isotropic'><tau units='femtosecond'>100</tau>"
    "<thermostat mode='langevin'><tau units='femtosecond'>100</tau></thermostat>"
    "</barostat></dynamics>",
    "npt-scr": f"<dynamics mode='npt'>{{timestep}}{THERMOSTAT}"
    "<barostat mode='stochastic-rescaling'><tau units='femtosecond'>100</tau>"
    "<compressibility units='1/bar'>1.3e-6</compressibility></barostat>"
    "</dynamics>",
}
"""``<dynamics>`` blocks by name; ``{timestep}`` is filled in."""


def write_structure(directory: Path, seed: int = 0) -> Path:
    """Write 32 fcc Al atoms, slightly displaced, to ``directory/al.extxyz``."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    path = directory / STRUCTURE
    ase.io.write(path, atoms)
    return path


def ipi_input(
    dynamics: str,
    timestep_fs: float = 10.0,
    *,
    pressure_bar: Optional[float] = None,
    motion: Optional[str] = None,
    initialize: str = "",
    beads: int = 1,
    seed: int = 7,
    total_steps: int = 100,
    smotion: str = "",
) -> str:
    """An i-PI input (XML) for the Al structure in the current directory, at 300 K.

    :param dynamics: a key of :data:`DYNAMICS`, or a whole ``<dynamics>`` block.
    :param motion: a whole ``<motion>`` block, replacing the dynamics.
    :param initialize: extra ``<initialize>`` elements (masses, ...).
    """
    block = DYNAMICS.get(dynamics, dynamics).format(
        timestep=f"<timestep units='femtosecond'> {timestep_fs} </timestep>"
    )
    if motion is None:
        motion = f"<motion mode='dynamics'>{block}</motion>"
    pressure = ""
    if pressure_bar is not None:
        pressure = f"<pressure units='bar'> {pressure_bar} </pressure>"
    return f"""
<simulation verbosity='quiet' safe_stride='1000'>
  <ffdirect name='emt'>
    <pes>custom</pes>
    <pes_path>{EMT_DRIVER}</pes_path>
    <parameters>{{template: {STRUCTURE}}}</parameters>
  </ffdirect>
  <output prefix='simulation'>
    <properties stride='1' filename='out'>
      [ step, time{{femtosecond}}, conserved{{electronvolt}},
        temperature{{kelvin}}, volume{{angstrom3}} ]
    </properties>
  </output>
  <total_steps> {total_steps} </total_steps>
  <prng><seed> {seed} </seed></prng>
  <system>
    <initialize nbeads='{beads}'>
      <file mode='ase'> {STRUCTURE} </file>
      <velocities mode='thermal' units='kelvin'> 300 </velocities>
      {initialize}
    </initialize>
    <forces><force forcefield='emt'/></forces>
    <ensemble>
      <temperature units='kelvin'> 300 </temperature>
      {pressure}
    </ensemble>
    {motion}
  </system>
  {smotion}
</simulation>
"""
