"""``mtt-flashmd refine`` against its targets, with no setting chosen per system.

For fcc Al at 300 K and L1_2 Cu3Au at 600 K (108 atoms, ASE's EMT), from one
12 ps reference NVE trajectory (frames every 2 fs) cut into 32 fs pairs, a
one-epoch model is trained and refined (``metatrain_flashmd.refine.refine``,
the same rules for both systems; validation runs of 10 ps at the system's
temperature). Then, per system:

- a control: round 0's checkpoint fine-tuned with refine's schedule (the same
  learning rates, as many optimizer steps) on the original pairs alone, and
  validated the same way: does refine's data help, or only more training?
- NVE validations (40 ps, FlashMD with and without energy rescaling against EMT
  NVE from the same start) of the one-epoch, refined and control models.
- with ``--nve-refine``: ``refine --ensemble nve`` from the refined model
  (``refine``), its control (``control``: the same checkpoint fine-tuned with
  its schedule on the original pairs alone, validated in NVE and NVT) and the
  NVT validation of its latest model (``check``); a comma list runs only those
  parts, so they can run side by side.

The targets, read from the validation reports (``refine_report.py``):

- ``validate`` fails the one-epoch model (round 0) and passes the refined one;
- per-element mean temperature within 3% of the thermostat (NVT);
- every RDF (total and partial) within 1.5 times its noise floor;
- per-element mean temperatures within 3% of each other in NVE with energy
  rescaling.

Usage, from the root of a checkout (hours on two cores: run on a quiet machine)::

    python benchmarks/refine_targets.py                  # both systems
    python benchmarks/refine_targets.py --only al300 --rounds 4 --threads 2
    python benchmarks/refine_targets.py --quick          # smoke test, minutes
    python benchmarks/refine_targets.py --report-only    # the report of what exists
    python benchmarks/refine_targets.py --only cuau600 --nve-refine  # then NVE
    python benchmarks/refine_targets.py --only cuau600 --nve-refine control,check

Work goes to ``benchmarks/work/refine/{full,quick}/SYSTEM`` (git-ignored); every
stage skips what exists, and refine resumes, so an interrupted run goes on where
it stopped. The verdicts go to ``targets.json`` there and the report to
``benchmarks/refine_targets.md`` (``RESULTS.md`` in the work directory with
``--quick``).
"""

import argparse
import dataclasses
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import ase
import ase.io
import torch
import yaml


HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "fidelity")]

import refine_report  # noqa: E402
import systems  # noqa: E402
from run_fidelity import MEDIUM_MODEL, QUICK_MODEL  # noqa: E402

import metatrain_flashmd.refine.training as training  # noqa: E402
from metatrain_flashmd.pairs.build import build_pairs  # noqa: E402
from metatrain_flashmd.refine import refine  # noqa: E402
from metatrain_flashmd.validation import validate  # noqa: E402


STRIDE_FS = 32
FRAME_FS = 2
LOG = logging.getLogger("refine_targets")


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
    nve_time_ps: float
    """Length of the NVE validations: long enough that the reference's own
    elements agree within 1% (in 10 ps of 108-atom Cu3Au they are 6.6% apart)."""


FULL = Settings(2000.0, 12000.0, dict(MEDIUM_MODEL), 10.0, 4, 3, 40.0)
QUICK = Settings(200.0, 1200.0, dict(QUICK_MODEL), 2.0, 1, 2, 2.0)


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


NVE_PARTS = ("refine", "control", "check")
"""What ``--nve-refine`` runs: ``refine --ensemble nve`` from the refined
model, its control, and the NVT validation of its latest model."""


