"""How often does ``validate`` fail a perfect model? Its checks are statistical, so
a model whose strides are exact still fails one now and then; this counts how
often, per check::

    python benchmarks/validate_false_failures.py        # 108 atoms, 10 ps, 5 seeds
    python benchmarks/validate_false_failures.py --repeat 2 --time-ps 4 --seeds 0-11

The perfect model is the stand-in of ``tests/exact_stride.py`` (each stride is
EMT velocity Verlet with 2 fs steps). fcc Al (``4 repeat^3`` atoms) is
equilibrated by EMT Langevin dynamics (2 ps at 300 K, seed 0, ``systems.py``),
then ``validate`` runs in NVT (Langevin, 100 fs) with default tolerances, once
per seed: the seed changes the random numbers of both baths, nothing else. In
NVE the stand-in and the reference make the same trajectory, so only NVT is
measured. Printed: each seed's failed checks, then how many seeds failed each
check and how many failed any.
"""

import argparse
import collections
import sys
from pathlib import Path
from typing import List


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import systems  # noqa: E402
from exact_stride import verlet_stride_model  # noqa: E402

from metatrain_flashmd.validation import validate  # noqa: E402


TEMPERATURE_K = 300.0
STEP_FS = 2.0


def seeds(text: str) -> List[int]:
    """``0-4`` or ``0,3,7`` as a list of seeds."""
    if "-" in text:
        first, last = (int(value) for value in text.split("-"))
        return list(range(first, last + 1))
    return [int(value) for value in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("::")[0])
    parser.add_argument("--repeat", type=int, default=3, help="4 repeat^3 atoms")
    parser.add_argument("--stride", type=float, default=16.0, help="stride, fs")
    parser.add_argument("--time-ps", type=float, default=10.0, help="run length")
    parser.add_argument("--seeds", default="0-4", help="e.g. 0-4 or 0,3,7")
    args = parser.parse_args()
    start = systems.equilibrate(
        systems.fcc_aluminium(args.repeat), TEMPERATURE_K, 2000.0, 0
    )
    model = verlet_stride_model(args.stride, int(round(args.stride / STEP_FS)))
    failures: collections.Counter = collections.Counter()
    chosen = seeds(args.seeds)
    failed_any = 0
    for seed in chosen:
        result = validate(
            model,
            start,
            TEMPERATURE_K,
            "emt",
            time_ps=args.time_ps,
            seed=seed,
            reference_timestep_fs=STEP_FS,
            quiet=True,
        )
        names = [check.name for check in result.failures]
        failures.update(names)
        failed_any += bool(names)
        print(f"seed {seed}: {'FAIL ' + ', '.join(names) if names else 'pass'}")
    atoms = 4 * args.repeat**3
    print(
        f"\n{atoms} atoms, {args.stride:g} fs, {args.time_ps:g} ps: a perfect model "
        f"failed {failed_any} of {len(chosen)} validations"
    )
    for name, count in failures.most_common():
        print(f"  {name}: {count} of {len(chosen)}")


if __name__ == "__main__":
    main()
