"""A periodic toy crystal with an exact fixed-cell stride and a known NpT volume
distribution, for testing the barostat.

Every atom is tied by a spring of angular frequency ``omega`` to its site, which sits
at fixed fractional coordinates ``f_i`` of the cell ``h`` (rows: cell vectors), and
the cell has an energy of its own, quadratic in the volume:

    U(q, h) = sum_i m_i omega^2 |q_i - f_i h|^2 / 2 + K0 (V - V0)^2 / (2 V0).

At fixed cell each atom oscillates around its site: :class:`EinsteinToy` (a FlashMD
model interface) gives that motion exactly over a stride. In the isothermal-isobaric
ensemble the springs' free energy does not depend on V (positions are not confined
to the cell), so the volume is Gaussian with mean ``V0 (1 - P0 / K0)`` and variance
``kT V0 / K0`` (:func:`exact_volume_moments`). :class:`EinsteinCalculator` gives
the energy, forces and stress for the barostat.

With a Grueneisen parameter ``gamma`` the frequency depends on the volume,
``omega(V) = omega (V / V0)^-gamma``: the springs' free energy ``3 N kT ln
omega(V)`` then pushes the volume out by about ``3 N gamma kT / K0``, a thermal
expansion carried by the fast exchange of kinetic and spring energy within each
stride, as in a real crystal; the volume's exact density is then
``exp(-(K0 (V - V0)^2 / 2 V0 + P0 V) / kT) (V / V0)^(3 N gamma)``
(:func:`exact_expanding_moments`).
"""

from typing import Dict, List, Optional, Tuple

import ase
import ase.units
import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    AtomisticModel,
    ModelCapabilities,
    ModelMetadata,
    ModelOutput,
    System,
)
from toy_models import MOMENTUM_UNIT, HarmonicToy


SPACING = 2.55
"""Distance between sites of the simple cubic toy crystal, A."""


def toy_crystal(repeat: int = 2) -> ase.Atoms:
    """Simple cubic Al crystal, ``repeat^3`` atoms on their sites, periodic."""
    atoms = ase.Atoms("Al", cell=[SPACING] * 3, pbc=True).repeat(repeat)
    return atoms


class EinsteinToy(HarmonicToy):
    """Exact stride of the toy crystal at fixed cell: per atom and axis,
    ``d' = d cos(w dt) + p sin(w dt) / (m w)``, ``p' = p cos(w dt) - m w d sin(w dt)``
    with ``d = q - f h`` (one system at a time).

    :param fractional: (n, 3) fractional coordinates of the sites.
    :param omega: angular frequency, rad/fs (at the volume ``volume``).
    :param timestep_fs: the stride, fs.
    :param gamma: Grueneisen parameter: the frequency is ``omega (V /
        volume)^-gamma`` in a cell of volume V.
    :param volume: the reference volume ``V0``, A^3 (unused when ``gamma`` is 0).
    """

    def __init__(
        self,
        fractional: np.ndarray,
        omega: float,
        timestep_fs: float,
        gamma: float = 0.0,
        volume: float = 1.0,
    ):
        super().__init__([omega] * 3, timestep_fs, [13])
        self.register_buffer("fractional", torch.tensor(fractional))
        self.gamma = float(gamma)
        self.volume = float(volume)

    def forward(
        self,
        systems: List[System],
        outputs: Dict[str, ModelOutput],
        selected_atoms: Optional[Labels] = None,
    ) -> Dict[str, TensorMap]:
        self.evaluations += 1
        (system,) = systems
        ratio = torch.abs(torch.linalg.det(system.cell)) / self.volume
        omega = self.omega[0] * ratio ** (-self.gamma)
        angle = omega * self.timestep * ase.units.fs
        sites = self.fractional @ system.cell
        d = system.positions - sites
        p = system.get_data("momentum").block().values.reshape(-1, 3)
        m = system.get_data("mass").block().values.reshape(-1, 1)
        c, s = torch.cos(angle), torch.sin(angle)
        values = {
            "position": sites + d * c + p * s / (m * omega),
            "momentum": p * c - m * omega * d * s,
        }
        index = torch.arange(len(system), dtype=torch.int32)
        samples = Labels(["system", "atom"], torch.stack([0 * index, index], dim=1))
        return {name: self.vectors(name, values[name], samples) for name in outputs}

    def vectors(self, name: str, values: torch.Tensor, samples: Labels) -> TensorMap:
        """Per-atom vectors ``values`` (n, 3) as the output ``name``."""
        block = TensorBlock(
            values=values.unsqueeze(-1),
            samples=samples,
            components=[self.component_labels],
            properties=Labels([name], torch.zeros((1, 1), dtype=torch.int32)),
        )
        return TensorMap(Labels.single(), [block])


