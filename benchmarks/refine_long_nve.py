"""Equipartition of the NVE-refined models, measured long enough to resolve 3%.

``refine --ensemble nve`` judges each round's model with a 40 ps NVE validation,
and in 108-atom Cu3Au a 40 ps mean of the 27 Au atoms' temperature carries a
statistical error of about 1.3% (the reference's own elements come out 2.9%
apart). This script runs each model of a ``refine_targets.py --nve-refine`` work
directory much longer: FlashMD NVE with energy rescaling to EMT (the package's
``VelocityVerlet(conserve_energy=True)``, as the validation runs it), from the
refine's validation start, for ``--time-ps`` (100 ps by default), and reports
each element's mean temperature with its block-averaged error, and the
elements' spread, ``(max - min) / mean``, with its error; and each RDF's
difference from the 40 ps EMT NVE reference of the validations (read from the
refine's reference cache), over that reference's noise floor (its first half
against its second), as the validation measures it but with less noise on the
FlashMD side. In classical NVE the
elements' mean temperatures are equal (equipartition), so the target, within 3%
of each other, is measured against zero rather than against a noisy reference.

Models: the NVT-refined model (the NVE refine's round 0), each finished round of
``refine-nve/``, and the latest model of its control (``control-nve/``).

Usage, from the root of a checkout (about 4 min per model and 100 ps with one
thread on a quiet machine)::

    python benchmarks/refine_long_nve.py --only cuau600
    python benchmarks/refine_long_nve.py --report-only

Each model's figures go to ``benchmarks/work/refine/full/SYSTEM/nve-long/NAME.json``
(made once, so an interrupted run goes on with the next model) and the table to
``benchmarks/refine_long_nve.md``.
"""

import argparse
import json
import logging
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import ase.io
import numpy as np
import torch
from ase.calculators.emt import EMT


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE)]

from metatrain_flashmd.observables.structure import rdf, rdf_difference  # noqa: E402
from metatrain_flashmd.observables.trajectory import Trajectory  # noqa: E402
from metatrain_flashmd.validation.figures import temperature_figures  # noqa: E402
from metatrain_flashmd.validation.flashmd_run import run_flashmd  # noqa: E402
from metatrain_flashmd.validation.reference_cache import load_reference  # noqa: E402


LOG = logging.getLogger("refine_long_nve")
TEMPERATURES_K = {"al300": 300.0, "cuau600": 600.0}
DISCARD_FRACTION = 0.1
"""Leading part of each run left out of the means (as the validation does)."""
TARGET = 0.03
"""The elements' mean temperatures within 3% of each other."""


def models(work: Path) -> List[Tuple[str, Path]]:
    """The models of one system's work directory to run, as (name, path)."""
    found = [("nvt-refined (nve round 0)", work / "refine" / "final.pt")]
    for folder in sorted((work / "refine-nve").glob("round-*")):
        if folder.name != "round-00" and (folder / "round.json").exists():
            found.append((f"nve {folder.name}", folder / "model.pt"))
    controls = sorted((work / "control-nve").glob("round-*/model.pt"))
    if controls:
        found.append((f"nve control {controls[-1].parent.name}", controls[-1]))
    return [(name, path) for name, path in found if path.exists()]


def long_run(
    model: Path,
    start: Path,
    temperature_K: float,
    time_ps: float,
    reference: Dict[str, Any],
) -> Dict[str, Any]:
    """Per-element temperature figures of one FlashMD NVE run with energy
    rescaling to EMT, the elements' spread with its error, and its RDFs against
    ``reference`` (:func:`reference_rdfs`)."""
    atoms = ase.io.read(start)
    stride_fs = _stride_fs(model)
    strides = int(round(time_ps * 1000.0 / stride_fs))
    run = run_flashmd(
        str(model),
        atoms,
        "nve_rescaled",
        strides,
        temperature_K,
        calculator=EMT(),
        rng=np.random.default_rng(0),
    )
    kept = run.trajectory.without_start(DISCARD_FRACTION)
    figures = temperature_figures(kept)
    rdfs = _rdfs(kept)
    result: Dict[str, Any] = {
        "model": str(model),
        "time_ps": time_ps,
        "strides_run": run.trajectory.num_frames - 1,
        "stopped": run.stopped,
        "temperatures": figures,
        "rdf_over_noise": {
            key: rdf_difference(rdfs, reference["whole"], key) / floor
            for key, floor in reference["noise"].items()
        },
    }
    result.update(spread(figures))
    return result


def reference_rdfs(work: Path) -> Dict[str, Any]:
    """The RDFs of the NVE refine's cached EMT reference run (first 10% left
    out, as in the validation) and their noise floors (first half against
    second)."""
    cache = sorted((work / "refine-nve" / "reference-cache").glob("*.npz"))
    if len(cache) != 1:
        raise SystemExit(f"expected one cached reference run, found {cache}")
    trajectory = load_reference(cache[0].parent, cache[0].stem)
    kept = trajectory.without_start(DISCARD_FRACTION)
    whole = _rdfs(kept)
    halves = [_rdfs(half) for half in kept.halves()]
    noise = {key: rdf_difference(*halves, key) for key in whole if key != "r"}
    return {"whole": whole, "noise": noise}


def _rdfs(trajectory: Trajectory) -> Dict[str, np.ndarray]:
    """Total and partial RDFs of ``trajectory``, as the validation bins them."""
    return rdf(
        trajectory.positions, trajectory.cell, trajectory.numbers, trajectory.pbc
    )


