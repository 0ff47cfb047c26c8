r"""The guard of the FlashMD integrators: is the run still where the model was trained?

A FlashMD model only knows the region of phase space its training set covered.
Exported models (model format 1003 on) record, per element, what that set held
(``metatrain_flashmd._names.TRAINING_LIMITS``, see
:mod:`metatrain_flashmd.training.limits`). Before the first stride (the starting
structure) and after every stride, :class:`TrainingGuard` compares each atom with
the records of its element, with margins:

- distance to the closest other atom below :data:`DISTANCE_MARGIN` times the
  smallest one in training (searched with :mod:`vesin` within that radius only);
- displacement in the stride above :data:`DISPLACEMENT_MARGIN` times the largest
  one in training (from the second check on);
- momentum above :data:`MOMENTUM_MARGIN` times the largest one in training;
- kinetic temperature of the element
  (:func:`~metatrain_flashmd.observables.temperature.atoms_element_temperatures`)
  above :data:`TEMPERATURE_MARGIN` times the highest in training, or below the
  lowest divided by it.

Each excursion is logged as a warning (logger ``metatrain_flashmd.ase.guard``)
naming the stride, the atom, its element, the quantity, its value and the
training limit. A long run is not flooded: per stride, each quantity and element
is reported once (its worst atom, with the count of the others), and a quantity
that stays out is reported again only on the 10th, 100th, 1000th, ... stride it
is out. With ``strict``, the first excursion raises :class:`OutsideTrainingError`
instead, which stops the run; the frames and log lines written before are kept.

A model without records (exported before they existed, or converted from
metatrain's built-in FlashMD) runs unguarded, after one note naming its file.
"""

import dataclasses
import logging
import math
import weakref
from typing import Dict, List, Optional

import ase
import ase.data
import numpy as np
import vesin
from metatomic.torch import AtomisticModel

from metatrain_flashmd._names import TRAINING_LIMIT_UNITS, TRAINING_LIMITS
from metatrain_flashmd.observables.temperature import atoms_element_temperatures


DISTANCE_MARGIN = 0.8
"""An atom closer to another than this times the smallest distance in training
(for its element) is reported."""

DISPLACEMENT_MARGIN = 1.5
"""A displacement in one stride above this times the largest in training is
reported."""

MOMENTUM_MARGIN = 1.5
"""A momentum above this times the largest in training is reported."""

TEMPERATURE_MARGIN = 1.5
"""An element's temperature above this times the highest in training, or below
the lowest divided by this, is reported."""

LOGGER = logging.getLogger(__name__)

_BOUNDS = {
    "smallest": ("below", "{margin:g} x the smallest"),
    "largest": ("above", "{margin:g} x the largest"),
    "lowest": ("below", "the lowest / {margin:g}"),
    "highest": ("above", "{margin:g} x the highest"),
}
"""How each kind of bound reads in a warning."""

_CHECKS = {
    "distance": ("min_distance", DISTANCE_MARGIN),
    "displacement": ("max_displacement", DISPLACEMENT_MARGIN),
    "momentum": ("max_momentum", MOMENTUM_MARGIN),
}
"""Per-atom quantity: its column of the records, and its margin."""

_COLUMN = {name: index for index, name in enumerate(TRAINING_LIMITS)}


class OutsideTrainingError(RuntimeError):
    """A strict run left the region its model was trained on (see
    :mod:`metatrain_flashmd.ase.guard`)."""


@dataclasses.dataclass(frozen=True)
class Excursion:
    """One quantity of one element outside the training records at one check."""

    stride: int
    """The stride just run (0: the starting structure, before the first one)."""
    quantity: str
    """``distance``, ``displacement``, ``momentum`` or ``temperature``."""
    symbol: str
    """The element."""
    atom: Optional[int]
    """Index of the worst atom (``None`` for a temperature)."""
    value: float
    """Its value, in :attr:`unit`."""
    limit: float
    """The training record it is compared with (before the margin)."""
    bound: str
    """``"smallest"``, ``"largest"``, ``"lowest"`` or ``"highest"``."""
    margin: float
    """The margin applied to :attr:`limit`."""
    unit: str
    others: int = 0
    """Other atoms of the element out on the same quantity."""

    def describe(self) -> str:
        """The warning: where, what, how far out."""
        when = "start" if self.stride == 0 else f"stride {self.stride}"
        who = self.symbol if self.atom is None else f"atom {self.atom} ({self.symbol})"
        what = {
            "distance": "distance to its closest neighbour",
            "temperature": "temperature",
        }.get(self.quantity, self.quantity)
        side, bound = _BOUNDS[self.bound]
        bound = bound.format(margin=self.margin)
        text = (
            f"{when}: {what} of {who} is {self.value:.4g} {self.unit}, {side} "
            f"{bound} in training ({self.limit:.4g} {self.unit})"
        )
        if self.others:
            atoms = "atom" if self.others == 1 else "atoms"
            text += f"; {self.others} other {self.symbol} {atoms} too"
        return text


