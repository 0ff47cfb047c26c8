"""Wall-clock cost of one step of each integrator, measured on this machine.

Three costs, all on the same 108-atom structure and with the same thread count:

* one FlashMD stride: a forward pass of the trained, exported FlashMD model through
  the integrator's own engine (:meth:`FlashMDDynamics.stride`), in s;
* one force call of a PET MLIP of the same widths (untrained: the cost does not
  depend on the weights), energy and forces by backpropagation through
  :class:`metatomic_ase.MetatomicCalculator`, in s;
* one EMT force call (the reference integrator's cost per 1 fs step), in s.
"""

import statistics
import time
from pathlib import Path
from typing import Any, Callable, Dict, List

import ase
import numpy as np
import torch


def time_interleaved(
    calls: Dict[str, Callable[[], Any]], warmup: int, rounds: int
) -> Dict[str, Dict[str, Any]]:
    """Time several calls in interleaved rounds (each call once per round), so that
    a changing load on a shared machine affects them alike.

    :return: per call, the median and minimum time (s) and, per round, the times
        (``times_s``), from which ratios of the same round can be taken.
    """
    for _ in range(warmup):
        for call in calls.values():
            call()
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            start = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - start)
    return {
        name: {
            "median_s": float(statistics.median(values)),
            "min_s": float(min(values)),
            "times_s": [round(value, 5) for value in values],
        }
        for name, values in times.items()
    }


def median_ratio(first: Dict[str, Any], second: Dict[str, Any]) -> float:
    """Median over rounds of the ratio of two calls' times (see
    :func:`time_interleaved`)."""
    return float(
        statistics.median(a / b for a, b in zip(first["times_s"], second["times_s"]))
    )


def _jiggle(atoms: ase.Atoms, rng: np.random.Generator) -> None:
    """Move the atoms by ~1e-3 A so that no calculator can reuse its last result."""
    atoms.positions += 1e-3 * rng.standard_normal(atoms.positions.shape)


def build_pet_mlip(hypers: Dict[str, Any], atomic_types: List[int], path: Path) -> int:
    """Export an untrained PET energy model (``metatrain.pet``) with the given model
    hyperparameters (changes to PET's defaults) to ``path``; the parameter count.

    :param hypers: e.g. ``{"d_pet": 64, "d_node": 128, ...}``.
    :param atomic_types: atomic numbers the model accepts.
    :param path: the ``.pt`` file to write.
    """
    import metatrain.pet as pet
    from metatrain.utils.architectures import get_default_hypers
    from metatrain.utils.data import DatasetInfo
    from metatrain.utils.data.target_info import get_energy_target_info

    model_hypers = get_default_hypers("pet")["model"]
    model_hypers.update(hypers)
    info = DatasetInfo(
        length_unit="angstrom",
        atomic_types=atomic_types,
        targets={"energy": get_energy_target_info("energy", {"unit": "eV"})},
    )
    torch.manual_seed(0)
    model = pet.__model__(model_hypers, info)
    model.export().save(str(path))
    return sum(p.numel() for p in model.parameters())


def mlip_call(path: Path, atoms: ase.Atoms, forces: bool = True) -> Callable[[], Any]:
    """One energy + forces (backpropagation) evaluation of the exported PET model at
    ``path`` on (a copy of) ``atoms``, or (``forces=False``) the energy alone, as
    FlashMD's NVE energy rescaling would need from an MLIP."""
    from metatomic_ase import MetatomicCalculator

    atoms = atoms.copy()
    atoms.calc = MetatomicCalculator(
        str(path), device="cpu", do_gradients_with_energy=forces
    )
    rng = np.random.default_rng(0)

    def call() -> None:
        _jiggle(atoms, rng)
        if forces:
            atoms.get_forces()
        else:
            atoms.get_potential_energy()

    return call


def emt_call(atoms: ase.Atoms) -> Callable[[], Any]:
    """One ASE EMT energy + forces evaluation on (a copy of) ``atoms``."""
    from ase.calculators.emt import EMT

    atoms = atoms.copy()
    atoms.calc = EMT()
    rng = np.random.default_rng(0)

    def call() -> None:
        _jiggle(atoms, rng)
        atoms.get_forces()

    return call


def flashmd_call(model: Path, atoms: ase.Atoms) -> Callable[[], Any]:
    """One FlashMD stride (model evaluation and position/momentum update) of the
    exported model at ``model``, with the package's NVE integrator (no rescaling),
    always from the same state."""
    from metatrain_flashmd.ase import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = None
    dynamics = VelocityVerlet(atoms, str(model), device="cpu")
    positions, momenta = atoms.get_positions(), atoms.get_momenta()

    def call() -> None:
        atoms.set_positions(positions)
        atoms.set_momenta(momenta)
        dynamics.stride()

    return call
