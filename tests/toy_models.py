"""Toy FlashMD models with a known exact answer, for testing the integrators.

:class:`HarmonicToy` has the interface of an exported FlashMD model (requested
inputs ``momentum`` and ``mass``, outputs ``position`` and ``momentum``, buffers
``timestep`` in fs and ``masses`` in u indexed by atomic number), and propagates each
atom exactly along a harmonic oscillator tethered to the origin.
"""

import math
from typing import Any, Dict, List, Optional, Sequence

import ase.data
import ase.units
import numpy as np
import torch
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    NeighborListOptions,
    System,
)

from metatrain_flashmd._names import LENGTH_UNIT, MASS_UNIT, MOMENTUM_UNIT


class HarmonicToy(torch.nn.Module):
    """Every atom on a spring tied to the origin, with angular frequencies
    ``omegas`` (rad/fs) along x, y and z: isotropic (rotation-equivariant around
    the origin) when the three are equal.

    Over one stride the exact solution is, per axis,
    ``x' = x cos(w dt) + p sin(w dt) / (m w)`` and
    ``p' = p cos(w dt) - m w x sin(w dt)``.
    """

    def __init__(
        self, omegas: Sequence[float], timestep_fs: float, atomic_types: List[int]
    ) -> None:
        super().__init__()
        masses = torch.full((max(atomic_types) + 1,), float("nan"), dtype=torch.float64)
        for z in atomic_types:
            masses[z] = float(ase.data.atomic_masses[z])
        self.register_buffer("masses", masses)
        self.register_buffer("timestep", torch.tensor(float(timestep_fs)))
        # angular frequencies in ASE units (1 / ASE time)
        omega = torch.tensor([float(w) for w in omegas], dtype=torch.float64)
        self.register_buffer("omega", omega / ase.units.fs)
        self.component_labels = Labels(["xyz"], torch.arange(3).reshape(-1, 1))
        self.evaluations = 0
        """Number of forward calls (Python only, not TorchScript)."""

    def requested_inputs(self) -> Dict[str, ModelOutput]:
        return {
            "momentum": ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
            "mass": ModelOutput(unit=MASS_UNIT, sample_kind="atom"),
        }

    def requested_neighbor_lists(self) -> List[NeighborListOptions]:
        return []

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels] = None,
    ) -> Dict[str, TensorMap]:
        self.evaluations += 1
        positions: List[torch.Tensor] = []
        momenta: List[torch.Tensor] = []
        samples: List[torch.Tensor] = []
        angle = self.omega * (self.timestep * ase.units.fs)
        for index, system in enumerate(systems):
            x = system.positions
            p = system.get_data("momentum").block().values.reshape(-1, 3)
            m = system.get_data("mass").block().values.reshape(-1, 1)
            positions.append(
                x * torch.cos(angle) + p * torch.sin(angle) / (m * self.omega)
            )
            momenta.append(p * torch.cos(angle) - m * self.omega * x * torch.sin(angle))
            atoms = torch.arange(len(system), dtype=torch.int32)
            samples.append(torch.stack([torch.full_like(atoms, index), atoms], dim=1))
        sample_labels = Labels(["system", "atom"], torch.cat(samples))
        results: Dict[str, TensorMap] = {}
        for name, values in (("position", positions), ("momentum", momenta)):
            if name not in outputs:
                continue
            block = TensorBlock(
                values=torch.cat(values).unsqueeze(-1),
                samples=sample_labels,
                components=[self.component_labels],
                properties=Labels([name], torch.zeros((1, 1), dtype=torch.int32)),
            )
            results[name] = TensorMap(Labels.single(), [block])
        return results


def harmonic_model(
    omegas: Sequence[float] = (0.17, 0.17, 0.17),
    timestep_fs: float = 10.0,
    atomic_types: Sequence[int] = (13,),
) -> AtomisticModel:
    """An exported :class:`HarmonicToy` (float64, CPU).

    :param omegas: angular frequencies along x, y, z, rad/fs.
    :param timestep_fs: the stride, fs.
    :param atomic_types: elements the model accepts.
    """
    toy = HarmonicToy(omegas, timestep_fs, list(atomic_types)).eval()
    outputs = {
        "position": ModelOutput(unit=LENGTH_UNIT, sample_kind="atom"),
        "momentum": ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
    }
    capabilities = ModelCapabilities(
        outputs=outputs,
        atomic_types=list(atomic_types),
        interaction_range=0.0,
        length_unit=LENGTH_UNIT,
        supported_devices=["cpu"],
        dtype="float64",
    )
    return AtomisticModel(toy, ModelMetadata(name="harmonic toy"), capabilities)


