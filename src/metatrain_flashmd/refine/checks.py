"""Everything a refine checks before it does any work; every error names the
file (or calculator) at fault, and nothing already written is touched."""

import dataclasses
import logging
from pathlib import Path, PurePath
from typing import Any, Dict, List, Optional

import ase
import ase.io
import numpy as np

from metatrain_flashmd.observables.temperature import temperature
from metatrain_flashmd.refine.errors import RefineInputError
from metatrain_flashmd.refine.training import hyper, load_options, training_files
from metatrain_flashmd.validation.calculators import check_calculator, make_calculator
from metatrain_flashmd.validation.inputs import (
    DEFAULT_TIME_PS,
    default_time_ps,
    read_start,
)
from metatrain_flashmd.validation.reference_cache import reference_identity
from metatrain_flashmd.validation.workflow import ENSEMBLES, MIN_STRIDES


LOG = logging.getLogger(__name__)
TEMPERATURE_NOTE = 0.25
"""A note is given when the training data's mean temperature is further than
this fraction from the validation temperature."""


@dataclasses.dataclass
class Inputs:
    """The checked inputs of a refine."""

    options: Dict[str, Any]
    """The base ``mtt train`` options, data paths absolute."""
    atoms: ase.Atoms
    """The START structure."""
    start_name: str
    calculator: Any
    reference_name: str
    data_frames: List[ase.Atoms]
    """Frames sampled from the training data."""
    reference_identity: Optional[str] = None
    """What identifies the reference in the validations' reference cache
    (``None``: a calculator object, not cached)."""
    time_ps: float = DEFAULT_TIME_PS
    """Length of each validation run, ps: the one given, or
    :func:`~metatrain_flashmd.validation.inputs.default_time_ps` for START."""


def check_inputs(
    options: Any,
    start: Any,
    reference: Any,
    temperature_K: float,
    rounds: int,
    time_ps: Optional[float],
    checkpoint: Optional[Any],
    device: Optional[str],
    ensemble: str = "nvt",
) -> Inputs:
    """Load and check every input of :func:`~metatrain_flashmd.refine.refine`
    (``time_ps`` ``None``: chosen for START and ``ensemble``).

    :raises RefineInputError: for the first problem, naming its file or option.
    """
    if not temperature_K > 0:
        raise RefineInputError("--temperature", "must be positive")
    if rounds < 0:
        raise RefineInputError("--rounds", "must not be negative")
    if time_ps is not None and not time_ps > 0:
        raise RefineInputError("--time-ps", "must be positive")
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise RefineInputError(checkpoint, "no such checkpoint file")
    loaded = load_options(options)
    atoms, start_name = read_start(start)
    if time_ps is None:
        time_ps = default_time_ps(ensemble, atoms)
    check_time(loaded, time_ps)
    from metatrain_flashmd.refine.trouble import sample_frames

    files = training_files(loaded)
    try:
        frames = sample_frames(files)
    except Exception as error:
        raise RefineInputError(
            options, f"cannot read its training data {files}: {error}"
        ) from error
    if not frames:
        raise RefineInputError(options, "its training set holds no structure")
    check_composition(atoms, start_name, frames, str(options), temperature_K)
    calculator = make_calculator(reference, device)
    name = type(calculator).__name__
    if isinstance(reference, (str, PurePath)):
        name = str(reference)
    check_calculator(calculator, atoms, name, start_name)
    identity = reference_identity(reference)
    return Inputs(
        loaded, atoms, start_name, calculator, name, frames, identity, time_ps
    )


def check_ensemble(ensemble: str) -> str:
    """``ensemble``, if refine can validate in it (those of ``validate``).

    :raises RefineInputError: naming ``--ensemble`` otherwise.
    """
    if ensemble not in ENSEMBLES:
        raise RefineInputError(
            "--ensemble", f"must be one of {', '.join(ENSEMBLES)}, not {ensemble!r}"
        )
    return ensemble


def check_time(options: Dict[str, Any], time_ps: float) -> None:
    """Refuse validation runs shorter than
    :data:`~metatrain_flashmd.validation.workflow.MIN_STRIDES` strides, before any
    round starts."""
    stride = hyper(options, "timestep", None)
    if stride is None:
        return
    needed = MIN_STRIDES
    if time_ps * 1000.0 < needed * float(stride):
        raise RefineInputError(
            "--time-ps",
            f"{time_ps:g} ps is fewer than {needed} strides of {float(stride):g} fs: "
            f"too short to validate (give at least {needed * float(stride) / 1000:g})",
        )


def check_composition(
    atoms: ase.Atoms,
    start_name: str,
    frames: List[ase.Atoms],
    options_name: str,
    temperature_K: float,
) -> None:
    """Refuse a START with elements absent from the training data; note a
    training set of other proportions or temperature."""
    known = {z for frame in frames for z in frame.numbers.tolist()}
    unknown = sorted(set(atoms.numbers.tolist()) - known)
    if unknown:
        symbols = ", ".join(ase.data.chemical_symbols[z] for z in unknown)
        have = ", ".join(ase.data.chemical_symbols[z] for z in sorted(known))
        raise RefineInputError(
            start_name,
            f"element(s) {symbols} are not in the training data of {options_name} "
            f"(which has {have}): the model cannot learn them",
        )
    data, start = frames[0].get_chemical_formula(), atoms.get_chemical_formula()
    if _proportions(frames[0]) != _proportions(atoms):
        LOG.warning(
            f"note: {options_name}: the training data ({data}) has other proportions "
            f"of the elements than {start_name} ({start})"
        )
    mean = float(
        np.mean([temperature(f.get_momenta(), f.get_masses()) for f in frames])
    )
    if abs(mean / temperature_K - 1.0) > TEMPERATURE_NOTE:
        LOG.warning(
            f"note: {options_name}: the training data's mean temperature is "
            f"{mean:.0f} K, far from --temperature {temperature_K:g} K"
        )


def _proportions(atoms: ase.Atoms) -> Dict[int, float]:
    """Fraction of each element, rounded."""
    numbers = atoms.numbers.tolist()
    return {z: round(numbers.count(z) / len(numbers), 3) for z in set(numbers)}
