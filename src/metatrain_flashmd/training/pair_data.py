"""Training data: pairs read from metatrain datasets, augmented and batched.

A batch leaves the (possibly parallel) data loader as plain tensors
(:class:`PairBatch`), so that it crosses process boundaries cheaply; the trainer turns
it into the model's :class:`AtomBatch` on the training device.
"""

from dataclasses import dataclass
from typing import Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import vesin

from .._names import MOMENTUM, POSITION
from ..network.batching import AtomBatch
from ..pairs.targets import check_pair


@dataclass
class Pair:
    """One training pair in float64 numpy arrays (n atoms)."""

    types: np.ndarray
    """(n,) atomic numbers."""
    positions: np.ndarray
    """(n, 3) positions at t, A."""
    momenta: np.ndarray
    """(n, 3) momenta at t, (eV*u)^(1/2)."""
    cell: np.ndarray
    """(3, 3) cell vectors as rows, A."""
    pbc: np.ndarray
    """(3,) periodic directions."""
    displacements: np.ndarray
    """(n, 3) unwrapped displacements from t to t + timestep, A."""
    future_momenta: np.ndarray
    """(n, 3) momenta at t + timestep, (eV*u)^(1/2)."""

    def time_reversed(self) -> "Pair":
        """The pair run backwards: start from the later frame with negated momenta,
        end at the earlier one with negated momenta."""
        return Pair(
            types=self.types,
            positions=self.positions + self.displacements,
            momenta=-self.future_momenta,
            cell=self.cell,
            pbc=self.pbc,
            displacements=-self.displacements,
            future_momenta=-self.momenta,
        )

    def transformed(self, matrix: np.ndarray) -> "Pair":
        """The pair with every vector (positions, cell, momenta, targets) multiplied
        by the orthogonal ``matrix`` (3, 3)."""
        return Pair(
            types=self.types,
            positions=self.positions @ matrix.T,
            momenta=self.momenta @ matrix.T,
            cell=self.cell @ matrix.T,
            pbc=self.pbc,
            displacements=self.displacements @ matrix.T,
            future_momenta=self.future_momenta @ matrix.T,
        )


def read_sample(sample: object) -> Tuple[np.ndarray, ...]:
    """Arrays of a metatrain dataset sample: types, positions, momenta, cell, pbc,
    future positions, future momenta (the last two None when the target is absent).
    """
    fields = sample._asdict()  # type: ignore[attr-defined]
    system = fields["system"]
    momenta = None
    if MOMENTUM in system.known_data():
        momenta = system.get_data(MOMENTUM).block().values.reshape(-1, 3).numpy()
    future = []
    for name in (POSITION, MOMENTUM):
        target = fields.get(name)
        future.append(
            None if target is None else target.block().values.reshape(-1, 3).numpy()
        )
    return (
        system.types.numpy(),
        system.positions.detach().numpy().astype(np.float64),
        None if momenta is None else momenta.astype(np.float64),
        system.cell.detach().numpy().astype(np.float64),
        system.pbc.numpy(),
        None if future[0] is None else future[0].astype(np.float64),
        None if future[1] is None else future[1].astype(np.float64),
    )


