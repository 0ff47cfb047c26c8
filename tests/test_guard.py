"""The training records of a model and the integrators' guard against them:
records computed by the trainer and kept by export, warnings and the strict stop,
models without records."""

import copy
import gzip
import logging
from pathlib import Path
from typing import List

import ase
import ase.io
import ase.units
import numpy as np
import pytest
import torch
from ase.constraints import FixCom
from helpers import (
    TINY_MODEL_HYPERS,
    flashmd_dataset_info,
    load_pairs_dataset,
    tiny_model,
)
from metatomic.torch import load_atomistic_model
from metatrain.utils.architectures import get_default_hypers
from metatrain.utils.data import DatasetInfo

from metatrain_flashmd._names import TRAINING_LIMITS
from metatrain_flashmd.ase import Bussi, VelocityVerlet, run_md
from metatrain_flashmd.ase.guard import (
    OutsideTrainingError,
    TrainingGuard,
    read_training_limits,
)
from metatrain_flashmd.cli import main
from metatrain_flashmd.model import FlashMD
from metatrain_flashmd.trainer import Trainer


CHECKPOINTS = Path(__file__).parent / "checkpoints"
GUARD_LOGGER = "metatrain_flashmd.ase.guard"


@pytest.fixture(scope="module")
def training_frames(al_pairs: Path) -> List[ase.Atoms]:
    """The pairs the guarded model is trained on (12 of :func:`al_pairs`)."""
    return ase.io.read(al_pairs, ":12")


@pytest.fixture(scope="module")
def guarded_path(tmp_path_factory, training_frames) -> Path:
    """A tiny FlashMD model trained one epoch on ``training_frames`` by the
    trainer, then made gentle (its strides change the state by little), exported."""
    directory = tmp_path_factory.mktemp("guarded")
    pairs = directory / "pairs.extxyz"
    ase.io.write(pairs, training_frames)
    dataset = load_pairs_dataset(pairs)
    hypers = get_default_hypers("experimental.flashmd")
    model_hypers = {**hypers["model"], **TINY_MODEL_HYPERS}
    model_hypers["predict_momenta_as_difference"] = True
    info = DatasetInfo(
        length_unit="angstrom",
        atomic_types=[13],
        targets=flashmd_dataset_info([13]).targets,
    )
    torch.manual_seed(0)
    model = FlashMD(model_hypers, info)
    training = copy.deepcopy(hypers["training"])
    training.update(timestep=10.0, batch_size=4, num_epochs=1, num_workers=0)
    Trainer(training).train(
        model,
        torch.float64,
        [torch.device("cpu")],
        [dataset],
        [dataset],
        str(directory),
    )
    model.set_normalization(
        momentum_rms=0.16, position_rms=0.05, target_momentum_rms=0.02
    )
    path = directory / "guarded.pt"
    model.export().save(str(path))
    return path


def independent_records(frames: List[ase.Atoms]) -> np.ndarray:
    """The records of :data:`TRAINING_LIMITS` for pairs of Al, computed with ASE
    alone: all distances by the minimum image, displacements from the pair's future
    positions, temperatures by ASE with the centre of mass fixed."""
    closest, moved, momentum, temperatures = [], [], [], []
    for frame in frames:
        distances = frame.get_all_distances(mic=True)
        np.fill_diagonal(distances, np.inf)
        closest.append(distances.min())
        moved.append(
            np.linalg.norm(frame.arrays["future_positions"] - frame.positions, axis=1)
        )
        for momenta in (frame.get_momenta(), frame.arrays["future_momenta"]):
            momentum.append(np.linalg.norm(momenta, axis=1).max())
            atoms = frame.copy()
            atoms.set_constraint(FixCom())
            atoms.set_momenta(momenta, apply_constraint=False)
            temperatures.append(atoms.get_temperature())
    return np.array(
        [
            [
                min(closest),
                np.max(moved),
                max(momentum),
                min(temperatures),
                max(temperatures),
            ]
        ]
    )


def guard_messages(caplog: pytest.LogCaptureFixture) -> List[str]:
    return [r.getMessage() for r in caplog.records if r.name == GUARD_LOGGER]


# -- the records ------------------------------------------------------------------


def test_exported_records_are_those_of_the_training_set(guarded_path, training_frames):
    model = load_atomistic_model(str(guarded_path))
    table = model.module.training_limits.numpy()
    assert table.shape == (1, len(TRAINING_LIMITS))
    expected = independent_records(training_frames)
    np.testing.assert_allclose(table, expected, rtol=1e-6)
    # fcc Al at ~300 K: neighbours near 2.86 A, a fraction of an A per 10 fs
    assert 2.3 < table[0, 0] < 2.86 and 0.01 < table[0, 1] < 0.3
    limits = read_training_limits(model)
    np.testing.assert_allclose(limits[13], table[0])


