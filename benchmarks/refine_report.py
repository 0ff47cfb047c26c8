"""Verdicts and the Markdown report of ``refine_targets.py``, read from the
validation reports (``summary.json``) its runs wrote.

Per system: the one-epoch model (refine's round 0), the refined model
(``final.pt``) and the control (round 0 fine-tuned for as many optimizer steps
as refine spent, on the original pairs only), each validated in NVT (refine's own
validation) and in NVE (``--ensemble nve``: FlashMD without and with energy
rescaling against EMT NVE from the same start); and, where they were run, the
refined model refined again with ``refine --ensemble nve`` (its latest NVE
report, and the NVT validation of its latest model) and that refine's control.
"""

import json
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from metatrain_flashmd.validation.compare import element_spread


TEMPERATURE_TOLERANCE = 0.03
"""Per-element mean temperature: within 3% of the thermostat (NVT) and of each
other (NVE with energy rescaling)."""
RDF_NOISE_FACTOR = 1.5
"""Every RDF within 1.5 times its noise floor."""
MODELS = ("round0", "refined", "control", "nve-refined", "nve-control")
REPORTS = {
    "round0": ("refine/round-00/report", "nve-round-00"),
    "refined": ("refine/final-report", "nve-final"),
    "control": ("control/report", "nve-control"),
    "nve-refined": ("nve-refine-nvt/latest", "nve-refine-nve/latest"),
    "nve-control": ("control-nve/latest/nvt-report", "control-nve/latest/report"),
}
"""Per model, its NVT and NVE report directories within a system's work (an
unfinished NVE refine: its last finished round's report; ``latest``: the
highest-numbered ``round-NN`` beside it). The NVE refine's model without its
NVE re-validation: the refine's own report (:data:`NVE_REFINE_OWN_REPORT`)."""
NVE_REFINE_OWN_REPORT = "refine-nve/final-report"
"""The NVE refine's own validation (the rescaled run only, judged by the rules
of the day it ran)."""


def read_summary(directory: Path) -> Optional[Dict[str, Any]]:
    """``summary.json`` of a validation report, or ``None`` when not made."""
    path = directory / "summary.json"
    return json.loads(path.read_text()) if path.exists() else None


def _ratio(value: Any, reference: Any) -> float:
    """``value / reference``; infinite when either is missing (a run that
    stopped) or the reference is zero."""
    if value is None or not reference:
        return math.inf
    return float(value) / float(reference)


def nvt_figures(summary: Dict[str, Any]) -> Dict[str, Any]:
    """Temperatures against the thermostat and RDFs against their noise floors."""
    temperatures = {
        check["subject"]: _ratio(check["value"], check["reference"]) - 1.0
        for check in summary["checks"]
        if check["quantity"] == "temperature_mean" and check["run"] == "nvt"
    }
    rdfs = {
        check["subject"]: _ratio(check["deviation"], check["noise_floor"])
        for check in summary["checks"]
        if check["quantity"] == "rdf"
    }
    return {
        "passed": bool(summary["passed"]),
        "failed": list(summary.get("failed", [])),
        "checks": len(summary["checks"]),
        "temperature_relative_deviation": temperatures,
        "temperature_met": bool(temperatures)
        and all(abs(v) <= TEMPERATURE_TOLERANCE for v in temperatures.values()),
        "rdf_over_noise_floor": rdfs,
        "rdf_met": bool(rdfs) and all(v <= RDF_NOISE_FACTOR for v in rdfs.values()),
    }


def nve_figures(summary: Dict[str, Any]) -> Dict[str, Any]:
    """Per-element temperatures of the NVE run with energy rescaling (the bare
    run is judged on its energy drift only) and of the reference (its figures:
    the checks compare each element with the reference's whole system): the
    spread between elements ((max - min) / mean), which the target bounds."""
    result: Dict[str, Any] = {
        "passed": bool(summary["passed"]),
        "failed": list(summary.get("failed", [])),
        "checks": len(summary["checks"]),
    }
    rescaled = [
        check
        for check in summary["checks"]
        if check["quantity"] == "temperature_mean" and check["run"] == "nve_rescaled"
    ]
    ours = {check["subject"]: check["value"] for check in rescaled}
    reference = {
        symbol: figures["mean"]
        for symbol, figures in summary["figures"]["reference"]["temperature"].items()
    }
    result["nve_rescaled_temperatures"] = ours
    result["nve_rescaled_element_spread"] = element_spread(
        {k: math.nan if v is None else v for k, v in ours.items()}
    )
    result["reference_temperatures"] = reference
    result["reference_element_spread"] = element_spread(reference)
    spread = result["nve_rescaled_element_spread"]
    result["equipartition_met"] = spread <= TEMPERATURE_TOLERANCE
    return result


