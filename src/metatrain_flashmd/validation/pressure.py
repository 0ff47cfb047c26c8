r"""The configurational pressure of a run's frames, from the reference calculator's
stress: what decides the volume of a constant-pressure run.

The pressure of a frame is

.. math::

    P = \underbrace{-\tfrac{1}{3}\operatorname{tr}\sigma(q)}_{\text{virial}}
        + \underbrace{\frac{2 K}{3 V}}_{\text{kinetic}},

with :math:`\sigma(q)` the stress of the positions alone (ASE's ``get_stress``
without the ideal-gas term). The kinetic part follows the temperature, which the
temperature checks already judge; the virial part depends only on where the atoms
are, and is the part a model can get wrong while its temperatures and RDFs are
right within their noise. A constant-pressure run settles where the total equals
the external pressure, so an error :math:`\Delta P` of the mean virial pressure at
fixed cell becomes a volume error :math:`\Delta V / V \approx \Delta P / B`, with
:math:`B` the bulk modulus (for example 0.05 GPa is 0.1-0.2% of the volume of a
metal, B = 30-50 GPa, and 2-5% of a molecular liquid's, B = 1-2.5 GPa).
"""

import logging
from typing import Any, Dict, Optional

import ase.units
import numpy as np
from ase.calculators.calculator import PropertyNotImplementedError

from metatrain_flashmd.observables.statistics import block_error
from metatrain_flashmd.observables.trajectory import Trajectory


LOG = logging.getLogger(__name__)


def virial_pressures(trajectory: Trajectory, calculator: Any) -> np.ndarray:
    """The virial pressure (:math:`-\\operatorname{tr}\\sigma / 3`) of every frame
    of ``trajectory`` with ``calculator``, GPa. The calculator is reset first, so
    that the figures do not depend on what it computed before (EMT's neighbour
    list, kept from an earlier run, changes the order of its sums in the last
    digit)."""
    if hasattr(calculator, "reset"):
        calculator.reset()
    values = np.empty(trajectory.num_frames)
    for index in range(trajectory.num_frames):
        atoms = trajectory.frame(index)
        atoms.calc = calculator
        stress = atoms.get_stress(voigt=True, include_ideal_gas=False)
        values[index] = -float(np.mean(stress[:3])) / ase.units.GPa
    return values


def pressure_figures(
    trajectory: Trajectory, calculator: Any
) -> Optional[Dict[str, float]]:
    """``mean`` and ``std`` of the virial pressure over ``trajectory``'s frames
    and the block-averaged standard error of the mean, ``error``, all GPa;
    ``None`` without a calculator, frames, or a cell periodic in all three
    directions, or when the calculator gives no stress (logged)."""
    if calculator is None or trajectory.num_frames == 0:
        return None
    if not np.all(trajectory.pbc):
        return None
    try:
        values = virial_pressures(trajectory, calculator)
    except (PropertyNotImplementedError, NotImplementedError) as error:
        LOG.info(f"no pressure check: the reference gives no stress ({error})")
        return None
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "error": block_error(values),
    }