def test_fine_tuning_records_cover_both_sets():
    model = tiny_model()
    model.record_training_limits(np.array([[2.5, 0.1, 2.0, 200.0, 300.0]]))
    model.record_training_limits(np.array([[2.7, 0.2, 1.0, 100.0, 250.0]]))
    expected = [[2.5, 0.2, 2.0, 100.0, 300.0]]
    np.testing.assert_allclose(model.training_limits.numpy(), expected)


# -- runs ---------------------------------------------------------------------


def start_frame(frames: List[ase.Atoms]) -> ase.Atoms:
    atoms = frames[0].copy()
    del atoms.arrays["future_positions"], atoms.arrays["future_momenta"]
    atoms.set_constraint(FixCom())
    return atoms


def test_a_normal_run_gives_no_warning(guarded_path, training_frames, caplog):
    atoms = start_frame(training_frames)
    before = atoms.get_positions()
    with caplog.at_level(logging.WARNING):
        dynamics = VelocityVerlet(atoms, guarded_path)
        dynamics.run(5)
    assert dynamics.guard.active
    assert guard_messages(caplog) == []
    assert np.abs(atoms.positions - before).max() > 1e-3  # the atoms did move


def test_momenta_far_beyond_training_are_reported_at_once(
    guarded_path, training_frames, caplog
):
    atoms = start_frame(training_frames)
    atoms.set_momenta(100 * atoms.get_momenta())
    fastest = int(np.argmax(np.linalg.norm(atoms.get_momenta(), axis=1)))
    with caplog.at_level(logging.WARNING):
        VelocityVerlet(atoms, guarded_path).run(1)
    messages = guard_messages(caplog)
    momentum = [m for m in messages if m.startswith("start: momentum")]
    assert len(momentum) == 1, messages
    assert f"atom {fastest} (Al)" in momentum[0]
    assert "1.5 x the largest in training" in momentum[0]
    assert any(m.startswith("start: temperature of Al") for m in messages)


def test_atoms_on_top_of_each_other_are_reported_at_the_start(
    guarded_path, training_frames, caplog
):
    atoms = start_frame(training_frames)
    atoms.positions[7] = atoms.positions[3] + [0.01, 0.0, 0.0]
    with caplog.at_level(logging.WARNING):
        dynamics = VelocityVerlet(atoms, guarded_path)
        dynamics.guard.before_stride(atoms)
    messages = guard_messages(caplog)
    distance = [m for m in messages if "distance to its closest neighbour" in m]
    assert len(distance) == 1, messages
    assert distance[0].startswith("start: distance to its closest neighbour of atom")
    assert "is 0.01 A, below 0.8 x the smallest in training" in distance[0]
    assert "1 other Al atom too" in distance[0]  # the atom and its partner


def test_strict_stops_the_run_and_keeps_what_was_written(
    guarded_path, training_frames, tmp_path
):
    atoms = start_frame(training_frames)
    output, log = tmp_path / "md.extxyz", tmp_path / "md.csv"
    # a strong thermostat heats the system far beyond the training temperatures
    with pytest.raises(OutsideTrainingError, match=r"stride (\d+): ") as error:
        run_md(
            guarded_path,
            atoms,
            20,
            output,
            temperature_K=5000.0,
            thermostat="bussi",
            time_constant_fs=1000.0,
            seed=0,
            log=log,
            strict=True,
        )
    stride = int(error.value.args[0].split(":")[0].split()[1])
    assert stride >= 2
    frames = ase.io.read(output, ":")
    assert [frame.info["step"] for frame in frames] == list(range(stride))
    assert len(log.read_text().splitlines()) == 1 + stride


def test_strict_cli_run_ends_with_status_3(guarded_path, training_frames, tmp_path):
    atoms = start_frame(training_frames)
    atoms.set_momenta(100 * atoms.get_momenta())
    structure, output = tmp_path / "hot.extxyz", tmp_path / "md.extxyz"
    ase.io.write(structure, atoms)
    arguments = ["md", str(guarded_path), str(structure), "--steps", "3"]
    assert main(arguments + ["-o", str(output), "--strict"]) == 3
    assert output.read_text() == ""  # stopped at the start, before any frame
    assert main(arguments + ["-o", str(output)]) == 0


def test_strict_replicas_stop_alone_and_warnings_name_the_replica(
    guarded_path, training_frames, tmp_path, caplog
):
    calm, hot = start_frame(training_frames), start_frame(training_frames)
    hot.set_momenta(100 * hot.get_momenta())
    structures = [tmp_path / "calm.extxyz", tmp_path / "hot.extxyz"]
    for path, atoms in zip(structures, (calm, hot)):
        ase.io.write(path, atoms)
    output = tmp_path / "md.extxyz"
    arguments = ["md", str(guarded_path), *map(str, structures), "--steps", "2"]
    with caplog.at_level(logging.WARNING):
        assert main(arguments + ["-o", str(output)]) == 0
    messages = guard_messages(caplog)
    assert messages and all(m.startswith("replica 1 (") for m in messages)
    assert any("start: momentum of atom" in m for m in messages)

    assert main(arguments + ["-o", str(output), "--strict"]) == 1
    assert len(ase.io.read(tmp_path / "md-0.extxyz", ":")) == 3  # ran to the end
    assert (tmp_path / "md-1.extxyz").read_text() == ""  # stopped at the start


