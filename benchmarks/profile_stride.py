"""Where the time of one stride goes: ``torch.profiler`` summary of an exported model.

Runs in a fresh process, like ``infer_worker.py`` (``MetatomicCalculator.run_model``
under ``torch.no_grad``, after warm-up), profiles a few strides and prints, per
stride: the wall time of ``run_model`` and of the model's forward pass, the CPU time
of the operators grouped by kind (matrix products, attention, layout copies,
elementwise, ...), the largest operators, and for metatrain-flashmd the time in each
``FlashMD::`` ``record_function`` scope. Prints one JSON line last.

Usage::

    python benchmarks/profile_stride.py --model ours.pt --system al:864
    METATRAIN_FLASHMD_DISABLE=1 python benchmarks/profile_stride.py \\
        --model builtin.pt --system al:864
"""

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict

import torch
from systems import inference_system


CATEGORIES = {
    "matrix products": (
        "aten::addmm",
        "aten::mm",
        "aten::bmm",
        "aten::baddbmm",
        "aten::matmul",
        "mkldnn::_linear_pointwise",
    ),
    "attention (SDPA)": (
        "aten::_scaled_dot_product_flash_attention_for_cpu",
        "aten::_scaled_dot_product_attention_math",
        "aten::_softmax",
    ),
    "copies, gathers, concatenations": (
        "aten::copy_",
        "aten::cat",
        "aten::clone",
        "aten::index_select",
        "aten::index",
        "aten::_to_copy",
        "aten::repeat",
        "aten::stack",
        "aten::where",
        "aten::fill_",
        "aten::zero_",
        "aten::scatter_add_",
        "aten::index_put_",
        "aten::_index_put_impl_",
        "aten::one_hot",
    ),
    "elementwise and normalisation": (
        "aten::add",
        "aten::add_",
        "aten::mul",
        "aten::mul_",
        "aten::sub",
        "aten::div",
        "aten::silu",
        "aten::sigmoid",
        "aten::glu",
        "aten::pow",
        "aten::sum",
        "aten::mean",
        "aten::rsqrt",
        "aten::sqrt",
        "aten::linalg_vector_norm",
        "aten::native_layer_norm",
        "aten::log",
        "aten::clamp",
        "aten::cos",
        "aten::exp",
        "aten::norm",
    ),
}


def category(name: str) -> str:
    for label, names in CATEGORIES.items():
        if name in names:
            return label
    return "other operators and overhead"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--system", default="al:864")
    parser.add_argument("--workdir", default=".")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strides", type=int, default=2)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    from metatomic.torch import ModelOutput
    from metatomic_ase import MetatomicCalculator
    from torch.profiler import ProfilerActivity, profile

    atoms = inference_system(args.system, Path(args.workdir))
    calculator = MetatomicCalculator(args.model, device="cpu")
    outputs = {
        "position": ModelOutput(unit="angstrom", sample_kind="atom"),
        "momentum": ModelOutput(unit="(eV*u)^(1/2)", sample_kind="atom"),
    }

    def stride() -> None:
        with torch.no_grad():
            calculator.run_model(atoms, outputs)

    for _ in range(3):
        stride()
    walls = []
    for _ in range(args.strides):
        start = time.perf_counter()
        stride()
        walls.append(time.perf_counter() - start)
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(args.strides):
            stride()

    per_stride = 1e3 / args.strides
    events = profiler.key_averages()
    by_category: Dict[str, float] = defaultdict(float)
    scopes: Dict[str, float] = {}
    forward = 0.0
    operators = []
    for event in events:
        if event.key.startswith("FlashMD::"):
            scopes[event.key] = event.cpu_time_total / 1e3 * per_stride / 1e3
            continue
        if event.key == "forward":
            forward = max(forward, event.cpu_time_total / 1e6 * per_stride)
            continue
        if "::" not in event.key:
            continue
        self_ms = event.self_cpu_time_total / 1e3 * per_stride / 1e3
        by_category[category(event.key)] += self_ms
        operators.append((self_ms, event.key, event.count // args.strides))
    total = sum(by_category.values())

    print(f"system {args.system}, {len(atoms)} atoms, {args.threads} threads")
    print(f"run_model wall time: {1e3 * min(walls):.1f} ms per stride (best)")
    print(f"model forward (profiled, incl. profiler overhead): {forward:.1f} ms")
    print("| operators | CPU ms per stride | share |")
    print("|---|---|---|")
    for label, ms in sorted(by_category.items(), key=lambda item: -item[1]):
        print(f"| {label} | {ms:.1f} | {100 * ms / total:.0f}% |")
    print("largest operators (self CPU ms per stride, calls per stride):")
    for ms, name, count in sorted(operators, reverse=True)[: args.top]:
        print(f"  {ms:8.1f}  {name} ({count})")
    if scopes:
        print("| FlashMD scope | CPU ms per stride (inclusive) |")
        print("|---|---|")
        for name, ms in sorted(scopes.items(), key=lambda item: -item[1]):
            print(f"| {name} | {ms:.1f} |")
    print(
        json.dumps(
            {
                "system": args.system,
                "atoms": len(atoms),
                "threads": args.threads,
                "wall_ms": [1e3 * w for w in walls],
                "forward_ms": forward,
                "categories_ms": by_category,
                "scopes_ms": scopes,
            }
        )
    )


if __name__ == "__main__":
    main()