def read_training_limits(model: AtomisticModel) -> Optional[Dict[int, np.ndarray]]:
    """The records of an exported FlashMD model by atomic number (one array of
    :data:`TRAINING_LIMITS` each), or ``None`` if it has none."""
    module = model.module
    if not hasattr(module, "training_limits"):
        return None
    table = module.training_limits.detach().to("cpu").double().numpy()
    if not np.isfinite(table).any():
        return None
    types = sorted(int(z) for z in model.capabilities().atomic_types)
    return {z: table[row] for row, z in enumerate(types)}


_NOTED: "weakref.WeakSet[AtomisticModel]" = weakref.WeakSet()
"""The loaded models whose missing records were noted."""


def note_missing_records(model: AtomisticModel, path: Optional[str]) -> None:
    """Log :func:`no_records_note` if ``model`` has no records, once per loaded
    model (integrators sharing a model, as replicas do, note it once)."""
    if model in _NOTED or read_training_limits(model) is not None:
        return
    _NOTED.add(model)
    LOGGER.warning(no_records_note(path))


def no_records_note(path: Optional[str]) -> str:
    """The note for a model without records."""
    name = f"the model '{path}'" if path else "the model (given loaded, no file)"
    return (
        f"note: {name} has no records of its training set (never trained, "
        "exported by metatrain-flashmd before model format 1003, or converted "
        "from the built-in FlashMD): this run is not checked against the region "
        "the model was trained on; train it again to have the check"
    )


