"""``mtt-flashmd refine`` against its targets, with no setting chosen per system.

For fcc Al at 300 K and L1_2 Cu3Au at 600 K (108 atoms, ASE's EMT), from one
12 ps reference NVE trajectory (frames every 2 fs) cut into 32 fs pairs, a
one-epoch model is trained and refined (``metatrain_flashmd.refine.refine``,
the same rules for both systems; validation runs of 10 ps at the system's
temperature). The targets, read from the validation reports:

- ``validate`` fails the one-epoch model (round 0) and passes the refined one;
- per-element mean temperature within 3% of the thermostat;
- every RDF (total and partial) within 1.5 times its noise floor.

Usage, from the root of a checkout (hours on two cores: run on a quiet machine)::

    python benchmarks/refine_targets.py                  # both systems
    python benchmarks/refine_targets.py --only al300 --rounds 4 --threads 2
    python benchmarks/refine_targets.py --quick          # smoke test, minutes

Work goes to ``benchmarks/work/refine/{full,quick}/SYSTEM`` (git-ignored); every
stage skips what exists, and refine resumes, so an interrupted run goes on where
it stopped. The verdicts are printed and written to ``targets.json`` there.
"""

import argparse
import dataclasses
import json
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

import ase
import ase.io
import torch
import yaml


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "fidelity")]

import systems  # noqa: E402
from run_fidelity import MEDIUM_MODEL, QUICK_MODEL  # noqa: E402

from metatrain_flashmd.pairs.build import build_pairs  # noqa: E402
from metatrain_flashmd.refine import refine  # noqa: E402


STRIDE_FS = 32
FRAME_FS = 2
TEMPERATURE_TOLERANCE = 0.03
RDF_NOISE_FACTOR = 1.5


@dataclasses.dataclass
class Case:
    """One system of the benchmark."""

    name: str
    build: Callable[[], ase.Atoms]
    temperature_K: float  # noqa: N815


CASES = {
    "al300": Case("al300", lambda: systems.fcc_aluminium(3), 300.0),
    "cuau600": Case("cuau600", lambda: systems.copper_gold(3), 600.0),
}


@dataclasses.dataclass
class Settings:
    """Lengths and sizes of a run (full or quick)."""

    equilibration_fs: float
    train_fs: float
    model: Dict[str, Any]
    time_ps: float
    rounds: int
    repeat: int


FULL = Settings(2000.0, 12000.0, dict(MEDIUM_MODEL), 10.0, 4, 3)
QUICK = Settings(200.0, 1200.0, dict(QUICK_MODEL), 2.0, 1, 2)


def reference_data(case: Case, work: Path, cfg: Settings) -> None:
    """``train-md.extxyz`` (EMT NVE from an equilibration with seed 1) and
    ``start.extxyz`` (an independent equilibration, seed 2)."""
    atoms = case.build() if cfg.repeat == 3 else _smaller(case, cfg.repeat)
    train = work / "train-md.extxyz"
    if not train.exists():
        start = systems.equilibrate(atoms, case.temperature_K, cfg.equilibration_fs, 1)
        systems.emt_nve(start, cfg.train_fs, FRAME_FS, extxyz=train)
    start_path = work / "start.extxyz"
    if not start_path.exists():
        start = systems.equilibrate(atoms, case.temperature_K, cfg.equilibration_fs, 2)
        ase.io.write(start_path, start, format="extxyz")


def _smaller(case: Case, repeat: int) -> ase.Atoms:
    """The case's structure with ``repeat`` cells per direction (quick runs)."""
    if case.name.startswith("al"):
        return systems.fcc_aluminium(repeat)
    return systems.copper_gold(repeat)


def options_file(work: Path, cfg: Settings) -> Path:
    """Pairs 32 fs apart and the one-epoch ``options.yaml`` of round 0."""
    options = work / "options.yaml"
    if options.exists():
        return options
    build_pairs(
        [work / "train-md.extxyz"],
        work / "pairs.xyz",
        lag=STRIDE_FS // FRAME_FS,
        frame_interval=FRAME_FS,
        spacing=5,
        validation=0.1,
        test=0.0,
        options=options,
    )
    document = yaml.safe_load(options.read_text())
    document["seed"] = 0
    document["architecture"]["model"] = {
        **cfg.model,
        "predict_momenta_as_difference": True,
    }
    document["architecture"]["training"].update(
        num_epochs=1, batch_size=4, learning_rate=7e-4, warmup_fraction=0.03
    )
    options.write_text(yaml.safe_dump(document, sort_keys=False))
    return options


def verdicts(directory: Path) -> Dict[str, Any]:
    """The targets, judged from the refine's reports."""
    first = json.loads((directory / "round-00/report/summary.json").read_text())
    final = json.loads((directory / "final-report/summary.json").read_text())
    temperatures = {
        check["subject"]: _ratio(check["value"], check["reference"]) - 1.0
        for check in final["checks"]
        if check["quantity"] == "temperature_mean" and check["run"] == "nvt"
    }
    rdfs = {
        check["subject"]: _ratio(check["deviation"], check["noise_floor"])
        for check in final["checks"]
        if check["quantity"] == "rdf"
    }
    state = json.loads((directory / "refine.json").read_text())
    return {
        "outcome": state["stopped"],
        "rounds": len(state["rounds"]) - 1,
        "validate_fails_one_epoch_model": first["passed"] is False,
        "validate_passes_refined_model": final["passed"] is True,
        "temperature_relative_deviation": temperatures,
        "temperature_met": bool(temperatures)
        and all(abs(v) <= TEMPERATURE_TOLERANCE for v in temperatures.values()),
        "rdf_over_noise_floor": rdfs,
        "rdf_met": bool(rdfs) and all(v <= RDF_NOISE_FACTOR for v in rdfs.values()),
    }


def _ratio(value: Any, reference: Any) -> float:
    """``value / reference``; infinite when either is missing (a run that
    stopped) or the reference is zero."""
    if value is None or not reference:
        return math.inf
    return float(value) / float(reference)


def run_case(case: Case, root: Path, cfg: Settings, rounds: int) -> Dict[str, Any]:
    """Reference data, pairs, refine and verdicts of one system."""
    work = root / case.name
    work.mkdir(parents=True, exist_ok=True)
    reference_data(case, work, cfg)
    options = options_file(work, cfg)
    refine(
        options,
        work / "start.extxyz",
        "emt",
        case.temperature_K,
        rounds=rounds,
        directory=work / "refine",
        time_ps=cfg.time_ps,
    )
    result = verdicts(work / "refine")
    (work / "targets.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def parse_arguments(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CASES), help="systems (comma)")
    parser.add_argument("--rounds", type=int, default=None, help="refine budget")
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--workdir", type=Path, default=HERE / "work" / "refine")
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # mtt train subprocesses
    cfg = QUICK if args.quick else FULL
    rounds = cfg.rounds if args.rounds is None else args.rounds
    root = args.workdir / ("quick" if args.quick else "full")
    results = {}
    for name in args.only.split(","):
        results[name] = run_case(CASES[name], root, cfg, rounds)
        print(f"{name}: {json.dumps(results[name], indent=2)}", flush=True)
    (root / "targets.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
