"""The cases of the fidelity benchmark: each a structure at a temperature, the
FlashMD strides to test, and how its starts and training data are made.

The structures and the EMT dynamics come from the benchmarks' shared
``systems.py``. Temperatures in K, times in fs.
"""

import dataclasses
from typing import Callable, Dict, Optional, Tuple

import ase
import ase.data
import ase.units
import numpy as np
from systems import copper_gold, equilibrate, fcc_aluminium


@dataclasses.dataclass(frozen=True)
class System:
    """One benchmark case: a structure at a temperature, and the FlashMD strides."""

    name: str
    """Short name used on the command line and for files (``al300``)."""
    build: Callable[[], ase.Atoms]
    """Returns the 0 K starting crystal."""
    temperature: float
    """Temperature of the equilibration and of the thermostat, K."""
    strides_fs: Tuple[int, ...]
    """FlashMD strides to train and test, fs."""
    label: str
    """Description for the report."""
    melt_temperature: Optional[float] = None
    """When set, each equilibration starts with 1 ps of Langevin dynamics at this
    temperature (K), which melts the crystal; the system is then a liquid at
    ``temperature``."""
    extra_starts: Tuple[Dict[str, float], ...] = ()
    """Extra EMT NVE training trajectories, one per entry: an equilibrated start
    whose momenta are rescaled to these per-element temperatures (K, by chemical
    symbol), so that the training data also covers elements out of equipartition
    (the states a drifting NVE model visits)."""
    warm_start: Optional[str] = None
    """Train by fine-tuning every parameter of this system's final model of the same
    stride (its reference data, generated with the same seeds, are reused)."""


SYSTEMS: Dict[str, System] = {
    system.name: system
    for system in [
        System("al300", fcc_aluminium, 300.0, (16, 32, 64), "fcc Al, 108 atoms, 300 K"),
        System("al600", fcc_aluminium, 600.0, (16, 32, 64), "fcc Al, 108 atoms, 600 K"),
        System(
            "cuau600", copper_gold, 600.0, (16, 32), "L1_2 Cu3Au, 81 Cu + 27 Au, 600 K"
        ),
        System(
            "cuau600wide",
            copper_gold,
            600.0,
            (16, 32),
            "L1_2 Cu3Au, 600 K, training data widened to elements out of "
            "equipartition, fine-tuned from cuau600",
            extra_starts=(
                {"Cu": 300.0, "Au": 1800.0},
                {"Cu": 1000.0, "Au": 300.0},
                {"Cu": 600.0, "Au": 1200.0},
            ),
            warm_start="cuau600",
        ),
        System(
            "alliq",
            fcc_aluminium,
            1400.0,
            (16, 32),
            "liquid Al, 108 atoms, 1400 K (melted at 3000 K)",
            melt_temperature=3000.0,
        ),
    ]
}


MELT_FS = 1000.0
"""Length of the melting run of the liquid systems (``System.melt_temperature``), fs."""


def equilibrated_start(system: System, duration_fs: float, seed: int) -> ase.Atoms:
    """The system's crystal, melted first if it is a liquid
    (``System.melt_temperature``, seed ``seed + 100``), then equilibrated at its
    temperature for ``duration_fs`` (see :func:`equilibrate`)."""
    atoms = system.build()
    if system.melt_temperature is not None:
        atoms = equilibrate(atoms, system.melt_temperature, MELT_FS, seed=seed + 100)
    return equilibrate(atoms, system.temperature, duration_fs, seed=seed)


def with_element_temperatures(
    atoms: ase.Atoms, temperatures: Dict[str, float]
) -> ase.Atoms:
    """A copy of ``atoms`` whose momenta of each element given in ``temperatures``
    (K, by chemical symbol) are scaled, around that element's centre of mass, to
    that kinetic temperature (3 N - 3 degrees of freedom)."""
    from metatrain_flashmd.ase.equipartition import (
        element_internal_kinetic,
        internal_degrees_of_freedom,
        scale_elements,
    )

    momenta, masses, numbers = atoms.get_momenta(), atoms.get_masses(), atoms.numbers
    kinetic = element_internal_kinetic(momenta, masses, numbers)
    scales = {}
    for symbol, temperature in temperatures.items():
        z = ase.data.atomic_numbers[symbol]
        dofs = internal_degrees_of_freedom(numbers, z)
        scales[z] = np.sqrt(0.5 * dofs * ase.units.kB * temperature / kinetic[z])
    result = atoms.copy()
    result.set_momenta(scale_elements(momenta, masses, numbers, scales))
    return result
