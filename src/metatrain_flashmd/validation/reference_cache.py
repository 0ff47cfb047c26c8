"""Reference runs kept on disk, so that validations of several models from the
same start (every round of ``refine``, or models compared by hand) run the
reference MD once.

A run is stored under a key that hashes everything that determines it: the start
(atomic numbers, masses, positions, momenta, cell, periodicity), the identity of
the reference (the text ``emt`` or ``package.module:function``, or the SHA-256 of
an MLIP file's content), the ensemble, stride, number of strides, largest
reference timestep, in NVT the thermostat, temperature, time constant, the
state of the random generator of its bath and how the bath is split around the
strides, and the versions of this package and of ASE. A calculator given as a
Python object has no such identity, and its runs are not cached. The key
assumes that a ``package.module:function`` reference keeps returning the same
calculator.
"""

import dataclasses
import hashlib
import json
import logging
import os
from pathlib import Path, PurePath
from typing import Any, Dict, Optional

import ase
import numpy as np

from metatrain_flashmd.observables.trajectory import Trajectory


LOG = logging.getLogger(__name__)
CACHE_FORMAT = 1
"""Version of the stored files; a change of format changes every key."""
_ARRAYS = ("time_fs", "positions", "momenta", "numbers", "masses", "cell", "pbc")


def reference_identity(reference: Any) -> Optional[str]:
    """What identifies a reference calculator across runs: ``sha256:...`` of the
    file for the path of an existing file, the text itself for ``emt`` or an
    import path, ``None`` for a calculator object (not cacheable)."""
    if not isinstance(reference, (str, PurePath)):
        return None
    path = Path(reference)
    if path.is_file():
        digest = hashlib.sha256()
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        return f"sha256:{digest.hexdigest()}"
    return str(reference)


def reference_key(start: ase.Atoms, identity: str, run: Dict[str, Any]) -> str:
    """The key (hex SHA-256) of a reference run from ``start`` with the reference
    ``identity`` and the run's settings ``run`` (JSON-serialisable)."""
    from metatrain_flashmd import __version__

    digest = hashlib.sha256()
    described = dict(
        format=CACHE_FORMAT,
        reference=identity,
        run=run,
        versions=[__version__, ase.__version__],
    )
    digest.update(json.dumps(described, sort_keys=True, default=str).encode())
    for values in (
        start.numbers,
        start.get_masses(),
        start.positions,
        start.get_momenta(),
        start.cell.array,
        start.pbc,
    ):
        digest.update(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return digest.hexdigest()


def load_reference(directory: Path, key: str) -> Optional[Trajectory]:
    """The stored run of ``key`` in ``directory``, or ``None`` when there is none
    (or the file cannot be read: it is then made again)."""
    path = Path(directory) / f"{key}.npz"
    if not path.exists():
        return None
    try:
        with open(path, "rb") as stream, np.load(stream) as stored:
            arrays = {name: stored[name] for name in _ARRAYS}
            energy = stored["potential_energy"]
            fixed = bool(stored["momentum_fixed"])
    except Exception as error:  # a truncated or foreign file: make it again
        LOG.warning(f"reference cache: cannot read {path} ({error}); running again")
        return None
    LOG.info(f"reference MD: reusing {path}")
    return Trajectory(**arrays, potential_energy=energy, momentum_fixed=fixed)


def store_reference(directory: Path, key: str, trajectory: Trajectory) -> Path:
    """Write ``trajectory`` as ``directory/key.npz`` (written to a temporary
    file first, so that an interrupted write leaves no partial entry)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{key}.npz"
    temporary = directory / f".{key}.{os.getpid()}.partial.npz"
    fields = dataclasses.asdict(trajectory)
    np.savez(temporary, **fields)
    temporary.replace(path)
    return path
