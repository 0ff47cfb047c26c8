"""From runs to verdicts: the figures of the reference and FlashMD runs (with the
virial pressure when the reference calculator gives the stress), the checks that
compare them, and the per-stride diagnostics."""

from typing import Any, Dict, List, Optional

import numpy as np

from metatrain_flashmd.observables.trajectory import Trajectory
from metatrain_flashmd.validation.checks import Check
from metatrain_flashmd.validation.compare import (
    Comparison,
    ReferenceFigures,
    compare_run,
    reference_figures,
)
from metatrain_flashmd.validation.figures import run_figures
from metatrain_flashmd.validation.flashmd_run import FlashMDRun
from metatrain_flashmd.validation.pressure import pressure_figures
from metatrain_flashmd.validation.result import ValidationResult, ValidationSettings
from metatrain_flashmd.validation.stride import (
    predict_pairs,
    stride_diagnostics,
    thermostat_offset,
)
from metatrain_flashmd.validation.stride_pairs import reference_pairs, trajectory_pairs
from metatrain_flashmd.validation.tolerances import Tolerances


def run_checks(
    reference: ReferenceFigures,
    figures: Dict[str, Any],
    run: FlashMDRun,
    judge_structure: bool,
    settings: ValidationSettings,
    tolerances: Tolerances,
) -> List[Check]:
    """The checks of one FlashMD run: that it completed; its temperatures,
    structure and dynamics (``judge_structure``); in NVE, its energy drift. All
    fail when the run stopped early."""
    completed = Check(
        "run completed",
        "completed",
        "all",
        run.kind,
        figures["duration_ps"],
        reference.whole["duration_ps"],
        "ps analysed",
        float(bool(run.stopped)),
        0.0,
        0.0,
        not run.stopped,
        run.stopped,
    )
    checks = [completed]
    if judge_structure:
        target = settings.temperature_K if settings.ensemble == "nvt" else None
        checks += compare_run(reference, figures, run.kind, tolerances, target)
    reference_drift = reference.whole["energy_drift_meV_atom_ps"]
    own_drift = figures["energy_drift_meV_atom_ps"]
    measured = np.isfinite(own_drift) or bool(run.stopped)
    if run.kind != "nvt" and np.isfinite(reference_drift) and measured:
        checks.append(
            Comparison(reference, figures, run.kind, tolerances).drift_check()
        )
    if run.stopped:
        checks = [checks[0]] + [
            check.failed("the run stopped early") for check in checks[1:]
        ]
    return checks


def diagnose(
    settings: ValidationSettings,
    model: Any,
    pairs: List[Any],
    source: str,
    device: Optional[str],
) -> Optional[Dict[str, Any]]:
    """Per-stride diagnostics on ``pairs``, with the temperature offset each
    element's kinetic energy bias gives under the thermostat (NVT) and its
    heating rate (NVE); ``None`` without pairs."""
    if not pairs:
        return None
    figures = stride_diagnostics(predict_pairs(model, pairs, device))
    figures["pairs"] = len(pairs)
    figures["source"] = source
    biases = {k: v["kinetic_bias_K"] for k, v in figures["elements"].items()}
    figures["thermostat_offset_K"] = {
        symbol: thermostat_offset(
            bias, settings.stride_fs, settings.time_constant_fs, settings.thermostat
        )
        for symbol, bias in biases.items()
    }
    figures["heating_K_per_ps"] = {
        symbol: bias * 1000.0 / settings.stride_fs for symbol, bias in biases.items()
    }
    return figures


def stride_figures(
    settings: ValidationSettings,
    model: Any,
    calculator: Any,
    states: Dict[str, Trajectory],
    device: Optional[str],
) -> Dict[str, Dict[str, Any]]:
    """Per-stride diagnostics from the frames of each of ``states``
    (``reference``: the reference run; ``visited``: a FlashMD run), each frame
    ended by one stride of reference NVE; with only a reference trajectory, on
    its own frames one stride apart (``reference`` only)."""
    if calculator is None:
        reference = states["reference"]
        pairs = trajectory_pairs(reference, settings.stride_fs, settings.stride_pairs)
        found = diagnose(settings, model, pairs, "the reference trajectory", device)
        return {"reference": found} if found else {}
    result = {}
    for name, trajectory in states.items():
        pairs = reference_pairs(
            trajectory,
            calculator,
            settings.stride_fs,
            settings.reference_timestep_fs,
            settings.stride_pairs,
        )
        where = "the reference run" if name == "reference" else "the FlashMD run"
        source = f"{where}, each ended by one stride of reference NVE"
        found = diagnose(settings, model, pairs, source, device)
        if found:
            result[name] = found
    return result


def assess(
    settings: ValidationSettings,
    model: Any,
    calculator: Any,
    reference: Trajectory,
    runs: Dict[str, FlashMDRun],
    tolerances: Tolerances,
    device: Optional[str] = None,
) -> ValidationResult:
    """Every figure and check of a validation (see the module docstring).

    :param reference: the reference run, whole (its transient is dropped here).
    :param runs: the FlashMD runs by kind.
    """
    kept = reference.without_start(settings.discard_fraction)
    noise = reference_figures(kept, tolerances)
    noise.whole["pressure"] = pressure_figures(kept, calculator)
    figures = {"reference": noise.whole}
    checks: List[Check] = []
    for kind, run in runs.items():
        trajectory = run.trajectory.without_start(settings.discard_fraction)
        figures[kind] = run_figures(trajectory, tolerances.vacf_max_lag_fs)
        judge_structure = not (kind == "nve" and "nve_rescaled" in runs)
        if judge_structure and noise.whole["pressure"]:
            figures[kind]["pressure"] = pressure_figures(trajectory, calculator)
        checks += run_checks(
            noise, figures[kind], run, judge_structure, settings, tolerances
        )
    stopped = {kind: run.stopped for kind, run in runs.items() if run.stopped}
    visited = runs["nve_rescaled" if "nve_rescaled" in runs else next(iter(runs))]
    states = {
        "reference": kept,
        "visited": visited.trajectory.without_start(settings.discard_fraction),
    }
    stride = stride_figures(settings, model, calculator, states, device)
    return ValidationResult(settings, tolerances, checks, figures, stopped, stride)
