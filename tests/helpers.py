"""Helpers for the tests: reference MD with EMT and tiny FlashMD models."""

from pathlib import Path
from typing import Any, Dict, List, Optional

import ase
import ase.build
import ase.data
import ase.io
import ase.units
import numpy as np
import torch
from ase.calculators.emt import EMT
from ase.md.velocitydistribution import Stationary, thermalize_momenta
from ase.md.verlet import VelocityVerlet
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import System
from metatrain.utils.architectures import get_default_hypers

from metatrain_flashmd._names import MOMENTUM_UNIT
from metatrain_flashmd.dataset_info import flashmd_dataset_info


TINY_MODEL_HYPERS: Dict[str, Any] = {
    "d_pet": 8,
    "d_head": 8,
    "d_node": 8,
    "d_feedforward": 8,
    "num_heads": 1,
    "num_attention_layers": 1,
    "num_gnn_layers": 1,
}


def tiny_hypers(**changes: Any) -> Dict[str, Any]:
    """Default model hypers with tiny widths (fast tests)."""
    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers.update(TINY_MODEL_HYPERS)
    hypers.update(changes)
    return hypers


def pair_target_options(path: Any, quantity: bool = False) -> Dict[str, Dict]:
    """metatrain target options reading the ``position`` and ``momentum`` targets
    of a pair file (keys ``future_positions`` and ``future_momenta``).

    :param quantity: set the targets' ``quantity`` (the built-in FlashMD stores it).
    """

    def vector(name: str, key: str, unit: str) -> Dict[str, Any]:
        return {
            "quantity": name if quantity else "",
            "read_from": str(path),
            "reader": "ase",
            "key": key,
            "unit": unit,
            "type": {"cartesian": {"rank": 1}},
            "sample_kind": "atom",
            "num_subtargets": 1,
        }

    return {
        "position": vector("position", "future_positions", "A"),
        "momentum": vector("momentum", "future_momenta", MOMENTUM_UNIT),
    }


def load_pairs_dataset(path: Any, quantity: bool = False) -> Any:
    """A metatrain dataset of the pairs in ``path``."""
    from metatrain.utils.data import get_dataset

    dataset, _, _ = get_dataset(
        {
            "systems": {"read_from": str(path), "reader": "ase"},
            "targets": pair_target_options(path, quantity),
        }
    )
    return dataset


def tiny_model(
    atomic_types: List[int] = (13,),
    timestep: float = 10.0,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    **changes: Any,
) -> Any:
    """A randomly initialised FlashMD model with timestep (fs) and ASE masses set."""
    from metatrain_flashmd.model import FlashMD

    torch.manual_seed(seed)
    model = FlashMD(tiny_hypers(**changes), flashmd_dataset_info(list(atomic_types)))
    model.set_timestep(timestep)
    return model.to(dtype)


def saved_gentle_model(path: Path) -> Path:
    """Save at ``path`` a tiny random FlashMD model for Al (10 fs strides) whose
    strides change the state by little (energy rescaling stays possible)."""
    model = tiny_model(predict_momenta_as_difference=True)
    model.set_normalization(
        momentum_rms=0.16, position_rms=0.05, target_momentum_rms=0.02
    )
    model.export().save(str(path))
    return path


