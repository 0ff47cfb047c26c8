"""The replicas of structure files, each labelled with its file and frame: what a
multi-structure ``mtt-flashmd md`` runs.

Either one replica per file, from its last frame (as ``mtt-flashmd md`` starts a
single run), or one replica per frame of every file. The labels name the file and
the frame (``a.xyz, last frame``, ``b.xyz, frame 3``, frames counted from 0), so
that every message about a replica says where it came from.
"""

import pathlib
from typing import List, Optional, Sequence, Tuple, Union

import ase

from metatrain_flashmd.ase.structure import read_all_frames, read_last_frame
from metatrain_flashmd.replicas.checks import ReplicaInputError


Path = Union[str, pathlib.Path]


def structures_from_files(
    paths: Sequence[Path],
    every_frame: bool = False,
    file_format: Optional[str] = None,
) -> List[Tuple[ase.Atoms, str]]:
    """The starting atoms and label of each replica of ``paths``, in order.

    :param paths: structure files (any format ASE reads).
    :param every_frame: one replica per frame of each file, rather than one per
        file from its last frame.
    :param file_format: ASE format name of the files; guessed from each name when
        ``None``.
    :return: (atoms, label) per replica, as
        :func:`~metatrain_flashmd.replicas.run_replicas` takes them.
    :raises ReplicaInputError: naming the file that is missing or unreadable, or
        has no frames.
    """
    structures: List[Tuple[ase.Atoms, str]] = []
    for path in paths:
        name = str(path)
        try:
            if not every_frame:
                structures.append((read_last_frame(name, file_format), last(name)))
                continue
            frames = read_all_frames(name, file_format)
        except OSError as error:
            reason = error.strerror or str(error)
            raise ReplicaInputError(f"cannot read {name}: {reason}") from error
        except ValueError as error:
            raise ReplicaInputError(str(error)) from error
        if not frames:
            raise ReplicaInputError(f"{name} has no frames")
        structures += [(atoms, frame(name, k)) for k, atoms in enumerate(frames)]
    return structures


def last(path: str) -> str:
    """The label of the replica from the last frame of ``path``."""
    return f"{path}, last frame"


def frame(path: str, index: int) -> str:
    """The label of the replica from frame ``index`` (from 0) of ``path``."""
    return f"{path}, frame {index}"
