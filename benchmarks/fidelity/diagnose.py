"""Per-stride diagnostics behind the fidelity findings (not part of the pipeline).

Two commands::

    # how one stride of a model errs on pairs of reference frames, per element
    python benchmarks/fidelity/diagnose.py stride MODEL.pt PAIRS.xyz

    # reference EMT NVE from the last frame of a FlashMD run (a state the model
    # visited), written for ``mtt-flashmd pairs``
    python benchmarks/fidelity/diagnose.py restart RUN.npz OUT.extxyz --duration-fs 2400

``stride`` prints, for each element, the mean temperature of the true frames at
t + stride (``metatrain_flashmd.observables.temperature``), the mean change of
kinetic energy per stride that the model adds over the true one (K per atom and
stride, 3 degrees of freedom per atom, with its standard error: a drift of the
element's temperature under NVE), and the RMS errors of the mass-scaled
displacement (A u^(1/2)) and velocity-like momenta ((eV)^(1/2)); then, over all
atoms, the regression slopes of predicted on true displacement, momentum and
momentum change (1 for an unbiased map; below 1, the model shrinks toward the
mean).
"""

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional

import ase
import ase.io
import ase.units
import numpy as np
import torch


sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]  # shared systems.py

KELVIN_PER_EV_PER_DOF = 1.0 / ase.units.kB
"""Kinetic energy per degree of freedom (eV) -> temperature (K), times 2."""


def predict_pairs(model_path: str, pairs: List[ase.Atoms]) -> Dict[str, np.ndarray]:
    """Predicted and true positions and momenta at t + stride for every pair
    (arrays over all atoms of all pairs, shape (n, 3)), with masses and symbols."""
    from metatomic.torch import ModelOutput

    from metatrain_flashmd._names import (
        FUTURE_MOMENTA_KEY,
        FUTURE_POSITIONS_KEY,
        LENGTH_UNIT,
        MOMENTUM,
        MOMENTUM_UNIT,
        POSITION,
    )
    from metatrain_flashmd.ase.base import load_model, make_engine

    model, _ = load_model(model_path)
    engine = make_engine(model, "cpu")
    outputs = {
        POSITION: ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
        MOMENTUM: ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
    }
    columns: Dict[str, List[np.ndarray]] = {}
    for index, pair in enumerate(pairs):
        for key in ("momenta", FUTURE_POSITIONS_KEY, FUTURE_MOMENTA_KEY):
            if key not in pair.arrays:
                raise ValueError(f"pair {index} has no '{key}' array: not a pairs file")
        atoms = pair.copy()
        atoms.set_momenta(pair.arrays["momenta"])
        with torch.no_grad():
            results = engine.run_model(atoms, outputs)
        values = {
            "positions_pred": results[POSITION].block().values,
            "momenta_pred": results[MOMENTUM].block().values,
        }
        row = {k: v.reshape(-1, 3).double().numpy() for k, v in values.items()}
        row["positions"] = pair.positions
        row["momenta"] = pair.arrays["momenta"]
        row["positions_true"] = pair.arrays[FUTURE_POSITIONS_KEY]
        row["momenta_true"] = pair.arrays[FUTURE_MOMENTA_KEY]
        row["masses"] = pair.get_masses()[:, None]
        row["symbols"] = np.array(pair.get_chemical_symbols())[:, None]
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    return {key: np.concatenate(value) for key, value in columns.items()}


def slope(predicted: np.ndarray, true: np.ndarray) -> float:
    """Least-squares slope through the origin of ``predicted`` on ``true``."""
    return float((predicted * true).sum() / (true * true).sum())


def true_temperatures(pairs: List[ase.Atoms]) -> Dict[str, float]:
    """Mean temperature (K) of each element in the true frames at t + stride, by
    the package's definition with the total momentum fixed.

    :raises ValueError: if the pairs are not all of the same atoms.
    """
    from metatrain_flashmd._names import FUTURE_MOMENTA_KEY
    from metatrain_flashmd.observables.temperature import element_temperatures

    first = pairs[0]
    if any(not np.array_equal(pair.numbers, first.numbers) for pair in pairs):
        raise ValueError("the pairs are not all of the same atoms")
    momenta = np.stack([pair.arrays[FUTURE_MOMENTA_KEY] for pair in pairs])
    values = element_temperatures(first.numbers, first.get_masses(), momenta)
    return {symbol: float(value.mean()) for symbol, value in values.items()}


