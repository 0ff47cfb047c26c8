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
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import torch
from infer_worker import stride_call, time_calls
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
    """The kind of operator ``name`` (a key of :data:`CATEGORIES`, or other)."""
    for label, names in CATEGORIES.items():
        if name in names:
            return label
    return "other operators and overhead"


def parse_arguments() -> argparse.Namespace:
    """Command-line options (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--system", default="al:864")
    parser.add_argument("--workdir", default=".")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strides", type=int, default=2)
    parser.add_argument("--top", type=int, default=12)
    return parser.parse_args()


def profile_strides(
    stride: Callable[[], None], strides: int
) -> Tuple[List[float], Any]:
    """Wall times (s) of ``strides`` strides after 3 of warm-up, and the profiler's
    averages over as many more, profiled."""
    from torch.profiler import ProfilerActivity, profile

    walls = time_calls(stride, 3, strides, strides, 0.0)[0]
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(strides):
            stride()
    return walls, profiler.key_averages()


def summarise(events: Any, strides: int) -> Dict[str, Any]:
    """Per stride: self CPU time (ms) by operator kind (``categories_ms``), the
    inclusive CPU time (ms) of each ``FlashMD::`` scope (``scopes_ms``), of the
    model's forward pass (``forward_ms``), and the operators as (self ms, name,
    calls) (``operators``)."""
    per_stride = 1e3 / strides
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
        operators.append((self_ms, event.key, event.count // strides))
    return {
        "categories_ms": by_category,
        "scopes_ms": scopes,
        "forward_ms": forward,
        "operators": operators,
    }


def print_summary(summary: Dict[str, Any], walls: List[float], top: int) -> None:
    """The tables of :func:`summarise`, the ``top`` largest operators first."""
    by_category = summary["categories_ms"]
    total = sum(by_category.values())
    print(f"run_model wall time: {1e3 * min(walls):.1f} ms per stride (best)")
    print(
        "model forward (profiled, incl. profiler overhead): "
        f"{summary['forward_ms']:.1f} ms"
    )
    print("| operators | CPU ms per stride | share |")
    print("|---|---|---|")
    for label, ms in sorted(by_category.items(), key=lambda item: -item[1]):
        print(f"| {label} | {ms:.1f} | {100 * ms / total:.0f}% |")
    print("largest operators (self CPU ms per stride, calls per stride):")
    for ms, name, count in sorted(summary["operators"], reverse=True)[:top]:
        print(f"  {ms:8.1f}  {name} ({count})")
    if summary["scopes_ms"]:
        print("| FlashMD scope | CPU ms per stride (inclusive) |")
        print("|---|---|")
        for name, ms in sorted(summary["scopes_ms"].items(), key=lambda i: -i[1]):
            print(f"| {name} | {ms:.1f} |")


def main() -> None:
    """Profile the model on the system, print the tables and the JSON line."""
    args = parse_arguments()
    torch.set_num_threads(args.threads)
    atoms = inference_system(args.system, Path(args.workdir))
    walls, events = profile_strides(stride_call(args.model, atoms), args.strides)
    summary = summarise(events, args.strides)
    print(f"system {args.system}, {len(atoms)} atoms, {args.threads} threads")
    print_summary(summary, walls, args.top)
    record = {key: value for key, value in summary.items() if key != "operators"}
    record.update(
        system=args.system,
        atoms=len(atoms),
        threads=args.threads,
        wall_ms=[1e3 * w for w in walls],
    )
    print(json.dumps(record))


if __name__ == "__main__":
    main()
