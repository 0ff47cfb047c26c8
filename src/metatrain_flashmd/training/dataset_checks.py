"""Checks of the dataset files against the trainer's hyperparameters."""

from pathlib import Path
from typing import Iterator, Tuple

import ase.io
from omegaconf import OmegaConf

from .._names import TIMESTEP_INFO_KEY


def _system_files(options_path: Path) -> Iterator[Tuple[str, str]]:
    """(set name, file) of every dataset file named in an ``mtt train`` options file."""
    options = OmegaConf.to_container(OmegaConf.load(options_path), resolve=False)
    for set_name in ("training_set", "validation_set", "test_set"):
        sections = options.get(set_name)
        if isinstance(sections, dict):
            sections = [sections]
        if not isinstance(sections, list):
            continue
        for section in sections:
            systems = section.get("systems") if isinstance(section, dict) else None
            if isinstance(systems, dict):
                systems = systems.get("read_from")
            if isinstance(systems, str):
                yield set_name, systems


def check_recorded_timesteps(checkpoint_dir: Path, timestep: float) -> None:
    """Refuse dataset files whose recorded stride differs from ``timestep`` (fs).

    ``mtt train`` writes the complete options to ``options_restart.yaml`` in the
    output directory before training; the first structure of each dataset file it
    names is read, and if it records a stride (``mtt-flashmd pairs`` writes it in the
    info key ``flashmd_timestep``, fs), the stride must equal ``timestep``.
    """
    options_path = checkpoint_dir / "options_restart.yaml"
    if not options_path.exists():
        return
    for set_name, path in _system_files(options_path):
        if not Path(path).exists():
            continue
        try:
            first = ase.io.read(path, index=0)
        except Exception:  # unreadable files are reported by metatrain's reader
            continue
        recorded = first.info.get(TIMESTEP_INFO_KEY)
        if recorded is None:
            continue
        if abs(float(recorded) - timestep) > 1e-6 * max(1.0, abs(timestep)):
            raise ValueError(
                f"{set_name} file '{path}' holds pairs {float(recorded)} fs apart "
                f"(info key '{TIMESTEP_INFO_KEY}'), but training.timestep is "
                f"{timestep} fs. Set timestep: {float(recorded)} or rebuild the pairs "
                "with the stride you want."
            )
