"""The refine loop: round 0 trains (or takes a checkpoint) and validates; each
further round collects visited states, restarts the reference from them, turns
the restarts into pairs and fine-tunes, until validation passes or the round
budget is spent. Every step skips what an earlier, interrupted run finished."""

import dataclasses
import math
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import ase
import ase.io
import numpy as np

import metatrain_flashmd.refine.plan as plan
import metatrain_flashmd.refine.schedule as schedule
import metatrain_flashmd.refine.training as training
from metatrain_flashmd.refine.checks import Inputs, check_ensemble, check_inputs
from metatrain_flashmd.refine.lock import directory_lock
from metatrain_flashmd.refine.refinement import refinement_round
from metatrain_flashmd.refine.trouble import data_statistics
from metatrain_flashmd.validation import Tolerances, validate
from metatrain_flashmd.validation.reference import at_rest, equilibrate
from metatrain_flashmd.validation.result import (
    JUDGING_RULES,
    judged_as_today,
    judging_rules,
)


PASSED = "passed"
BUDGET_SPENT = "budget spent"
Trainer = Callable[[Path, Path], None]
"""``train(options_path, round_dir)``: writes ``model.pt`` and ``model.ckpt``."""
Validator = Callable[[Path, Path], Dict[str, Any]]
"""``validator(model_path, report_dir)``: the ``summary.json`` contents."""


@dataclasses.dataclass
class RefineResult:
    """What a refine did."""

    outcome: str
    """:data:`PASSED` or :data:`BUDGET_SPENT`."""
    rounds: List[Dict[str, Any]]
    """The record of each round (``round.json``), in order."""
    directory: Path
    """The refine directory (``final.pt``, ``final.ckpt``, ``final-report/``)."""
    final_round: int
    """The round whose model, checkpoint and report are the final ones."""

    @property
    def passed(self) -> bool:
        """Whether the final model passed validation."""
        return self.outcome == PASSED


@dataclasses.dataclass
class Context:
    """What every round needs."""

    directory: Path
    settings: plan.RefineSettings
    inputs: Inputs
    start: Path
    stats: Dict[str, Any]
    train: Trainer
    validator: Validator
    reference_timestep_fs: float
    progress: bool

    def say(self, number: int, text: str) -> None:
        """One progress line about round ``number``."""
        if self.progress:
            print(f"round {number}/{self.settings.rounds}: {text}", flush=True)


