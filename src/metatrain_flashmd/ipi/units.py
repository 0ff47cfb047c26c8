r"""Conversions between i-PI's atomic units and the units of a FlashMD model.

i-PI holds every quantity in Hartree atomic units: lengths in bohr :math:`a_0`,
masses in electron masses :math:`m_e`, energies in hartree :math:`E_h`, times in
:math:`\hbar/E_h` and momenta in :math:`\hbar/a_0`. A FlashMD model reads and
predicts positions in Å, momenta in :math:`(\mathrm{eV\,u})^{1/2}` and masses in u,
and its stride is given in fs (``metatrain_flashmd._names``).

The length, mass, energy and time factors are i-PI's own
(:func:`ipi.utils.units.unit_to_user`), so that both sides use the same constants.
The momentum factor follows from the mass and energy ones: in atomic units
:math:`\hbar/a_0 = (m_e E_h)^{1/2}`, hence

.. math::

    1\ \hbar/a_0 = \left(\frac{m_e}{\mathrm{u}}\,\frac{E_h}{\mathrm{eV}}\right)^{1/2}
    (\mathrm{eV\,u})^{1/2} \approx 0.122179\ (\mathrm{eV\,u})^{1/2}.
"""

import math

import numpy as np
from ipi.utils.units import unit_to_user


BOHR_TO_ANGSTROM: float = unit_to_user("length", "angstrom", 1.0)
"""One bohr in Å."""

ELECTRON_MASS_TO_U: float = unit_to_user("mass", "dalton", 1.0)
"""One electron mass in u (daltons)."""

HARTREE_TO_EV: float = unit_to_user("energy", "electronvolt", 1.0)
"""One hartree in eV."""

AU_TIME_TO_FS: float = unit_to_user("time", "femtosecond", 1.0)
"""One atomic unit of time (hbar / hartree) in fs."""

AU_MOMENTUM_TO_MODEL: float = math.sqrt(ELECTRON_MASS_TO_U * HARTREE_TO_EV)
"""One atomic unit of momentum (hbar / bohr) in (eV*u)^(1/2)."""


def positions_to_model(q: np.ndarray) -> np.ndarray:
    """i-PI positions (flat, bohr) to model positions, shape (n, 3), in Å."""
    return np.asarray(q, dtype=np.float64).reshape(-1, 3) * BOHR_TO_ANGSTROM


def positions_to_ipi(positions: np.ndarray) -> np.ndarray:
    """Model positions (n, 3), in Å, to i-PI positions (flat, bohr)."""
    return np.asarray(positions, dtype=np.float64).reshape(-1) / BOHR_TO_ANGSTROM


def momenta_to_model(p: np.ndarray) -> np.ndarray:
    """i-PI momenta (flat, atomic units) to model momenta, shape (n, 3), in
    (eV*u)^(1/2)."""
    return np.asarray(p, dtype=np.float64).reshape(-1, 3) * AU_MOMENTUM_TO_MODEL


def momenta_to_ipi(momenta: np.ndarray) -> np.ndarray:
    """Model momenta (n, 3), in (eV*u)^(1/2), to i-PI momenta (flat, atomic
    units)."""
    return np.asarray(momenta, dtype=np.float64).reshape(-1) / AU_MOMENTUM_TO_MODEL


def cell_to_model(h: np.ndarray) -> np.ndarray:
    """i-PI cell matrix (cell vectors as columns, bohr) to an ASE cell (vectors as
    rows, Å)."""
    return np.asarray(h, dtype=np.float64).T * BOHR_TO_ANGSTROM


def masses_to_model(m: np.ndarray) -> np.ndarray:
    """i-PI masses (electron masses) to model masses, in u."""
    return np.asarray(m, dtype=np.float64) * ELECTRON_MASS_TO_U


def masses_to_ipi(masses: np.ndarray) -> np.ndarray:
    """Model masses, in u, to i-PI masses (electron masses)."""
    return np.asarray(masses, dtype=np.float64) / ELECTRON_MASS_TO_U


def time_to_fs(t: float) -> float:
    """An i-PI time (atomic units) in fs."""
    return float(t) * AU_TIME_TO_FS
