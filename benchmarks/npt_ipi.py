"""i-PI runs of the NpT benchmark (``npt.py``): FlashMD strides inside i-PI
(:func:`metatrain_flashmd.ipi.run_ipi`) in NVT and NpT (i-PI's stochastic
cell-rescaling barostat) with i-PI's Langevin thermostat, as in the ASE runs (a
global thermostat cannot hold a briefly trained model that heats locally), and
ASE's EMT as i-PI's forcefield for the stress, from the same start as the ASE runs.
"""

import os
from pathlib import Path

import ase
import ase.io
import numpy as np
from npt_dynamics import Barostat, Record


DRIVER = '''"""ASE's EMT as an i-PI driver (written by benchmarks/npt_ipi.py)."""

from ase.calculators.emt import EMT
from ipi.pes._ase import ASEDriver

__DRIVER_NAME__ = "emt"
__DRIVER_CLASS__ = "EMTDriver"


class EMTDriver(ASEDriver):
    def check_parameters(self):
        super().check_parameters()
        self.ase_calculator = EMT()
'''
"""The i-PI driver file: energy, forces and stress from EMT."""

BAROSTAT = (
    "<barostat mode='stochastic-rescaling'><tau units='femtosecond'>{tau}</tau>"
    "<compressibility units='1/bar'>{beta}</compressibility></barostat>"
)


def ipi_input(
    ensemble: str,
    stride_fs: float,
    temperature_K: float,
    barostat: Barostat,
    steps: int,
    seed: int,
) -> str:
    """The i-PI input (XML) for ``start.extxyz`` in the current directory:
    ``ensemble`` ``nvt`` or ``npt``, i-PI's Langevin thermostat with the
    benchmark's time constant, properties every stride in ``simulation.out``."""
    thermostat = (
        "<thermostat mode='langevin'><tau units='femtosecond'>"
        f"{barostat.thermostat_fs}</tau></thermostat>"
    )
    extra, pressure = "", ""
    if ensemble == "npt":
        beta = barostat.compressibility_per_gpa * 1e-4  # 1/GPa -> 1/bar
        extra = BAROSTAT.format(tau=barostat.time_constant_fs, beta=beta)
        bar = barostat.pressure_gpa * 1e4
        pressure = f"<pressure units='bar'>{bar}</pressure>"
    return f"""
<simulation verbosity='quiet' safe_stride='100000'>
  <ffdirect name='emt'>
    <pes>custom</pes><pes_path>emt_driver.py</pes_path>
    <parameters>{{template: start.extxyz}}</parameters>
  </ffdirect>
  <output prefix='simulation'>
    <properties stride='1' filename='out'>
      [ step, time{{femtosecond}}, temperature{{kelvin}}, volume{{angstrom3}} ]
    </properties>
  </output>
  <total_steps> {steps} </total_steps>
  <prng><seed> {seed} </seed></prng>
  <system>
    <initialize nbeads='1'>
      <file mode='ase'> start.extxyz </file>
      <velocities mode='thermal' units='kelvin'> {temperature_K} </velocities>
    </initialize>
    <forces><force forcefield='emt'/></forces>
    <ensemble>
      <temperature units='kelvin'> {temperature_K} </temperature>
      {pressure}
    </ensemble>
    <motion mode='dynamics'>
      <fixcom> True </fixcom>
      <dynamics mode='{ensemble}'>
        <timestep units='femtosecond'> {stride_fs} </timestep>
        {thermostat}{extra}
      </dynamics>
    </motion>
  </system>
</simulation>
"""


def run_ipi_case(
    directory: Path,
    model: Path,
    start: ase.Atoms,
    ensemble: str,
    stride_fs: float,
    temperature_K: float,
    barostat: Barostat,
    duration_fs: float,
    seed: int,
) -> Record:
    """Run FlashMD in i-PI in ``directory`` (created); the volume and temperature
    after each stride (i-PI's temperature, which counts the fixed centre of
    mass), as a :class:`Record` with the element of ``start``."""
    from metatrain_flashmd.ipi import run_ipi

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "emt_driver.py").write_text(DRIVER)
    frame = start.copy()
    frame.arrays.pop("momenta", None)
    ase.io.write(directory / "start.extxyz", frame)
    steps = int(round(duration_fs / stride_fs))
    text = ipi_input(ensemble, stride_fs, temperature_K, barostat, steps, seed)
    (directory / "input.xml").write_text(text)
    here, model = Path.cwd(), model.resolve()
    os.chdir(directory)
    try:
        summary = run_ipi("input.xml", model)
    finally:
        os.chdir(here)
    data = np.loadtxt(directory / "simulation.out", ndmin=2)
    (symbol,) = set(start.get_chemical_symbols())
    return Record(
        time_fs=list(data[:, 1]),
        volume=list(data[:, 3]),
        temperature={symbol: list(data[:, 2])},
        wall_s=summary.wall_time_s,
    )