def refine(
    options: Any,
    start: Any,
    reference: Any = "emt",
    temperature_K: float = 300.0,
    *,
    rounds: int = 4,
    directory: Any = "refine",
    checkpoint: Optional[Any] = None,
    time_ps: Optional[float] = None,
    seed: int = 0,
    ensemble: str = "nvt",
    tolerances: Optional[Tolerances] = None,
    reference_timestep_fs: float = 1.0,
    equilibration_ps: float = 1.0,
    device: Optional[str] = None,
    progress: bool = True,
    train: Optional[Trainer] = None,
    validator: Optional[Validator] = None,
) -> RefineResult:
    """Train, validate, and refine until validation passes or ``rounds``
    refinement rounds are spent (see ``docs/refine.rst`` and :mod:`.schedule`).

    :param options: ``mtt train`` options file of the initial training (data
        paths relative to its directory, as ``mtt-flashmd pairs`` writes them).
    :param start: START structure (file or atoms) of the validations; without
        momenta it is equilibrated by the reference once (``equilibration_ps``).
    :param reference: reference calculator (see
        ``metatrain_flashmd.validation.calculators.make_calculator``).
    :param temperature_K: validation temperature, K.
    :param rounds: refinement rounds after round 0 (the budget).
    :param directory: the refine directory (layout in :mod:`.plan`).
    :param checkpoint: a checkpoint to start from instead of training round 0.
    :param time_ps: length of each validation run, ps; ``None``: the refine's
        own when resumed, else 10, or 40 in NVE with several elements
        (:func:`~metatrain_flashmd.validation.inputs.default_time_ps`).
    :param seed: seed of every random choice.
    :param ensemble: the validation's ensemble: ``"nvt"`` (Langevin, 100 fs), or
        ``"nve"``: FlashMD with energy rescaling against reference NVE (the bare
        run is not made).
    :param tolerances: validation tolerances (defaults when ``None``).
    :param reference_timestep_fs: largest reference MD timestep, fs.
    :param equilibration_ps: equilibration of a START without momenta, ps.
    :param device: torch device of FlashMD (and of an MLIP reference).
    :param progress: print a few lines per round.
    :param train: replaces ``mtt train`` (tests).
    :param validator: replaces the validation (tests).
    :raises RefineInputError: for unusable input, before any work; for a
        directory in which another refine works (``DIR/refine.lock``).
    :raises RefineError: when a step fails; earlier rounds are kept.
    """
    directory = Path(directory)
    time_source = "given"
    if time_ps is None:
        time_ps = plan.stored_time_ps(directory)
        time_source = "default" if time_ps is None else "resumed"
    inputs = check_inputs(
        options,
        start,
        reference,
        temperature_K,
        rounds,
        time_ps,
        checkpoint,
        device,
        ensemble,
    )
    settings = _settings(
        options, start, inputs, temperature_K, rounds, inputs.time_ps, seed
    )
    settings.checkpoint = (
        None if checkpoint is None else str(Path(checkpoint).resolve())
    )
    settings.ensemble = check_ensemble(ensemble)
    state = plan.open_state(directory, settings)
    directory.mkdir(parents=True, exist_ok=True)
    with directory_lock(directory, progress):
        if progress:
            print(_opening_line(directory, settings, time_source), flush=True)
        plan.save_state(directory, state)
        start_path = _validation_start(
            directory, inputs, settings, equilibration_ps, reference_timestep_fs
        )
        context = Context(
            directory,
            settings,
            inputs,
            start_path,
            _statistics(directory, inputs),
            train or training.train,
            validator
            or _validator(
                start_path, inputs, settings, tolerances, reference_timestep_fs, device
            ),
            reference_timestep_fs,
            progress,
        )
        return _run(context, state)


def _settings(
    options: Any,
    start: Any,
    inputs: Inputs,
    temperature_K: float,
    rounds: int,
    time_ps: float,
    seed: int,
) -> plan.RefineSettings:
    """The settings kept in ``refine.json`` (paths absolute)."""
    named = not isinstance(start, ase.Atoms)
    return plan.RefineSettings(
        options=str(Path(options).resolve()),
        start=str(Path(start).resolve()) if named else "atoms",
        reference=inputs.reference_name,
        temperature_K=float(temperature_K),
        rounds=int(rounds),
        time_ps=float(time_ps),
        seed=int(seed),
    )


TIME_SOURCES = {
    "given": "",
    "default": " (the default for this ensemble and these elements)",
    "resumed": " (this refine's own, kept on resuming)",
}
"""How the opening line explains the validation length, by where it came from."""


def _opening_line(
    directory: Path, settings: plan.RefineSettings, time_source: str
) -> str:
    """What a refine is about to do: its directory, ensemble, temperature,
    validation length (and why) and round budget."""
    return (
        f"refine in {directory}: {settings.ensemble.upper()} validations of "
        f"{settings.time_ps:g} ps{TIME_SOURCES[time_source]} at "
        f"{settings.temperature_K:g} K, up to {settings.rounds} refinement round(s)"
    )


def _run(context: Context, state: Dict[str, Any]) -> RefineResult:
    """Round 0, then refinement rounds until one passes or the budget is spent."""
    records: List[Dict[str, Any]] = []
    for number in range(context.settings.rounds + 1):
        record = run_round(context, number)
        records.append(record)
        state["rounds"] = records
        plan.save_state(context.directory, state)
        if record["passed"]:
            break
    outcome = PASSED if records[-1]["passed"] else BUDGET_SPENT
    kept = kept_round(records)
    _finish(context.directory, kept["round"])
    state["stopped"] = outcome
    state["final_round"] = kept["round"]
    plan.save_state(context.directory, state)
    if context.progress:
        print(_closing_line(context, records[-1], kept, outcome), flush=True)
    return RefineResult(outcome, records, context.directory, kept["round"])


