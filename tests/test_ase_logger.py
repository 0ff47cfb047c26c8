"""``logfile=`` of the ASE integrators: kinetic terms without a calculator, ASE's
columns with one."""

import io

import ase.build
import ase.io
import ase.units
import numpy as np
import pytest
from ase.calculators.emt import EMT
from helpers import tiny_model

from metatrain_flashmd.ase import Bussi, VelocityVerlet
from metatrain_flashmd.observables.temperature import atoms_element_temperatures


@pytest.fixture(scope="module")
def model():
    return tiny_model(predict_momenta_as_difference=True).export()


def test_a_log_without_a_calculator_has_the_kinetic_terms(
    model, al_trajectory, tmp_path
):
    atoms = ase.io.read(al_trajectory, -1)
    assert atoms.calc is None
    log = tmp_path / "md.log"
    dynamics = Bussi(
        atoms,
        model,
        temperature_K=300,
        time_constant=100 * ase.units.fs,
        logfile=str(log),
        loginterval=2,
        trajectory=str(tmp_path / "md.traj"),
    )
    dynamics.run(4)
    dynamics.close()
    lines = log.read_text().splitlines()
    assert lines[0].split() == ["Time[ps]", "Ekin[eV]", "T[K]", "T_Al[K]"]
    rows = [[float(value) for value in line.split()] for line in lines[1:]]
    assert [row[0] for row in rows] == pytest.approx([0.0, 0.02, 0.04])
    assert rows[-1][1] == pytest.approx(atoms.get_kinetic_energy(), abs=1e-4)
    assert rows[-1][2] == pytest.approx(atoms.get_temperature(), abs=0.1)
    # one element held at zero total momentum: its temperature is the system's
    assert rows[-1][3] == pytest.approx(rows[-1][2], abs=0.1)
    assert len(ase.io.read(tmp_path / "md.traj", ":")) == 3  # the same interval


def test_a_log_with_a_calculator_has_the_energies(model, al_trajectory):
    atoms = ase.io.read(al_trajectory, -1)
    atoms.calc = EMT()
    stream = io.StringIO()
    VelocityVerlet(atoms, model, logfile=stream).run(1)
    header, *rows = stream.getvalue().splitlines()
    assert header.split() == [
        "Time[ps]",
        "Etot[eV]",
        "Epot[eV]",
        "Ekin[eV]",
        "T[K]",
        "T_Al[K]",
    ]
    time_ps, total, potential, kinetic, _, _ = (float(v) for v in rows[-1].split())
    assert time_ps == pytest.approx(0.01)
    assert potential == pytest.approx(atoms.get_potential_energy(), abs=1e-4)
    assert total == pytest.approx(potential + kinetic, abs=2e-4)


def test_a_log_has_the_temperature_of_each_element(model, tmp_path):
    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.symbols[:8] = "Cu"
    momenta = np.random.default_rng(0).normal(scale=0.5, size=(32, 3))
    momenta[:8] *= 3.0  # copper much hotter than aluminium
    atoms.set_momenta(momenta)
    stream = io.StringIO()
    cu_al = tiny_model([13, 29], predict_momenta_as_difference=True).export()
    VelocityVerlet(atoms, cu_al, logfile=stream).run(1)
    header, *rows = stream.getvalue().splitlines()
    assert header.split()[-2:] == ["T_Al[K]", "T_Cu[K]"]
    expected = atoms_element_temperatures(atoms)
    assert expected["Cu"] > 3 * expected["Al"]
    values = [float(v) for v in rows[-1].split()[-2:]]
    assert values == pytest.approx([expected["Al"], expected["Cu"]], abs=0.1)


def test_the_progress_bar_shows_each_element_when_there_are_several():
    from metatrain_flashmd.ase.run import element_postfix

    atoms = ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2)
    atoms.set_momenta(np.random.default_rng(1).normal(scale=0.5, size=(32, 3)))
    assert element_postfix(atoms) == {}  # one element: the total T says it all
    atoms.symbols[:8] = "Cu"
    postfix = element_postfix(atoms)
    assert list(postfix) == ["T_Al", "T_Cu"]
    expected = atoms_element_temperatures(atoms)
    assert postfix["T_Cu"] == f"{expected['Cu']:.1f}K"
