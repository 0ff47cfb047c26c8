"""The FlashMD step's splitting inside i-PI, checked with velocity Verlet as the
stride: it must then be i-PI's own NVE and NVT integrator, and close to i-PI's own
NpT integrator; and the unit conversions between i-PI and the model."""

from typing import Any

import ase
import ase.units
import numpy as np
import pytest
import scipy.constants as si
from ase.calculators.emt import EMT
from ase.md.verlet import VelocityVerlet


pytest.importorskip(
    "ipi", reason="i-PI is not installed: pip install 'metatrain-flashmd[ipi]'"
)

from ipi.scripting import InteractiveSimulation  # noqa: E402
from ipi.utils.depend import dstrip  # noqa: E402
from ipi.utils.units import unit_to_user  # noqa: E402
from ipi_inputs import ipi_input, write_structure  # noqa: E402

from metatrain_flashmd.ipi import units  # noqa: E402
from metatrain_flashmd.ipi.checks import only_dynamics  # noqa: E402
from metatrain_flashmd.ipi.step import FlashMDStep  # noqa: E402
from metatrain_flashmd.ipi.system import atoms_from_ipi  # noqa: E402


pytestmark = [
    pytest.mark.filterwarnings("ignore:currentThread:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in.*al.extxyz:pytest.PytestUnraisableExceptionWarning"
    ),
]

TIMESTEP_FS = 2.0


class VerletStride:
    """A stand-in for the model: one velocity Verlet step with EMT at fixed cell,
    on the atoms the FlashMD step keeps in sync with i-PI; like the FlashMD
    integrator base, it has a stride counter, which the step advances."""

    def __init__(self, atoms: ase.Atoms) -> None:
        self.atoms = atoms
        self.nsteps = 0

    def stride(self) -> None:
        self.atoms.calc = EMT()
        VelocityVerlet(self.atoms, timestep=TIMESTEP_FS * ase.units.fs).run(1)


def run_pair(dynamics: str, steps: int, **options: Any) -> Any:
    """The same input run by i-PI's integrator and by the FlashMD step with
    velocity Verlet strides; the two final (motion, simulation) pairs."""
    xml = ipi_input(dynamics, timestep_fs=TIMESTEP_FS, **options)
    native = InteractiveSimulation(xml)
    native.run(steps)
    replaced = InteractiveSimulation(xml)
    motion = only_dynamics(replaced)
    runner = FlashMDStep(motion, VerletStride(atoms_from_ipi(motion)), False)
    replaced.set_motion_step(lambda self, step=None: runner(self))
    replaced.run(steps)
    return native, replaced


def state(sim: InteractiveSimulation) -> Any:
    motion = sim.syslist[0].motion
    return dstrip(motion.beads.q)[0], dstrip(motion.beads.p)[0], sim.properties


@pytest.fixture(autouse=True)
def workdir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_structure(tmp_path)


@pytest.mark.parametrize("dynamics", ["nve", "nvt", "nvt-langevin"])
def test_verlet_strides_are_ipis_own_integrator(dynamics):
    native, replaced = run_pair(dynamics, steps=10)
    q0, p0, properties0 = state(native)
    q1, p1, properties1 = state(replaced)
    np.testing.assert_allclose(q1, q0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(p1, p0, rtol=0, atol=1e-5 * np.abs(p0).max())
    for name in ("conserved", "temperature"):
        assert properties1(name) == pytest.approx(properties0(name), rel=1e-6)


@pytest.mark.parametrize("dynamics", ["npt", "npt-scr"])
def test_verlet_strides_follow_ipis_own_npt_integrator(dynamics):
    native, replaced = run_pair(dynamics, steps=20, pressure_bar=10000.0)
    q0, p0, properties0 = state(native)
    q1, p1, properties1 = state(replaced)
    start = InteractiveSimulation(
        ipi_input(dynamics, timestep_fs=TIMESTEP_FS, pressure_bar=10000.0)
    )
    volume = start.properties("volume")
    assert abs(properties0("volume") - volume) > 5e-3 * volume
    assert properties1("volume") == pytest.approx(properties0("volume"), rel=1e-4)
    np.testing.assert_allclose(q1, q0, rtol=0, atol=1e-3)
    drift = properties0("conserved") - start.properties("conserved")
    assert properties1("conserved") - properties0("conserved") == pytest.approx(
        0.0, abs=0.1 * abs(drift) + 1e-3
    )


def test_units_match_codata():
    """i-PI's constants are an older CODATA's: they agree to a few 1e-7."""
    bohr = si.physical_constants["Bohr radius"][0]
    hartree = si.physical_constants["Hartree energy"][0]
    time_au = si.physical_constants["atomic unit of time"][0]
    assert units.BOHR_TO_ANGSTROM == pytest.approx(bohr / si.angstrom, rel=1e-6)
    assert units.HARTREE_TO_EV == pytest.approx(hartree / si.eV, rel=1e-6)
    assert units.AU_TIME_TO_FS == pytest.approx(time_au / si.femto, rel=1e-6)
    assert units.ELECTRON_MASS_TO_U == pytest.approx(si.m_e / si.m_u, rel=1e-6)
    momentum_au = si.m_e * bohr / time_au
    momentum_model = np.sqrt(si.eV * si.m_u)
    expected = momentum_au / momentum_model
    assert units.AU_MOMENTUM_TO_MODEL == pytest.approx(expected, rel=1e-6)
    assert units.AU_MOMENTUM_TO_MODEL == pytest.approx(
        unit_to_user("momentum", "ase", 1.0), rel=1e-6
    )


def test_kinetic_energy_is_the_same_on_both_sides():
    sim = InteractiveSimulation(ipi_input("nvt"))
    motion = sim.syslist[0].motion
    atoms = atoms_from_ipi(motion)
    kinetic_ev = float(motion.nm.kin) * units.HARTREE_TO_EV
    assert atoms.get_kinetic_energy() == pytest.approx(kinetic_ev, rel=1e-12)
    np.testing.assert_allclose(
        units.positions_to_ipi(atoms.positions), dstrip(motion.beads.q)[0], rtol=1e-14
    )
    np.testing.assert_allclose(
        units.momenta_to_ipi(atoms.get_momenta()),
        dstrip(motion.beads.p)[0],
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        atoms.cell.array.T / units.BOHR_TO_ANGSTROM, dstrip(motion.cell.h), rtol=1e-14
    )
    assert atoms.get_masses() == pytest.approx(26.981538, rel=1e-7)
