"""Splitting trajectories in time into training, validation and test blocks."""

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .output import SET_LABELS, SET_NAMES
from .reading import TrajectoryError, TrajectoryReader


class PairsArgumentError(ValueError):
    """Arguments of :func:`build_pairs` that cannot be used."""


@dataclass(frozen=True)
class Block:
    """A contiguous range of frames of one file assigned to one set."""

    name: str
    """Short name of the set (``train``, ``val``, ``test``)."""
    start: int
    """First frame."""
    stop: int
    """One past the last frame."""

    def pair_starts(self, lag: int, spacing: int) -> range:
        """First frames of the pairs lying entirely in the block."""
        return range(self.start, self.stop - lag, spacing)


def split_blocks(num_frames: int, fractions: Dict[str, float]) -> List[Block]:
    """Training, validation and test blocks of a file of ``num_frames`` frames, in
    this order; the validation and test blocks take the given fractions (rounded)
    of the frames, the training block the rest."""
    sizes = {name: round(num_frames * fractions[name]) for name in ("val", "test")}
    sizes["train"] = num_frames - sizes["val"] - sizes["test"]
    blocks, start = [], 0
    for name in SET_NAMES:
        blocks.append(Block(name, start, start + sizes[name]))
        start += sizes[name]
    return blocks


def check_arguments(
    lag: int,
    spacing: int,
    frame_interval: Optional[float],
    fractions: Dict[str, float],
    options: Optional[Path],
) -> None:
    """Refuse values of the arguments of :func:`build_pairs` that cannot work."""
    if int(lag) != lag or lag < 1:
        raise PairsArgumentError(f"--lag must be a positive number of frames: {lag}")
    if int(spacing) != spacing or spacing < 1:
        raise PairsArgumentError(
            f"--spacing must be a positive number of frames: {spacing}"
        )
    if frame_interval is not None and not (0 < frame_interval < float("inf")):
        raise PairsArgumentError(
            f"--frame-interval must be a positive time in fs: {frame_interval}"
        )
    for name in ("val", "test"):
        if not 0 <= fractions[name] < 1:
            raise PairsArgumentError(
                f"the {SET_LABELS[name]} fraction must be in [0, 1): {fractions[name]}"
            )
    if fractions["train"] <= 0:
        raise PairsArgumentError(
            "the validation and test fractions leave no frames for training"
        )
    if options is not None and fractions["val"] == 0:
        raise PairsArgumentError(
            "mtt train needs a validation set: give --validation a non-zero fraction "
            "to write the options file"
        )


def plan_blocks(
    readers: Sequence[TrajectoryReader], lag: int, spacing: int, fractions: dict
) -> List[List[Block]]:
    """The blocks of each file; refuse files shorter than a pair and sets that
    would get no pair."""
    plans = []
    counts = dict.fromkeys(SET_NAMES, 0)
    for reader in readers:
        if reader.num_frames <= lag:
            raise TrajectoryError(
                reader.path,
                f"{reader.num_frames} frames, too few for --lag {lag} (a pair spans "
                f"{lag + 1} frames)",
            )
        blocks = split_blocks(reader.num_frames, fractions)
        for block in blocks:
            counts[block.name] += len(block.pair_starts(lag, spacing))
        plans.append(blocks)
    for name in SET_NAMES:
        if fractions[name] > 0 and counts[name] == 0:
            raise PairsArgumentError(
                f"the {SET_LABELS[name]} set would hold no pair: its block of each "
                f"trajectory is not longer than --lag {lag} frames. Use longer "
                "trajectories, a shorter lag or a larger fraction for this set"
            )
    return plans