def run_case(
    case: Case, root: Path, cfg: Settings, rounds: int, nve_parts: Tuple[str, ...] = ()
) -> Dict[str, Any]:
    """Reference data, pairs, refine, control, NVE validations and verdicts of
    one system; then the parts of ``NVE_PARTS`` in ``nve_parts``."""
    work = root / case.name
    work.mkdir(parents=True, exist_ok=True)
    reference_data(case, work, cfg)
    options = options_file(work, cfg)
    same = (options, work / "start.extxyz", "emt", case.temperature_K)
    refine(*same, rounds=rounds, directory=work / "refine", time_ps=cfg.time_ps)
    control_model = control(work, "refine", "control")
    models = {
        "nve-round-00": work / "refine" / "round-00" / "model.pt",
        "nve-final": work / "refine" / "final.pt",
        "nve-control": control_model,
    }
    for name, model in models.items():
        if model is not None:
            validation(model, work, case, cfg, work / name, "nve")
    if control_model is not None:
        validation(control_model, work, case, cfg, work / "control" / "report", "nvt")
    if "refine" in nve_parts:
        refine(
            *same,
            rounds=rounds,
            directory=work / "refine-nve",
            checkpoint=work / "refine" / "final.ckpt",
            time_ps=cfg.nve_time_ps,
            ensemble="nve",
        )
    nve_refine_checks(work, case, cfg, nve_parts)
    result = refine_report.system_verdicts(work)
    (work / "targets.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def nve_refine_checks(
    work: Path, case: Case, cfg: Settings, nve_parts: Tuple[str, ...]
) -> None:
    """The control of ``refine --ensemble nve`` (from the same checkpoint, as
    many optimizer steps on the pairs it started with: does its NVE data help?),
    validated in NVE and NVT (``control-nve/round-NN/{report,nvt-report}``);
    and the NVE refine's latest model validated again as the other models are,
    with the code of today: in NVT (``nve-refine-nvt/round-NN``: does it still
    pass?) and in NVE, with and without energy rescaling
    (``nve-refine-nve/round-NN``; the refine's own validation judged only the
    rescaled run, with the rules of its day); and the latest control made,
    validated when its reports are missing."""
    if not (work / "refine-nve" / "refine.json").exists():
        return
    if "control" in nve_parts:
        model = control(work, "refine-nve", "control-nve")
        if model is not None:
            control_validations(model, work, case, cfg)
    if "check" in nve_parts:
        made = sorted((work / "control-nve").glob("round-*/model.pt"))
        if made:  # the control made so far, validated if it is not yet
            control_validations(made[-1], work, case, cfg)
        number, model = refine_report.latest_model(work / "refine-nve")
        for ensemble in ("nvt", "nve"):
            report = work / f"nve-refine-{ensemble}" / f"round-{number:02d}"
            validation(model, work, case, cfg, report, ensemble)


def control_validations(model: Path, work: Path, case: Case, cfg: Settings) -> None:
    """The NVE control's validations, beside its model (``control-nve/round-NN``:
    the rounds so far): ``report`` in NVE, ``nvt-report`` in NVT."""
    validation(model, work, case, cfg, model.parent / "report", "nve")
    validation(model, work, case, cfg, model.parent / "nvt-report", "nvt")


def control(work: Path, refined: str, name: str) -> Optional[Path]:
    """The control of the refine in ``work/refined``: its round 0 checkpoint
    fine-tuned with its schedule (the same learning rate per round, and as many
    optimizer steps: epochs scaled by the pairs each round trained on over the
    original pairs), on the original pairs alone. ``work/name/model.pt``, or
    ``None`` when that refine stopped at round 0."""
    rounds = json.loads((work / refined / "refine.json").read_text())["rounds"]
    if len(rounds) < 2:
        return None
    base = training.load_options(work / "options.yaml")
    original = _pair_count(training.training_files(base))
    added = 0
    previous = work / refined / "round-00" / "model.ckpt"
    for record in rounds[1:]:
        number, rules = record["round"], record["schedule"]
        pairs = work / refined / f"round-{number:02d}" / "pairs" / "pairs-train.xyz"
        added += _pair_count([str(pairs)])
        epochs = max(1, round(rules["epochs"] * (original + added) / original))
        folder = work / name / f"round-{number:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "model.pt").exists():
            LOG.info(f"{name} round {number}: {epochs} epochs on the original pairs")
            options = training.round_options(
                base, [], previous.resolve(), epochs, rules["learning_rate"]
            )
            training.write_options(options, folder / "options.yaml")
            training.train(folder / "options.yaml", folder)
        previous = folder / "model.ckpt"
    return previous.with_suffix(".pt")


