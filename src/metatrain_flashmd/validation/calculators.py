"""The reference calculator of a validation: named, loaded and tried on the system
before anything runs.

A reference is ``"emt"`` (ASE's EMT), the path of an exported metatomic model with
an ``energy`` output (an MLIP, run through metatomic-ase), or
``"package.module:function"``, a function called without arguments that returns
any ASE calculator.
"""

import importlib
import math
import pathlib
from typing import Any, Optional

import ase
import numpy as np

from metatrain_flashmd.validation.errors import ValidationInputError


BUILTIN_REFERENCES = ("emt",)
"""Reference calculators known by name."""


def make_calculator(spec: Any, device: Optional[str] = None) -> Any:
    """The ASE calculator a reference names (see the module docstring); an object
    that is already a calculator is returned as is.

    :param spec: ``"emt"``, a ``.pt`` path, ``"package.module:function"``, or a
        calculator.
    :param device: torch device for a metatomic model (``None`` picks one).
    :raises ValidationInputError: naming the reference, if it cannot be made.
    """
    if not isinstance(spec, (str, pathlib.PurePath)):
        if not hasattr(spec, "get_potential_energy"):
            raise ValidationInputError(repr(spec), "not an ASE calculator")
        return spec
    text = str(spec)
    if text.lower() == "emt":
        from ase.calculators.emt import EMT

        return EMT()
    path = pathlib.Path(text)
    if path.suffix == ".pt" or path.exists():
        return _metatomic_calculator(path, device)
    if ":" in text:
        return _imported_calculator(text)
    raise ValidationInputError(
        text,
        "unknown reference: give 'emt', an exported metatomic model (.pt) with an "
        "energy output, or 'package.module:function' returning an ASE calculator",
    )


def _metatomic_calculator(path: pathlib.Path, device: Optional[str]) -> Any:
    """metatomic-ase's calculator for the model at ``path`` (energy and forces)."""
    if not path.is_file():
        raise ValidationInputError(path, "no such reference model file")
    from metatomic.torch import load_atomistic_model
    from metatomic_ase import MetatomicCalculator

    try:
        model = load_atomistic_model(str(path))
    except Exception as error:
        raise ValidationInputError(
            path, f"cannot load it as an exported metatomic model: {error}"
        ) from error
    outputs = model.capabilities().outputs
    if "energy" not in outputs:
        raise ValidationInputError(
            path,
            "this metatomic model has no 'energy' output (it gives "
            f"{', '.join(outputs) or 'nothing'}): the reference must be an "
            "interatomic potential, not a FlashMD model",
        )
    return MetatomicCalculator(model, device=device)


def _imported_calculator(spec: str) -> Any:
    """The calculator returned by the function ``package.module:function``."""
    module_name, _, function_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ValidationInputError(
            spec, f"cannot import the module '{module_name}': {error}"
        ) from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValidationInputError(
            spec, f"the module '{module_name}' has no function '{function_name}'"
        )
    try:
        calculator = function()
    except Exception as error:
        raise ValidationInputError(
            spec, f"calling {function_name}() failed: {type(error).__name__}: {error}"
        ) from error
    if not hasattr(calculator, "get_potential_energy"):
        raise ValidationInputError(
            spec,
            f"{function_name}() returned a {type(calculator).__name__}, not an ASE "
            "calculator",
        )
    return calculator


def check_calculator(
    calculator: Any, atoms: ase.Atoms, reference: str, structure: str
) -> None:
    """Ask ``calculator`` for the energy and forces of ``atoms`` once.

    :param reference: the reference's name, for errors.
    :param structure: the structure's file name, for errors.
    :raises ValidationInputError: if it fails or gives non-finite values.
    """
    probe = atoms.copy()
    probe.calc = calculator
    try:
        energy = probe.get_potential_energy()
        forces = probe.get_forces()
    except Exception as error:
        raise ValidationInputError(
            reference,
            f"the reference calculator cannot handle {structure} "
            f"({probe.get_chemical_formula()}): {type(error).__name__}: {error}",
        ) from error
    if not (math.isfinite(float(energy)) and np.isfinite(forces).all()):
        raise ValidationInputError(
            reference,
            f"the reference calculator gives non-finite energies or forces for "
            f"{structure}",
        )
