"""``validate``'s NVT reference at long strides: a perfect model under the FlashMD
Langevin integrator against ASE's Langevin at every short step, and against the
reference ``validate`` uses since its judging rules 3 (the integrator itself,
each stride made by reference velocity Verlet)::

    python benchmarks/nvt_reference_splitting.py                    # 16, 32, 64 fs
    python benchmarks/nvt_reference_splitting.py --strides 64 --seeds 0,1,2

The perfect model is the stand-in of ``tests/exact_stride.py``: each stride is
EMT velocity Verlet with 2 fs steps. For each stride and seed, 108 atoms of fcc
Al are equilibrated by EMT Langevin dynamics (2 ps at 300 K, ``systems.py``),
then three runs of ``--time-ps`` start from there, a frame once per stride, the
bath's time constant 100 fs:

- ``exact``: the stand-in driven by :class:`metatrain_flashmd.ase.Langevin`;
- ``per-step``: ASE's Langevin at 2 fs steps (``validate``'s NVT reference before
  rules 3);
- ``split``: :func:`metatrain_flashmd.validation.reference_nvt.run_nvt_reference`.

Printed: the VACF difference of Al (``validate``'s measure, the RMS difference
over lags up to 500 fs; its tolerance is 0.05) and the RDF difference of
``exact`` against each reference. Different seeds for the baths, so both
columns carry statistical noise; only ``per-step`` carries the splitting too.
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from ase.calculators.emt import EMT


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

import systems  # noqa: E402
from exact_stride import verlet_stride_model  # noqa: E402

from metatrain_flashmd.observables.structure import rdf_difference  # noqa: E402
from metatrain_flashmd.observables.transport import vacf_difference  # noqa: E402
from metatrain_flashmd.validation.figures import run_figures  # noqa: E402
from metatrain_flashmd.validation.flashmd_run import run_flashmd  # noqa: E402
from metatrain_flashmd.validation.reference import run_reference  # noqa: E402
from metatrain_flashmd.validation.reference_nvt import (  # noqa: E402
    run_nvt_reference,
)


TEMPERATURE_K = 300.0
TIME_CONSTANT_FS = 100.0
STEP_FS = 2.0
VACF_MAX_LAG_FS = 500.0


def compare(stride_fs: int, seed: int, time_ps: float) -> tuple:
    """VACF and RDF differences of the exact run against the per-step and the
    split reference, for one stride and seed."""
    start = systems.equilibrate(systems.fcc_aluminium(3), TEMPERATURE_K, 2000.0, seed)
    model = verlet_stride_model(stride_fs, int(round(stride_fs / STEP_FS)))
    strides = int(round(time_ps * 1000.0 / stride_fs))
    bath = dict(temperature_K=TEMPERATURE_K, time_constant_fs=TIME_CONSTANT_FS)
    exact = run_flashmd(
        model, start, "nvt", strides, calculator=EMT(), rng=_rng(seed, 1), **bath
    ).trajectory
    per_step = run_reference(
        start, EMT(), "nvt", stride_fs, strides, STEP_FS, rng=_rng(seed, 2), **bath
    )
    split = run_nvt_reference(
        start, EMT(), model, stride_fs, strides, STEP_FS, rng=_rng(seed, 2), **bath
    )
    ours = run_figures(exact, VACF_MAX_LAG_FS)
    results = []
    for reference in (per_step, split):
        theirs = run_figures(reference, VACF_MAX_LAG_FS)
        results.append(vacf_difference(theirs["vacf"], ours["vacf"], "Al"))
        results.append(rdf_difference(theirs["rdf"], ours["rdf"], "total"))
    return tuple(results)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("::")[0])
    parser.add_argument("--strides", default="16,32,64", help="strides, fs")
    parser.add_argument("--seeds", default="0", help="seeds, comma-separated")
    parser.add_argument("--time-ps", type=float, default=10.0, help="run length")
    args = parser.parse_args()
    print(
        "| stride (fs) | seed | VACF Al vs per-step | VACF Al vs split | "
        "RDF vs per-step | RDF vs split |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for stride in [int(value) for value in args.strides.split(",")]:
        for seed in [int(value) for value in args.seeds.split(",")]:
            vacf_a, rdf_a, vacf_b, rdf_b = compare(stride, seed, args.time_ps)
            print(
                f"| {stride} | {seed} | {vacf_a:.4f} | {vacf_b:.4f} | "
                f"{rdf_a:.4f} | {rdf_b:.4f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
