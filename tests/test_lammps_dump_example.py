"""The LAMMPS example of the FAQ (docs/faq.rst) works as written: a text dump with
an element column, frames 2 steps of 1 fs apart, pairs 16 fs apart."""

import ase.io
import ase.units
import numpy as np
from helpers import aluminium_trajectory

from metatrain_flashmd.cli import main


PS_IN_ASE_TIME = 1000.0 * ase.units.fs
"""One picosecond in ASE time units (LAMMPS metal velocities are in A/ps)."""


def write_dump(path, frames, steps_per_frame: int) -> None:
    """A LAMMPS ``custom`` text dump of ``frames`` (id type element x y z vx vy vz,
    metal units), as ``dump ... custom N`` writes it."""
    with open(path, "w") as file:
        for index, atoms in enumerate(frames):
            cell = atoms.cell.lengths()
            file.write(f"ITEM: TIMESTEP\n{index * steps_per_frame}\n")
            file.write(f"ITEM: NUMBER OF ATOMS\n{len(atoms)}\n")
            file.write("ITEM: BOX BOUNDS pp pp pp\n")
            for length in cell:
                file.write(f"0.0 {length:.10f}\n")
            file.write("ITEM: ATOMS id type element x y z vx vy vz\n")
            velocities = atoms.get_velocities() * PS_IN_ASE_TIME
            for i, (position, velocity) in enumerate(zip(atoms.positions, velocities)):
                values = " ".join(f"{v:.10f}" for v in (*position, *velocity))
                file.write(f"{i + 1} 1 {atoms.get_chemical_symbols()[i]} {values}\n")


def test_faq_lammps_example_makes_pairs_16_fs_apart(tmp_path, capsys):
    every_fs = aluminium_trajectory(tmp_path / "md.extxyz", num_frames=400)
    frames = every_fs[::2]  # dumped every 2 steps of 1 fs
    write_dump(tmp_path / "traj.dump", frames, steps_per_frame=2)
    status = main(
        [
            "pairs",
            str(tmp_path / "traj.dump"),
            "--format",
            "lammps-dump-text",
            "--frame-interval",
            "2",
            "--lag",
            "8",
            "--lammps-units",
            "metal",
            "-o",
            str(tmp_path / "pairs.xyz"),
            "--quiet",
        ]
    )
    assert status == 0
    written = ase.io.read(tmp_path / "pairs-train.xyz", index=":")
    assert written[0].info["flashmd_timestep"] == 16.0
    # the target of the first pair is the frame 8 frames (16 fs) later, unwrapped
    cell = frames[0].cell.lengths()
    moved = written[0].arrays["future_positions"] - written[0].positions
    expected = frames[8].positions - frames[0].positions
    expected -= cell * np.round(expected / cell)
    assert np.abs(expected).max() > 0.05
    assert np.allclose(moved, expected, atol=1e-6)
    assert np.allclose(
        written[0].arrays["future_momenta"], frames[8].get_momenta(), rtol=1e-5
    )
