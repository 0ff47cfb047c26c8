r"""Whether the momenta of a trajectory are plausible: in a physical unit, and
consistent with the time between its frames.

Two mistakes are silent otherwise, and ruin a model: a frame interval that is not
the real one (``--frame-interval 20`` for frames 1 fs apart gives pairs labelled
160 fs that are really 8 fs apart), and velocities read in the wrong unit (a
LAMMPS dump of a ``units metal`` run read as ``real`` is 1000 times too fast).

**Interval check.** Over one frame interval :math:`\tau`, atoms move by about
their velocity times :math:`\tau`. For each pair of consecutive frames, the
mass-weighted RMS displacement :math:`D = (\sum_i m_i |d_i|^2 / M)^{1/2}` (A,
minimum image) is compared with the mass-weighted RMS velocity times the interval,
:math:`V\tau`, :math:`V^2 = \sum_i (|p_i|^2 + |p_i'|^2) / (2 m_i M)` (momenta of
both frames, so that the statistic is the same forward and backward in time). The
ratio :math:`D / V\tau` is 1 for ballistic motion and cannot exceed 1 on average in
equilibrium (the mean squared displacement over a time :math:`\tau` is at most
:math:`\langle v^2 \rangle \tau^2`); vibrations within one interval lower it
(fcc Al at 300 K: 1.00 for frames 1 fs apart, 0.97 at 20 fs, 0.80 at 60 fs).
The median over all consecutive frames (robust to a few frames out of place,
such as a restart) must lie within :data:`RATIO_RANGE`: above 1.5, the given
interval is too short (or the velocities too small); below 0.5, it is too long (or
the velocities too large), or the frames are so far apart that the check does not
apply, which the error message says how to skip.

**Temperature check.** A mean kinetic temperature of exactly zero (no momenta) or
above :data:`MAX_TEMPERATURE_K` is refused, naming the LAMMPS unit style that
would give a plausible one.
"""

from pathlib import Path
from statistics import median
from typing import List, Optional

import ase.units
import numpy as np

from .frames import Frame, TrajectoryError
from .reading import TrajectoryReader
from .targets import minimum_image


RATIO_RANGE = (0.5, 1.5)
"""Accepted range of the median of displacement / (velocity * interval) over
consecutive frames (see the module's docstring)."""
MAX_TEMPERATURE_K = 1.0e5
"""Mean kinetic temperature (K) above which the velocities are taken to be in
another unit than assumed."""
LAMMPS_STYLES = ("metal", "real", "si", "cgs", "electron", "micro", "nano")
"""LAMMPS unit styles whose velocities ASE converts, suggested when the temperature
is not physical."""
PLAUSIBLE_TEMPERATURE_K = (1.0, 1.0e4)
"""Temperatures (K) a unit style must give to be suggested."""
SKIP_FLAG = "--no-interval-check"
"""The ``mtt-flashmd pairs`` flag that skips the interval check."""


class FrameMotion:
    """How far atoms move between consecutive frames, and how fast they are.

    Fed one pair of consecutive frames at a time (:meth:`add`); :meth:`check`
    compares the two with the frame interval.
    """

    def __init__(self) -> None:
        self.displacements: List[float] = []
        """Mass-weighted RMS displacement between consecutive frames, A."""
        self.speeds: List[float] = []
        """Mass-weighted RMS velocity of the two frames, A/fs."""

    def add(self, earlier: Frame, later: Frame) -> None:
        """Record the motion from ``earlier`` to the next frame, ``later``."""
        masses = earlier.masses[:, None]
        total = float(earlier.masses.sum())
        if total <= 0:
            return
        moves = minimum_image(
            later.positions - earlier.positions, earlier.cell, earlier.pbc
        )
        squared = (earlier.momenta**2 + later.momenta**2) / (2 * masses)
        speed = np.sqrt(squared.sum() / total) * ase.units.fs  # A/fs
        if speed > 0:
            self.displacements.append(float(np.sqrt((masses * moves**2).sum() / total)))
            self.speeds.append(float(speed))

    def check(self, path: Path, interval_fs: float, interval_from: str) -> None:
        """Refuse a frame interval that the momenta contradict.

        :param path: the trajectory file, for the message.
        :param interval_fs: the time between frames, fs.
        :param interval_from: where it comes from (``--frame-interval``, ...).
        :raises TrajectoryError: if the median ratio lies outside
            :data:`RATIO_RANGE`.
        """
        if not self.speeds:
            return
        ratio = median(
            d / (v * interval_fs) for d, v in zip(self.displacements, self.speeds)
        )
        low, high = RATIO_RANGE
        if low <= ratio <= high:
            return
        moved = median(self.displacements)
        predicted = median(self.speeds) * interval_fs
        raise TrajectoryError(
            path,
            f"the momenta contradict the time between frames: atoms move "
            f"{moved:.3g} A from one frame to the next (mass-weighted RMS, median "
            f"over frames), but momentum/mass times {interval_fs:g} fs (from "
            f"{interval_from}) gives {predicted:.3g} A, so the frames look "
            f"{ratio * interval_fs:.3g} fs apart. Check the time between frames "
            "(for LAMMPS dumps: the dump interval times the MD timestep, in fs) and "
            "the unit of the velocities (for LAMMPS dumps: --lammps-units); for data "
            "where velocity times time does not describe the motion between frames "
            f"(velocities redrawn by a thermostat, frames far apart), give {SKIP_FLAG}",
        )


