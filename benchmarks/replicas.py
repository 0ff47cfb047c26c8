"""Replicas benchmark: many small systems in one model call against one at a time.

For each case (64 replicas of 32-atom fcc Al, 16 replicas of 108-atom fcc Al), the
same replicas (Langevin at 300 K, one seed each) are advanced by the same number of
strides in two ways, alternating within one process: one after the other through
the existing integrators (``metatrain_flashmd.ase.Langevin.run``), and together
through :class:`metatrain_flashmd.replicas.Replicas` (one model call per stride for
all). Reports atom-strides per second of both and their ratio (batched /
sequential; also in CPU time of the process, steadier on a shared machine), with
the model at the default hyperparameters of ``default_hypers/``,
random weights, float32, on CUDA when there is one (else CPU, 2 threads).

Usage::

    python benchmarks/replicas.py                 # both cases, 2 rounds
    python benchmarks/replicas.py --steps 3 --rounds 1 --cases 64x32
"""

import argparse
import datetime
import json
import os
import statistics
import time
from typing import Any, Callable, Dict, List


os.environ.setdefault("OMP_NUM_THREADS", "2")

import ase  # noqa: E402
import ase.build  # noqa: E402
import ase.units  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import TIMESTEP_FS, load_average, machine  # noqa: E402
from systems import displaced_aluminium  # noqa: E402

from metatrain_flashmd.ase import Langevin  # noqa: E402
from metatrain_flashmd.replicas import Replicas  # noqa: E402


CASES = {"64x32": (64, 2), "16x108": (16, 3)}
"""Case name -> (replicas, repeats of the 4-atom cubic fcc Al cell)."""
TARGETS = {"64x32": 1.8, "16x108": 1.3}
"""Speed-up each case should reach (issue 15)."""


def build_model(device: str) -> Any:
    """An exported FlashMD model for Al: default hyperparameters, random weights
    (seed 0), float32, on ``device``."""
    from metatrain.utils.architectures import get_default_hypers

    from metatrain_flashmd.dataset_info import flashmd_dataset_info
    from metatrain_flashmd.model import FlashMD

    torch.manual_seed(0)
    hypers = get_default_hypers("experimental.flashmd")["model"]
    model = FlashMD(hypers, flashmd_dataset_info([13]))
    model.set_timestep(TIMESTEP_FS)
    return model.to(torch.float32).export().to(device=device)


def integrators(model: Any, count: int, repeat: int, device: str) -> List[Langevin]:
    """``count`` Langevin integrators (300 K, 100 fs) of fresh replicas, seeded
    0 to count - 1."""
    return [
        Langevin(
            displaced_aluminium(repeat, 300.0, seed),
            model,
            temperature_K=300.0,
            time_constant=100.0 * ase.units.fs,
            device=device,
            rng=np.random.default_rng(seed),
        )
        for seed in range(count)
    ]


def timed(run: Callable[[], None]) -> Dict[str, float]:
    """Wall-clock seconds of ``run()`` and CPU seconds of this process (all its
    threads) meanwhile."""
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def measure(model: Any, case: str, steps: int, rounds: int, device: str) -> Dict:
    """Atom-strides per second of both ways, alternating, ``rounds`` each."""
    count, repeat = CASES[case]
    sequential_group = integrators(model, count, repeat, device)
    batched = Replicas(integrators(model, count, repeat, device))
    atom_strides = steps * sum(len(d.atoms) for d in batched.integrators)
    sequential_group[0].run(2)  # warm-up: the first calls compile the model
    batched.run(2)
    rates: Dict[str, Dict[str, List[float]]] = {
        way: {"wall": [], "cpu": []} for way in ("sequential", "batched")
    }
    for index in range(rounds):
        order = ["sequential", "batched"]
        for way in order if index % 2 == 0 else order[::-1]:
            if way == "sequential":
                seconds = timed(lambda: [d.run(steps) for d in sequential_group])
            else:
                seconds = timed(lambda: batched.run(steps))
            for clock in ("wall", "cpu"):
                rates[way][clock].append(atom_strides / seconds[clock])
            print(
                f"  {case} {way}: {atom_strides / seconds['wall']:.1f} atom-strides "
                f"per wall s, {atom_strides / seconds['cpu']:.1f} per CPU s",
                flush=True,
            )
    medians = {
        way: {clock: statistics.median(values) for clock, values in clocks.items()}
        for way, clocks in rates.items()
    }
    return {
        "case": case,
        "replicas": count,
        "atoms_per_replica": len(batched.integrators[0].atoms),
        "steps": steps,
        "rounds": rates,
        "median_atom_strides_per_s": medians,
        "speed_up": medians["batched"]["wall"] / medians["sequential"]["wall"],
        "speed_up_cpu_time": medians["batched"]["cpu"] / medians["sequential"]["cpu"],
        "target": TARGETS[case],
        "atom_budget": batched.atom_budget,
        "model_calls_per_stride": batched.model_calls / (steps * rounds + 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--steps", type=int, default=4, help="strides per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default=None, help="default: cuda if present")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = load_average()
    model = build_model(device)
    results = [
        measure(model, case, args.steps, args.rounds, device) for case in args.cases
    ]
    report = {
        "date": started.strftime("%Y-%m-%d %H:%M UTC"),
        "device": device,
        "threads": args.threads,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "machine": machine(),
        "results": results,
    }
    print(
        "case | sequential | batched (atom-strides per wall s) | speed-up | "
        "speed-up in CPU time | target"
    )
    for result in results:
        medians = result["median_atom_strides_per_s"]
        print(
            f"{result['case']} | {medians['sequential']['wall']:.1f} | "
            f"{medians['batched']['wall']:.1f} | {result['speed_up']:.2f} | "
            f"{result['speed_up_cpu_time']:.2f} | {result['target']}"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
