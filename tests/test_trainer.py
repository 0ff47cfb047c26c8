"""The trainer: targets from pairs, augmentation, bad input, schedule, restarts."""

import copy
from pathlib import Path

import ase.io
import numpy as np
import pytest
import torch
from helpers import (
    TINY_MODEL_HYPERS,
    flashmd_dataset_info,
    load_pairs_dataset,
    write_pairs,
)
from metatrain.utils.architectures import get_default_hypers
from metatrain.utils.data import DatasetInfo, get_atomic_types

from metatrain_flashmd.model import FlashMD
from metatrain_flashmd.trainer import Trainer
from metatrain_flashmd.training.pair_data import (
    IndexedPairs,
    PairCollate,
    PairError,
    random_orthogonal,
)
from metatrain_flashmd.training.schedule import learning_rate_factor


def load_dataset(path: Path):
    return load_pairs_dataset(path)


def trainer_hypers(**changes):
    hypers = copy.deepcopy(get_default_hypers("experimental.flashmd")["training"])
    hypers.update(timestep=10.0, batch_size=4, num_epochs=2, num_workers=0)
    hypers.update(changes)
    return hypers


def new_model(dataset) -> FlashMD:
    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers.update(TINY_MODEL_HYPERS)
    info = DatasetInfo(
        length_unit="angstrom",
        atomic_types=get_atomic_types(dataset),
        targets=flashmd_dataset_info([13]).targets,
    )
    return FlashMD(hypers, info)


def train(model, dataset, tmp_path, trainer=None, **changes):
    trainer = trainer or Trainer(trainer_hypers(**changes))
    trainer.train(
        model, torch.float64, [torch.device("cpu")], [dataset], [dataset], str(tmp_path)
    )
    return trainer


def test_wrapped_and_unwrapped_pairs_give_the_same_targets(al_pairs, tmp_path):
    frames = ase.io.read(al_pairs, ":")
    unwrapped = []
    for atoms in frames:
        copy_ = atoms.copy()
        # shift some atoms by lattice vectors in the later frame only: wrapped output
        future = atoms.arrays["future_positions"].copy()
        future[::3] += atoms.cell[0] - 2 * atoms.cell[2]
        copy_.arrays["future_positions"] = future
        unwrapped.append(copy_)
    ase.io.write(tmp_path / "wrapped.extxyz", unwrapped)
    plain = IndexedPairs([load_dataset(al_pairs)], "training set")
    wrapped = IndexedPairs([load_dataset(tmp_path / "wrapped.extxyz")], "training set")
    for index in range(len(plain)):
        _, a = plain[index]
        _, b = wrapped[index]
        assert np.allclose(a.displacements, b.displacements, atol=1e-10)
        assert np.abs(a.displacements).max() < 1.0


def test_time_reversed_pair_is_exact(al_pairs):
    _, pair = IndexedPairs([load_dataset(al_pairs)], "training set")[0]
    reversed_ = pair.time_reversed()
    assert np.array_equal(reversed_.momenta, -pair.future_momenta)
    assert np.array_equal(reversed_.future_momenta, -pair.momenta)
    assert np.allclose(reversed_.positions + reversed_.displacements, pair.positions)
    twice = reversed_.time_reversed()
    assert np.allclose(twice.positions, pair.positions)
    assert np.array_equal(twice.momenta, pair.momenta)


def test_augmentation_is_a_consistent_orthogonal_map(al_pairs):
    _, pair = IndexedPairs([load_dataset(al_pairs)], "training set")[0]
    rng = np.random.default_rng(0)
    matrices = [random_orthogonal(rng) for _ in range(50)]
    for matrix in matrices:
        assert np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-12)
    assert {round(np.linalg.det(m)) for m in matrices} == {-1, 1}
    rotated = pair.transformed(matrices[0])
    # minimum-image displacements are unchanged by rotating cell and positions
    fractional = np.linalg.solve(rotated.cell.T, rotated.displacements.T).T
    original = np.linalg.solve(pair.cell.T, pair.displacements.T).T
    assert np.allclose(fractional, original)
    assert np.allclose(
        np.linalg.norm(rotated.momenta, axis=1), np.linalg.norm(pair.momenta, axis=1)
    )


def test_augmentation_depends_on_seed_epoch_and_index_only(al_pairs):
    pairs = IndexedPairs([load_dataset(al_pairs)], "training set")
    collate = PairCollate(4.5, seed=7, time_reversal=True, random_rotations=True)
    first = collate([pairs[0], pairs[1]])
    again = collate([pairs[1], pairs[0]])
    assert torch.equal(first.momenta[:32], again.momenta[32:])
    collate.epoch = 1
    other = collate([pairs[0], pairs[1]])
    assert not torch.equal(first.momenta, other.momenta)


