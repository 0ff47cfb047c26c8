"""Output of ``mtt-flashmd pairs``: set file names, all-or-nothing writing, and the
``options.yaml`` for ``mtt train``."""

import os
import uuid
from pathlib import Path
from typing import Any, Dict, TextIO

import ase
import ase.data
import ase.io
import yaml

from .._names import (
    ARCHITECTURE_NAME,
    FUTURE_MOMENTA_KEY,
    FUTURE_POSITIONS_KEY,
    LENGTH_UNIT,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
    POSITION_TARGET_UNIT,
)


SET_NAMES = ("train", "val", "test")
"""Short names of the sets, used in the file names: ``pairs.xyz`` gives
``pairs-train.xyz``, ``pairs-val.xyz`` and ``pairs-test.xyz``."""
SET_LABELS = {"train": "training", "val": "validation", "test": "test"}
"""Names of the sets in messages."""
OPTIONS_SECTIONS = {
    "train": "training_set",
    "val": "validation_set",
    "test": "test_set",
}
"""The section of ``mtt train`` options holding each set."""
OUTPUT_SUFFIXES = (".xyz", ".extxyz")
"""Accepted suffixes of the output file (the pairs are written as extended XYZ)."""


class OutputError(ValueError):
    """Output paths that cannot be used."""


def set_file_paths(output: Any, fractions: Dict[str, float]) -> Dict[str, Path]:
    """The file of each set with a non-zero fraction: ``<stem>-<set><suffix>`` beside
    ``output`` (``pairs.xyz`` -> ``pairs-train.xyz``, ``pairs-val.xyz``,
    ``pairs-test.xyz``).

    :param output: the output path given by the user (``.xyz`` or ``.extxyz``).
    :param fractions: fraction of the frames of each set, by short set name.
    :raises OutputError: for another suffix or a missing directory.
    """
    output = Path(output)
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(
            f"{output}: the pairs are written as extended XYZ; name the output "
            f"with one of the suffixes {', '.join(OUTPUT_SUFFIXES)}"
        )
    check_directory(output)
    return {
        name: output.with_name(f"{output.stem}-{name}{output.suffix}")
        for name in SET_NAMES
        if fractions[name] > 0
    }


def check_directory(path: Path) -> None:
    """Refuse ``path`` if its directory does not exist."""
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the directory {path.parent} does not exist")


class OutputFiles:
    """Files written under temporary names beside their destinations, renamed over
    them by :meth:`commit`; if anything fails before, the temporary files are removed
    and existing files are left untouched.

    :param destinations: final path of each file, by key.
    """

    def __init__(self, destinations: Dict[str, Path]) -> None:
        self.destinations = dict(destinations)
        self.temporary: Dict[str, Path] = {}
        self.handles: Dict[str, TextIO] = {}
        self.committed = False

    def __enter__(self) -> "OutputFiles":
        try:
            tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
            for key, destination in self.destinations.items():
                temporary = destination.with_name(f".{destination.name}.{tag}.tmp")
                self.handles[key] = open(temporary, "x")
                self.temporary[key] = temporary
        except BaseException:
            self.discard()
            raise
        return self

    def write_atoms(self, key: str, atoms: ase.Atoms) -> None:
        """Append one structure to the file ``key`` (extended XYZ)."""
        ase.io.write(self.handles[key], atoms, format="extxyz")

    def write_text(self, key: str, text: str) -> None:
        """Write ``text`` to the file ``key``."""
        self.handles[key].write(text)

    def commit(self) -> None:
        """Close the files and move them to their destinations."""
        for handle in self.handles.values():
            handle.close()
        for key, temporary in self.temporary.items():
            os.replace(temporary, self.destinations[key])
        self.committed = True

    def discard(self) -> None:
        """Close and remove the temporary files."""
        for handle in self.handles.values():
            handle.close()
        for temporary in self.temporary.values():
            temporary.unlink(missing_ok=True)

    def __exit__(self, *exception: Any) -> None:
        if not self.committed:
            self.discard()


def dataset_section(path: str) -> Dict[str, Any]:
    """The ``mtt train`` options of one set of pairs in the file ``path``."""
    return {
        "systems": {"read_from": path, "reader": "ase", "length_unit": LENGTH_UNIT},
        "targets": {
            POSITION: {
                "key": FUTURE_POSITIONS_KEY,
                "unit": POSITION_TARGET_UNIT,
                "type": {"cartesian": {"rank": 1}},
                "sample_kind": "atom",
            },
            MOMENTUM: {
                "key": FUTURE_MOMENTA_KEY,
                "unit": MOMENTUM_UNIT,
                "type": {"cartesian": {"rank": 1}},
                "sample_kind": "atom",
            },
        },
    }


def options_text(
    set_files: Dict[str, Path],
    options_path: Path,
    timestep: float,
    masses: Dict[int, float],
    time_reversal: bool = True,
) -> str:
    """``options.yaml`` for ``mtt train`` on the written pairs, with the stride and
    the masses found in the data.

    :param set_files: file of each set, by short set name.
    :param options_path: where the options will be written; the set files are named
        relative to its directory.
    :param timestep: time between the frames of a pair, fs.
    :param masses: mass of each element found in the data, u, by atomic number.
    :param time_reversal: whether ``mtt train`` is to reverse the pairs on the fly
        (its default); off when the files hold the reversed twins already.
    """
    training: Dict[str, Any] = {
        "timestep": float(timestep),
        "masses": {int(z): float(mass) for z, mass in sorted(masses.items())},
    }
    if not time_reversal:
        training["time_reversal"] = False
    document: Dict[str, Any] = {
        "architecture": {"name": ARCHITECTURE_NAME, "training": training}
    }
    for name, path in set_files.items():
        relative = Path(os.path.relpath(path, options_path.parent)).as_posix()
        document[OPTIONS_SECTIONS[name]] = dataset_section(relative)
    header = (
        "# Options for `mtt train`, written by `mtt-flashmd pairs`.\n"
        "# The data files are named relative to the directory of this file:\n"
        "# run `mtt train` from that directory. training.masses: u, by atomic\n"
        "# number, as found in the data.\n"
    )
    if time_reversal:
        header += (
            "# Time reversal: `mtt train` reverses each training pair at random on\n"
            "# the fly (training.time_reversal, on by default); the files hold\n"
            "# the pairs in their recorded direction only.\n"
        )
    else:
        header += (
            "# The files hold each pair and its time-reversed twin, so\n"
            "# training.time_reversal is off: `mtt train` would reverse them again.\n"
        )
    return header + yaml.safe_dump(document, sort_keys=False)
