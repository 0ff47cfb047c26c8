"""Where a refine keeps its files, and what it remembers between runs.

Layout of the refine directory ``DIR``::

    DIR/refine.json        settings, and each finished round's record
    DIR/start.extxyz       the validation start, with momenta
    DIR/data-stats.json    what the training data visits (see .trouble)
    DIR/round-00/          initial training (or the given checkpoint)
    DIR/round-NN/          refinement round NN:
        visited.extxyz         states FlashMD visited, with their trouble scores
        restarts/              reference MD from the chosen states
        pairs/                 their pairs (pairs-train.xyz, pairs-val.xyz,
                               options.yaml), written by build_pairs
        options.yaml           the mtt train options of the round
        train.log              mtt's output
        model.pt, model.ckpt   the exported model and its checkpoint
        report/                the validation report (summary.json, report.md)
        round.json             the round's record: schedule and verdict
    DIR/final.pt, DIR/final.ckpt, DIR/final-report/

Every file is written whole (through a temporary name), so a file that exists is
complete: an interrupted refine redoes only the step it was in.
"""

import dataclasses
import json
import os
from pathlib import Path
from typing import Any, Dict, Optional

from metatrain_flashmd.refine.errors import RefineInputError


STATE_FORMAT = 1
"""Version of the layout of ``refine.json``."""
COMPARED_SETTINGS = (
    "options",
    "start",
    "reference",
    "temperature_K",
    "time_ps",
    "seed",
    "checkpoint",
    "ensemble",
)
"""Settings a resumed refine must share with the run that started the directory."""


@dataclasses.dataclass
class RefineSettings:
    """How a refine runs (the same for every round)."""

    options: str
    """The ``mtt train`` options file of the initial training (absolute path)."""
    start: str
    """The START structure file (absolute path) or a description."""
    reference: str
    """The reference calculator's name."""
    temperature_K: float  # noqa: N815
    """The validation temperature, K."""
    rounds: int
    """Refinement rounds after the initial training (the budget)."""
    time_ps: float
    """Length of each validation run, ps; sets collection and restart lengths."""
    seed: int
    """Seed of every random choice."""
    checkpoint: Optional[str] = None
    """Checkpoint to start from instead of the initial training."""
    ensemble: str = "nvt"
    """The validation's ensemble: ``nvt``, or ``nve`` (FlashMD with energy
    rescaling against reference NVE)."""


def round_dir(directory: Path, number: int) -> Path:
    """The folder of round ``number``."""
    return Path(directory) / f"round-{number:02d}"


def write_json(path: Path, data: Dict[str, Any]) -> None:
    """Write ``data`` as JSON to ``path`` through a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(temporary, path)


def stored_time_ps(directory: Path) -> Optional[float]:
    """The validation time of the refine in ``directory`` (``None`` when there
    is none): a refine resumed without ``time_ps`` keeps its own, whatever the
    default has become."""
    state = read_json(Path(directory) / "refine.json")
    if state is None or "time_ps" not in state.get("settings", {}):
        return None
    return float(state["settings"]["time_ps"])


def read_json(path: Path) -> Optional[Dict[str, Any]]:
    """The JSON in ``path``, or ``None`` when it does not exist.

    :raises RefineInputError: naming the file, when it cannot be read.
    """
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise RefineInputError(path, f"cannot read it: {error}") from error


def open_state(directory: Path, settings: RefineSettings) -> Dict[str, Any]:
    """The state of the refine in ``directory``: a new one, or the one it holds
    when it was started with the same settings (the budget may change).

    :raises RefineInputError: naming ``refine.json`` when the directory belongs to
        a refine with other settings, or ``directory`` when it is a file.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise RefineInputError(directory, "exists and is not a directory")
    path = directory / "refine.json"
    state = read_json(path)
    if state is None:
        state = {"format": STATE_FORMAT, "rounds": [], "stopped": None}
    else:
        earlier = {**_defaults(), **state.get("settings", {})}
        changed = [
            f"{name} {earlier.get(name)!r} -> {getattr(settings, name)!r}"
            for name in COMPARED_SETTINGS
            if earlier.get(name) != getattr(settings, name)
        ]
        if changed:
            raise RefineInputError(
                path,
                "this directory holds a refine started with other settings ("
                + "; ".join(changed)
                + "): give another output directory (-o) to start afresh",
            )
    state["settings"] = dataclasses.asdict(settings)
    return state


def _defaults() -> Dict[str, Any]:
    """The settings' defaults, for ``refine.json`` files written before a
    setting existed."""
    return {
        field.name: field.default
        for field in dataclasses.fields(RefineSettings)
        if field.default is not dataclasses.MISSING
    }


def save_state(directory: Path, state: Dict[str, Any]) -> None:
    """Write ``refine.json``."""
    write_json(Path(directory) / "refine.json", state)
