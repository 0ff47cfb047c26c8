"""What :func:`~metatrain_flashmd.pairs.build.build_pairs` read and wrote, and the
lines ``mtt-flashmd pairs`` prints about it."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional

from .output import SET_LABELS, SET_NAMES


@dataclass
class PairsSummary:
    """What :func:`~metatrain_flashmd.pairs.build.build_pairs` read and wrote."""

    trajectories: int = 0
    """Number of trajectory files read."""
    frames_read: int = 0
    """Number of frames read, over all files."""
    pairs: Dict[str, int] = field(default_factory=lambda: dict.fromkeys(SET_NAMES, 0))
    """Structures written to each set (time-reversed twins included, if written)."""
    files: Dict[str, Path] = field(default_factory=dict)
    """The file of each set written."""
    frame_interval: float = float("nan")
    """Time between consecutive frames, fs."""
    timestep: float = float("nan")
    """Time between the two frames of a pair, fs."""
    largest_displacement: float = 0.0
    """Largest displacement of an atom within a pair, A."""
    temperature: float = float("nan")
    """Kinetic temperature averaged over the frames read, K (ASE's degrees of
    freedom: three per atom, less those removed by constraints)."""
    masses: Dict[int, float] = field(default_factory=dict)
    """Mass of each element found, u, by atomic number."""
    options: Optional[Path] = None
    """The ``mtt train`` options file written, if any."""
    reversed_twins: bool = False
    """Whether each pair's time-reversed twin was written too."""
    largest_cell_strain: float = 0.0
    """Largest strain of the cell over a pair (variable-cell trajectories; zero for
    a fixed cell), dimensionless."""

    def report(self) -> str:
        """A few lines for the user."""
        lines = [
            f"read {self.frames_read} frames from {self.trajectories} trajectory "
            f"file(s), {self.frame_interval:g} fs apart; mean temperature "
            f"{self.temperature:.1f} K (3 degrees of freedom per atom)",
            f"pairs {self.timestep:g} fs apart; largest displacement "
            f"{self.largest_displacement:.3f} A",
        ]
        for name, path in self.files.items():
            lines.append(f"{SET_LABELS[name]:>10}: {self.pairs[name]:6d} -> {path}")
        lines.append(self.time_reversal_line())
        if self.largest_cell_strain > 0:
            lines.append(self.cell_line())
        if self.options is not None:
            lines.append(f"options for mtt train: {self.options}")
        return "\n".join(lines)

    def cell_line(self) -> str:
        """How the pairs of a variable-cell trajectory were mapped, and the bound on
        the error it makes (:mod:`~metatrain_flashmd.pairs.cells`)."""
        strain = self.largest_cell_strain
        return (
            "variable cell: each later frame mapped into its pair's earlier cell "
            f"(fractional coordinates kept); largest strain over a pair {strain:.2e}, "
            f"so targets are off by at most ~{2 * strain:.1e} of the free flight and "
            "of the impulse"
        )

    def time_reversal_line(self) -> str:
        """Who reverses the pairs in time: ``mtt train`` on the fly, or the files."""
        if not self.reversed_twins:
            return (
                "time reversal: none written; mtt train reverses the pairs at random "
                "on the fly (training.time_reversal)"
            )
        if self.options is not None:
            return (
                "time-reversed twins written; the options switch mtt train's own "
                "reversal off (training.time_reversal: false)"
            )
        return (
            "time-reversed twins written: switch training.time_reversal off in mtt "
            "train, which would reverse them again"
        )
