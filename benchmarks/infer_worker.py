"""Time one exported FlashMD model on one system, as an engine runs it.

Run by ``inference.py`` in a fresh process per (model, system), so that the peak
resident memory belongs to that system alone. The model runs through
``metatomic_ase.MetatomicCalculator.run_model`` (which builds the metatomic
``System``, attaches ``momentum`` and ``mass`` from the atoms and computes the
neighbour list) under ``torch.no_grad``, like metatrain-flashmd's ASE integrators.

Prints one JSON line: the wall-clock and CPU times of the timed calls (s; the CPU
time of all threads of the process), the resident memory after
loading and the peak (bytes), and, with ``--flops``, the FLOPs of one call counted
by ``torch.utils.flop_counter.FlopCounterMode``.
"""

import argparse
import json
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import ase
import torch
from systems import inference_system


def memory_kb(field: str) -> int:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not found in /proc/self/status")


def stride_call(model: str, atoms: ase.Atoms) -> Callable[[], None]:
    """One stride of the exported ``model`` on ``atoms`` as an engine makes it:
    ``MetatomicCalculator.run_model`` for positions and momenta under
    ``torch.no_grad``, the outputs read back as arrays."""
    from metatomic.torch import ModelOutput
    from metatomic_ase import MetatomicCalculator

    calculator = MetatomicCalculator(model, device="cpu")
    outputs: Dict[str, ModelOutput] = {
        "position": ModelOutput(unit="angstrom", sample_kind="atom"),
        "momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom"),
    }

    def stride() -> None:
        with torch.no_grad():
            results = calculator.run_model(atoms, outputs)
        for name in outputs:
            results[name].block().values.numpy()

    return stride


def time_calls(
    call: Callable[[], None],
    warmup: int,
    min_repeats: int,
    max_repeats: int,
    budget_s: float,
) -> Tuple[List[float], List[float]]:
    """Wall-clock and CPU times (s, all threads) of ``call`` after ``warmup``
    calls: at least ``min_repeats`` calls, then more until ``budget_s`` seconds
    have passed or ``max_repeats`` calls were timed."""
    for _ in range(warmup):
        call()
    times: List[float] = []
    cpu_times: List[float] = []
    started = time.perf_counter()
    while len(times) < max_repeats and (
        len(times) < min_repeats or time.perf_counter() - started < budget_s
    ):
        start, cpu_start = time.perf_counter(), time.process_time()
        call()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return times, cpu_times


def count_flops(call: Callable[[], None]) -> int:
    """FLOPs of one ``call``, counted by ``torch.utils.flop_counter``."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        call()
    return counter.get_total_flops()


def parse_arguments() -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="exported model (.pt)")
    parser.add_argument("--system", required=True, help="al:<n> or cuau:<repeat>")
    parser.add_argument("--workdir", default=".", help="cache of generated systems")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-repeats", type=int, default=3)
    parser.add_argument("--max-repeats", type=int, default=20)
    parser.add_argument("--budget", type=float, default=8.0, help="timing budget, s")
    parser.add_argument("--flops", action="store_true", help="count FLOPs")
    return parser.parse_args()


def main() -> None:
    """Time the model on the system and print the JSON line."""
    args = parse_arguments()
    torch.set_num_threads(args.threads)
    atoms = inference_system(args.system, Path(args.workdir))
    stride = stride_call(args.model, atoms)
    rss_loaded = memory_kb("VmRSS")
    times, cpu_times = time_calls(
        stride, args.warmup, args.min_repeats, args.max_repeats, args.budget
    )
    peak = memory_kb("VmHWM")
    flops = count_flops(stride) if args.flops else None
    print(
        json.dumps(
            {
                "system": args.system,
                "atoms": len(atoms),
                "times_s": times,
                "cpu_times_s": cpu_times,
                "rss_loaded_bytes": rss_loaded * 1024,
                "peak_rss_bytes": peak * 1024,
                "flops": flops,
            }
        )
    )


if __name__ == "__main__":
    main()