def einstein_model(
    atoms: ase.Atoms, omega: float, timestep_fs: float, gamma: float = 0.0
) -> AtomisticModel:
    """The exported :class:`EinsteinToy` for the sites and volume of ``atoms`` (as
    they are), with Grueneisen parameter ``gamma``."""
    fractional = atoms.cell.scaled_positions(atoms.positions)
    volume = atoms.get_volume()
    toy = EinsteinToy(fractional, omega, timestep_fs, gamma, volume).eval()
    capabilities = ModelCapabilities(
        outputs={
            "position": ModelOutput(unit="angstrom", sample_kind="atom"),
            "momentum": ModelOutput(unit=MOMENTUM_UNIT, sample_kind="atom"),
        },
        atomic_types=[13],
        interaction_range=0.0,
        length_unit="angstrom",
        supported_devices=["cpu"],
        dtype="float64",
    )
    return AtomisticModel(toy, ModelMetadata(name="einstein toy"), capabilities)


class EinsteinCalculator(Calculator):
    """Energy (eV), forces and stress of the toy crystal.

    The stress is ``(1/V) dU/d(strain)`` (ASE's sign): the springs give
    ``(1/V) sum_i m_i w^2 d_i d_i^T`` and the volume term ``K0 (V - V0) / V0``
    times the identity.

    :param fractional: (n, 3) fractional coordinates of the sites.
    :param omega: angular frequency, rad/fs.
    :param bulk_modulus: ``K0``, eV/A^3.
    :param volume: ``V0``, A^3.
    :param axis_stiffness: ``kappa``, eV: adds ``kappa/2 sum_a ln(L_a/L0_a)^2`` for
        the diagonal of the cell (stress ``kappa ln(L_a/L0_a) / V`` on the
        diagonal), which holds each axis of an orthorhombic cell.
    :param gamma: Grueneisen parameter: the springs' frequency is ``omega (V /
        V0)^-gamma``, which adds ``-2 gamma U_springs / V`` to the diagonal of the
        stress.
    """

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(
        self,
        fractional: np.ndarray,
        omega: float,
        bulk_modulus: float,
        volume: float,
        axis_stiffness: float = 0.0,
        lengths: Optional[np.ndarray] = None,
        gamma: float = 0.0,
    ) -> None:
        super().__init__()
        self.gamma = gamma
        self.axis_stiffness = axis_stiffness
        self.lengths = lengths
        self.fractional = np.array(fractional)
        self.omega = omega / ase.units.fs
        self.bulk_modulus = bulk_modulus
        self.volume = volume
        self.calls = 0

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.calls += 1
        d, k = self.springs(self.atoms)
        volume = self.atoms.get_volume()
        strain = (volume - self.volume) / self.volume
        energy = (
            0.5 * np.sum(k * d**2) + 0.5 * self.bulk_modulus * self.volume * strain**2
        )
        stress = (k * d).T @ d / volume + self.bulk_modulus * strain * np.eye(3)
        stress -= self.gamma * np.sum(k * d**2) / volume * np.eye(3)
        if self.axis_stiffness:
            logs = np.log(np.diag(self.atoms.cell.array) / self.lengths)
            energy += 0.5 * self.axis_stiffness * np.sum(logs**2)
            stress += np.diag(self.axis_stiffness * logs) / volume
        self.results = {
            "energy": float(energy),
            "forces": -k * d,
            "stress": stress.flat[[0, 4, 8, 5, 2, 1]],
        }

    def springs(self, atoms: ase.Atoms) -> Tuple[np.ndarray, np.ndarray]:
        """Displacements from the sites (n, 3), A, and spring constants (n, 1),
        eV/A^2."""
        d = atoms.positions - self.fractional @ atoms.cell.array
        omega = self.omega * (atoms.get_volume() / self.volume) ** (-self.gamma)
        return d, atoms.get_masses()[:, None] * omega**2


