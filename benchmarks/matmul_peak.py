"""This machine's fp32 matrix-multiplication throughput, in GFLOP/s.

The best of several ``torch.mm`` of two square float32 matrices, on the given number
of threads: the practical peak against which the models' achieved throughput is
reported. With ``--rows``, also the throughput of the products a transformer layer
of the default model applies to its tokens (``F.linear`` with bias of rows x 128 by
128 x 384, 128 x 128 and 128 x 512, and rows x 256 by 256 x 128; a 32-atom fcc
system has 608 tokens, a 108-atom one 2052, a backbone chunk about 7800), to see
how the efficiency of the products changes with the number of rows. ``--clock cpu``
times with the CPU time of the process instead of the wall clock (steadier on a
shared machine; on one thread, the same thing on a quiet one). Prints one JSON line.
"""

import argparse
import functools
import json
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F


TOKEN_PRODUCTS = ((128, 384), (128, 128), (128, 512), (256, 128))
"""(in, out) features of the products of one transformer layer on its tokens:
query-key-value, attention output, feed-forward in and out (SwiGLU)."""


def best_time(
    run: Callable[[], None], repeats: int, clock: Callable[[], float]
) -> float:
    """The shortest time of ``run()`` over ``repeats`` tries, after warming up."""
    run()
    best = float("inf")
    for _ in range(repeats):
        start = clock()
        run()
        best = min(best, clock() - start)
    return best


def square_gflops(size: int, repeats: int, clock: Callable[[], float]) -> float:
    """GFLOP/s of the product of two square (size, size) float32 matrices."""
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=generator)
    b = torch.randn(size, size, generator=generator)
    out = torch.empty(size, size)
    seconds = best_time(lambda: torch.mm(a, b, out=out), repeats, clock)
    return 2.0 * size**3 / seconds / 1e9


def _repeated_linear(
    calls: int, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor
) -> None:
    """``calls`` times ``F.linear(x, weight, bias)``."""
    for _ in range(calls):
        F.linear(x, weight, bias)


def token_gflops(rows: int, repeats: int, clock: Callable[[], float]) -> float:
    """GFLOP/s of the :data:`TOKEN_PRODUCTS` on ``rows`` tokens, together."""
    generator = torch.Generator().manual_seed(0)
    flops, seconds = 0.0, 0.0
    for features_in, features_out in TOKEN_PRODUCTS:
        x = torch.randn(rows, features_in, generator=generator)
        weight = torch.randn(features_out, features_in, generator=generator)
        bias = torch.randn(features_out, generator=generator)
        # several products per timing, so that small ones are timed reliably
        calls = max(1, int(3e8 / (rows * features_in * features_out)))

        run = functools.partial(_repeated_linear, calls, x, weight, bias)
        seconds += best_time(run, repeats, clock) / calls
        flops += 2.0 * rows * features_in * features_out
    return flops / seconds / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rows", type=int, nargs="*", default=[])
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    gflops = square_gflops(args.size, args.repeats, clock)
    report: Dict[str, object] = {
        "size": args.size,
        "best_s": 2.0 * args.size**3 / gflops / 1e9,
        "gflops": gflops,
    }
    if args.rows:
        rates: List[Dict[str, float]] = [
            {"rows": rows, "gflops": token_gflops(rows, 5, clock)} for rows in args.rows
        ]
        report.update(clock=args.clock, token_products=rates)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