def random_orthogonal(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation, composed with an inversion half of the time."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if rng.random() < 0.5:
        q = -q
    return q


class PairBatch(NamedTuple):
    """A batch of pairs as plain float64/int64 CPU tensors (see :class:`AtomBatch`)."""

    types: torch.Tensor
    positions: torch.Tensor
    momenta: torch.Tensor
    cells: torch.Tensor
    pbc: torch.Tensor
    system_indices: torch.Tensor
    atom_indices: torch.Tensor
    centers: torch.Tensor
    neighbors: torch.Tensor
    cell_shifts: torch.Tensor
    displacements: torch.Tensor
    future_momenta: torch.Tensor

    def atoms(self, dtype: torch.dtype, device: torch.device) -> AtomBatch:
        """The model input on ``device``, floats in ``dtype``."""
        return AtomBatch(
            positions=self.positions.to(device=device, dtype=dtype),
            types=self.types.to(device=device, dtype=torch.int32),
            momenta=self.momenta.to(device=device, dtype=dtype),
            cells=self.cells.to(device=device, dtype=dtype),
            system_indices=self.system_indices.to(device),
            atom_indices=self.atom_indices.to(device),
            centers=self.centers.to(device),
            neighbors=self.neighbors.to(device),
            cell_shifts=self.cell_shifts.to(device=device, dtype=torch.int32),
        )

    def truth(
        self, dtype: torch.dtype, device: torch.device
    ) -> Dict[str, torch.Tensor]:
        """The targets on ``device`` in ``dtype``, as the model's
        ``training_errors`` takes them: the displacements (``position``, A) and
        the momenta at t + timestep (``momentum``, (eV*u)^(1/2))."""
        return {
            POSITION: self.displacements.to(device=device, dtype=dtype),
            MOMENTUM: self.future_momenta.to(device=device, dtype=dtype),
        }


class PairCollate:
    """Collate ``(index, Pair)`` items into a :class:`PairBatch`.

    Augmentations are drawn from a generator seeded by (seed, epoch, index), so a
    pair is augmented the same way whichever worker process handles it and whether or
    not the run was interrupted and restarted.

    :param cutoff: neighbour list cutoff, A.
    :param seed: base seed of the run.
    :param time_reversal: reverse each pair with probability 1/2.
    :param random_rotations: rotate (and invert) each pair randomly.
    """

    def __init__(
        self, cutoff: float, seed: int, time_reversal: bool, random_rotations: bool
    ) -> None:
        self.cutoff = cutoff
        self.seed = seed
        self.time_reversal = time_reversal
        self.random_rotations = random_rotations
        self.epoch = 0

    def augment(self, index: int, pair: Pair) -> Pair:
        if not (self.time_reversal or self.random_rotations):
            return pair
        rng = np.random.default_rng([self.seed, self.epoch, index])
        if self.time_reversal and rng.random() < 0.5:
            pair = pair.time_reversed()
        if self.random_rotations:
            pair = pair.transformed(random_orthogonal(rng))
        return pair

    def __call__(self, items: Sequence[Tuple[int, Pair]]) -> Optional[PairBatch]:
        if len(items) == 0:
            return None
        pairs = [self.augment(index, pair) for index, pair in items]
        calculator = vesin.NeighborList(cutoff=self.cutoff, full_list=True)
        centers, neighbors, shifts = [], [], []
        offset = 0
        for pair in pairs:
            i, j, shift = calculator.compute(
                pair.positions, pair.cell, pair.pbc.tolist(), quantities="ijS"
            )
            centers.append(i.astype(np.int64) + offset)
            neighbors.append(j.astype(np.int64) + offset)
            shifts.append(shift.astype(np.int64))
            offset += len(pair.types)

        def cat(name: str) -> torch.Tensor:
            return torch.from_numpy(np.concatenate([getattr(p, name) for p in pairs]))

        sizes = [len(pair.types) for pair in pairs]
        return PairBatch(
            types=cat("types").to(torch.int64),
            positions=cat("positions"),
            momenta=cat("momenta"),
            cells=torch.from_numpy(np.stack([pair.cell for pair in pairs])),
            pbc=torch.from_numpy(np.stack([pair.pbc for pair in pairs])),
            system_indices=torch.repeat_interleave(
                torch.arange(len(pairs)), torch.tensor(sizes)
            ),
            atom_indices=torch.cat([torch.arange(size) for size in sizes]),
            centers=torch.from_numpy(np.concatenate(centers)),
            neighbors=torch.from_numpy(np.concatenate(neighbors)),
            cell_shifts=torch.from_numpy(np.concatenate(shifts)),
            displacements=cat("displacements"),
            future_momenta=cat("future_momenta"),
        )


class PairError(ValueError):
    """A training pair that cannot be used, with where it comes from."""


def load_pair(sample: object, where: str) -> Pair:
    """Check one metatrain dataset sample and turn it into a :class:`Pair`.

    :param where: description of the sample for error messages, e.g.
        ``"training set 0, structure 12"``.
    """
    types, positions, momenta, cell, pbc, future_positions, future_momenta = (
        read_sample(sample)
    )
    if momenta is None:
        raise PairError(
            f"{where}: the structure has no momenta. FlashMD training pairs need the "
            "momenta of the earlier frame (ASE array 'momenta')."
        )
    if future_positions is None or future_momenta is None:
        raise PairError(
            f"{where}: the targets 'position' and 'momentum' (the later frame) are "
            "both required to train FlashMD"
        )
    displacements, problem = check_pair(
        positions, momenta, future_positions, future_momenta, cell, pbc
    )
    if problem is not None:
        atom = "" if problem.atom is None else f", atom {problem.atom}"
        raise PairError(f"{where}{atom}: {problem.reason}")
    return Pair(types, positions, momenta, cell, pbc, displacements, future_momenta)


class IndexedPairs(torch.utils.data.Dataset):
    """The pairs of several metatrain datasets, returned with their global index.

    :param datasets: metatrain datasets whose samples hold a system with momenta
        and the ``position`` and ``momentum`` targets.
    :param label: how to name these datasets in errors (``"training set"``).
    """

    def __init__(self, datasets: Sequence[object], label: str) -> None:
        self.datasets = list(datasets)
        self.label = label
        self.locations: List[Tuple[int, int]] = [
            (d, i)
            for d, dataset in enumerate(self.datasets)
            for i in range(len(dataset))
        ]

    def __len__(self) -> int:
        return len(self.locations)

    def where(self, index: int) -> str:
        dataset, local = self.locations[index]
        return f"{self.label} {dataset}, structure {local}"

    def __getitem__(self, index: int) -> Tuple[int, Pair]:
        dataset, local = self.locations[index]
        return index, load_pair(self.datasets[dataset][local], self.where(index))


class PairBatchSampler(torch.utils.data.Sampler):
    """Batches of pair indices, reshuffled each epoch from (seed, epoch).

    Either ``batch_size`` pairs per batch, or, with ``max_atoms``, as many pairs as
    fit in that many atoms (batches below ``min_atoms`` are dropped). With several
    ranks, each global batch is split into ``world_size`` contiguous slices and this
    rank takes its own.

    :param sizes: number of atoms of each pair.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        batch_size: int,
        shuffle: bool,
        seed: int,
        max_atoms: Optional[int] = None,
        min_atoms: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.sizes = list(sizes)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.max_atoms = max_atoms
        self.min_atoms = min_atoms
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0

    def global_batches(self) -> List[List[int]]:
        order = np.arange(len(self.sizes))
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(order)
        if self.max_atoms is None:
            return [
                order[start : start + self.batch_size].tolist()
                for start in range(0, len(order), self.batch_size)
            ]
        batches: List[List[int]] = []
        current: List[int] = []
        atoms = 0
        for index in order.tolist():
            if current and atoms + self.sizes[index] > self.max_atoms:
                batches.append(current)
                current, atoms = [], 0
            current.append(index)
            atoms += self.sizes[index]
        if current:
            batches.append(current)
        return [b for b in batches if sum(self.sizes[i] for i in b) >= self.min_atoms]

    def usable_batches(self) -> List[List[int]]:
        """Global batches; when training on several ranks, without those too small to
        give every rank a pair (all ranks must take the same number of steps)."""
        batches = self.global_batches()
        if self.shuffle and self.world_size > 1:
            batches = [batch for batch in batches if len(batch) >= self.world_size]
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        for batch in self.usable_batches():
            share = np.array_split(np.array(batch, dtype=np.int64), self.world_size)
            yield share[self.rank].tolist()

    def __len__(self) -> int:
        return len(self.usable_batches())
