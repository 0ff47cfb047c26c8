r"""How far a state strays from what the reference visits: the trouble score.

Three measures, each in standard deviations of what is normal:

- **temperature**: the largest :math:`|T_e - T| / (T \sqrt{2 / f_e})` over the
  elements, :math:`T_e` the element's internal temperature over its
  :math:`f_e = 3 N_e - 3` degrees of freedom
  (:func:`~metatrain_flashmd.ase.equipartition.element_internal_temperatures`)
  and :math:`T \sqrt{2 / f_e}` its canonical standard deviation: elements
  drifting apart in temperature, or the whole system heating;
- **energy**: :math:`|e - \langle e \rangle| / \sigma_e`, ``e`` the reference
  calculator's potential energy per atom, mean and standard deviation over
  frames of the training data (the latter scaled by :math:`\sqrt{N_{data} / N}`
  for a system of another size): an energy mismatch;
- **contact**: :math:`\max(0, (\langle d \rangle - d) / \sigma_d)`, ``d`` the
  closest distance between two atoms, mean and standard deviation over the
  training data's frames: closer contacts than in the data.

The trouble score of a state is the largest of the three.
"""

import math
from typing import Any, Dict, List, Sequence

import ase
import ase.io
import numpy as np
from ase.neighborlist import neighbor_list

from metatrain_flashmd.ase.equipartition import (
    element_internal_temperatures,
    internal_degrees_of_freedom,
)


DATA_FRAMES = 32
"""Training frames sampled for the statistics."""
CONTACT_CUTOFF = 4.0
"""Largest distance searched for the closest contact, A."""
MEASURES = ("temperature", "energy", "contact")


def closest_contact(atoms: ase.Atoms) -> float:
    """The closest distance between two atoms, A (periodic images included;
    infinite when none is within :data:`CONTACT_CUTOFF`)."""
    distances = neighbor_list("d", atoms, CONTACT_CUTOFF)
    return float(distances.min()) if len(distances) else math.inf


def potential_energy_per_atom(atoms: ase.Atoms, calculator: Any) -> float:
    """The reference calculator's potential energy of ``atoms`` per atom, eV."""
    probe = atoms.copy()
    probe.calc = calculator
    return float(probe.get_potential_energy()) / len(probe)


def sample_frames(files: Sequence[str], count: int = DATA_FRAMES) -> List[ase.Atoms]:
    """About ``count`` frames evenly spread over the files (the earlier frame of
    each pair, with its momenta)."""
    frames: List[ase.Atoms] = []
    for path in files:
        frames.extend(ase.io.read(str(path), index=":"))
    step = max(1, len(frames) // count)
    return frames[::step][:count]


def data_statistics(frames: Sequence[ase.Atoms], calculator: Any) -> Dict[str, Any]:
    """What the training frames visit: per-atom potential energy and closest
    contact (mean, standard deviation), mean element temperatures (K), the
    composition and the atom count."""
    energies = [potential_energy_per_atom(atoms, calculator) for atoms in frames]
    contacts = [closest_contact(atoms) for atoms in frames]
    temperatures: Dict[str, List[float]] = {}
    for atoms in frames:
        values = element_internal_temperatures(
            atoms.get_momenta(), atoms.get_masses(), atoms.numbers
        )
        for z, value in values.items():
            temperatures.setdefault(ase.data.chemical_symbols[z], []).append(value)
    first = frames[0]
    symbols = first.get_chemical_symbols()
    return {
        "frames": len(frames),
        "atoms": len(first),
        "composition": {
            s: symbols.count(s) / len(symbols) for s in sorted(set(symbols))
        },
        "energy_per_atom": {"mean": float(np.mean(energies)), "std": _std(energies)},
        "contact": {"mean": float(np.mean(contacts)), "std": _std(contacts)},
        "temperature_K": {s: float(np.mean(v)) for s, v in temperatures.items()},
    }


def _std(values: Sequence[float]) -> float:
    """Sample standard deviation, floored so that a score stays finite."""
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
    return max(spread, 1e-6 * (abs(float(np.mean(values))) + 1e-3))


def temperature_score(atoms: ase.Atoms, temperature_K: float) -> "tuple[float, float]":
    """The temperature measure (see the module docstring) and the largest
    relative deviation ``|T_e / T - 1|`` of an element."""
    values = element_internal_temperatures(
        atoms.get_momenta(), atoms.get_masses(), atoms.numbers
    )
    score, relative = 0.0, 0.0
    for z, value in values.items():
        dofs = internal_degrees_of_freedom(atoms.numbers, z)
        sigma = temperature_K * math.sqrt(2.0 / max(dofs, 1))
        score = max(score, abs(value - temperature_K) / sigma)
        relative = max(relative, abs(value / temperature_K - 1.0))
    return score, relative


def trouble(
    atoms: ase.Atoms, temperature_K: float, stats: Dict[str, Any], calculator: Any
) -> Dict[str, float]:
    """The three measures of ``atoms``, their maximum (``score``), the largest
    relative element temperature deviation (``imbalance``), the closest contact
    (``closest_contact``, A) and the potential energy per atom above the data's
    mean (``energy_excess``, eV)."""
    temperature, relative = temperature_score(atoms, temperature_K)
    energy_stats, contact_stats = stats["energy_per_atom"], stats["contact"]
    sigma = energy_stats["std"] * math.sqrt(stats["atoms"] / len(atoms))
    energy = potential_energy_per_atom(atoms, calculator)
    contact = closest_contact(atoms)
    scores = {
        "temperature": temperature,
        "energy": abs(energy - energy_stats["mean"]) / sigma,
        "contact": max(0.0, (contact_stats["mean"] - contact) / contact_stats["std"]),
    }
    scores = {k: v if math.isfinite(v) else math.inf for k, v in scores.items()}
    scores["score"] = max(scores[name] for name in MEASURES)
    scores["imbalance"] = relative
    scores["closest_contact"] = contact
    scores["energy_excess"] = energy - energy_stats["mean"]
    return scores
