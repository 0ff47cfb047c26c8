"""Training through metatrain: the options of each round, and ``mtt train`` /
``mtt export`` in a subprocess (its output in the round's ``train.log``).

Round 0 trains with the given options file as it is (its data paths made
absolute). Round k >= 1 trains on the same sets plus the pairs of every round
so far, fine-tuning every parameter of the previous round's checkpoint
(``finetune: {method: full, read_from: ...}``): a new run of the trainer, with
a fresh warm-up and cosine decay, ``num_epochs`` and ``learning_rate`` from
:mod:`.schedule`.
"""

import copy
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from metatrain_flashmd.refine.errors import RefineError, RefineInputError
from metatrain_flashmd.refine.lock import child_record, refuse_running_child


SETS = ("training_set", "validation_set", "test_set")
DEFAULT_EPOCHS = 1000
DEFAULT_LEARNING_RATE = 3e-4
"""The trainer's defaults of ``num_epochs`` and ``learning_rate``."""
LOG_TAIL = 20
"""Lines of the log quoted when ``mtt`` fails."""


def load_options(path: Any) -> Dict[str, Any]:
    """The ``mtt train`` options in ``path``, every data path made absolute
    (relative paths are taken from the file's directory, as ``mtt-flashmd
    pairs`` writes them).

    :raises RefineInputError: naming the file, if it is missing, not YAML, has
        no training set or names a data file that does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise RefineInputError(path, "no such options file")
    try:
        options = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise RefineInputError(path, f"not a YAML file: {error}") from error
    if not isinstance(options, dict) or "training_set" not in options:
        raise RefineInputError(path, "not an mtt train options file (no training_set)")
    for name in SETS:
        if name in options:
            options[name] = _absolute(options[name], path.parent, path)
    return options


def _absolute(section: Any, base: Path, source: Path) -> Any:
    """A set section with its file paths absolute (checked to exist)."""
    if isinstance(section, list):
        return [_absolute(item, base, source) for item in section]
    if isinstance(section, str):
        return _existing(section, base, source)
    if not isinstance(section, dict):
        return section
    section = copy.deepcopy(section)
    systems = section.get("systems")
    if isinstance(systems, str):
        section["systems"] = _existing(systems, base, source)
    elif isinstance(systems, dict) and "read_from" in systems:
        systems["read_from"] = _existing(systems["read_from"], base, source)
    for target in (section.get("targets") or {}).values():
        if isinstance(target, dict) and target.get("read_from"):
            target["read_from"] = _existing(target["read_from"], base, source)
    return section


def _existing(name: str, base: Path, source: Path) -> str:
    """``name`` as an absolute path from ``base``; it must exist."""
    path = (base / name).resolve()
    if not path.exists():
        raise RefineInputError(source, f"the data file {name} ({path}) does not exist")
    return str(path)


def training_files(options: Dict[str, Any]) -> List[str]:
    """The structure files of the training set."""
    sets = options["training_set"]
    files = []
    for section in sets if isinstance(sets, list) else [sets]:
        systems = section.get("systems") if isinstance(section, dict) else section
        if isinstance(systems, dict):
            systems = systems.get("read_from")
        if isinstance(systems, str):
            files.append(systems)
    return files


def hyper(options: Dict[str, Any], name: str, default: Any) -> Any:
    """A trainer hyper of the options (``architecture.training.NAME``)."""
    training = (options.get("architecture") or {}).get("training") or {}
    return training.get(name, default)


def round_options(
    base: Dict[str, Any],
    pair_options: List[Path],
    checkpoint: Path,
    epochs: int,
    learning_rate: float,
) -> Dict[str, Any]:
    """The options of a refinement round: ``base`` with the sets of every round's
    pairs options file added, fine-tuning ``checkpoint``; without metatrain's
    final evaluation of every set (the round's validation judges the model, and
    the evaluation of the training sets took a tenth of a round) unless ``base``
    sets ``final_eval``."""
    options = copy.deepcopy(base)
    options.setdefault("final_eval", False)
    for path in pair_options:
        extra = load_options(path)
        for name in ("training_set", "validation_set"):
            if name in extra and not isinstance(options.get(name), (int, float)):
                options[name] = _as_list(options.get(name)) + _as_list(extra[name])
    training = options.setdefault("architecture", {}).setdefault("training", {})
    training["num_epochs"] = int(epochs)
    training["learning_rate"] = float(learning_rate)
    training["finetune"] = {"method": "full", "read_from": str(checkpoint)}
    return options


def _as_list(section: Any) -> List[Any]:
    """A set section as a list of sections."""
    if section is None:
        return []
    return list(section) if isinstance(section, list) else [section]


def write_options(options: Dict[str, Any], path: Path) -> None:
    """Write ``options`` as YAML to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(options, sort_keys=False))


def run_mtt(arguments: List[str], directory: Path, log: Path) -> None:
    """``mtt ARGUMENTS`` in ``directory``, its output in ``log``.

    :raises RefineError: quoting the end of the log, if it fails, or naming
        the process if an ``mtt`` child of an earlier refine still runs there.
    """
    command = [sys.executable, "-m", "metatrain", *arguments]
    refuse_running_child(directory)
    with open(log, "a") as stream:
        stream.write(f"$ mtt {' '.join(arguments)}\n")
        stream.flush()
        process = subprocess.Popen(
            command, cwd=directory, stdout=stream, stderr=subprocess.STDOUT
        )
        with child_record(directory, process.pid):
            status = _wait(process)
    if status != 0:
        tail = "\n".join(log.read_text().splitlines()[-LOG_TAIL:])
        raise RefineError(
            f"mtt {arguments[0]} failed (exit status {status}); the end of {log}:\n"
            + tail
        )


def _wait(process: subprocess.Popen) -> int:
    """``process``'s exit status; killed with it if this wait is interrupted
    (Ctrl-C, or ``SIGTERM`` under :mod:`metatrain_flashmd.cli.stopping`)."""
    try:
        return process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise


def train(options_path: Path, directory: Path) -> None:
    """``mtt train`` on ``options_path`` in ``directory``: ``model.pt`` (exported)
    and ``model.ckpt``, renamed into place only when training finished."""
    log = directory / "train.log"
    run_mtt(
        ["train", str(Path(options_path).resolve()), "-o", "model.partial.pt"],
        directory,
        log,
    )
    os.replace(directory / "model.partial.ckpt", directory / "model.ckpt")
    os.replace(directory / "model.partial.pt", directory / "model.pt")


def export(checkpoint: Path, directory: Path, log: Optional[Path] = None) -> None:
    """``model.pt`` and ``model.ckpt`` in ``directory`` from ``checkpoint``."""
    log = log or directory / "train.log"
    directory.mkdir(parents=True, exist_ok=True)
    run_mtt(
        ["export", str(Path(checkpoint).resolve()), "-o", "model.partial.pt"],
        directory,
        log,
    )
    (directory / "model.ckpt.partial").write_bytes(Path(checkpoint).read_bytes())
    os.replace(directory / "model.ckpt.partial", directory / "model.ckpt")
    os.replace(directory / "model.partial.pt", directory / "model.pt")