@pytest.mark.parametrize(
    "change, message",
    [
        (
            "nan",
            r"training set 0, structure 2, atom 5: future positions are not finite",
        ),
        (
            "far",
            r"training set 0, structure 1, atom 0: atom moves by .* A in one stride",
        ),
        ("shape", r"structure 0: future momenta have shape \(31, 3\) for 32 atoms"),
    ],
)
def test_bad_pairs_are_refused(al_pairs, tmp_path, change, message):
    frames = ase.io.read(al_pairs, ":4")
    if change == "nan":
        frames[2].arrays["future_positions"][5, 1] = np.nan
    elif change == "far":
        # (4, 4, 0) A in a cubic 8.1 A cell: its own minimum image, 5.7 A long
        frames[1].arrays["future_positions"][0] = frames[1].positions[0] + [4, 4, 0]
    path = tmp_path / "bad.extxyz"
    ase.io.write(path, frames)
    dataset = load_dataset(path)
    if change == "shape":
        sample = dataset[0]
        block = sample.momentum.block()
        truncated = block.values[:31]
        dataset = [_replace_momentum(sample, truncated)]
    model = new_model(load_dataset(al_pairs))
    with pytest.raises(PairError, match=message):
        train(model, dataset, tmp_path)


def _replace_momentum(sample, values):
    from metatensor.torch import Labels, TensorBlock, TensorMap

    block = sample.momentum.block()
    new = TensorBlock(
        values,
        Labels(block.samples.names, block.samples.values[: values.shape[0]]),
        block.components,
        block.properties,
    )
    return sample._replace(momentum=TensorMap(sample.momentum.keys, [new]))


def test_missing_momenta_are_refused(al_pairs, tmp_path):
    frames = ase.io.read(al_pairs, ":3")
    for atoms in frames:
        del atoms.arrays["momenta"]
    ase.io.write(tmp_path / "nomomenta.extxyz", frames)
    model = new_model(load_dataset(al_pairs))
    with pytest.raises(PairError, match="structure 0: the structure has no momenta"):
        train(model, load_dataset(tmp_path / "nomomenta.extxyz"), tmp_path)


def test_timestep_is_required(al_pairs, tmp_path):
    dataset = load_dataset(al_pairs)
    with pytest.raises(ValueError, match="training.timestep is required"):
        train(new_model(dataset), dataset, tmp_path, timestep=None)


def test_restart_with_another_timestep_is_refused(al_pairs, tmp_path):
    dataset = small_dataset(al_pairs, tmp_path)
    model = new_model(dataset)
    train(model, dataset, tmp_path, num_epochs=1)
    with pytest.raises(ValueError, match="timestep is 20.0 fs but the model .* 10.0"):
        train(model, dataset, tmp_path, num_epochs=1, timestep=20.0)


def test_learning_rate_never_rises_after_the_schedule():
    factors = [learning_rate_factor(step, 10, 100) for step in range(300)]
    assert factors[0] == 0.0 and factors[10] == 1.0
    decay = factors[10:]
    assert all(b <= a for a, b in zip(decay, decay[1:]))
    assert factors[100:] == [0.0] * 200


def small_dataset(al_pairs: Path, tmp_path: Path, count: int = 12):
    """The first ``count`` pairs of ``al_pairs``."""
    path = tmp_path / "small.extxyz"
    ase.io.write(path, ase.io.read(al_pairs, f":{count}"))
    return load_dataset(path)


def test_interrupted_run_restarts_to_the_same_weights(al_pairs, tmp_path):
    dataset = small_dataset(al_pairs, tmp_path)
    torch.manual_seed(0)
    straight = new_model(dataset)
    first = copy.deepcopy(straight)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    train(straight, dataset, tmp_path / "a", num_epochs=3, checkpoint_interval=1)

    train(first, dataset, tmp_path / "b", num_epochs=3, checkpoint_interval=1)
    # restart from the checkpoint written after epoch 0 (as `mtt train --restart`)
    checkpoint = torch.load(tmp_path / "b" / "model_0.ckpt", weights_only=False)
    resumed = FlashMD.load_checkpoint(checkpoint, "restart")
    resumed.restart(resumed.dataset_info)
    trainer = Trainer.load_checkpoint(
        checkpoint, trainer_hypers(num_epochs=3), "restart"
    )
    train(resumed, dataset, tmp_path / "b", trainer=trainer)
    assert trainer.epoch == 2
    for (name, a), b in zip(
        straight.state_dict().items(), resumed.state_dict().values()
    ):
        assert torch.allclose(a, b, atol=1e-12, equal_nan=True), name


