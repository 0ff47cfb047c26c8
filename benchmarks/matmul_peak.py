"""This machine's fp32 matrix-multiplication throughput, in GFLOP/s.

The best of several ``torch.mm`` of two square float32 matrices, on the given number
of threads: the practical peak against which the models' achieved throughput is
reported. Prints one JSON line.
"""

import argparse
import json
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(args.size, args.size, generator=generator)
    b = torch.randn(args.size, args.size, generator=generator)
    out = torch.empty(args.size, args.size)
    for _ in range(3):
        torch.mm(a, b, out=out)
    best = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    flops = 2.0 * args.size**3
    print(json.dumps({"size": args.size, "best_s": best, "gflops": flops / best / 1e9}))


if __name__ == "__main__":
    main()