def harmonic_energy(atoms: ase.Atoms, omegas: Sequence[float]) -> float:
    """Total energy (eV) of ``atoms`` in the :class:`HarmonicToy` potential.

    :param atoms: the system, with momenta.
    :param omegas: angular frequencies along x, y, z, rad/fs.
    """
    return harmonic_potential(atoms, omegas) + atoms.get_kinetic_energy()


def harmonic_potential(atoms: ase.Atoms, omegas: Sequence[float]) -> float:
    """Potential energy (eV) of ``atoms`` in the :class:`HarmonicToy` potential."""
    omega = np.asarray(omegas) / ase.units.fs
    masses = atoms.get_masses()[:, None]
    return float(0.5 * np.sum(masses * omega**2 * atoms.positions**2))


def canonical_atoms(
    count: int, temperature_K: float, omegas: Sequence[float], seed: int
) -> ase.Atoms:
    """``count`` Al atoms (no periodicity) with positions and momenta drawn from the
    canonical distribution of the :class:`HarmonicToy` potential at
    ``temperature_K``.

    :param count: number of atoms.
    :param temperature_K: temperature, K.
    :param omegas: angular frequencies along x, y, z, rad/fs.
    :param seed: seed of the random draws.
    """
    rng = np.random.default_rng(seed)
    atoms = ase.Atoms("Al" * count)
    masses = atoms.get_masses()[:, None]
    kt = ase.units.kB * temperature_K
    omega = np.asarray(omegas) / ase.units.fs
    atoms.positions = rng.normal(size=(count, 3)) * np.sqrt(kt / (masses * omega**2))
    atoms.set_momenta(rng.normal(size=(count, 3)) * np.sqrt(kt * masses))
    return atoms


def period_fs(omega: float) -> float:
    """Oscillation period (fs) for an angular frequency (rad/fs)."""
    return 2 * math.pi / omega


class SpringEnergy(torch.nn.Module):
    """Potential energy ``k/2 sum_i |r_i|^2`` (eV, ``k`` in eV/A^2): a stand-in for
    an MLIP, TorchScript-compatible so that it can be saved."""

    def __init__(self, stiffness: float) -> None:
        super().__init__()
        self.stiffness = stiffness

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels] = None,
    ) -> Dict[str, TensorMap]:
        energies = torch.stack(
            [0.5 * self.stiffness * (system.positions**2).sum() for system in systems]
        )
        block = TensorBlock(
            values=energies.reshape(-1, 1),
            samples=Labels(
                ["system"], torch.arange(len(systems), dtype=torch.int32).reshape(-1, 1)
            ),
            components=[],
            properties=Labels(["energy"], torch.zeros((1, 1), dtype=torch.int32)),
        )
        # not Labels.single(): calling it in forward fails to save with torch 2.13
        key = Labels(["_"], torch.zeros((1, 1), dtype=torch.int32))
        return {"energy": TensorMap(key, [block])}


def spring_energy_model(stiffness: float, atomic_types: Sequence[int] = (13,)) -> Any:
    """An exported :class:`SpringEnergy` (float64, CPU), with an ``energy`` output.

    :param stiffness: spring constant, eV/A^2.
    :param atomic_types: elements the model accepts.
    """
    capabilities = ModelCapabilities(
        outputs={"energy": ModelOutput(unit="eV", sample_kind="system")},
        atomic_types=list(atomic_types),
        interaction_range=0.0,
        length_unit=LENGTH_UNIT,
        supported_devices=["cpu"],
        dtype="float64",
    )
    module = SpringEnergy(stiffness).eval()
    return AtomisticModel(module, ModelMetadata(name="springs"), capabilities)