def test_a_model_without_records_runs_with_a_note(tmp_path, training_frames, caplog):
    path = tmp_path / "untrained.pt"
    tiny_model(predict_momenta_as_difference=True).export().save(str(path))
    atoms = start_frame(training_frames)
    atoms.set_momenta(100 * atoms.get_momenta())
    with caplog.at_level(logging.WARNING):
        dynamics = Bussi(
            atoms, path, temperature_K=300, time_constant=100 * ase.units.fs
        )
        dynamics.run(1)
    assert not dynamics.guard.active
    messages = guard_messages(caplog)
    assert len(messages) == 1
    assert messages[0].startswith(f"note: the model '{path}' has no records")


def test_a_model_without_the_buffer_runs_with_a_note(caplog):
    """Models exported before format 1003 have no ``training_limits`` at all (as
    the toy models here, given loaded)."""
    from toy_models import harmonic_model

    atoms = ase.Atoms("Al2", positions=[[0, 0, 0], [1.0, 0, 0]])
    atoms.set_momenta([[9.0, 0, 0], [-9.0, 0, 0]])
    with caplog.at_level(logging.WARNING):
        dynamics = VelocityVerlet(atoms, harmonic_model())
        dynamics.run(2)
    assert not dynamics.guard.active
    assert guard_messages(caplog) == [
        "note: the model (given loaded, no file) has no records of its training "
        "set (never trained, exported by metatrain-flashmd before model format "
        "1003, or converted from the built-in FlashMD): this run is not checked "
        "against the region the model was trained on; train it again to have the "
        "check"
    ]


def test_repeated_excursions_are_reported_less_and_less(caplog):
    limits = {13: np.array([2.5, 0.1, 1.0, 100.0, 400.0])}
    guard = TrainingGuard(limits)
    atoms = ase.Atoms("Al2", positions=[[0, 0, 0], [3, 0, 0]])
    atoms.set_momenta([[2.0, 0, 0], [-2.0, 0, 0]])
    with caplog.at_level(logging.WARNING):
        for stride in range(1, 101):
            guard.after_stride(atoms, np.zeros((2, 3)), stride)
    momentum = [m for m in guard_messages(caplog) if "momentum" in m]
    assert [m.split(":")[0] for m in momentum] == [
        "stride 1",
        "stride 10",
        "stride 100",
    ]
    assert "(100 checks so far" in momentum[-1]


def test_a_stride_that_gives_nan_is_reported():
    limits = {13: np.array([2.5, 0.1, 1.0, 100.0, 400.0])}
    atoms = ase.Atoms("Al2", positions=[[0, 0, 0], [3, 0, 0]], cell=[6, 6, 6])
    atoms.pbc = True
    atoms.set_momenta([[1.4, 0, 0], [-1.4, 0, 0]])  # 281 K, in range
    atoms.positions[1] = np.nan
    displacements = np.array([[0.0, 0, 0], [np.nan, 0, 0]])
    found = TrainingGuard(limits).excursions(atoms, 4, displacements)
    assert [(e.quantity, e.atom) for e in found] == [("displacement", 1)]
    assert found[0].describe().startswith("stride 4: displacement of atom 1 (Al)")


# -- checkpoints ----------------------------------------------------------------


def test_checkpoints_before_the_records_record_nothing(tmp_path, caplog):
    with gzip.open(CHECKPOINTS / "model-v1002_trainer-v1001.ckpt.gz") as file:
        checkpoint = torch.load(file, weights_only=False)
    checkpoint = FlashMD.upgrade_checkpoint(checkpoint)
    assert checkpoint["model_ckpt_version"] == 1003
    model = FlashMD.load_checkpoint(checkpoint, "export")
    assert torch.isnan(model.training_limits).all()
    path = tmp_path / "old.pt"
    model.export().save(str(path))
    with caplog.at_level(logging.WARNING):
        guard = TrainingGuard.for_model(load_atomistic_model(str(path)), str(path))
    assert not guard.active
    assert f"'{path}' has no records" in guard_messages(caplog)[0]


def test_converted_builtin_checkpoints_record_nothing():
    from builtin_checkpoint_files import CHECKPOINTS as BUILTIN

    with gzip.open(BUILTIN[-1]) as file:
        checkpoint = torch.load(file, weights_only=False)
    checkpoint = FlashMD.upgrade_checkpoint(checkpoint)
    model = FlashMD.load_checkpoint(checkpoint, "export")
    assert model.training_limits.shape[1] == len(TRAINING_LIMITS)
    assert torch.isnan(model.training_limits).all()