def kept_round(records: List[Dict[str, Any]]) -> Dict[str, Any]:
    """The round whose model becomes final: the last one when it passed, else
    the least severe one (the later of equals; a round without a finite severity
    counts as infinitely severe). More training does not always help: a round
    can fix one check and break another, and the best model must not be lost."""
    if records[-1]["passed"]:
        return records[-1]

    def order(item: Any) -> Any:
        index, record = item
        severity = record.get("severity")
        return (math.inf if severity is None else severity, -index)

    return min(enumerate(records), key=order)[1]


def _closing_line(
    context: Context, last: Dict[str, Any], kept: Dict[str, Any], outcome: str
) -> str:
    """The line that says how the refine stopped and which model is final."""
    number = last["round"]
    line = (
        f"refine: {outcome} after round {number} ({number} refinement round(s) "
        f"of {context.settings.rounds}); final model {context.directory / 'final.pt'}"
    )
    if kept is not last:
        line += f" (round {kept['round']}'s, the least severe: {_verdict(kept)})"
    report = context.directory / "final-report" / "report.md"
    return f"{line}, report {report}"


def run_round(context: Context, number: int) -> Dict[str, Any]:
    """Round ``number`` (its record from ``round.json`` when it finished before)."""
    folder = plan.round_dir(context.directory, number)
    done = plan.read_json(folder / "round.json")
    if done is not None:
        context.say(number, f"done before: validation {_verdict(done)}")
        _note_older_rules(context, number, folder)
        return done
    folder.mkdir(parents=True, exist_ok=True)
    record: Dict[str, Any] = {"round": number}
    if number == 0:
        _initial_model(context, folder)
    else:
        record["schedule"] = refinement_round(context, number, folder)
    summary = _validation(context, number, folder)
    record["passed"] = bool(summary.get("passed"))
    record["failed"] = list(summary.get("failed", []))
    record["severity"] = _finite(schedule.severity(summary.get("checks", [])))
    plan.write_json(folder / "round.json", record)
    context.say(number, f"validation {_verdict(record)}")
    return record


def _note_older_rules(context: Context, number: int, folder: Path) -> None:
    """Say so when round ``number`` was judged by older rules of ``validate``
    than today's (:data:`~metatrain_flashmd.validation.result.JUDGING_RULES`)
    that would judge it otherwise: its verdict is kept, and how to judge it
    again."""
    summary = plan.read_json(folder / "report" / "summary.json")
    if summary is None or judged_as_today(summary):
        return
    rules = judging_rules(summary)
    context.say(
        number,
        f"note: judged by the rules of validate version {rules} (now "
        f"{JUDGING_RULES}, see the changelog); its verdict is kept. To judge it "
        f"again, move {folder / 'round.json'} and {folder / 'report'} away and "
        "resume (the later rounds' schedules came from the old verdicts)",
    )


def _verdict(record: Dict[str, Any]) -> str:
    """``passed`` or ``FAIL (...)`` for a round's record."""
    if record["passed"]:
        return "passed"
    failed = record.get("failed", [])
    shown = ", ".join(failed[:3]) + (", ..." if len(failed) > 3 else "")
    worst = record.get("severity")
    worst = "infinite" if worst is None else f"{worst:.3g}"
    return f"FAIL ({len(failed)} failed: {shown}; severity {worst})"


def _finite(value: float) -> Optional[float]:
    """``value``, or ``None`` when infinite."""
    return float(value) if np.isfinite(value) else None


