"""One refinement round's steps before its validation: collect and score the
states the last model visits, restart the reference from the chosen ones, make
pairs, and fine-tune the last checkpoint on every round's pairs."""

import sys
from pathlib import Path
from typing import Any, Dict, List

import ase.io

import metatrain_flashmd.refine.plan as plan
import metatrain_flashmd.refine.schedule as schedule
import metatrain_flashmd.refine.training as training
from metatrain_flashmd._progress import is_terminal
from metatrain_flashmd.refine.collect import (
    Visited,
    choose,
    read_visited,
    run_collection,
    run_starts,
    score_runs,
    write_visited,
)
from metatrain_flashmd.refine.errors import RefineError
from metatrain_flashmd.refine.restarts import (
    restart_pairs,
    restart_starts,
    run_restarts,
)
from metatrain_flashmd.validation.inputs import load_flashmd_model


def refinement_round(context: Any, number: int, folder: Path) -> Dict[str, Any]:
    """Collect, restart, pair and fine-tune for round ``number`` in ``folder``;
    the round's schedule as JSON-ready values."""
    settings = context.settings
    previous = plan.round_dir(context.directory, number - 1)
    summary = plan.read_json(previous / "report" / "summary.json") or {}
    _, _, stride = load_flashmd_model(str(previous / "model.pt"))
    options = context.inputs.options
    rules = schedule.round_schedule(
        number,
        summary.get("checks", []),
        int(training.hyper(options, "num_epochs", training.DEFAULT_EPOCHS)),
        float(training.hyper(options, "learning_rate", training.DEFAULT_LEARNING_RATE)),
        stride,
        settings.time_ps,
    )
    visited = _visited(context, number, folder, previous, rules)
    count = rules.visited_restarts + rules.imbalanced_restarts
    chosen = choose(visited, max(1, count), context.stats, settings.temperature_K)
    if not chosen:
        chosen = run_starts(visited, max(1, count))
        context.say(
            number,
            f"every state FlashMD visited ran away (see {folder / 'visited.extxyz'}):"
            f" the reference restarts from the {len(chosen)} runs' starts",
        )
    if not chosen:
        raise RefineError(
            f"round {number}: FlashMD recorded no state (see "
            f"{folder / 'visited.extxyz'}); nothing to restart the reference from"
        )
    delta = schedule.imbalance(max(state.scores["imbalance"] for state in visited))
    _restarts(context, number, folder, rules, chosen, delta)
    _fine_tune(context, number, folder, previous, rules)
    values = rules.to_dict()
    values.update(imbalance=delta, trouble=[state.scores["score"] for state in chosen])
    return values


def _visited(
    context: Any, number: int, folder: Path, previous: Path, rules: Any
) -> List[Visited]:
    """The scored states the previous model visits (``visited.extxyz``)."""
    path = folder / "visited.extxyz"
    if path.exists():
        return read_visited(path)
    context.say(
        number,
        f"collecting: {rules.collect_replicas} FlashMD runs of "
        f"{rules.collect_strides} strides",
    )
    start = ase.io.read(str(context.start))
    runs = run_collection(
        str(previous / "model.pt"),
        start,
        context.settings.temperature_K,
        rules.collect_replicas,
        rules.collect_strides,
        context.settings.seed + 1000 * number,
        progress=context.progress and is_terminal(sys.stderr),
    )
    visited = score_runs(
        runs, context.settings.temperature_K, context.stats, context.inputs.calculator
    )
    write_visited(path, visited)
    return visited


def _restarts(
    context: Any,
    number: int,
    folder: Path,
    rules: Any,
    chosen: List[Visited],
    delta: float,
) -> Path:
    """Reference restarts from the chosen states and their pairs options file."""
    starts = restart_starts(
        [state.atoms for state in chosen],
        context.settings.temperature_K,
        delta,
        rules.visited_restarts,
        rules.imbalanced_restarts,
    )
    worst = max(state.scores["score"] for state in chosen)
    context.say(
        number,
        f"{len(starts)} reference restarts of {rules.restart_ps:g} ps from states "
        f"with trouble up to {worst:.1f} sigma ({rules.imbalanced_restarts} out of "
        f"equipartition by +-{100 * delta:.0f}%)",
    )
    frames = schedule.restart_frames(rules)
    paths = run_restarts(
        starts,
        context.inputs.calculator,
        context.inputs.reference_name,
        folder / "restarts",
        rules.frame_interval_fs,
        frames,
        context.reference_timestep_fs,
        progress=context.progress,
    )
    return restart_pairs(paths, folder / "pairs", rules.lag, rules.frame_interval_fs)


def _fine_tune(
    context: Any, number: int, folder: Path, previous: Path, rules: Any
) -> None:
    """Fine-tune the previous checkpoint on the data of every round so far."""
    if (folder / "model.pt").exists() and (folder / "model.ckpt").exists():
        return
    pairs = [
        plan.round_dir(context.directory, k) / "pairs" / "options.yaml"
        for k in range(1, number + 1)
    ]
    options = training.round_options(
        context.inputs.options,
        pairs,
        (previous / "model.ckpt").resolve(),
        rules.epochs,
        rules.learning_rate,
    )
    training.write_options(options, folder / "options.yaml")
    context.say(
        number,
        f"fine-tuning {rules.epochs} epochs at learning rate "
        f"{rules.learning_rate:.3g} (log: {folder / 'train.log'})",
    )
    context.train(folder / "options.yaml", folder)
