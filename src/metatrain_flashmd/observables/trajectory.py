"""A trajectory held as arrays: what the observables of this package are computed
from.

Positions in A, momenta in (eV*u)^(1/2), masses in u, potential energies in eV,
times in fs. The cell is fixed along the trajectory.
"""

import dataclasses
from typing import Optional, Sequence, Tuple

import ase
import numpy as np

from metatrain_flashmd.observables.temperature import momentum_is_fixed


@dataclasses.dataclass
class Trajectory:
    """Equally spaced frames of one run of fixed atoms and cell."""

    time_fs: np.ndarray
    """(frames,) time of each frame, fs."""
    positions: np.ndarray
    """(frames, n, 3) positions, A (wrapped or not)."""
    momenta: np.ndarray
    """(frames, n, 3) momenta, (eV*u)^(1/2)."""
    numbers: np.ndarray
    """(n,) atomic numbers."""
    masses: np.ndarray
    """(n,) masses, u."""
    cell: np.ndarray
    """(3, 3) cell vectors as rows, A."""
    pbc: np.ndarray
    """(3,) periodic directions."""
    potential_energy: np.ndarray
    """(frames,) potential energy, eV; NaN where not known."""
    momentum_fixed: bool = True
    """Whether the total momentum is held at zero (3 degrees of freedom fewer)."""

    @property
    def num_frames(self) -> int:
        """Number of frames."""
        return len(self.time_fs)

    @property
    def frame_interval_fs(self) -> float:
        """Time between consecutive frames, fs (NaN with fewer than two)."""
        if self.num_frames < 2:
            return float("nan")
        return float(self.time_fs[1] - self.time_fs[0])

    @property
    def duration_fs(self) -> float:
        """Time from the first frame to the last, fs."""
        return float(self.time_fs[-1] - self.time_fs[0]) if self.num_frames else 0.0

    def window(self, frames: slice) -> "Trajectory":
        """The frames selected by ``frames`` (a slice), as a new trajectory."""
        return dataclasses.replace(
            self,
            time_fs=self.time_fs[frames],
            positions=self.positions[frames],
            momenta=self.momenta[frames],
            potential_energy=self.potential_energy[frames],
        )

    def frame(self, index: int) -> ase.Atoms:
        """Frame ``index`` as atoms with momenta (and its ``time_fs`` info key)."""
        atoms = ase.Atoms(
            numbers=self.numbers,
            positions=self.positions[index],
            cell=self.cell,
            pbc=self.pbc,
            masses=self.masses,
        )
        atoms.set_momenta(self.momenta[index])
        atoms.info["time_fs"] = float(self.time_fs[index])
        return atoms

    def halves(self) -> Tuple["Trajectory", "Trajectory"]:
        """The first and the second half of the frames."""
        middle = self.num_frames // 2
        return self.window(slice(0, middle)), self.window(slice(middle, None))

    def without_start(self, fraction: float) -> "Trajectory":
        """The trajectory without its first ``fraction`` of frames (a transient)."""
        return self.window(slice(int(self.num_frames * fraction), None))


def trajectory_from_atoms(
    frames: Sequence[ase.Atoms],
    time_fs: Optional[Sequence[float]] = None,
    potential_energy: Optional[Sequence[float]] = None,
    momentum_fixed: Optional[bool] = None,
) -> Trajectory:
    """A :class:`Trajectory` of ASE frames of the same atoms.

    :param frames: the frames, with momenta; numbers, masses, cell and periodicity
        are taken from the first.
    :param time_fs: time of each frame, fs; from the ``time_fs`` info key when
        ``None``.
    :param potential_energy: potential energy of each frame, eV; NaN when ``None``.
    :param momentum_fixed: whether the total momentum is held fixed; from the first
        frame's constraints (a ``FixCom``) when ``None``.
    """
    first = frames[0]
    if time_fs is None:
        time_fs = [float(frame.info["time_fs"]) for frame in frames]
    if potential_energy is None:
        potential_energy = [float("nan")] * len(frames)
    if momentum_fixed is None:
        momentum_fixed = momentum_is_fixed(first)
    return Trajectory(
        time_fs=np.asarray(time_fs, dtype=float),
        positions=np.array([frame.positions for frame in frames], dtype=float),
        momenta=np.array([frame.get_momenta() for frame in frames], dtype=float),
        numbers=first.numbers.copy(),
        masses=np.array(first.get_masses(), dtype=float),
        cell=np.array(first.cell.array, dtype=float),
        pbc=np.array(first.pbc, dtype=bool),
        potential_energy=np.asarray(potential_energy, dtype=float),
        momentum_fixed=bool(momentum_fixed),
    )
