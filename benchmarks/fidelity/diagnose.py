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
from typing import Any, Dict, List, Optional

import ase
import ase.io
import numpy as np
import torch

from metatrain_flashmd.validation.stride import predict_pairs, stride_diagnostics


sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]  # shared systems.py


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


def stride_report(figures: Dict[str, Any], temperatures: Dict[str, float]) -> str:
    """The per-element and global figures described in the module docstring, as
    markdown; ``figures`` from
    ``metatrain_flashmd.validation.stride.stride_diagnostics``, ``temperatures``
    from :func:`true_temperatures`."""
    lines = [
        "| element | atoms x pairs | T true (K) | KE bias (K/stride) "
        "| RMS sqrt(m) dx (A u^1/2) | RMS p/sqrt(m) (eV^1/2) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for symbol in sorted(figures["elements"]):
        row = figures["elements"][symbol]
        lines.append(
            f"| {symbol} | {row['samples']} | {temperatures[symbol]:.0f} "
            f"| {row['kinetic_bias_K']:+.2f} ({row['kinetic_bias_error_K']:.2f}) "
            f"| {row['rms_position']:.4f} | {row['rms_momentum']:.4f} |"
        )
    lines += ["", "slopes of predicted on true (1 = unbiased):"]
    lines += [
        f"  {name.replace('_', ' '):<16} {value:.4f}"
        for name, value in figures["slopes"].items()
    ]
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
        figures = stride_diagnostics(data)
        print(stride_report(figures, true_temperatures(pairs)))
    else:
        restart(
            arguments.run,
            arguments.output,
            arguments.duration_fs,
            arguments.frame_interval,
        )


if __name__ == "__main__":
    main()