def _pair_count(files: List[str]) -> int:
    """Number of pairs (frames) in extended-XYZ files."""
    return sum(len(ase.io.read(name, ":")) for name in files)


def validation(
    model: Path, work: Path, case: Case, cfg: Settings, report: Path, ensemble: str
) -> None:
    """``validate`` as refine runs it (its start, seed 0 and, in NVT, its time;
    NVE runs ``cfg.nve_time_ps``), unless ``report`` has its ``summary.json``;
    reference runs kept in ``reference-cache/`` (one per ensemble)."""
    if (report / "summary.json").exists():
        return
    LOG.info(f"validating {model} ({ensemble}) into {report}")
    validate(
        str(model),
        str(work / "refine" / "start.extxyz"),
        case.temperature_K,
        "emt",
        ensemble=ensemble,
        time_ps=cfg.nve_time_ps if ensemble == "nve" else cfg.time_ps,
        report_dir=report,
        seed=0,
        quiet=True,
        reference_cache=work / "reference-cache",
    )


def parse_arguments(argv: List[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(CASES), help="systems (comma)")
    parser.add_argument("--rounds", type=int, default=None, help="refine budget")
    parser.add_argument("--quick", action="store_true", help="smoke test")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--workdir", type=Path, default=HERE / "work" / "refine")
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help="the Markdown report (default: benchmarks/refine_targets.md, or "
        "RESULTS.md in the work directory with --quick)",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="only rewrite the report"
    )
    parser.add_argument(
        "--nve-refine",
        nargs="?",
        const=",".join(NVE_PARTS),
        default="",
        help="then refine the refined model with --ensemble nve; a comma list of "
        f"{', '.join(NVE_PARTS)} runs only those parts (default: all)",
    )
    return parser.parse_args(argv)


def main(argv: List[str] = None) -> None:
    args = parse_arguments(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # mtt train subprocesses
    cfg = QUICK if args.quick else FULL
    rounds = cfg.rounds if args.rounds is None else args.rounds
    root = args.workdir / ("quick" if args.quick else "full")
    if not args.report_only:
        for name in args.only.split(","):
            result = run_case(
                CASES[name], root, cfg, rounds, nve_parts(args.nve_refine)
            )
            print(
                f"{name}: targets "
                + json.dumps({k: v for k, v in result.items() if k != "models"}),
                flush=True,
            )
    write_report(root, args)


def nve_parts(text: str) -> Tuple[str, ...]:
    """The parts of ``--nve-refine`` (a comma list), checked."""
    parts = tuple(part for part in text.split(",") if part)
    unknown = sorted(set(parts) - set(NVE_PARTS))
    if unknown:
        raise SystemExit(f"--nve-refine: unknown part(s) {unknown}: {NVE_PARTS}")
    return parts


def write_report(root: Path, args: argparse.Namespace) -> None:
    """The Markdown report of every system refined in ``root`` so far."""
    results = {
        name: refine_report.system_verdicts(root / name)
        for name in CASES
        if (root / name / "refine" / "refine.json").exists()
    }
    (root / "targets.json").write_text(json.dumps(results, indent=2) + "\n")
    command = "python benchmarks/refine_targets.py" + (" --quick" if args.quick else "")
    report = args.report or (
        root / "RESULTS.md" if args.quick else HERE / "refine_targets.md"
    )
    report.write_text(refine_report.markdown(results, command + " --report-only"))
    print(f"report: {report}")


if __name__ == "__main__":
    main()
