"""The state of an i-PI system seen as :class:`ase.Atoms`, and written back.

A FlashMD stride reads the positions, cell, momenta and masses of the atoms and
predicts new positions and momenta; i-PI holds them in atomic units in its beads
and cell objects (one bead here). The conversions are those of
:mod:`metatrain_flashmd.ipi.units`.
"""

from typing import Any

import ase
import ase.data
import numpy as np
import torch
from ipi.utils.depend import dstrip
from ipi.utils.messages import info, verbosity
from metatomic.torch import AtomisticModel

from metatrain_flashmd._names import MASS_UNIT
from metatrain_flashmd.ase.base import MASS_RTOL
from metatrain_flashmd.ipi.checks import UnsupportedSimulationError
from metatrain_flashmd.ipi.units import (
    cell_to_model,
    masses_to_ipi,
    masses_to_model,
    momenta_to_ipi,
    momenta_to_model,
    positions_to_ipi,
    positions_to_model,
)


TABLE_RTOL = 5e-3
"""Largest relative difference between an i-PI mass and the model's that is taken
for two tables of standard atomic weights (i-PI's and ASE's differ by up to 0.1%,
e.g. H: 1.00794 u against 1.008 u) rather than another isotope."""


def atomic_numbers(motion: Any) -> np.ndarray:
    """The atomic numbers of the atoms of an i-PI system, from their names.

    :param motion: a bound i-PI motion (its ``beads.names`` are element symbols).
    :raises UnsupportedSimulationError: for a name that is not an element symbol.
    """
    names = [str(name) for name in dstrip(motion.beads.names)]
    unknown = sorted({n for n in names if n not in ase.data.atomic_numbers})
    if unknown:
        raise UnsupportedSimulationError(
            "FlashMD cannot drive this i-PI input: the atom names "
            + ", ".join(repr(n) for n in unknown)
            + " are not element symbols"
        )
    return np.array([ase.data.atomic_numbers[n] for n in names])


def atoms_from_ipi(motion: Any) -> ase.Atoms:
    """A periodic :class:`ase.Atoms` with the i-PI system's state.

    :param motion: a bound i-PI motion with one bead.
    :return: atoms with positions (Å), cell (Å), momenta ((eV*u)^(1/2)) and masses
        (u) of the i-PI system.
    """
    atoms = ase.Atoms(numbers=atomic_numbers(motion), pbc=True)
    atoms.set_masses(masses_to_model(dstrip(motion.beads.m)))
    read_state(motion, atoms)
    return atoms


def read_state(motion: Any, atoms: ase.Atoms) -> None:
    """Copy the i-PI system's positions, cell and momenta into ``atoms``.

    :param motion: a bound i-PI motion with one bead.
    :param atoms: atoms of the same system, updated in place (units as in
        :func:`atoms_from_ipi`).
    """
    atoms.set_cell(cell_to_model(dstrip(motion.cell.h)), scale_atoms=False)
    atoms.set_positions(positions_to_model(dstrip(motion.beads.q)[0]))
    atoms.set_momenta(momenta_to_model(dstrip(motion.beads.p)[0]))


def write_state(motion: Any, atoms: ase.Atoms) -> None:
    """Copy the positions and momenta of ``atoms`` into the i-PI system.

    :param motion: a bound i-PI motion with one bead; its cell is left alone.
    :param atoms: the atoms after a stride (positions in Å, momenta in
        (eV*u)^(1/2)).
    """
    motion.beads.q[0, :] = positions_to_ipi(atoms.get_positions())
    motion.beads.p[0, :] = momenta_to_ipi(atoms.get_momenta())


def match_masses(motion: Any, model: AtomisticModel, adopt: bool) -> None:
    """Make the i-PI masses the model's, or refuse them.

    i-PI takes masses from its own table of standard atomic weights unless the
    input gives them, and that table differs slightly from the one a model was
    trained with (ASE's). With ``adopt``, a mass within :data:`TABLE_RTOL` of the
    model's is replaced by the model's (before any stride, so the kinetic energy
    and the conserved quantity are consistent from the start); anything else
    (another isotope, an unknown element) is an error.

    :param motion: a bound i-PI motion; its ``beads.m`` (electron masses) may be
        changed.
    :param model: the exported FlashMD model, with ``module.masses`` in u indexed
        by atomic number.
    :param adopt: replace masses within :data:`TABLE_RTOL` by the model's; when
        false, any difference beyond ``metatrain_flashmd.ase.base.MASS_RTOL``
        is an error.
    :raises UnsupportedSimulationError: for an element the model does not know or
        a mass it was not trained with.
    """
    numbers = atomic_numbers(motion)
    table = model.module.masses.detach().to("cpu", torch.float64).numpy()
    known = {int(z) for z in model.capabilities().atomic_types}
    given = masses_to_model(dstrip(motion.beads.m))
    for z in np.unique(numbers):
        symbol = ase.data.chemical_symbols[z]
        if int(z) not in known:
            names = ", ".join(ase.data.chemical_symbols[k] for k in sorted(known))
            raise UnsupportedSimulationError(
                f"FlashMD cannot drive this i-PI input: the model does not know "
                f"{symbol}; it was trained on {names}"
            )
    expected = table[numbers]
    difference = np.abs(given - expected) / expected
    tolerance = TABLE_RTOL if adopt else MASS_RTOL
    if np.any(difference > tolerance):
        index = int(np.argmax(difference))
        symbol = ase.data.chemical_symbols[numbers[index]]
        raise UnsupportedSimulationError(
            f"FlashMD cannot drive this i-PI input: atom {index} ({symbol}) has "
            f"mass {given[index]:.8g} {MASS_UNIT}, but this FlashMD model was "
            f"trained with {expected[index]:.8g} {MASS_UNIT} for {symbol}; give "
            "the training masses in the input (<masses> in <initialize>)"
        )
    if np.any(difference > MASS_RTOL):
        info(
            " @flashmd: masses set to the FlashMD model's (u): "
            + ", ".join(
                f"{ase.data.chemical_symbols[z]} {table[z]:.8g}"
                for z in np.unique(numbers)
            ),
            verbosity.low,
        )
        motion.beads.m[:] = masses_to_ipi(expected)
