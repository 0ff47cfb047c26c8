r"""How one stride of a model errs on pairs of reference frames.

Given pairs (a frame at :math:`t` with the true positions and momenta at
:math:`t + \Delta t`, the format of ``mtt-flashmd pairs``), the model predicts each
pair once, and :func:`stride_diagnostics` reports, per element:

- the kinetic energy the model adds per stride over the true one, as a
  temperature (K per atom and stride, 3 degrees of freedom per atom), with its
  standard error: a model that adds kinetic energy heats an NVE run, and an NVT
  run settles above the bath (:func:`thermostat_offset`);
- the root mean square errors of the mass-scaled displacement
  :math:`\sqrt{m}\,\Delta q` (A u^(1/2)) and of the velocity-like momentum
  :math:`p/\sqrt{m}` ((eV)^(1/2));

and, over all atoms, the least-squares slopes (through the origin) of predicted
on true displacements, momenta and momentum changes: 1 for an unbiased map; below
1 the model shrinks its predictions toward the mean (regression to the mean, which
cools a run).
"""

import dataclasses
from typing import Any, Dict, Optional, Sequence

import ase
import ase.data
import ase.units
import numpy as np
import torch
from metatomic.torch import ModelOutput

from metatrain_flashmd._names import (
    FUTURE_MOMENTA_KEY,
    FUTURE_POSITIONS_KEY,
    LENGTH_UNIT,
    MOMENTUM,
    MOMENTUM_UNIT,
    POSITION,
)
from metatrain_flashmd.ase.base import ModelLike, load_model, make_engine


KELVIN_PER_EV_PER_ATOM = 2.0 / (3.0 * ase.units.kB)
"""Kinetic energy per atom (eV) -> temperature (K), 3 degrees of freedom."""


@dataclasses.dataclass
class StrideData:
    """The pairs' atoms, stacked: (n, 3) arrays over all atoms of all pairs."""

    positions: np.ndarray
    """Positions at t, A."""
    momenta: np.ndarray
    """Momenta at t, (eV*u)^(1/2)."""
    positions_true: np.ndarray
    """True positions at t + stride (unwrapped against t), A."""
    momenta_true: np.ndarray
    """True momenta at t + stride, (eV*u)^(1/2)."""
    positions_pred: np.ndarray
    """Predicted positions at t + stride, A."""
    momenta_pred: np.ndarray
    """Predicted momenta at t + stride, (eV*u)^(1/2)."""
    masses: np.ndarray
    """(n,) masses, u."""
    numbers: np.ndarray
    """(n,) atomic numbers."""


def predict_pairs(
    model: ModelLike, pairs: Sequence[ase.Atoms], device: Optional[str] = None
) -> StrideData:
    """Predict every pair once with ``model``.

    :param model: exported FlashMD model (path or loaded).
    :param pairs: frames at t with momenta and the arrays ``future_positions`` (A)
        and ``future_momenta`` ((eV*u)^(1/2)).
    :param device: torch device (``None`` picks one).
    :raises ValueError: if a pair lacks one of those arrays.
    """
    loaded, _ = load_model(model)
    engine = make_engine(loaded, device)
    outputs = {
        POSITION: ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
        MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
    }
    names = [field.name for field in dataclasses.fields(StrideData)]
    columns: Dict[str, list] = {name: [] for name in names}
    for index, pair in enumerate(pairs):
        for key in ("momenta", FUTURE_POSITIONS_KEY, FUTURE_MOMENTA_KEY):
            if key not in pair.arrays:
                raise ValueError(f"pair {index} has no '{key}' array: not a pair")
        atoms = pair.copy()
        atoms.calc = None
        with torch.no_grad():
            results = engine.run_model(atoms, outputs)
        for name, key in (("positions_pred", POSITION), ("momenta_pred", MOMENTUM)):
            values = results[key].block().values.reshape(-1, 3)
            columns[name].append(values.to("cpu", torch.float64).numpy())
        columns["positions"].append(pair.positions)
        columns["momenta"].append(pair.arrays["momenta"])
        columns["positions_true"].append(pair.arrays[FUTURE_POSITIONS_KEY])
        columns["momenta_true"].append(pair.arrays[FUTURE_MOMENTA_KEY])
        columns["masses"].append(pair.get_masses())
        columns["numbers"].append(pair.numbers)
    return StrideData(**{key: np.concatenate(value) for key, value in columns.items()})


def slope(predicted: np.ndarray, true: np.ndarray) -> float:
    """Least-squares slope through the origin of ``predicted`` on ``true``."""
    return float((predicted * true).sum() / (true * true).sum())


def stride_diagnostics(data: StrideData) -> Dict[str, Any]:
    """The figures described in the module docstring.

    :return: ``elements``: for each chemical symbol, ``samples`` (atoms times
        pairs), ``kinetic_bias_K`` and its standard error
        ``kinetic_bias_error_K`` (K per atom and stride), ``rms_position``
        (A u^(1/2)) and ``rms_momentum`` ((eV)^(1/2)); ``slopes``:
        ``displacement``, ``momentum`` and ``momentum_change``.
    """
    masses = data.masses[:, None]
    root_mass = np.sqrt(masses)
    kinetic_pred = 0.5 * (data.momenta_pred**2 / masses).sum(axis=1)
    kinetic_true = 0.5 * (data.momenta_true**2 / masses).sum(axis=1)
    bias = (kinetic_pred - kinetic_true) * KELVIN_PER_EV_PER_ATOM
    position_error = (data.positions_pred - data.positions_true) * root_mass
    momentum_error = (data.momenta_pred - data.momenta_true) / root_mass
    elements = {}
    for z in sorted(set(data.numbers)):
        mask = data.numbers == z
        elements[ase.data.chemical_symbols[z]] = {
            "samples": int(mask.sum()),
            "kinetic_bias_K": float(bias[mask].mean()),
            "kinetic_bias_error_K": float(bias[mask].std() / np.sqrt(mask.sum())),
            "rms_position": float(np.sqrt((position_error[mask] ** 2).mean())),
            "rms_momentum": float(np.sqrt((momentum_error[mask] ** 2).mean())),
        }
    velocity_pred = data.momenta_pred / root_mass
    velocity_true = data.momenta_true / root_mass
    velocity_now = data.momenta / root_mass
    slopes = {
        "displacement": slope(
            data.positions_pred - data.positions, data.positions_true - data.positions
        ),
        "momentum": slope(velocity_pred, velocity_true),
        "momentum_change": slope(
            velocity_pred - velocity_now, velocity_true - velocity_now
        ),
    }
    return {"elements": elements, "slopes": slopes}


def thermostat_offset(
    kinetic_bias_K: float, stride_fs: float, time_constant_fs: float, thermostat: str
) -> float:
    r"""Temperature offset (K) at which a thermostat balances a model that adds
    ``kinetic_bias_K`` per stride: the bath removes :math:`(T - T_0) \Delta t /
    \tau` per stride from a Bussi-coupled system and twice that under Langevin
    dynamics (which relaxes momenta, and so kinetic energy at twice the rate), so
    that :math:`T - T_0 = b\,\tau/\Delta t` (Bussi) or :math:`b\,\tau / 2\Delta t`
    (Langevin).

    :param kinetic_bias_K: kinetic energy added per stride, K per atom.
    :param stride_fs: the stride, fs.
    :param time_constant_fs: the thermostat's time constant, fs.
    :param thermostat: ``"langevin"`` or ``"bussi"``.
    """
    rate = 2.0 if thermostat == "langevin" else 1.0
    return float(kinetic_bias_K * time_constant_fs / (rate * stride_fs))