class TrainingGuard:
    """Checks a running system against the training records of its model (see
    the module docstring).

    :param limits: the records by atomic number (:func:`read_training_limits`);
        ``None`` checks nothing.
    :param strict: raise :class:`OutsideTrainingError` at the first excursion.
    """

    def __init__(
        self, limits: Optional[Dict[int, np.ndarray]], strict: bool = False
    ) -> None:
        self.limits = limits
        self.strict = bool(strict)
        self.started = False
        """Whether the starting structure was checked."""
        self.label = ""
        """What the warnings start with, e.g. the replica (none when empty)."""
        self.counts: Dict[tuple, int] = {}
        """Checks so far with an excursion, per (quantity, element)."""
        closest = [row[_COLUMN["min_distance"]] for row in (limits or {}).values()]
        self.radius = 0.0
        """How far (A) the distance check searches: the margin times the largest
        of the elements' smallest distances in training."""
        if np.isfinite(closest).any():
            self.radius = DISTANCE_MARGIN * float(np.nanmax(closest))
        self._neighbors = (
            vesin.NeighborList(cutoff=self.radius, full_list=True)
            if self.radius > 0
            else None
        )

    @classmethod
    def for_model(
        cls, model: AtomisticModel, path: Optional[str], strict: bool = False
    ) -> "TrainingGuard":
        """The guard of ``model`` (loaded from ``path``); a model without records
        gets an unguarded one (see :func:`note_missing_records`)."""
        note_missing_records(model, path)
        return cls(read_training_limits(model), strict)

    @property
    def active(self) -> bool:
        """Whether there is anything to check against."""
        return self.limits is not None

    def before_stride(self, atoms: ase.Atoms) -> None:
        """Check the starting structure, once, before the first stride."""
        if self.started or not self.active:
            return
        self.started = True
        self._report(self.excursions(atoms, 0, None))

    def after_stride(
        self, atoms: ase.Atoms, displacements: np.ndarray, stride: int
    ) -> None:
        """Check ``atoms`` after stride number ``stride`` (from 1), whose
        ``displacements`` ((n, 3), A) the model predicted."""
        if self.active:
            self._report(self.excursions(atoms, stride, displacements))

    def _report(self, excursions: List[Excursion]) -> None:
        """Warn (rate-limited), or raise in a strict run."""
        if not excursions:
            return
        prefix = f"{self.label}: " if self.label else ""
        if self.strict:
            raise OutsideTrainingError(
                prefix
                + excursions[0].describe()
                + ": the model has left the region it was trained on, and the run "
                "was stopped (strict); what was written before is kept"
            )
        for excursion in excursions:
            key = (excursion.quantity, excursion.symbol)
            count = self.counts.get(key, 0) + 1
            self.counts[key] = count
            if count == 1:
                LOGGER.warning(
                    prefix
                    + excursion.describe()
                    + ": the model is outside the region it was trained on, its "
                    "predictions are not to be trusted"
                )
            elif math.log10(count).is_integer():
                LOGGER.warning(
                    prefix
                    + excursion.describe()
                    + f" ({count} checks so far with this {excursion.quantity} of "
                    f"{excursion.symbol} outside the training records)"
                )

    def excursions(
        self, atoms: ase.Atoms, stride: int, displacements: Optional[np.ndarray]
    ) -> List[Excursion]:
        """Every quantity and element of ``atoms`` outside the records (with
        margins) at stride ``stride``; the displacement only if given ((n, 3),
        A)."""
        numbers = atoms.numbers
        found: List[Excursion] = []
        if self._neighbors is not None:
            closest = self._closest_distances(atoms)
            found += self._per_atom(stride, "distance", numbers, closest)
        if displacements is not None:
            moved = np.linalg.norm(displacements, axis=1)
            found += self._per_atom(stride, "displacement", numbers, moved)
        momenta = np.linalg.norm(atoms.get_momenta(), axis=1)
        found += self._per_atom(stride, "momentum", numbers, momenta)
        found += self._temperatures(atoms, stride)
        return found

    def _per_atom(
        self, stride: int, quantity: str, numbers: np.ndarray, values: np.ndarray
    ) -> List[Excursion]:
        """Excursions of the per-atom ``values`` of ``quantity``: per element,
        its worst atom (a non-finite value counts as out)."""
        column, margin = _CHECKS[quantity]
        below = column.startswith("min_")
        found = []
        for z, row in self.limits.items():
            limit = float(row[_COLUMN[column]])
            mine = np.flatnonzero(numbers == z)
            if mine.size == 0 or not math.isfinite(limit):
                continue
            threshold = margin * limit
            inside = values[mine] >= threshold if below else values[mine] <= threshold
            out = mine[~inside]
            if out.size == 0:
                continue
            ranked = np.nan_to_num(values[out], nan=np.inf)
            worst = int(out[np.argmin(ranked) if below else np.argmax(ranked)])
            found.append(
                Excursion(
                    stride=stride,
                    quantity=quantity,
                    symbol=ase.data.chemical_symbols[z],
                    atom=worst,
                    value=float(values[worst]),
                    limit=limit,
                    bound="smallest" if below else "largest",
                    margin=margin,
                    unit=TRAINING_LIMIT_UNITS[_COLUMN[column]],
                    others=int(out.size - 1),
                )
            )
        return found

    def _closest_distances(self, atoms: ase.Atoms) -> np.ndarray:
        """(n,) distance from each atom to its closest neighbour, A; inf when
        none is within :attr:`radius`, and for all atoms when a position is not
        finite (a model that blew up: its displacements are reported)."""
        closest = np.full(len(atoms), np.inf)
        if not np.isfinite(atoms.positions).all():
            return closest
        periodic = [bool(p) for p in atoms.pbc]
        box = atoms.cell.array if any(periodic) else np.zeros((3, 3))
        first, distances = self._neighbors.compute(
            points=atoms.positions, box=box, periodic=periodic, quantities="id"
        )
        np.minimum.at(closest, first.astype(np.int64), distances)
        return closest

    def _temperatures(self, atoms: ase.Atoms, stride: int) -> List[Excursion]:
        """Elements whose kinetic temperature is outside the training range."""
        found = []
        for symbol, value in atoms_element_temperatures(atoms).items():
            row = self.limits.get(ase.data.atomic_numbers[symbol])
            if row is None:
                continue
            lowest = float(row[_COLUMN["min_temperature"]])
            highest = float(row[_COLUMN["max_temperature"]])
            bound, limit = None, math.nan
            if not value <= TEMPERATURE_MARGIN * highest and math.isfinite(highest):
                bound, limit = "highest", highest
            elif value < lowest / TEMPERATURE_MARGIN:
                bound, limit = "lowest", lowest
            if bound is not None:
                found.append(
                    Excursion(
                        stride,
                        "temperature",
                        symbol,
                        None,
                        float(value),
                        limit,
                        bound,
                        TEMPERATURE_MARGIN,
                        "K",
                    )
                )
        return found