def _finished(report: Path) -> Path:
    """``report``, or for a refine's ``final-report`` not yet written, the report
    of its last finished round (the one with a ``round.json``); a ``latest``
    part of the path stands for the last ``round-NN`` there whose report exists."""
    if "latest" in report.parts:
        index = report.parts.index("latest")
        base, rest = Path(*report.parts[:index]), Path(*report.parts[index + 1 :])
        rounds = [
            folder
            for folder in sorted(base.glob("round-*"))
            if (folder / rest / "summary.json").exists()
        ]
        return rounds[-1] / rest if rounds else report
    if report.exists() or report.name != "final-report":
        return report
    rounds = sorted(report.parent.glob("round-*/round.json"))
    return rounds[-1].parent / "report" if rounds else report


def latest_model(refined: Path) -> Tuple[int, Path]:
    """The number of the last finished round of the refine in ``refined`` and
    its model; once the refine has stopped, ``final.pt`` and the number of the
    round it was kept from."""
    state = json.loads((refined / "refine.json").read_text())
    number = state["rounds"][-1]["round"]
    final = refined / "final.pt"
    if state.get("stopped") and final.exists():
        return state.get("final_round", number), final
    return number, refined / f"round-{number:02d}" / "model.pt"


def system_verdicts(work: Path) -> Dict[str, Any]:
    """Every model's figures, and the targets, of one system's work directory."""
    state = json.loads((work / "refine" / "refine.json").read_text())
    kept = kept_round(work / "refine-nve")
    models: Dict[str, Any] = {}
    own_nve_report = False
    for name in MODELS:
        paths = list(REPORTS[name])
        if name == "nve-refined" and kept is not None:  # the kept model's
            paths = [f"nve-refine-{kind}/round-{kept:02d}" for kind in ("nvt", "nve")]
        if name == "nve-refined" and read_summary(_finished(work / paths[1])) is None:
            paths[1], own_nve_report = NVE_REFINE_OWN_REPORT, True
        nvt, nve = (
            None if path is None else read_summary(_finished(work / path))
            for path in paths
        )
        models[name] = {
            "nvt": None if nvt is None else nvt_figures(nvt),
            "nve": None if nve is None else nve_figures(nve),
        }
    refined = models["refined"]
    nve_rounds = {
        "nve-refined": _last_round(work / "refine-nve", "round-*/round.json")
        if kept is None
        else kept,
        "nve-refined-kept": kept is not None,
        "nve-refined-own-nve-report": own_nve_report,
        "nve-control": _last_round(work / "control-nve", "round-*/report/summary.json"),
        "nve-refined-nvt": _last_round(work / "nve-refine-nvt", "round-*/summary.json")
        if kept is None
        else kept,
    }
    return {
        "nve_rounds": nve_rounds,
        "outcome": state["stopped"],
        "rounds": len(state["rounds"]) - 1,
        "validate_fails_one_epoch_model": models["round0"]["nvt"]["passed"] is False,
        "validate_passes_refined_model": refined["nvt"]["passed"] is True,
        "temperature_met": refined["nvt"]["temperature_met"],
        "rdf_met": refined["nvt"]["rdf_met"],
        "nve_equipartition_met": None
        if refined["nve"] is None
        else refined["nve"]["equipartition_met"],
        "models": models,
    }


def kept_round(refined: Path) -> Optional[int]:
    """The round a stopped refine in ``refined`` kept as final (``None`` while it
    runs, or when it was not made)."""
    path = refined / "refine.json"
    if not path.exists():
        return None
    state = json.loads(path.read_text())
    if not state.get("stopped") or not state.get("rounds"):
        return None
    return state.get("final_round", state["rounds"][-1]["round"])


def _last_round(directory: Path, pattern: str) -> Optional[int]:
    """The highest round number of the files matching ``pattern`` in
    ``directory`` (``round-NN/...``), or ``None``."""
    found = sorted(directory.glob(pattern))
    if not found:
        return None
    return int(found[-1].relative_to(directory).parts[0].split("-")[1])


