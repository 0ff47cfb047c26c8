"""Reference MD for the quick start: fcc aluminium with ASE's EMT potential.

Writes ``al-md.extxyz`` (frames 1 fs apart, with momenta) after a short Langevin
equilibration at 300 K, and ``al-start.extxyz``, an independent equilibrated
structure to start the FlashMD simulation from.
"""

import argparse

import ase.build
import ase.io
import ase.units
import numpy as np
from ase.calculators.emt import EMT
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet


def equilibrated_aluminium(
    repeat: int, temperature_K: float, seed: int, steps: int
) -> ase.Atoms:
    """fcc Al (4 * repeat^3 atoms) after ``steps`` Langevin steps of 2 fs."""
    rng = np.random.default_rng(seed)
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(repeat)
    atoms.calc = EMT()
    # half of the kinetic energy flows into the potential energy of the crystal
    thermalize_momenta(atoms, 2 * temperature_K, rng=rng)
    Stationary(atoms)
    thermostat = Langevin(
        atoms,
        timestep=2.0 * ase.units.fs,
        temperature_K=temperature_K,
        friction=0.01 / ase.units.fs,
        fixcm=False,
        rng=rng,
    )
    thermostat.run(steps)
    return atoms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=3000, help="MD frames (1 fs)")
    parser.add_argument("--repeat", type=int, default=2, help="fcc cells per side")
    parser.add_argument("--temperature", type=float, default=300.0, help="K")
    args = parser.parse_args()

    atoms = equilibrated_aluminium(args.repeat, args.temperature, seed=1, steps=1000)
    dynamics = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    frames = []

    def record() -> None:
        frame = atoms.copy()
        frame.set_momenta(atoms.get_momenta())
        frame.info["time_fs"] = dynamics.get_time() / ase.units.fs
        frames.append(frame)

    dynamics.attach(record, interval=1)
    dynamics.run(args.frames - 1)
    ase.io.write("al-md.extxyz", frames)

    start = equilibrated_aluminium(args.repeat, args.temperature, seed=2, steps=1000)
    start.calc = None
    ase.io.write("al-start.extxyz", start)
    temperatures = [frame.get_temperature() for frame in frames]
    print(
        f"reference MD: {len(frames)} frames of {len(atoms)} Al atoms, 1 fs apart, "
        f"mean temperature {np.mean(temperatures):.0f} K"
    )


if __name__ == "__main__":
    main()
