"""The written report of a validation: ``report.md`` (verdict table, per-stride
diagnostics, plots) and ``summary.json`` (every figure and verdict), each written
whole or not at all."""

import json
import math
import os
from pathlib import Path
from typing import Any, Dict, List

from metatrain_flashmd.validation.checks import Check
from metatrain_flashmd.validation.result import ValidationResult


RULE = (
    "A check passes when its deviation is at most the threshold, the larger of "
    "the tolerance and a multiple of the noise floor: the same deviation measured "
    "on the reference itself (its first half against its second half; for the "
    "mean and spread of temperatures, their block-averaged standard errors). "
    "Deviations are "
    "dimensionless: relative differences for temperatures, diffusion and energy "
    "drift (the drift as the temperature change it makes over the run), integrated "
    "differences for RDFs and root mean square differences for VACFs; the mean "
    "virial pressure's deviation is a difference in GPa, its noise floor the "
    "block-averaged standard error of the difference of two means."
)


def _number(value: float, digits: int = 4) -> str:
    """A figure, ``-`` when missing."""
    return "-" if value is None or not math.isfinite(value) else f"{value:.{digits}g}"


def _with_unit(value: float, unit: str) -> str:
    """A figure and its unit."""
    text = _number(value)
    return text if text == "-" or not unit else f"{text} {unit}"


def verdict_table(checks: List[Check]) -> str:
    """The checks as a markdown table."""
    lines = [
        "| verdict | check | run | FlashMD | reference | deviation | noise floor "
        "| threshold | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for check in checks:
        judged_curve = check.quantity in ("rdf", "vacf")
        reference = "-" if judged_curve else _with_unit(check.reference, check.unit)
        value = "-" if judged_curve else _with_unit(check.value, check.unit)
        verdict = "**FAIL**" if check.passed is False else check.verdict
        lines.append(
            f"| {verdict} | {check.name} | {check.run} | {value} | {reference} "
            f"| {_number(check.deviation, 3)} | {_number(check.noise_floor, 3)} "
            f"| {_number(check.threshold, 3)} | {check.note} |"
        )
    return "\n".join(lines)


def headline(result: ValidationResult) -> str:
    """One line: the verdict and the counts."""
    judged = [check for check in result.checks if check.passed is not None]
    failed = len(result.failures)
    word = "PASSED" if result.passed else "FAILED"
    return f"{word}: {len(judged) - failed} of {len(judged)} checks passed"


def settings_text(result: ValidationResult) -> str:
    """The settings in a sentence or two."""
    s = result.settings
    bath = (
        f"NVT, {s.thermostat} thermostat (time constant {s.time_constant_fs:g} fs) "
        f"at {s.temperature_K:g} K"
        if s.ensemble == "nvt"
        else f"NVE from a start at {s.temperature_K:g} K"
    )
    reference = (
        f"reference MD with {s.reference} (timestep at most "
        f"{s.reference_timestep_fs:g} fs)"
        if s.reference_kind == "calculator"
        else f"the reference trajectory {s.reference}"
    )
    return (
        f"Model `{s.model}` (stride {s.stride_fs:g} fs) from `{s.start}` against "
        f"{reference}; {bath}; {s.time_ps:g} ps per run, the first "
        f"{100 * s.discard_fraction:g}% of each dropped from the analysis; seed "
        f"{s.seed}."
    )


STATES = {
    "reference": "States of the reference",
    "visited": "States the FlashMD run visited",
}
"""Titles of the per-stride diagnostics of each set of states."""


def stride_table(name: str, stride: Dict[str, Any]) -> str:
    """The per-stride diagnostics of one set of states as markdown."""
    lines = [
        f"{STATES.get(name, name)}: {stride['pairs']} pairs one stride apart, from "
        f"frames of {stride['source']}.",
        "",
        "| element | atoms x pairs | kinetic energy added (K/stride) "
        "| expected NVT offset (K) | NVE heating (K/ps) | RMS sqrt(m) dq (A u^1/2) "
        "| RMS p/sqrt(m) (eV^1/2) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for symbol, row in stride["elements"].items():
        offset = stride["thermostat_offset_K"][symbol]
        heating = stride["heating_K_per_ps"][symbol]
        lines.append(
            f"| {symbol} | {row['samples']} | {row['kinetic_bias_K']:+.3g} "
            f"({row['kinetic_bias_error_K']:.2g}) | {_number(offset, 3)} "
            f"| {_number(heating, 3)} | {row['rms_position']:.4g} "
            f"| {row['rms_momentum']:.4g} |"
        )
    slopes = ", ".join(
        f"{key.replace('_', ' ')} {value:.4f}"
        for key, value in stride["slopes"].items()
    )
    lines += ["", f"Slopes of predicted on true (1 = unbiased): {slopes}."]
    return "\n".join(lines)


def stride_section(result: ValidationResult) -> str:
    """Every set of per-stride diagnostics."""
    if not result.stride:
        return "No pairs one stride apart: no per-stride diagnostics."
    return "\n\n".join(
        stride_table(name, figures) for name, figures in result.stride.items()
    )


def report_markdown(result: ValidationResult, plots: Dict[str, str]) -> str:
    """The contents of ``report.md``."""
    parts = [
        f"# FlashMD validation {headline(result)}",
        settings_text(result),
        "## Verdicts",
        verdict_table(result.checks),
        RULE,
    ]
    if result.stopped:
        parts.append("## Runs stopped early")
        parts.append("\n".join(f"- {k}: {v}" for k, v in result.stopped.items()))
    parts += ["## Per-stride diagnostics", stride_section(result)]
    if plots:
        parts.append("## Plots")
        parts.append("\n".join(f"![{k}]({v})" for k, v in plots.items()))
    return "\n\n".join(parts) + "\n"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, so that an interrupted
    write leaves the previous file."""
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(text)
    os.replace(temporary, path)


def write_report(
    result: ValidationResult, directory: Path, plots: Dict[str, str]
) -> None:
    """Write ``report.md`` and ``summary.json`` to ``directory`` (created), and
    record them in ``result.files``."""
    directory.mkdir(parents=True, exist_ok=True)
    result.files.update({"report": "report.md", "summary": "summary.json"})
    write_atomically(directory / "report.md", report_markdown(result, plots))
    summary = json.dumps(result.to_dict(), indent=1, allow_nan=False)
    write_atomically(directory / "summary.json", summary + "\n")