def einstein_calculator(
    atoms: ase.Atoms,
    omega: float,
    bulk_modulus: float,
    axis_stiffness: float = 0.0,
    gamma: float = 0.0,
) -> EinsteinCalculator:
    """The calculator for the sites, the volume and the cell lengths of ``atoms``
    as they are."""
    fractional = atoms.cell.scaled_positions(atoms.positions)
    lengths = np.diag(atoms.cell.array).copy()
    volume = atoms.get_volume()
    return EinsteinCalculator(
        fractional, omega, bulk_modulus, volume, axis_stiffness, lengths, gamma
    )


def exact_volume_moments(
    temperature_K: float, pressure: float, bulk_modulus: float, volume: float
) -> Tuple[float, float]:
    """Mean and standard deviation of the toy crystal's volume at constant pressure
    (A^3), for ``pressure`` and ``bulk_modulus`` in eV/A^3 and ``volume`` ``V0``."""
    mean = volume * (1.0 - pressure / bulk_modulus)
    std = np.sqrt(ase.units.kB * temperature_K * volume / bulk_modulus)
    return float(mean), float(std)


def exact_expanding_moments(
    temperature_K: float,
    pressure: float,
    bulk_modulus: float,
    volume: float,
    atoms: int,
    gamma: float,
) -> Tuple[float, float]:
    """Mean and standard deviation of the volume (A^3) of the toy crystal of
    ``atoms`` atoms with Grueneisen parameter ``gamma`` at constant pressure, by
    quadrature of its exact density (module docstring); ``pressure`` and
    ``bulk_modulus`` in eV/A^3, ``volume`` ``V0``."""
    kt = ase.units.kB * temperature_K
    width = np.sqrt(kt * volume / bulk_modulus)
    grid = volume * (1.0 - pressure / bulk_modulus) + width * np.linspace(-12, 24, 4001)
    energy = 0.5 * bulk_modulus * (grid - volume) ** 2 / volume + pressure * grid
    log_density = -energy / kt + 3 * atoms * gamma * np.log(grid / volume)
    density = np.exp(log_density - log_density.max())
    density /= density.sum()
    mean = float(np.sum(density * grid))
    return mean, float(np.sqrt(np.sum(density * (grid - mean) ** 2)))


def mean_and_error(samples: np.ndarray, blocks: int = 20) -> Tuple[float, float]:
    """Mean of ``samples`` and its standard error from ``blocks`` block averages
    (correlations shorter than a block are accounted for)."""
    means = np.array([block.mean() for block in np.array_split(samples, blocks)])
    return float(samples.mean()), float(means.std(ddof=1) / np.sqrt(blocks))


def thermal_toy(
    omega: float,
    bulk_modulus: float,
    temperature_K: float,
    seed: int,
    axis_stiffness: float = 0.0,
    gamma: float = 0.0,
):
    """The 8-atom toy crystal with its calculator and Maxwell-Boltzmann momenta."""
    atoms = toy_crystal(2)
    atoms.calc = einstein_calculator(atoms, omega, bulk_modulus, axis_stiffness, gamma)
    rng = np.random.default_rng(seed)
    kt = ase.units.kB * temperature_K
    atoms.set_momenta(
        rng.normal(size=(len(atoms), 3)) * np.sqrt(kt * atoms.get_masses()[:, None])
    )
    return atoms