@pytest.mark.parametrize("method", ["full", "lora", "heads"])
def test_fine_tuning_methods(al_pairs, tmp_path, method):
    dataset = small_dataset(al_pairs, tmp_path)
    model = new_model(dataset)
    trainer = train(model, dataset, tmp_path, num_epochs=1)
    trainer.save_checkpoint(model, tmp_path / "base.ckpt")
    checkpoint = torch.load(tmp_path / "base.ckpt", weights_only=False)
    pretrained = FlashMD.load_checkpoint(checkpoint, "finetune")
    before = copy.deepcopy(pretrained.state_dict())
    config = {
        "full": {},
        "lora": {"rank": 2, "alpha": 1.0},
        "heads": {
            "head_modules": ["node_heads", "edge_heads"],
            "last_layer_modules": ["node_last_layers", "edge_last_layers"],
        },
    }[method]
    finetune = {
        "read_from": str(tmp_path / "base.ckpt"),
        "method": method,
        "config": config,
        "inherit_heads": {},
    }
    train(pretrained, dataset, tmp_path, num_epochs=1, finetune=finetune)
    after = pretrained.state_dict()
    backbone = "backbone.gnn_layers.0.trans.layers.0.attention.input_linear.weight"
    changed = not torch.equal(before[backbone], after.get(backbone, before[backbone]))
    assert changed == (method == "full")
    head = "node_heads.position.0.0.weight"
    assert torch.equal(before[head], after[head]) == (method == "lora")
    if method == "lora":
        assert any("lora_A" in name for name in after)
    # the fine-tuned model still saves, reloads, exports and compiles
    trainer = Trainer(trainer_hypers())
    trainer.save_checkpoint(pretrained, tmp_path / "tuned.ckpt")
    checkpoint = torch.load(tmp_path / "tuned.ckpt", weights_only=False)
    # saving compiles the exported model with TorchScript
    FlashMD.load_checkpoint(checkpoint, "export").export().save(
        str(tmp_path / "tuned.pt")
    )


def test_fine_tuning_with_new_elements_is_refused(al_pairs, tmp_path):
    dataset = load_dataset(al_pairs)
    model = new_model(dataset)
    info = flashmd_dataset_info([13, 29])
    with pytest.raises(ValueError, match=r"elements this model was not trained on: Cu"):
        model.restart(info)


def test_recorded_timestep_must_match(al_trajectory, tmp_path):
    pairs = write_pairs(al_trajectory, tmp_path / "pairs.extxyz", lag=10, spacing=10)
    for atoms in pairs:
        atoms.info["flashmd_timestep"] = 10.0
    ase.io.write(tmp_path / "pairs.extxyz", pairs)
    (tmp_path / "options_restart.yaml").write_text(
        f"training_set:\n  systems:\n    read_from: {tmp_path / 'pairs.extxyz'}\n"
    )
    dataset = load_dataset(tmp_path / "pairs.extxyz")
    with pytest.raises(ValueError, match=r"pairs.extxyz' holds pairs 10.0 fs apart"):
        train(new_model(dataset), dataset, tmp_path, timestep=12.0)
    train(new_model(dataset), dataset, tmp_path, timestep=10.0, num_epochs=1)


def test_per_element_errors_are_logged(al_pairs, tmp_path, caplog):
    from metatrain_flashmd.training.metrics import ErrorAccumulator

    accumulator = ErrorAccumulator(["position"], [13, 29])
    errors = {"position": torch.tensor([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 2.0]])}
    accumulator.update(torch.tensor(0.5), torch.tensor([0, 1, 1]), errors)
    metrics = accumulator.finalize(lambda x: x, with_mae=True, per_element=True)
    assert metrics["position RMSE (Al)"] == pytest.approx((1 / 3) ** 0.5)
    assert metrics["position RMSE (Cu)"] == pytest.approx((8 / 6) ** 0.5)
    assert metrics["position MAE (per atom)"] == pytest.approx(5 / 9)

    caplog.set_level("INFO")
    dataset = small_dataset(al_pairs, tmp_path, count=4)
    train(
        new_model(dataset),
        dataset,
        tmp_path,
        num_epochs=1,
        log_separate_blocks=True,
        log_mae=True,
    )
    assert "momentum RMSE (Al)" in caplog.text
    assert "position MAE (Al)" in caplog.text
