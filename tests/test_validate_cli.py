"""``mtt-flashmd validate`` on bad input: exit status 2, an error naming the file
at fault, and nothing already written lost. The parser is built from the
subcommand's module alone (``add_parser``), as ``mtt-flashmd`` builds it."""

import argparse
import json
from pathlib import Path

import ase.build
import ase.io
import pytest
from ase.calculators.emt import EMT
from helpers import TINY_MODEL_HYPERS, tiny_model

from metatrain_flashmd.cli import validate as validate_cli
from metatrain_flashmd.validation import Tolerances, ValidationInputError
from metatrain_flashmd.validation.calculators import make_calculator


def validate_args(argv) -> argparse.Namespace:
    """Parsed ``mtt-flashmd validate ARGV``."""
    parser = validate_cli.standalone_parser()
    return parser.parse_args(["validate", *[str(item) for item in argv]])


def make_emt() -> EMT:
    """A reference calculator named by import path in the tests."""
    return EMT()


def make_nothing() -> object:
    """Not a calculator."""
    return object()


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Tiny random FlashMD models (10 fs strides) for Al and for Si, saved."""
    directory = tmp_path_factory.mktemp("models")
    paths = {}
    for symbol, number in (("Al", 13), ("Si", 14)):
        paths[symbol] = directory / f"{symbol}.pt"
        tiny_model(atomic_types=[number]).export().save(str(paths[symbol]))
    return paths


@pytest.fixture
def start(tmp_path: Path) -> Path:
    path = tmp_path / "start.xyz"
    ase.io.write(path, ase.build.bulk("Al", "fcc", a=4.05, cubic=True).repeat(2))
    return path


def run(argv, capsys) -> "tuple[int, str]":
    """Exit status and standard error of the command."""
    args = validate_args(argv)
    status = args.func(args)
    return status, capsys.readouterr().err


def test_parser_defaults(models, start):
    args = validate_args(
        [str(models["Al"]), str(start), "--temperature", "600", "--reference", "emt"]
    )
    # time_ps None: chosen from the ensemble and START's elements
    assert (args.ensemble, args.time_ps, args.seed) == ("nvt", None, 0)
    assert args.report_dir == "flashmd-validation" and args.tolerance == []
    args = validate_args(
        "m.pt s.xyz --temperature 600 --reference-trajectory r.xyz --ensemble nve "
        "--tolerance rdf=0.02 --tolerance vacf=0.1".split()
    )
    assert args.tolerance == [("rdf", 0.02), ("vacf", 0.1)]
    with pytest.raises(SystemExit):  # a reference is required, and only one
        validate_args(["m.pt", "s.xyz", "--temperature", "600"])


def test_unknown_element(models, tmp_path, capsys):
    copper = tmp_path / "copper.xyz"
    ase.io.write(copper, ase.build.bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2))
    report = tmp_path / "report"
    report.mkdir()
    (report / "report.md").write_text("an earlier report")
    status, error = run(
        [
            models["Al"],
            copper,
            "--temperature",
            "300",
            "--reference",
            "emt",
            "--report-dir",
            report,
        ],
        capsys,
    )
    assert status == 2
    assert str(copper) in error and "does not know Cu" in error
    assert (report / "report.md").read_text() == "an earlier report"
    assert sorted(p.name for p in report.iterdir()) == ["report.md"]


def test_reference_cannot_handle_the_system(models, tmp_path, capsys):
    silicon = tmp_path / "silicon.xyz"
    ase.io.write(silicon, ase.build.bulk("Si", "diamond", a=5.43, cubic=True))
    status, error = run(
        [
            models["Si"],
            silicon,
            "--temperature",
            "300",
            "--reference",
            "emt",
            "--report-dir",
            tmp_path / "report",
        ],
        capsys,
    )
    assert status == 2
    assert error.count("emt: the reference calculator cannot handle") == 1
    assert str(silicon) in error and "Si" in error
    assert not (tmp_path / "report").exists()


@pytest.mark.parametrize(
    "reference, message",
    [
        ("test_validate_cli:make_nothing", "not an ASE calculator"),
        ("test_validate_cli:missing", "has no function 'missing'"),
        ("no_such_module_here:make", "cannot import the module"),
        ("nowhere.pt", "no such reference model file"),
        ("lj", "unknown reference"),
    ],
)
def test_bad_reference(models, start, tmp_path, capsys, reference, message):
    status, error = run(
        [
            models["Al"],
            start,
            "--temperature",
            "300",
            "--reference",
            reference,
            "--report-dir",
            tmp_path / "report",
        ],
        capsys,
    )
    assert status == 2 and message in error and reference in error


def test_flashmd_model_is_not_a_reference(models, start, tmp_path, capsys):
    status, error = run(
        [models["Al"], start, "--temperature", "300", "--reference", models["Al"]],
        capsys,
    )
    assert status == 2 and "no 'energy' output" in error


def test_reference_by_import_path():
    assert isinstance(make_calculator("test_validate_cli:make_emt"), EMT)
    assert isinstance(make_calculator("EMT"), EMT)


def reference_file(path: Path, symbol: str, temperature: float, frames: int = 5):
    """A reference trajectory: ``frames`` frames 10 fs apart with momenta at about
    ``temperature`` (not dynamics: only read and checked)."""
    import numpy as np
    from ase.md.velocitydistribution import Stationary, thermalize_momenta

    from metatrain_flashmd.observables.temperature import temperature as kinetic

    rng = np.random.default_rng(0)
    images = []
    for index in range(frames):
        atoms = ase.build.bulk(symbol, "fcc", a=4.05, cubic=True).repeat(2)
        thermalize_momenta(atoms, temperature, rng=rng)
        Stationary(atoms)
        now = kinetic(atoms.get_momenta(), atoms.get_masses())
        atoms.set_momenta(atoms.get_momenta() * np.sqrt(temperature / now))
        atoms.info["time_fs"] = 10.0 * index
        images.append(atoms)
    ase.io.write(path, images)
    return path


@pytest.mark.parametrize(
    "symbol, temperature, message",
    [
        ("Cu", 300.0, "the reference is Cu32, but"),
        ("Al", 600.0, "mean temperature is 600.0 K, not the 300 K"),
    ],
)
def test_bad_reference_trajectory(
    models, start, tmp_path, capsys, symbol, temperature, message
):
    path = reference_file(tmp_path / "reference.extxyz", symbol, temperature)
    status, error = run(
        [
            models["Al"],
            start,
            "--temperature",
            "300",
            "--reference-trajectory",
            path,
            "--report-dir",
            tmp_path / "report",
        ],
        capsys,
    )
    assert status == 2 and error.startswith(f"mtt-flashmd validate: error: {path}: ")
    assert message in error
    assert not (tmp_path / "report").exists()


def test_missing_files_and_bad_options(models, start, tmp_path, capsys):
    common = ["--temperature", "300", "--reference", "emt"]
    status, error = run([tmp_path / "none.pt", start, *common], capsys)
    assert status == 2 and "no exported model" in error
    status, error = run([models["Al"], tmp_path / "none.xyz", *common], capsys)
    assert status == 2 and "no such structure file" in error
    status, error = run([models["Al"], start, *common, "--time-ps", "0.1"], capsys)
    assert status == 2 and "fewer than 45 strides" in error
    # 30 strides: enough for a run, too few for the reference halves' RDFs (these
    # runs used to end in a KeyError once the reference had been run)
    status, error = run([models["Al"], start, *common, "--time-ps", "0.3"], capsys)
    assert status == 2 and "fewer than 45 strides" in error
    status, error = run([models["Al"], start, *common, "--report-dir", start], capsys)
    assert status == 2 and "exists and is not a directory" in error
    status, error = run([models["Al"], start, *common, "--tolerance", "rfd=1"], capsys)
    assert status == 2 and "unknown tolerance(s) rfd" in error


def test_tolerances_round_trip():
    tolerances = Tolerances.from_dict({"temperature": 0.05})
    assert tolerances.temperature == 0.05 and tolerances.rdf == Tolerances().rdf
    assert Tolerances.from_dict(json.loads(json.dumps(tolerances.to_dict()))) == (
        tolerances
    )
    with pytest.raises(ValueError, match="unknown tolerance"):
        Tolerances.from_dict({"speed": 1})
    assert issubclass(ValidationInputError, ValueError)


def test_reference_by_mlip_path(tmp_path, start):
    """An exported metatomic model with an energy output (a tiny random PET) is
    loaded through metatomic-ase and tried on START."""
    from metatomic_ase import MetatomicCalculator
    from metatrain.utils.architectures import get_default_hypers, import_architecture
    from metatrain.utils.data import DatasetInfo
    from metatrain.utils.data.target_info import get_energy_target_info
    from omegaconf import OmegaConf

    from metatrain_flashmd.validation.calculators import check_calculator

    hypers = {**get_default_hypers("pet")["model"], **TINY_MODEL_HYPERS}
    energy = get_energy_target_info("energy", OmegaConf.create({"unit": "eV"}))
    info = DatasetInfo(
        length_unit="angstrom", atomic_types=[13], targets={"energy": energy}
    )
    path = tmp_path / "mlip.pt"
    import_architecture("pet").__model__(hypers, info).export().save(str(path))
    calculator = make_calculator(path)
    assert isinstance(calculator, MetatomicCalculator)
    check_calculator(calculator, ase.io.read(start), str(path), str(start))
    copper = ase.build.bulk("Cu", "fcc", a=3.6)
    with pytest.raises(ValidationInputError, match="cannot handle copper.xyz"):
        check_calculator(calculator, copper, str(path), "copper.xyz")
