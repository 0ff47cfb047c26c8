"""Where the time of the replicas benchmark goes, in CPU time of one process.

Companion of ``replicas.py`` (same model, replicas and integrators), for a machine
shared with other work, where CPU time on one thread is the steadiest clock. For
one case (64 replicas of 32 atoms, or 16 of 108) it reports, per atom-stride:

- ``run``: the whole run of both ways (sequential: each integrator's ``run`` one
  after the other; batched: :class:`metatrain_flashmd.replicas.Replicas`), the
  CPU time spent inside the model's ``forward`` (unit conversion and network) and,
  for the batched way, inside ``predict_atoms`` (building the systems, neighbour
  lists, the model call and the copies back);
- ``chunks``: the batched model call alone for several values of the backbone's
  ``chunk_tokens`` (tokens per message-passing chunk), alternating in rounds, with
  the largest difference of the predicted positions between them (A).

Usage::

    python benchmarks/replicas_breakdown.py --case 64x32 --threads 1
    python benchmarks/replicas_breakdown.py --case 16x108 --chunks 8192 2048 608
"""

import argparse
import json
import os
import statistics
import time
from typing import Any, Dict, List


os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from common import cpu_timed, load_average  # noqa: E402
from replicas import CASES, build_model, integrators  # noqa: E402

import metatrain_flashmd.replicas.driver as driver  # noqa: E402
from metatrain_flashmd.replicas import Replicas  # noqa: E402
from metatrain_flashmd.replicas.atoms import predict_atoms  # noqa: E402


def run_breakdown(model: Any, case: str, steps: int) -> Dict[str, Dict[str, float]]:
    """CPU microseconds per atom-stride of both ways: in all, in the model's
    forward, and (batched) in ``predict_atoms``."""
    count, repeat = CASES[case]
    sequential = integrators(model, count, repeat, "cpu")
    batched = Replicas(integrators(model, count, repeat, "cpu"))
    spent = {"forward": 0.0, "predict_atoms": 0.0}
    model_class = type(model)
    original_forward, original_predict = model_class.forward, driver.predict_atoms
    model_class.forward = cpu_timed(original_forward, spent, "forward")
    driver.predict_atoms = cpu_timed(original_predict, spent, "predict_atoms")
    try:
        sequential[0].run(1)  # warm-up
        batched.run(1)
        atom_strides = steps * sum(len(d.atoms) for d in sequential)
        ways = {
            "sequential": lambda: [d.run(steps) for d in sequential],
            "batched": lambda: batched.run(steps),
        }
        result = {}
        for way, run in ways.items():
            spent.update(forward=0.0, predict_atoms=0.0)
            start = time.process_time()
            run()
            total = time.process_time() - start
            per = {"total": total, **spent}
            result[way] = {k: v / atom_strides * 1e6 for k, v in per.items()}
    finally:
        model_class.forward, driver.predict_atoms = original_forward, original_predict
    return result


def chunk_sweep(model: Any, case: str, chunks: List[int], rounds: int) -> Dict:
    """CPU microseconds per atom of the batched model call for each chunk size
    (median and minimum over ``rounds``), and the largest position difference
    from the first chunk size (A)."""
    count, repeat = CASES[case]
    systems = [d.atoms for d in integrators(model, count, repeat, "cpu")]
    num_atoms = sum(len(atoms) for atoms in systems)
    backbone = model.module.backbone
    default = backbone.chunk_tokens
    times: Dict[int, List[float]] = {chunk: [] for chunk in chunks}
    differences: Dict[int, float] = {}
    try:
        reference = None
        for chunk in chunks:
            backbone.chunk_tokens = chunk
            positions = np.concatenate([p for p, _ in predict_atoms(model, systems)])
            reference = positions if reference is None else reference
            differences[chunk] = float(np.abs(positions - reference).max())
        for index in range(rounds):
            for chunk in chunks if index % 2 == 0 else chunks[::-1]:
                backbone.chunk_tokens = chunk
                start = time.process_time()
                predict_atoms(model, systems)
                times[chunk].append((time.process_time() - start) / num_atoms * 1e6)
    finally:
        backbone.chunk_tokens = default
    return {
        str(chunk): {
            "median_us_per_atom": statistics.median(times[chunk]),
            "min_us_per_atom": min(times[chunk]),
            "max_position_difference": differences[chunk],
        }
        for chunk in chunks
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", default="64x32", choices=CASES)
    parser.add_argument("--steps", type=int, default=2, help="strides per way")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chunks", type=int, nargs="*", default=[8192, 2048, 608])
    parser.add_argument("--rounds", type=int, default=4, help="of the chunk sweep")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    load_before = load_average()
    model = build_model("cpu")
    run = run_breakdown(model, args.case, args.steps)
    for way, figures in run.items():
        print(
            f"{args.case} {way}: "
            + ", ".join(f"{k} {v:.0f}" for k, v in figures.items())
            + " CPU us per atom-stride",
            flush=True,
        )
    sweep = (
        chunk_sweep(model, args.case, args.chunks, args.rounds) if args.chunks else {}
    )
    for chunk, figures in sweep.items():
        print(
            f"chunk_tokens {chunk}: median {figures['median_us_per_atom']:.0f}, min "
            f"{figures['min_us_per_atom']:.0f} CPU us per atom, positions differ by "
            f"{figures['max_position_difference']:.1e} A",
            flush=True,
        )
    report = {
        "case": args.case,
        "threads": args.threads,
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "run": run,
        "chunks": sweep,
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