def aluminium_trajectory(
    path: Path,
    num_frames: int,
    repeat: int = 2,
    temperature_K: float = 300.0,
    seed: int = 0,
    symbols: Optional[Dict[int, str]] = None,
) -> List[ase.Atoms]:
    """Write ``num_frames`` frames (1 fs apart) of EMT MD of fcc Al (4 * repeat^3
    atoms) to ``path``; ``symbols`` replaces some atoms (index -> symbol)."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(repeat)
    for index, symbol in (symbols or {}).items():
        atoms[index].symbol = symbol
    atoms.calc = EMT()
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
    thermalize_momenta(atoms, temperature_K, rng=rng)
    Stationary(atoms)
    dynamics = VelocityVerlet(atoms, timestep=1.0 * ase.units.fs)
    frames = []
    for _ in range(num_frames):
        dynamics.run(1)
        frame = atoms.copy()
        frame.wrap()
        frame.set_momenta(atoms.get_momenta())
        frame.info["time_fs"] = float(dynamics.get_time() / ase.units.fs)
        frames.append(frame)
    ase.io.write(path, frames)
    return frames


def write_pairs(source: Path, path: Path, lag: int, spacing: int) -> List[ase.Atoms]:
    """Pairs ``lag`` frames apart from a trajectory, built by hand: the earlier frame
    with ``future_positions`` (unwrapped by the minimum image) and
    ``future_momenta``."""
    frames = ase.io.read(source, ":")
    pairs = []
    for start in range(0, len(frames) - lag, spacing):
        now, later = frames[start], frames[start + lag]
        pair = now.copy()
        delta = later.positions - now.positions
        fractional = np.linalg.solve(now.cell.T, delta.T).T
        fractional -= np.round(fractional)
        pair.arrays["future_positions"] = now.positions + fractional @ now.cell
        pair.arrays["future_momenta"] = later.get_momenta()
        pair.set_momenta(now.get_momenta())
        pairs.append(pair)
    ase.io.write(path, pairs)
    return pairs


def write_exact_pairs(path: Path, pairs: List[Dict[str, Any]]) -> None:
    """Write pairs given by hand (non-periodic): each a dict with ``numbers``,
    ``positions`` (A), ``momenta`` ((eV*u)^(1/2)), ``displacements`` (A) and
    ``future_momenta``."""
    frames = []
    for pair in pairs:
        atoms = ase.Atoms(numbers=pair["numbers"], positions=pair["positions"])
        atoms.set_momenta(np.asarray(pair["momenta"], dtype=float))
        atoms.arrays["future_positions"] = atoms.positions + pair["displacements"]
        atoms.arrays["future_momenta"] = np.asarray(pair["future_momenta"], float)
        frames.append(atoms)
    ase.io.write(path, frames)


def free_flight_pairs(
    path: Path, count: int, timestep_fs: float, seed: int, temperature_K: float = 300
) -> None:
    """Write ``count`` pairs of free Al and Cu atoms (8 per pair, no periodicity,
    zero total momentum, thermal momenta at ``temperature_K``): the exact dynamics
    is ``x' = x + p timestep / m`` and ``p' = p``."""
    rng = np.random.default_rng(seed)
    grid = 3.0 * np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)])
    pairs = []
    for _ in range(count):
        numbers = rng.choice([13, 29], size=len(grid))
        masses = ase.data.atomic_masses[numbers][:, None]
        momenta = rng.normal(size=grid.shape) * np.sqrt(
            ase.units.kB * temperature_K * masses
        )
        momenta -= masses * momenta.sum(axis=0) / masses.sum()
        pairs.append(
            {
                "numbers": numbers,
                "positions": grid + rng.normal(scale=0.3, size=grid.shape),
                "momenta": momenta,
                "displacements": momenta / masses * timestep_fs * ase.units.fs,
                "future_momenta": momenta,
            }
        )
    write_exact_pairs(path, pairs)


def with_momenta(
    system: System,
    momenta: Optional[torch.Tensor] = None,
    masses: bool = False,
    seed: int = 0,
) -> System:
    """``system`` with ``momenta`` (n, 3) (random if None) and, if asked, ASE masses
    attached as ``momentum`` and ``mass`` data."""
    n = len(system)
    if momenta is None:
        generator = torch.Generator().manual_seed(seed)
        momenta = torch.randn(n, 3, generator=generator, dtype=torch.float64)
    device, dtype = system.device, system.positions.dtype
    samples = Labels(
        ["system", "atom"], torch.tensor([[0, i] for i in range(n)], device=device)
    )
    block = TensorBlock(
        values=momenta.reshape(n, 3, 1).to(dtype=dtype, device=device),
        samples=samples,
        components=[Labels(["xyz"], torch.arange(3, device=device).reshape(-1, 1))],
        properties=Labels(["momentum"], torch.tensor([[0]], device=device)),
    )
    system.add_data("momentum", TensorMap(Labels.single().to(device), [block]))
    if masses:
        values = torch.tensor(ase.data.atomic_masses[system.types.cpu().numpy()])
        block = TensorBlock(
            values=values.reshape(-1, 1).to(dtype=dtype, device=device),
            samples=samples,
            components=[],
            properties=Labels(["mass"], torch.tensor([[0]], device=device)),
        )
        system.add_data("mass", TensorMap(Labels.single().to(device), [block]))
    return system


def ase_md_trajectory(
    path: Path, timestep_fs: float, loginterval: int, steps: int
) -> None:
    """EMT MD of rattled fcc Al (32 atoms) written by ASE's own ``trajectory=``
    (a ``.traj`` file whose header records the MD step and interval)."""
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=2)
    atoms.calc = EMT()
    with VelocityVerlet(
        atoms,
        timestep=timestep_fs * ase.units.fs,
        trajectory=str(path),
        loginterval=loginterval,
    ) as dynamics:
        dynamics.run(steps)