def markdown(results: Dict[str, Dict[str, Any]], command: str) -> str:
    """The report: one table of the targets, one row per system and model."""
    lines = [
        "# `mtt-flashmd refine` against its targets",
        "",
        f"Written by `{command}`; do not edit by hand.",
        "",
        "| system | model | NVT checks | T vs thermostat | RDF / noise floor "
        "| NVE, rescaled: T spread between elements | EMT NVE: T spread "
        "| NVE checks |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for system, result in results.items():
        for name in MODELS:
            lines.append(_row(system, name, result["models"][name]))
    lines += ["", *_round_notes(results), "Targets per system:", ""]
    for system, result in results.items():
        lines.append(
            f"- {system}: refine {result['outcome']} after {result['rounds']} "
            f"round(s); validate fails the one-epoch model: "
            f"{_yes(result['validate_fails_one_epoch_model'])}, passes the refined "
            f"one: {_yes(result['validate_passes_refined_model'])}; temperatures "
            f"within 3%: {_yes(result['temperature_met'])}; RDFs within 1.5x noise: "
            f"{_yes(result['rdf_met'])}; NVE elements within 3% of each other: "
            f"{_yes(result['nve_equipartition_met'])}" + _after_nve_refine(result)
        )
    return "\n".join(lines) + "\n"


def _round_notes(results: Dict[str, Dict[str, Any]]) -> List[str]:
    """Which round of the NVE refine and of its control the rows show."""
    lines = []
    for system, result in results.items():
        rounds = result.get("nve_rounds", {})
        if rounds.get("nve-refined") is not None:
            control = rounds.get("nve-control")
            nvt = rounds.get("nve-refined-nvt")
            lines.append(
                f"{system}: `nve-refined` is round {rounds['nve-refined']} of "
                "`refine --ensemble nve` ("
                + (
                    "the one it kept as final"
                    if rounds.get("nve-refined-kept")
                    else "its last finished one"
                )
                + ")"
                + ("" if nvt is None else f", its NVT columns round {nvt}'s")
                + (
                    ", its NVE columns from the refine's own validation (the "
                    "rescaled run only)"
                    if rounds.get("nve-refined-own-nve-report")
                    else ", its NVE columns its validation with and without "
                    "rescaling, made like the other rows'"
                )
                + "; `nve-control` "
                + (
                    "not made"
                    if control is None
                    else f"the control of its rounds up to round {control}"
                )
                + "."
            )
    return lines + ([""] if lines else [])


def _after_nve_refine(result: Dict[str, Any]) -> str:
    """What ``refine --ensemble nve`` made of the NVE target, if it was run."""
    nve = result["models"]["nve-refined"]["nve"]
    if nve is None:
        return ""
    spread = 100 * nve["nve_rescaled_element_spread"]
    return (
        f"; after `refine --ensemble nve`: {_yes(nve['equipartition_met'])} "
        f"({spread:.1f}%; its validation "
        + ("passed)" if nve["passed"] else f"failed {len(nve['failed'])} checks)")
    )


def _row(system: str, name: str, figures: Dict[str, Any]) -> str:
    """One row of the table (``-`` where a validation was not made)."""
    nvt, nve = figures["nvt"], figures["nve"]
    cells: List[str] = [system, name]
    if nvt is None:
        cells += ["-", "-", "-"]
    else:
        cells.append(_checks(nvt))
        cells.append(
            ", ".join(
                f"{k} {100 * v:+.1f}%"
                for k, v in nvt["temperature_relative_deviation"].items()
            )
        )
        cells.append(
            ", ".join(f"{k} {v:.2f}" for k, v in nvt["rdf_over_noise_floor"].items())
        )
    if nve is None:
        cells += ["-", "-", "-"]
    else:
        temperatures = ", ".join(
            f"{k} {v:.1f} K" for k, v in nve["nve_rescaled_temperatures"].items()
        )
        cells.append(
            f"{100 * nve['nve_rescaled_element_spread']:.1f}% ({temperatures})"
        )
        reference = ", ".join(
            f"{k} {v:.1f} K" for k, v in nve["reference_temperatures"].items()
        )
        cells.append(f"{100 * nve['reference_element_spread']:.1f}% ({reference})")
        cells.append(_checks(nve))
    return "| " + " | ".join(cells) + " |"


def _checks(figures: Dict[str, Any]) -> str:
    """``pass (n)`` or ``FAIL k of n: names``."""
    if figures["passed"]:
        return f"pass ({figures['checks']})"
    failed = figures["failed"]
    names = "; ".join(failed[:3]) + ("; ..." if len(failed) > 3 else "")
    return f"FAIL {len(failed)} of {figures['checks']}: {names}"


def _yes(value: Optional[bool]) -> str:
    """yes / no / not measured."""
    return "not measured" if value is None else ("yes" if value else "no")
