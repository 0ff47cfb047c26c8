"""Converted built-in FlashMD checkpoints restart and fine-tune: the trainer state
(schedule, optimizer moments) carries over, and ``mtt train --restart`` accepts a
built-in checkpoint with the options of the built-in run."""

import copy
import gzip
import logging
from pathlib import Path
from typing import Any, Dict, List

import pytest
import torch
import yaml
from builtin_checkpoint_files import (
    CHECKPOINTS,
    NEWEST,
    PAIRS,
    TIMESTEP,
    load,
    mtt,
    name_of,
)
from helpers import pair_target_options
from metatrain.utils.io import model_from_checkpoint, trainer_from_checkpoint

from metatrain_flashmd.checkpoints.versions import (
    IMPLEMENTATION,
)


# -- restart and fine-tuning ---------------------------------------------------------


@pytest.fixture(scope="session")
def pairs_dataset() -> Any:
    """The pairs the checkpoints were trained on, as a metatrain dataset with the
    target options of the original run."""
    from metatrain.utils.data import get_dataset

    dataset, targets, _ = get_dataset(
        {
            "systems": {"read_from": str(PAIRS), "reader": "ase"},
            "targets": pair_target_options(PAIRS, quantity=True),
        }
    )
    return dataset, targets


def training_hypers(**changes: Any) -> Dict[str, Any]:
    from metatrain.utils.architectures import get_default_hypers

    hypers = copy.deepcopy(get_default_hypers("experimental.flashmd")["training"])
    hypers.update(timestep=TIMESTEP, batch_size=5, num_epochs=1, num_workers=0)
    hypers.update(changes)
    return hypers


def dataset_info_of(model: Any, targets: Dict[str, Any], types=(13,)) -> Any:
    from metatrain.utils.data import DatasetInfo

    return DatasetInfo(
        length_unit=model.dataset_info.length_unit,
        atomic_types=list(types),
        targets=targets,
    )


def run(trainer: Any, model: Any, dataset: Any, directory: Path) -> None:
    trainer.train(
        model,
        torch.float32,
        [torch.device("cpu")],
        [dataset],
        [dataset],
        str(directory),
    )


def changed_entries(before: Dict[str, Any], after: Dict[str, Any]) -> List[str]:
    return [
        key
        for key in before
        if not torch.allclose(before[key], after[key], rtol=0, atol=0, equal_nan=True)
    ]


def restart(checkpoint: Dict[str, Any], dataset: Any, targets: Any, directory: Path):
    """Restart training from ``checkpoint`` up to epoch 2 (from 0), as
    `mtt train --restart` does; returns the model, trainer and changed weights."""
    model = model_from_checkpoint(checkpoint, context="restart")
    model = model.restart(dataset_info_of(model, targets))
    trainer = trainer_from_checkpoint(
        checkpoint, context="restart", hypers=training_hypers(num_epochs=2)
    )
    assert trainer.epoch == 0 and trainer.seed == 0
    before = copy.deepcopy(model.state_dict())
    run(trainer, model, dataset, directory)
    assert trainer.epoch == 1  # only the epoch after the built-in one ran
    return model, trainer, changed_entries(before, model.state_dict())


@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_restart_one_epoch(path, pairs_dataset, tmp_path):
    dataset, targets = pairs_dataset
    checkpoint = load(path)
    # as if the built-in run had been planned for two epochs and stopped after one
    checkpoint["train_hypers"]["num_epochs"] = 2
    model, trainer, changed = restart(checkpoint, dataset, targets, tmp_path)
    assert "backbone.gnn_layers.0.trans.layers.0.mlp.w_in.weight" in changed
    assert "node_last_layers.momentum.0.weight" in changed
    assert not {"timestep", "masses", "position_output_scale"} & set(changed)
    # the schedule of the built-in run (2 x 10 steps) resumed after its step 10,
    # here with 2 steps per epoch (batches of 5 pairs)
    assert trainer.schedule_steps == {"warmup": 0, "total": 20}
    assert trainer.scheduler_state_dict["last_epoch"] == 12
    # Adam moments carried over: 10 built-in steps, then 2 more
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    steps = {
        names[i]: int(state["step"])
        for i, state in trainer.optimizer_state_dict["state"].items()
    }
    assert steps["backbone.edge_embedder.weight"] == 12
    assert steps["backbone.node_encoders.0.species_embedding.weight"] == 2

    trainer.save_checkpoint(model, tmp_path / "restarted.ckpt")
    again = load(tmp_path / "restarted.ckpt")
    assert again["implementation"] == IMPLEMENTATION and again["epoch"] == 1
    model_from_checkpoint(again, context="export").export()


