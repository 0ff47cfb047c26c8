"""The cost of the integrators' guard (``metatrain_flashmd.ase.guard``): a stride with
and without it, and the checks alone; and the cost of recording the limits in
training (``metatrain_flashmd.training.limits``), per pair.

Runs in one process: 108-atom fcc Al (EMT pairs at 300 K, 16 fs apart, from
``systems.aluminium_pairs``), a FlashMD model with the default hyperparameters and
random weights made gentle (its strides change the state by little, so that no
excursion is reported), float32, 2 threads. Guarded and unguarded strides alternate
on the same integrator (the guard swapped), so both see the same machine state;
the figures are medians over the strides of each kind of wall and CPU time (CPU
counts both threads). On a loaded machine these two medians differ by more than
the guard costs; the time spent inside the guard's calls during the guarded
strides (``guard_in_strides_ms``: wall time, and CPU time of the calling thread,
which torch's threads still spinning after the forward pass do not inflate) and
the checks alone, repeated on one state (``guard_checks_alone_ms``), are what
measure it::

    python benchmarks/guard.py --workdir benchmarks/work/guard

Prints a JSON summary.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Dict, List

import ase.io
import numpy as np
import torch
from common import load_average
from systems import aluminium_pairs

from metatrain_flashmd.ase import VelocityVerlet
from metatrain_flashmd.ase.guard import TrainingGuard
from metatrain_flashmd.training.limits import LimitsAccumulator
from metatrain_flashmd.training.pair_data import Pair


TIMESTEP_FS = 16.0


def pairs_of(frames: List[ase.Atoms]) -> List[Pair]:
    """The training pairs of extxyz frames with ``future_*`` arrays."""
    return [
        Pair(
            types=frame.numbers,
            positions=frame.positions,
            momenta=frame.get_momenta(),
            cell=frame.cell.array,
            pbc=frame.pbc,
            displacements=frame.arrays["future_positions"] - frame.positions,
            future_momenta=frame.arrays["future_momenta"],
        )
        for frame in frames
    ]


def recorded_limits(pairs: List[Pair], cutoff: float) -> Dict[str, float]:
    """Records of ``pairs`` and the time to gather them, ms per pair."""
    accumulator = LimitsAccumulator([13], {13: 26.9815385}, cutoff)
    start = time.perf_counter()
    for pair in pairs:
        accumulator.add(pair)
    per_pair = (time.perf_counter() - start) / len(pairs) * 1000
    return accumulator.table, per_pair


def gentle_model(table: np.ndarray, path: Path) -> float:
    """Export a default-hypers FlashMD with records ``table`` to ``path``; its
    cutoff (A)."""
    from metatrain.utils.architectures import get_default_hypers

    from metatrain_flashmd.dataset_info import flashmd_dataset_info
    from metatrain_flashmd.model import FlashMD

    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers["predict_momenta_as_difference"] = True
    torch.manual_seed(0)
    model = FlashMD(hypers, flashmd_dataset_info([13]))
    model.set_timestep(TIMESTEP_FS)
    model.set_normalization(0.16, 0.05, 0.02)
    model.record_training_limits(table)
    model.to(torch.float32).export().save(str(path))
    return model.cutoff


def timed_stride(dynamics: VelocityVerlet) -> Dict[str, float]:
    """Wall and CPU time of one stride, ms."""
    wall, cpu = time.perf_counter(), time.process_time()
    dynamics.run(1)
    return {
        "wall_ms": 1000 * (time.perf_counter() - wall),
        "cpu_ms": 1000 * (time.process_time() - cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path("work/guard"))
    parser.add_argument("--strides", type=int, default=16, help="of each kind")
    args = parser.parse_args()
    torch.set_num_threads(2)
    args.workdir.mkdir(parents=True, exist_ok=True)
    data = args.workdir / "al108-pairs.extxyz"
    aluminium_pairs(data, 40, 16, 10, repeat=3, temperature_K=300.0)
    pairs = pairs_of(ase.io.read(data, ":"))
    model_path = args.workdir / "guarded.pt"
    cutoff = gentle_model(np.full((1, 5), np.nan), model_path)
    table, per_pair_ms = recorded_limits(pairs, cutoff)
    gentle_model(table, model_path)

    atoms = ase.io.read(data, 0)
    dynamics = VelocityVerlet(atoms, model_path)
    guarded, unguarded = dynamics.guard, TrainingGuard(None)
    dynamics.run(2)  # warm-up
    in_guard: Dict[str, List[float]] = {"wall_ms": [], "thread_cpu_ms": []}
    check = guarded.after_stride

    def timed_check(*arguments: object) -> None:
        wall, cpu = time.perf_counter(), time.thread_time()
        check(*arguments)
        in_guard["wall_ms"].append(1000 * (time.perf_counter() - wall))
        in_guard["thread_cpu_ms"].append(1000 * (time.thread_time() - cpu))

    guarded.after_stride = timed_check
    rounds: Dict[str, List[Dict[str, float]]] = {"with": [], "without": []}
    for index in range(2 * args.strides):
        # alternate stride by stride, in the order with, without, without, with, ...
        name = ("with", "without")[(index + index // 2) % 2]
        dynamics.guard = guarded if name == "with" else unguarded
        rounds[name].append(timed_stride(dynamics))

    displacements = np.zeros((len(atoms), 3))
    start = time.perf_counter()
    for step in range(200):
        excursions = guarded.excursions(dynamics.atoms, step, displacements)
    checks_ms = (time.perf_counter() - start) / 200 * 1000

    def median(name: str, key: str) -> float:
        return float(np.median([r[key] for r in rounds[name]]))

    summary = {
        "atoms": len(atoms),
        "records": dict(
            zip(
                (
                    "min_distance",
                    "max_displacement",
                    "max_momentum",
                    "min_temperature",
                    "max_temperature",
                ),
                table[0].round(4).tolist(),
            )
        ),
        "stride_ms_with_guard": {k: median("with", k) for k in ("wall_ms", "cpu_ms")},
        "stride_ms_without": {k: median("without", k) for k in ("wall_ms", "cpu_ms")},
        "guard_in_strides_ms": {k: float(np.median(v)) for k, v in in_guard.items()},
        "guard_checks_alone_ms": checks_ms,
        "excursions_in_last_check": len(excursions),
        "recording_ms_per_training_pair": per_pair_ms,
        "load_average": load_average(),
    }
    summary["cpu_ratio_with_over_without"] = (
        summary["stride_ms_with_guard"]["cpu_ms"]
        / summary["stride_ms_without"]["cpu_ms"]
    )
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