def stride_report(data: Dict[str, np.ndarray], temperatures: Dict[str, float]) -> str:
    """The per-element and global figures described in the module docstring;
    ``temperatures`` from :func:`true_temperatures`."""
    masses = data["masses"]
    root_mass = np.sqrt(masses)
    kinetic_pred = 0.5 * (data["momenta_pred"] ** 2 / masses).sum(axis=1)
    kinetic_true = 0.5 * (data["momenta_true"] ** 2 / masses).sum(axis=1)
    to_kelvin = 2.0 / 3.0 * KELVIN_PER_EV_PER_DOF
    position_error = (data["positions_pred"] - data["positions_true"]) * root_mass
    momentum_error = (data["momenta_pred"] - data["momenta_true"]) / root_mass
    symbols = data["symbols"][:, 0]
    lines = [
        "| element | atoms x pairs | T true (K) | KE bias (K/stride) "
        "| RMS sqrt(m) dx (A u^1/2) | RMS p/sqrt(m) (eV^1/2) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for symbol in sorted(set(symbols)):
        mask = symbols == symbol
        bias = (kinetic_pred[mask] - kinetic_true[mask]) * to_kelvin
        error = bias.std() / np.sqrt(mask.sum())
        lines.append(
            f"| {symbol} | {mask.sum()} | {temperatures[symbol]:.0f} "
            f"| {bias.mean():+.2f} ({error:.2f}) "
            f"| {np.sqrt((position_error[mask] ** 2).mean()):.4f} "
            f"| {np.sqrt((momentum_error[mask] ** 2).mean()):.4f} |"
        )
    displacement_pred = data["positions_pred"] - data["positions"]
    displacement_true = data["positions_true"] - data["positions"]
    velocity = {k: data[k] / root_mass for k in ("momenta_pred", "momenta_true")}
    change = {k: v - data["momenta"] / root_mass for k, v in velocity.items()}
    slopes = {
        "displacement": slope(displacement_pred, displacement_true),
        "momentum": slope(velocity["momenta_pred"], velocity["momenta_true"]),
        "momentum change": slope(change["momenta_pred"], change["momenta_true"]),
    }
    lines += ["", "slopes of predicted on true (1 = unbiased):"]
    lines += [f"  {name:<16} {value:.4f}" for name, value in slopes.items()]
    return "\n".join(lines)


def restart(run: Path, output: Path, duration_fs: float, frame_interval: int) -> None:
    """EMT NVE (1 fs steps) from the last frame of the FlashMD run ``run``."""
    import systems

    from metatrain_flashmd.observables.temperature import element_temperatures

    trajectory = systems.load_trajectory(run)
    atoms = ase.Atoms(
        numbers=trajectory.numbers,
        positions=trajectory.positions[-1],
        cell=trajectory.cell,
        pbc=True,
        masses=trajectory.masses,
    )
    atoms.set_momenta(trajectory.momenta[-1])
    # the run keeps its total momentum at zero, and so does EMT NVE from its end
    numbers, masses = trajectory.numbers, trajectory.masses
    first = element_temperatures(numbers, masses, trajectory.momenta[-1])
    print("start:", _temperatures(first))
    systems.emt_nve(atoms, duration_fs, frame_interval, output)
    last = ase.io.read(output, index=-1).get_momenta()
    print("end:  ", _temperatures(element_temperatures(numbers, masses, last)))
    print(f"wrote {output}; make pairs with `mtt-flashmd pairs {output} --lag ...`")


def _temperatures(temperatures: Dict[str, np.ndarray]) -> str:
    """``Au 1870 K, Cu 450 K``."""
    return ", ".join(f"{k} {v:.0f} K" for k, v in temperatures.items())


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    commands = parser.add_subparsers(dest="command", required=True)
    stride = commands.add_parser("stride", help="per-stride errors on pairs")
    stride.add_argument("model", help="exported FlashMD model (.pt)")
    stride.add_argument("pairs", help="pairs file written by mtt-flashmd pairs")
    again = commands.add_parser("restart", help="EMT NVE from a run's last frame")
    again.add_argument("run", type=Path, help="FlashMD run (.npz of the benchmark)")
    again.add_argument("output", type=Path, help="extxyz to write")
    again.add_argument("--duration-fs", type=float, default=2400.0)
    again.add_argument("--frame-interval", type=int, default=2, help="steps (fs)")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(arguments.threads)
    if arguments.command == "stride":
        pairs = ase.io.read(arguments.pairs, index=":")
        data = predict_pairs(arguments.model, pairs)
        print(stride_report(data, true_temperatures(pairs)))
    else:
        restart(
            arguments.run,
            arguments.output,
            arguments.duration_fs,
            arguments.frame_interval,
        )


if __name__ == "__main__":
    main()
