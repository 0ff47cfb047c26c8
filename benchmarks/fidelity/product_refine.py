"""The ``refine`` stage of ``run_fidelity.py --refine-with product``: the
package's ``refine`` in place of the hand-set warm restarts of
``Settings.refine``, with the same rules for every system and stride.

For each trained stride, from its first training run's checkpoint:

1. ``refine`` in NVT (Langevin, 100 fs, at the system's temperature) with
   ``Settings.refine_rounds`` rounds and validations of ``refine_time_ps``, in
   ``strideN/refine/``;
2. then ``refine --ensemble nve`` (energy rescaling; validations of
   ``refine_nve_time_ps``, by default refine's own choice) from that refine's
   final checkpoint, in ``strideN/refine-nve/``: the benchmark judges NVE with
   energy rescaling, which an NVT validation does not look at (al300's
   NVT-refined models ran it with RDF differences of 0.075 and 0.104 at 16 and
   32 fs, against a target of 0.05), and the elements' share of the kinetic
   energy is what a thermostat hides.

Every validation starts from ``refine-start.extxyz``, an equilibration of its own
(seed 3): neither the training trajectory's start (seed 1) nor the fresh start of
the comparison runs (seed 2), so the runs the benchmark reports never chose a
model. The last refine's ``final.pt`` becomes the stride's ``model.pt`` (the
first model, and any runs made with it, move to ``first-model/``; runs of a model
adopted before, by a run of this stage that refined in NVT only, are removed).
"""

import logging
import os
from pathlib import Path
from typing import Any, Dict, List

import ase.io
import yaml


LOG = logging.getLogger("fidelity")
START_SEED = 3
"""Seed of the equilibration that starts the refine's validations."""
DONE = "refined.done"
"""Marks a stride whose ``model.pt`` is the refined one; holds ``product`` and
the ensembles refined in (``product`` alone: NVT, or NVE too for several
elements, as this stage did before every system was refined in NVE)."""
ENSEMBLES = ("nvt", "nve")
"""The refines of every stride, in this order."""


def refine_stride(
    system: Any,
    work: Path,
    directory: Path,
    options: Dict[str, Any],
    cfg: Any,
) -> None:
    """Refine the model of one stride directory (see the module docstring);
    resumes an interrupted refine; nothing to do once ``refined.done`` exists.

    :param system: the benchmark system (``cases.System``).
    :param work: the system's run directory.
    :param directory: the stride's directory (pairs, first model, checkpoint).
    :param options: the complete ``mtt train`` options of the first training
        (model and trainer hypers included), written for ``refine``.
    :param cfg: the benchmark's ``Settings``.
    """
    from metatrain_flashmd.refine import refine

    done = directory / DONE
    checkpoint = directory / "model.partial.ckpt"
    if not checkpoint.exists():
        return
    start = refine_start(system, work, cfg)
    several = len(set(ase.io.read(start).numbers.tolist())) > 1
    if refined_in(done, several) == ENSEMBLES:
        return
    options_path = directory / "refine-options.yaml"
    options_path.write_text(yaml.safe_dump(options, sort_keys=False))
    runs = [
        ("nvt", cfg.refine_time_ps, directory / "refine"),
        ("nve", cfg.refine_nve_time_ps, directory / "refine-nve"),
    ]
    for ensemble, time_ps, folder in runs:
        LOG.info(f"{system.name} {directory.name}: refine ({ensemble}) in {folder}")
        result = refine(
            options_path,
            start,
            "emt",
            system.temperature,
            rounds=cfg.refine_rounds,
            directory=folder,
            checkpoint=checkpoint,
            time_ps=time_ps,
            seed=0,
            ensemble=ensemble,
        )
        LOG.info(
            f"{system.name} {directory.name}: refine ({ensemble}) {result.outcome}, "
            f"final model from round {result.final_round}"
        )
        checkpoint = folder / "final.ckpt"
    adopt(directory, checkpoint.with_suffix(".pt"))
    done.write_text("product " + ",".join(ENSEMBLES) + "\n")


def refined_in(done: Path, several_elements: bool) -> tuple:
    """The ensembles a stride's model was refined in, from its ``done`` marker
    (empty without one; see :data:`DONE` for a marker without them)."""
    if not done.exists():
        return ()
    words = done.read_text().split()
    if len(words) > 1:
        return tuple(words[1].split(","))
    return ENSEMBLES if several_elements else ("nvt",)


def refine_start(system: Any, work: Path, cfg: Any) -> Path:
    """``work/refine-start.extxyz``: an equilibration with seed
    :data:`START_SEED`, with momenta (made once)."""
    import cases

    path = work / "refine-start.extxyz"
    if not path.exists():
        atoms = cases.equilibrated_start(system, cfg.equilibration_fs, START_SEED)
        temporary = work / ".refine-start.extxyz.partial"
        ase.io.write(temporary, atoms, format="extxyz")
        os.replace(temporary, path)
    return path


def adopt(directory: Path, model: Path) -> None:
    """Make ``model`` the stride's ``model.pt``; the first model and its runs go
    to ``first-model/`` (a model adopted before, and its runs, are removed), and
    an MD lock left by an interrupted run is removed."""
    archive = directory / "first-model"
    first = not (archive / "model.pt").exists()
    archive.mkdir(exist_ok=True)
    moved: List[Path] = [directory / "model.pt", *directory.glob("flashmd-*.npz")]
    for path in moved:
        if path.exists() and first:
            os.replace(path, archive / path.name)
        elif path.exists():
            path.unlink()
    temporary = directory / ".model.pt.partial"
    temporary.write_bytes(model.read_bytes())
    os.replace(temporary, directory / "model.pt")
    lock = directory / "md.lock"
    if lock.is_dir():
        lock.rmdir()


def refine_rows(name: str, work: Path) -> List[str]:
    """Rows of the report's table of the product refines of system ``name``
    (none for a campaign run directory): per stride and ensemble, the outcome,
    the round kept and its severity, the checks that still fail, and the
    versions of ``validate``'s judging rules its rounds were judged by."""
    import json

    rows = []
    for state_path in sorted(work.glob("stride*/refine*/refine.json")):
        state = json.loads(state_path.read_text())
        rounds = state.get("rounds", [])
        if not rounds:
            continue
        kept = state.get("final_round", rounds[-1]["round"])
        record = next(r for r in rounds if r["round"] == kept)
        severity = record.get("severity")
        failed = record.get("failed", [])
        shown = ", ".join(failed[:3]) + (
            f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        )
        ensemble = state.get("settings", {}).get("ensemble", "nvt")
        rules = rounds_rules(state_path.parent, rounds)
        rows.append(
            f"| {name} | {state_path.parent.parent.name} | {ensemble} | "
            f"{state.get('stopped') or 'running'} | {len(rounds) - 1} | {kept} | "
            f"{'inf' if severity is None else f'{severity:.2f}'} | {shown or '-'} | "
            f"{rules} |"
        )
    return rows


def rounds_rules(directory: Path, rounds: List[Dict[str, Any]]) -> str:
    """The versions of ``validate``'s judging rules the ``rounds`` of the refine
    in ``directory`` were judged by (from their reports), e.g. ``2, 3``."""
    import json

    from metatrain_flashmd.refine.plan import round_dir
    from metatrain_flashmd.validation.result import judging_rules

    versions = set()
    for record in rounds:
        path = round_dir(directory, record["round"]) / "report" / "summary.json"
        if path.exists():
            versions.add(judging_rules(json.loads(path.read_text())))
    return ", ".join(str(version) for version in sorted(versions)) or "-"
