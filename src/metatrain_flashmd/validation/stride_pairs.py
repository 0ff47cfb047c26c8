"""Pairs of reference frames one stride apart, for the per-stride diagnostics
(:mod:`metatrain_flashmd.validation.stride`).

With a reference calculator, each pair starts at a frame of the reference run and
ends one stride of reference NVE (velocity Verlet) later: the deterministic map a
FlashMD stride learns, even when the reference run itself is thermostatted. With
only a reference trajectory, pairs are frames of it one stride apart, which
include the bath's noise in NVT.
"""

from typing import Any, List

import ase
import numpy as np

from metatrain_flashmd._names import FUTURE_MOMENTA_KEY, FUTURE_POSITIONS_KEY
from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.observables.transport import unwrap
from metatrain_flashmd.validation.reference import ReferenceStride, substeps


def spread_indices(available: int, count: int) -> np.ndarray:
    """``count`` indices (or all, if fewer) spread evenly over ``range(available)``."""
    if available <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, available - 1, min(count, available)).astype(int))


def make_pair(now: ase.Atoms, positions: np.ndarray, momenta: np.ndarray) -> ase.Atoms:
    """``now`` with the arrays of the positions (A) and momenta ((eV*u)^(1/2)) one
    stride later."""
    pair = now.copy()
    pair.calc = None
    pair.arrays[FUTURE_POSITIONS_KEY] = np.array(positions, dtype=float)
    pair.arrays[FUTURE_MOMENTA_KEY] = np.array(momenta, dtype=float)
    return pair


def reference_pairs(
    trajectory: Trajectory,
    calculator: Any,
    stride_fs: float,
    max_timestep_fs: float,
    count: int,
) -> List[ase.Atoms]:
    """``count`` pairs from frames spread over ``trajectory``, each ended by one
    stride of reference NVE."""
    stride = ReferenceStride(
        trajectory.frame(0), calculator, *substeps(stride_fs, max_timestep_fs)
    )
    pairs = []
    for index in spread_indices(trajectory.num_frames, count):
        now = trajectory.frame(int(index))
        pairs.append(make_pair(now, *stride(now)))
    return pairs


def trajectory_pairs(
    trajectory: Trajectory, stride_fs: float, count: int
) -> List[ase.Atoms]:
    """``count`` pairs of frames of ``trajectory`` one stride apart (none when the
    stride is not a whole number of frame intervals); the later positions are
    unwrapped against the earlier ones."""
    lag = stride_fs / trajectory.frame_interval_fs
    if not np.isclose(lag, round(lag), rtol=1e-6) or round(lag) < 1:
        return []
    lag = int(round(lag))
    pairs = []
    for index in spread_indices(trajectory.num_frames - lag, count):
        window = trajectory.positions[[index, index + lag]]
        later = unwrap(window, trajectory.cell, trajectory.pbc)[1]
        now = trajectory.frame(int(index))
        pairs.append(make_pair(now, later, trajectory.momenta[index + lag]))
    return pairs