def test_restart_of_a_finished_run_keeps_the_weights(pairs_dataset, tmp_path, caplog):
    dataset, targets = pairs_dataset
    with caplog.at_level(logging.INFO):
        model, _, changed = restart(load(NEWEST), dataset, targets, tmp_path)
    assert "continues at learning rate zero" in caplog.text
    # only the training records change: the built-in checkpoint had none, the
    # restart records the training set it is given (see docs/guard.rst)
    assert changed == ["training_limits"]
    assert bool(model.training_limits.isfinite().all())


FINETUNE_CONFIGS = {
    "full": {},
    "lora": {"rank": 2, "alpha": 1.0},
    "heads": {
        "head_modules": ["node_heads", "edge_heads"],
        "last_layer_modules": ["node_last_layers", "edge_last_layers"],
    },
}


@pytest.mark.parametrize(
    "path, method",
    [(path, list(FINETUNE_CONFIGS)[i % 3]) for i, path in enumerate(CHECKPOINTS)],
    ids=lambda value: name_of(value) if isinstance(value, Path) else value,
)
def test_finetune_one_epoch(path, method, pairs_dataset, tmp_path):
    dataset, targets = pairs_dataset
    model = model_from_checkpoint(load(path), context="finetune")
    model = model.restart(dataset_info_of(model, targets))
    before = copy.deepcopy(model.state_dict())
    finetune = {
        "read_from": str(path),
        "method": method,
        "config": FINETUNE_CONFIGS[method],
        "inherit_heads": {},
    }
    from metatrain_flashmd.trainer import Trainer

    trainer = Trainer(training_hypers(finetune=finetune))
    run(trainer, model, dataset, tmp_path)
    assert trainer.epoch == 0

    after = model.state_dict()
    backbone = "backbone.gnn_layers.0.trans.layers.0.attention.input_linear.weight"
    head = "node_heads.position.0.0.weight"
    assert torch.equal(before[backbone], after.get(backbone, before[backbone])) == (
        method != "full"
    )
    assert torch.equal(before[head], after[head]) == (method == "lora")
    assert any("lora_A" in name for name in after) == (method == "lora")
    trainer.save_checkpoint(model, tmp_path / "tuned.ckpt")
    # saving compiles the exported model with TorchScript
    model_from_checkpoint(
        load(tmp_path / "tuned.ckpt"), context="export"
    ).export().save(str(tmp_path / "tuned.pt"))


def test_finetune_with_new_elements_is_refused(pairs_dataset):
    _, targets = pairs_dataset
    model = model_from_checkpoint(load(NEWEST), context="finetune")
    with pytest.raises(ValueError, match=r"not trained on: Cu \(29\)"):
        model.restart(dataset_info_of(model, targets, types=(13, 29)))


@pytest.mark.slow
def test_mtt_train_restart_with_the_old_options(tmp_path):
    checkpoint = tmp_path / "builtin.ckpt"
    checkpoint.write_bytes(gzip.decompress(NEWEST.read_bytes()))

    def vector(key: str, unit: str) -> Dict[str, Any]:
        return {
            "quantity": "position" if key == "future_positions" else "momentum",
            "read_from": str(PAIRS),
            "key": key,
            "unit": unit,
            "type": {"cartesian": {"rank": 1}},
            "sample_kind": "atom",
        }

    # as a user of the built-in FlashMD would have written them: old target names
    options = {
        "seed": 1,
        "architecture": {
            "name": "experimental.flashmd",
            "training": {
                "timestep": TIMESTEP,
                "batch_size": 5,
                "num_epochs": 2,
                "fixed_composition_weights": {},
            },
        },
        "training_set": {
            "systems": str(PAIRS),
            "targets": {
                "positions": vector("future_positions", "A"),
                "momenta": vector("future_momenta", "(eV*u)^(1/2)"),
            },
        },
        "validation_set": 0.2,
        "test_set": 0.0,
    }
    (tmp_path / "options.yaml").write_text(yaml.safe_dump(options))
    log = mtt("train", "options.yaml", "--restart", "builtin.ckpt", cwd=tmp_path)
    assert "Epoch:    1" in log and "Epoch:    0" not in log
    assert "Converted a checkpoint of metatrain's built-in FlashMD" in log
    restarted = load(tmp_path / "model.ckpt")
    assert restarted["implementation"] == IMPLEMENTATION
    assert restarted["epoch"] == 1
    assert (tmp_path / "model.pt").exists()


def test_mismatched_optimizer_state_is_dropped(caplog):
    checkpoint = load(NEWEST)
    checkpoint["optimizer_state_dict"]["param_groups"][0]["params"].pop()
    with caplog.at_level(logging.WARNING):
        trainer = trainer_from_checkpoint(
            checkpoint, context="restart", hypers=training_hypers()
        )
    assert trainer.optimizer_state_dict is None
    assert trainer.best_optimizer_state_dict is not None
    assert "starts with a fresh optimizer" in caplog.text
