"""The model and the START structure of a validation, loaded and checked before
anything runs or is written; every error names the file at fault."""

import pathlib
from typing import Any, Tuple

import ase
import ase.io
from ase.constraints import FixCom
from metatomic.torch import AtomisticModel

from metatrain_flashmd.ase.base import check_masses, load_model, model_timestep_fs
from metatrain_flashmd.validation.errors import ValidationInputError


DEFAULT_TIME_PS = 10.0
"""Length of each validation run, ps, unless given (see :func:`default_time_ps`)."""
NVE_SEVERAL_ELEMENTS_TIME_PS = 40.0
"""Length in NVE with several elements, ps: with no thermostat to hold each
element, a drift between them shows only over tens of ps, and the means of a
few tens of atoms need that long to resolve a few % (108-atom Cu3Au, 10 ps: the
reference's own Au and Cu 6.6% apart; 40 ps: 2.9%)."""


def default_time_ps(ensemble: str, atoms: ase.Atoms) -> float:
    """The length of each validation run when none is given, ps:
    :data:`NVE_SEVERAL_ELEMENTS_TIME_PS` in NVE for ``atoms`` of several
    elements, :data:`DEFAULT_TIME_PS` otherwise."""
    several = len(set(atoms.numbers.tolist())) > 1
    if ensemble == "nve" and several:
        return NVE_SEVERAL_ELEMENTS_TIME_PS
    return DEFAULT_TIME_PS


def describe(source: Any, default: str) -> str:
    """How errors name ``source``: its path, or ``default`` for an object."""
    return str(source) if isinstance(source, (str, pathlib.PurePath)) else default


def load_flashmd_model(model: Any) -> Tuple[AtomisticModel, str, float]:
    """The exported FlashMD model, its name and its stride (fs).

    :param model: path of an exported model or a loaded one.
    :raises ValidationInputError: naming the file, if it is not a usable FlashMD
        model.
    """
    name = describe(model, "the model")
    try:
        loaded, _ = load_model(model)
        stride = model_timestep_fs(loaded)
    except (OSError, ValueError, RuntimeError) as error:
        raise ValidationInputError(name, str(error)) from error
    return loaded, name, stride


def read_start(start: Any) -> Tuple[ase.Atoms, str]:
    """The START structure (the last frame of a file, or a copy of atoms) and its
    name; momenta are kept when it has them.

    :raises ValidationInputError: naming the file, if it cannot be read or carries
        constraints other than FixCom.
    """
    name = describe(start, "START")
    if isinstance(start, ase.Atoms):
        atoms = start.copy()
    else:
        if not pathlib.Path(start).is_file():
            raise ValidationInputError(name, "no such structure file")
        try:
            atoms = ase.io.read(str(start), index=-1)
        except Exception as error:
            raise ValidationInputError(
                name, f"ASE cannot read it: {type(error).__name__}: {error}"
            ) from error
    atoms.calc = None
    others = [c for c in atoms.constraints if not isinstance(c, FixCom)]
    if others:
        raise ValidationInputError(
            name,
            "constraints other than FixCom ("
            + ", ".join(type(c).__name__ for c in others)
            + ") are not supported: FlashMD moves every atom",
        )
    if len(atoms) < 2:
        raise ValidationInputError(name, f"{len(atoms)} atom(s): nothing to validate")
    return atoms, name


def check_elements(
    atoms: ase.Atoms, model: AtomisticModel, start_name: str, model_name: str
) -> None:
    """Refuse a START with elements (or masses) the model was not trained on.

    :raises ValidationInputError: naming the START file and the model.
    """
    try:
        check_masses(atoms, model)
    except ValueError as error:
        raise ValidationInputError(start_name, f"{error} ({model_name})") from error