def check_temperature(
    path: Path, temperature: float, lammps_units: Optional[str] = None
) -> None:
    """Refuse a mean kinetic temperature that is zero or not physical.

    :param path: the trajectory file, for the message.
    :param temperature: the mean kinetic temperature of its frames, K.
    :param lammps_units: the LAMMPS unit style the file was read with (LAMMPS
        dumps), to suggest another.
    :raises TrajectoryError: if the temperature is 0 or above
        :data:`MAX_TEMPERATURE_K`.
    """
    if 0 < temperature <= MAX_TEMPERATURE_K:
        return
    if temperature == 0:
        problem = "every momentum is zero (mean temperature 0 K)"
    else:
        problem = (
            f"the mean temperature is {temperature:.6g} K, not physical (above "
            f"{MAX_TEMPERATURE_K:.0e} K)"
        )
    if lammps_units is None:
        hint = (
            "the momenta must be in (eV*u)^(1/2), ASE's unit (velocities in A per "
            "ASE time unit): convert them and write the frames again"
        )
    else:
        hint = lammps_units_hint(temperature, lammps_units)
    raise TrajectoryError(path, f"{problem}: {hint}")


def lammps_units_hint(temperature: float, lammps_units: str) -> str:
    """Which ``--lammps-units`` would make ``temperature`` (K, read with
    ``lammps_units``) plausible."""
    hint = (
        f"the velocities were read in LAMMPS '{lammps_units}' units; --lammps-units "
        "must be the `units` style of the run (metal: A/ps, real: A/fs)"
    )
    if temperature == 0:
        return hint
    from ase.calculators.lammps import convert

    current = convert(1.0, "velocity", lammps_units, "ASE")
    plausible = []
    low, high = PLAUSIBLE_TEMPERATURE_K
    for style in LAMMPS_STYLES:
        scaled = temperature * (convert(1.0, "velocity", style, "ASE") / current) ** 2
        if style != lammps_units and low <= scaled <= high:
            plausible.append(f"--lammps-units {style} gives {scaled:.1f} K")
    if plausible:
        hint += "; " + ", ".join(plausible)
    return hint


def reference_md_step(reader: TrajectoryReader) -> Optional[float]:
    """The timestep of the MD that wrote ``reader``'s file (fs), once its frames
    are read, where the file tells it: the header of an ASE MD ``.traj`` file, or
    the step numbers of a LAMMPS dump with the frame interval; ``None`` otherwise.
    """
    if reader.format == "traj":
        from ase.io.trajectory import Trajectory

        with Trajectory(str(reader.path)) as trajectory:
            description = trajectory.description or {}
        if (
            description.get("type") == "molecular-dynamics"
            and "timestep" in description
        ):
            return float(description["timestep"]) / ase.units.fs
        return None
    clock = reader.clock
    if clock is None or clock.kind != "step" or not clock.first_step:
        return None
    if reader.interval is None:
        return None
    return reader.interval / clock.first_step