def _initial_model(context: Context, folder: Path) -> None:
    """Round 0's model: trained with the options file, or the checkpoint's."""
    if (folder / "model.pt").exists() and (folder / "model.ckpt").exists():
        return
    checkpoint = context.settings.checkpoint
    if checkpoint is not None:
        context.say(0, f"exporting {checkpoint}")
        training.export(Path(checkpoint), folder)
        return
    options = folder / "options.yaml"
    training.write_options(context.inputs.options, options)
    epochs = training.hyper(
        context.inputs.options, "num_epochs", training.DEFAULT_EPOCHS
    )
    context.say(0, f"training {epochs} epochs (log: {folder / 'train.log'})")
    context.train(options, folder)


def _validation(context: Context, number: int, folder: Path) -> Dict[str, Any]:
    """The validation of the round's model (read back when it was done)."""
    report = folder / "report"
    done = plan.read_json(report / "summary.json")
    if done is not None:
        return done
    context.say(number, f"validating {folder / 'model.pt'}")
    summary = context.validator(folder / "model.pt", report)
    if not (report / "summary.json").exists():
        plan.write_json(report / "summary.json", summary)
    return summary


def _validation_start(
    directory: Path,
    inputs: Inputs,
    settings: plan.RefineSettings,
    equilibration_ps: float,
    reference_timestep_fs: float,
) -> Path:
    """``DIR/start.extxyz``: START with its momenta, or equilibrated by the
    reference once (every validation and collection starts there)."""
    path = directory / "start.extxyz"
    if path.exists():
        return path
    atoms = inputs.atoms
    if atoms.has("momenta"):
        atoms = at_rest(atoms.copy())
    else:
        rng = np.random.default_rng(settings.seed)
        atoms = equilibrate(
            atoms,
            inputs.calculator,
            settings.temperature_K,
            equilibration_ps,
            reference_timestep_fs,
            rng,
        )
    atoms.set_constraint()
    temporary = directory / ".start.extxyz.partial"
    ase.io.write(temporary, atoms, format="extxyz")
    temporary.replace(path)
    return path


def _statistics(directory: Path, inputs: Inputs) -> Dict[str, Any]:
    """What the training data visits (``DIR/data-stats.json``)."""
    path = directory / "data-stats.json"
    stats = plan.read_json(path)
    if stats is None:
        stats = data_statistics(inputs.data_frames, inputs.calculator)
        plan.write_json(path, stats)
    return stats


def _validator(
    start: Path,
    inputs: Inputs,
    settings: plan.RefineSettings,
    tolerances: Optional[Tolerances],
    reference_timestep_fs: float,
    device: Optional[str],
) -> Validator:
    """The real validation of a round's model, as ``mtt-flashmd validate`` runs
    it (the settings' ensemble, temperature, time and seed; in NVE only the run
    with energy rescaling); the reference run, the same in every round, is kept
    in ``reference-cache/`` beside the validation start."""

    def run(model: Path, report: Path) -> Dict[str, Any]:
        result = validate(
            str(model),
            str(start),
            settings.temperature_K,
            inputs.calculator,
            ensemble=settings.ensemble,
            bare_nve=False,
            time_ps=settings.time_ps,
            report_dir=report,
            seed=settings.seed,
            tolerances=tolerances,
            reference_timestep_fs=reference_timestep_fs,
            device=device,
            quiet=True,
            reference_cache=start.parent / "reference-cache",
            reference_identity=inputs.reference_identity,
        )
        return result.to_dict()

    return run


def _finish(directory: Path, number: int) -> None:
    """``final.pt``, ``final.ckpt`` and ``final-report/`` from round ``number``."""
    folder = plan.round_dir(directory, number)
    for name, final in (("model.pt", "final.pt"), ("model.ckpt", "final.ckpt")):
        temporary = directory / f".{final}.partial"
        shutil.copyfile(folder / name, temporary)
        temporary.replace(directory / final)
    report = directory / "final-report"
    temporary = directory / ".final-report.partial"
    shutil.rmtree(temporary, ignore_errors=True)
    shutil.copytree(folder / "report", temporary)
    shutil.rmtree(report, ignore_errors=True)
    temporary.replace(report)