def _stride_fs(model: Path) -> float:
    """The model's stride, fs."""
    from metatrain_flashmd.validation.inputs import load_flashmd_model

    return float(load_flashmd_model(str(model))[2])


def spread(figures: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """``(max - min) / mean`` of the elements' mean temperatures and its error
    (the hottest and coldest elements' errors added in quadrature)."""
    means = {k: v["mean"] for k, v in figures.items()}
    if len(means) < 2:
        return {"spread": 0.0, "spread_error": 0.0}
    hot, cold = max(means, key=means.get), min(means, key=means.get)
    centre = float(np.mean(list(means.values())))
    error = math.hypot(figures[hot]["error"], figures[cold]["error"])
    return {
        "spread": (means[hot] - means[cold]) / centre,
        "spread_error": error / centre,
    }


def run_system(name: str, root: Path, time_ps: float) -> None:
    """Every model of one system that has no figures yet."""
    work = root / name
    start = work / "refine-nve" / "start.extxyz"
    if not start.exists():
        raise SystemExit(f"{name}: no NVE refine in {work} (refine_targets.py first)")
    out = work / "nve-long"
    out.mkdir(exist_ok=True)
    reference: Dict[str, Any] = {}
    for index, (label, model) in enumerate(models(work)):
        path = out / (
            label.replace(" ", "-").replace("(", "").replace(")", "") + ".json"
        )
        if path.exists():
            continue
        LOG.info(f"{name}: {label}, {time_ps:g} ps of NVE with energy rescaling")
        reference = reference or reference_rdfs(work)
        result = long_run(model, start, TEMPERATURES_K[name], time_ps, reference)
        result.update(label=label, order=index)
        temporary = path.with_name(f".{path.name}.partial")
        temporary.write_text(json.dumps(result, indent=1) + "\n")
        temporary.replace(path)


def table(root: Path) -> List[str]:
    """The report's rows, one per model and system."""
    rows = []
    for name in TEMPERATURES_K:
        rows += _reference_row(name, root / name)
        folder = root / name / "nve-long"
        found = [json.loads(path.read_text()) for path in folder.glob("*.json")]
        for result in sorted(found, key=lambda found: found.get("order", 0)):
            temperatures = ", ".join(
                f"{k} {v['mean']:.1f} +- {v['error']:.1f} K"
                for k, v in sorted(result["temperatures"].items())
            )
            met = result["spread"] <= TARGET
            rdfs = ", ".join(
                f"{k} {v:.2f}" for k, v in result.get("rdf_over_noise", {}).items()
            )
            stopped = f" (stopped: {result['stopped']})" if result["stopped"] else ""
            rows.append(
                f"| {name} | {result['label']} | {result['time_ps']:g} ps{stopped}"
                f" | {temperatures} | {100 * result['spread']:.1f} +- "
                f"{100 * result['spread_error']:.1f}% | {'yes' if met else 'no'} | "
                f"{rdfs or '-'} |"
            )
    return rows


def _reference_row(name: str, work: Path) -> List[str]:
    """The EMT NVE reference of the NVE refine's validations (40 ps), for scale:
    its elements' means differ by noise alone."""
    summary = work / "refine-nve" / "round-00" / "report" / "summary.json"
    if not summary.exists():
        return []
    data = json.loads(summary.read_text())
    figures = data["figures"]["reference"]["temperature"]
    found = spread(figures)
    temperatures = ", ".join(
        f"{k} {v['mean']:.1f} +- {v['error']:.1f} K" for k, v in sorted(figures.items())
    )
    return [
        f"| {name} | EMT reference (the validations') | "
        f"{data['settings']['time_ps']:g} ps | {temperatures} | "
        f"{100 * found['spread']:.1f} +- {100 * found['spread_error']:.1f}% | - | - |"
    ]


def write_report(root: Path, output: Path) -> None:
    """``output``: the table of every model run so far."""
    lines = [
        "# Equipartition of the NVE-refined models, in long runs",
        "",
        "Written by `python benchmarks/refine_long_nve.py --report-only`; do not "
        "edit by hand. FlashMD NVE with energy rescaling to EMT from the NVE "
        "refine's validation start; the first 10% of each run left out; errors "
        "are block-averaged standard errors.",
        "",
        "| system | model | run | mean temperature per element | spread | "
        "within 3% | RDF difference / reference noise floor (target 1.5) |",
        "|---|---|---|---|---|---|---|",
        *table(root),
        "",
    ]
    output.write_text("\n".join(lines))
    print(f"report: {output}")


def parse_arguments(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="cuau600", help="systems (comma)")
    parser.add_argument("--time-ps", type=float, default=100.0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument(
        "--workdir", type=Path, default=HERE / "work" / "refine" / "full"
    )
    parser.add_argument("--report", type=Path, default=HERE / "refine_long_nve.md")
    parser.add_argument("--report-only", action="store_true")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> None:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(args.threads)
    if not args.report_only:
        for name in [n for n in args.only.split(",") if n]:
            if name not in TEMPERATURES_K:
                raise SystemExit(f"unknown system {name}: {', '.join(TEMPERATURES_K)}")
            run_system(name, args.workdir, args.time_ps)
    write_report(args.workdir, args.report)


if __name__ == "__main__":
    main()
