"""The NpT scheme with an exact stride: is the ASE NpT integrator right at 16-32 fs?

A stand-in for a perfect FlashMD model, whose stride is ``stride`` velocity-Verlet
steps of 1 fs of EMT (``tests/exact_stride.py``), is driven by
:class:`metatrain_flashmd.ase.LangevinNPT` exactly as the NpT benchmark
(``npt.py``) drives a trained model, and compared with the benchmark's EMT
reference (:class:`npt_dynamics.EMTNpT`: 1 fs velocity Verlet, a cell move every 4
fs). Any difference beyond the block errors is the scheme's (thermostat and
barostat around a long stride), not a model's::

    python benchmarks/npt_exact_stride.py --runs ref4,s16,s32      # 32 atoms, 600 K
    python benchmarks/npt_exact_stride.py --runs s32 --barostat-time 100 \\
        --compressibility 0.026 --seed 2 --duration 60000           # harsher coupling

Each run starts from its own EMT Langevin equilibration (1 ps, seed ``--seed``)
and records the volume and temperature after every step; the first 2 ps are left
out and errors come from 20 block averages. Runs go to ``--workdir`` (one .npz per
run, skipped if it exists) and the table is printed.
"""

import argparse
import sys
from pathlib import Path
from typing import List

import ase
import ase.units
import numpy as np
from ase.calculators.emt import EMT


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import npt_dynamics as dyn  # noqa: E402
import systems  # noqa: E402
from exact_stride import verlet_stride_model  # noqa: E402

from metatrain_flashmd.ase import LangevinNPT  # noqa: E402


def start(temperature_K: float, repeat: int, seed: int) -> ase.Atoms:
    """fcc Al of ``4 repeat^3`` atoms after 1 ps of EMT Langevin dynamics."""
    atoms = systems.equilibrate(
        systems.fcc_aluminium(repeat), temperature_K, 1000.0, seed
    )
    atoms.set_momenta(atoms.get_momenta())
    return atoms


def run(name: str, args: argparse.Namespace, barostat: dyn.Barostat) -> dyn.Record:
    """``ref<k>``: the reference with a cell move every k fs; ``s<n>``: LangevinNPT
    with the exact stride of n fs (n Verlet steps)."""
    atoms = start(args.temperature, args.repeat, args.seed)
    rng = np.random.default_rng(args.seed + 1000)
    if name.startswith("ref"):
        every = int(name[3:])
        dynamics = dyn.EMTNpT(atoms, barostat, args.temperature, True, rng, every)
    else:
        stride = int(name[1:])
        atoms.calc = EMT()
        dynamics = LangevinNPT(
            atoms,
            verlet_stride_model(float(stride), stride),
            pressure_au=barostat.pressure_gpa * ase.units.GPa,
            barostat_time_constant=barostat.time_constant_fs * ase.units.fs,
            compressibility_au=barostat.compressibility_per_gpa / ase.units.GPa,
            temperature_K=args.temperature,
            time_constant=barostat.thermostat_fs * ase.units.fs,
            rng=rng,
        )
    steps = int(round(args.duration / (dynamics.dt / ase.units.fs)))
    return dyn.run_recorded(dynamics, steps, 1, None)


def kept(record: dyn.Record, values: List[float]) -> np.ndarray:
    """``values`` of ``record`` after its first 2 ps."""
    times = np.asarray(record.time_fs)
    return np.asarray(values)[times >= times[0] + 2000.0]


def row(name: str, record: dyn.Record, reference: dyn.Record) -> str:
    """Volume (20-block error), its shift from the reference, std ratio,
    temperature."""
    volume = dyn.block_mean(kept(record, record.volume), 20)
    ref = dyn.block_mean(kept(reference, reference.volume), 20)
    temperature = dyn.block_mean(kept(record, record.temperature["Al"]), 20)
    shift = (volume["mean"] - ref["mean"]) / ref["mean"]
    shift_error = np.hypot(volume["error"], ref["error"]) / ref["mean"]
    return (
        f"{name:8s} V = {volume['mean']:8.2f} ± {volume['error']:.2f} A^3, "
        f"{100 * shift:+.2f} ± {100 * shift_error:.2f}% vs reference, "
        f"std x{volume['std'] / ref['std']:.2f}, "
        f"T = {temperature['mean']:.1f} ± {temperature['error']:.1f} K"
    )


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="ref4,s16,s32")
    parser.add_argument("--reference", default="ref4", help="the run compared with")
    parser.add_argument("--temperature", type=float, default=600.0, help="K")
    parser.add_argument("--repeat", type=int, default=2, help="4 repeat^3 atoms")
    parser.add_argument("--duration", type=float, default=100000.0, help="fs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--barostat-time", type=float, default=200.0, help="fs")
    parser.add_argument("--compressibility", type=float, default=0.013, help="1/GPa")
    parser.add_argument("--workdir", type=Path, default=HERE / "work" / "npt-exact")
    args = parser.parse_args(argv)
    barostat = dyn.Barostat(0.0, args.barostat_time, args.compressibility, 100.0)
    args.workdir.mkdir(parents=True, exist_ok=True)
    tag = (
        f"T{args.temperature:g}-r{args.repeat}-seed{args.seed}-"
        f"tau{args.barostat_time:g}-beta{args.compressibility:g}"
    )
    records = {}
    for name in args.runs.split(","):
        path = args.workdir / f"{name}-{tag}.npz"
        if not path.exists():
            run(name, args, barostat).save(path)
        records[name] = dyn.load_record(path)
    matches = sorted(args.workdir.glob(f"{args.reference}-T{args.temperature:g}-*"))
    reference = records.get(args.reference)
    if reference is None and matches:
        reference = dyn.load_record(matches[0])
    for name, record in records.items():
        print(row(name, record, reference))


if __name__ == "__main__":
    main()
