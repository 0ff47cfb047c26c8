"""Checkpoints of metatrain's built-in FlashMD are converted to this plugin's format.

The converted models are compared with the built-in implementation itself, run in a
subprocess with the plugin switched off (``METATRAIN_FLASHMD_DISABLE=1``): one
subprocess evaluates every checkpoint on the same systems and saves the predictions.
"""

import copy
import gzip
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import ase.data
import ase.io
import pytest
import torch
import yaml
from helpers import pair_target_options
from metatensor.torch import Labels, TensorBlock, TensorMap
from metatomic.torch import (
    ModelEvaluationOptions,
    ModelOutput,
    NeighborListOptions,
    System,
    load_atomistic_model,
)
from metatrain.utils.io import model_from_checkpoint, trainer_from_checkpoint
from metatrain.utils.neighbor_lists import get_system_with_neighbor_lists

from metatrain_flashmd.checkpoints.versions import (
    IMPLEMENTATION,
    MODEL_VERSION,
    TRAINER_VERSION,
    ForeignCheckpointError,
)


TESTS = Path(__file__).parent
BUILTIN = TESTS / "builtin_checkpoints"
CHECKPOINTS = sorted(BUILTIN.glob("*.ckpt.gz"))
NEWEST = CHECKPOINTS[-1]
PAIRS = BUILTIN / "al32-pairs.xyz"
TIMESTEP = 30.0
"""fs between the two frames of the pairs the checkpoints were trained on."""
FRAMES = [0, 4, 9]
"""Structures of ``PAIRS`` the models are compared on (evaluated as one batch)."""
SYNTHETIC = "synthetic-residual-difference"
"""A built-in model written by the reference subprocess (see
:func:`write_synthetic_builtin`): residual featurizer, momentum differences, two
elements with different scales."""
RTOL = 1e-5


def name_of(path: Path) -> str:
    return path.name.split(".")[0]


def load(path: Path) -> Dict[str, Any]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as file:
        return torch.load(file, weights_only=False, map_location="cpu")


# -- the same inputs in both processes ----------------------------------------------


def input_systems(
    options: List[NeighborListOptions],
    two_elements: bool = False,
    dtype: torch.dtype = torch.float64,
) -> List[System]:
    """The structures ``FRAMES`` of ``PAIRS`` with momenta and masses; with
    ``two_elements``, every fourth atom is copper."""
    systems = []
    for index, atoms in enumerate(ase.io.read(PAIRS, ":")):
        if index not in FRAMES:
            continue
        if two_elements:
            atoms.numbers[::4] = 29
        system = System(
            types=torch.tensor(atoms.numbers, dtype=torch.int32),
            positions=torch.tensor(atoms.positions, dtype=torch.float64),
            cell=torch.tensor(atoms.cell.array, dtype=torch.float64),
            pbc=torch.tensor(atoms.pbc),
        )
        system = get_system_with_neighbor_lists(system.to(dtype), options)
        masses = torch.tensor(ase.data.atomic_masses[atoms.numbers])
        momenta = torch.tensor(atoms.get_momenta(), dtype=torch.float64)
        for name, values in [("momentum", momenta), ("mass", masses)]:
            system.add_data(name, _atom_data(values.unsqueeze(-1).to(dtype), name))
        systems.append(system)
    return systems


def _atom_data(values: torch.Tensor, name: str) -> TensorMap:
    n = values.shape[0]
    samples = Labels(
        ["system", "atom"], torch.tensor([[0, i] for i in range(n)], dtype=torch.int32)
    )
    components = []
    if values.dim() == 3:
        components = [Labels(["xyz"], torch.arange(3).reshape(-1, 1))]
    block = TensorBlock(
        values=values,
        samples=samples,
        components=components,
        properties=Labels([name], torch.tensor([[0]])),
    )
    return TensorMap(Labels.single(), [block])


def predict(model: torch.nn.Module, two_elements: bool = False) -> Dict[str, Any]:
    """Positions and momenta at t + timestep predicted by ``model`` (float64)."""
    model = model.to(torch.float64).eval()
    systems = input_systems(model.requested_neighbor_lists(), two_elements)
    outputs = {
        name: ModelOutput(sample_kind="atom") for name in ("position", "momentum")
    }
    with torch.no_grad():
        results = model(systems, outputs)
    return {
        name: tensor_map.block().values.reshape(-1, 3).clone()
        for name, tensor_map in results.items()
    }


# -- the built-in side (run with METATRAIN_FLASHMD_DISABLE=1) ------------------------


def write_synthetic_builtin(path: Path) -> None:
    """Save a randomly initialised built-in model with the residual featurizer, two
    GNN layers, momentum differences and two elements with their own scales."""
    import metatensor.torch as mts
    from metatrain.experimental.flashmd.model import FlashMD as BuiltinFlashMD
    from metatrain.utils.architectures import get_default_hypers
    from metatrain.utils.data import DatasetInfo
    from metatrain.utils.data.target_info import get_generic_target_info

    torch.manual_seed(1)
    hypers = get_default_hypers("experimental.flashmd")["model"]
    hypers.update(
        d_pet=4,
        d_head=4,
        d_node=4,
        d_feedforward=4,
        num_heads=2,
        num_gnn_layers=2,
        featurizer_type="residual",
        predict_momenta_as_difference=True,
    )

    def vector(name: str, unit: str) -> Any:
        options = {
            "quantity": name,
            "unit": unit,
            "type": {"cartesian": {"rank": 1}},
            "num_subtargets": 1,
            "sample_kind": "atom",
        }
        return get_generic_target_info(name, options)

    info = DatasetInfo(
        length_unit="angstrom",
        atomic_types=[13, 29],
        targets={
            "position": vector("position", "A"),
            "momentum": vector("momentum", "(eV*u)^(1/2)"),
        },
    )
    model = BuiltinFlashMD(hypers, info)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    model.set_timestep(TIMESTEP)
    model.set_masses({z: float(ase.data.atomic_masses[z]) for z in (13, 29)})
    scales = {"position": [0.05, 0.02], "momentum": [0.9, 1.7]}
    for target, values in scales.items():
        for kind in ("", "per_target_"):
            key = f"{target}_{kind}scaler_buffer"
            tensor_map = mts.load_buffer(getattr(model.scaler, key))
            tensor_map.block().values[:, 0] = torch.tensor(values)
            setattr(model.scaler, key, mts.save_buffer(tensor_map))
    torch.save(model.get_checkpoint(), path)


def write_builtin_reference(output: str) -> None:
    """Predictions of the built-in FlashMD for every checkpoint (with the best and
    the latest weights) and for :func:`write_synthetic_builtin`'s model, saved to
    ``output``; the synthetic checkpoint is written beside it."""
    import metatrain.experimental.flashmd as builtin

    location = Path(builtin.__file__).resolve()
    if "site-packages" not in location.parts or "metatrain" not in location.parts:
        raise RuntimeError(f"not metatrain's built-in FlashMD: {location}")
    synthetic = Path(output).with_name(SYNTHETIC + ".ckpt")
    write_synthetic_builtin(synthetic)
    results = {}
    for path in [*CHECKPOINTS, synthetic]:
        for context in ("export", "restart"):
            if path == synthetic and context == "restart":
                continue  # a bare model checkpoint has no separate latest weights
            model = model_from_checkpoint(load(path), context=context)
            for target, values in predict(model, path == synthetic).items():
                results[f"{name_of(path)}/{context}/{target}"] = values
    torch.save(results, output)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """The built-in predictions, computed once for all xdist workers."""
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    output = root / "builtin-reference" / "reference.pt"
    output.parent.mkdir(exist_ok=True)
    with FileLock(str(output) + ".lock"):
        if not output.exists():
            code = (
                "import sys; sys.path.insert(0, sys.argv[1]); "
                "import test_builtin_checkpoints as t; "
                "t.write_builtin_reference(sys.argv[2])"
            )
            result = subprocess.run(
                [sys.executable, "-c", code, str(TESTS), str(output)],
                capture_output=True,
                text=True,
                env={**os.environ, "METATRAIN_FLASHMD_DISABLE": "1"},
            )
            assert result.returncode == 0, result.stdout + result.stderr
    return {
        "predictions": torch.load(output, weights_only=False),
        "synthetic": output.with_name(SYNTHETIC + ".ckpt"),
    }


# -- conversion -----------------------------------------------------------------------


def test_all_versions_are_here():
    pairs = {tuple(name_of(path).split("_")) for path in CHECKPOINTS}
    assert len(pairs) == 12
    assert {m for m, _ in pairs} == {f"model-v{v}" for v in range(1, 6)}
    assert {t for _, t in pairs} == {f"trainer-v{v}" for v in range(1, 8)}


@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_conversion(path):
    from metatrain.utils.pydantic import validate_architecture_options

    from metatrain_flashmd.documentation import ModelHypers, TrainerHypers

    checkpoint = load(path)
    original = load(path)
    model = model_from_checkpoint(checkpoint, context="export")

    assert checkpoint["implementation"] == IMPLEMENTATION
    assert checkpoint["model_ckpt_version"] == MODEL_VERSION
    assert checkpoint["trainer_ckpt_version"] == TRAINER_VERSION
    record = checkpoint["converted_from"]
    assert record["model_ckpt_version"] == original["model_ckpt_version"]
    assert record["trainer_ckpt_version"] == original["trainer_ckpt_version"]

    hypers = checkpoint["model_data"]["model_hypers"]
    old_hypers = original["model_data"]["model_hypers"]
    # long-range features are gone from this plugin: converted hypers drop the key
    kept = {k: v for k, v in old_hypers.items() if k != "long_range"}
    assert {k: hypers[k] for k in kept} == kept
    assert "long_range" not in hypers
    assert hypers["momentum_encoder_width"] == 4 * old_hypers["d_node"]
    assert not hypers["conserve_momentum"] and not hypers["conserve_center_of_mass"]
    # the converted hypers are valid options of this plugin
    validate_architecture_options(
        {
            "name": "experimental.flashmd",
            "model": hypers,
            "training": checkpoint["train_hypers"],
        },
        ModelHypers,
        TrainerHypers,
    )
    training = checkpoint["train_hypers"]
    assert set(training["loss"]) == {"position", "momentum"}
    assert training["timestep"] == TIMESTEP

    targets = checkpoint["model_data"]["dataset_info"].targets
    assert list(targets) == ["position", "momentum"]
    assert targets["momentum"].unit == "(eV*u)^(1/2)"
    assert model.target_names == ["position", "momentum"]
    assert checkpoint["model_data"]["dtype"] == "float32"
    assert float(model.timestep) == TIMESTEP
    old_state = original["best_model_state_dict"]
    assert torch.allclose(model.masses, old_state["masses"], rtol=0, equal_nan=True)
    assert torch.equal(model.momentum_input_scale, torch.ones(1))
    assert "scaler" not in " ".join(checkpoint["best_model_state_dict"])
    old_position, old_momentum = original["model_data"]["dataset_info"].targets
    model_version = original["model_ckpt_version"]
    assert old_position == ("positions" if model_version < 5 else "position")
    for scale, target in [
        (model.position_output_scale, old_position),
        (model.momentum_output_scale, old_momentum),
    ]:
        expected = _scale(old_state, f"scaler.{target}_scaler_buffer")
        assert float(scale[0]) == pytest.approx(expected, rel=1e-6)


def _scale(state: Dict[str, Any], key: str) -> float:
    import metatensor.torch as mts

    return float(mts.load_buffer(state[key]).block().values[0, 0])


def test_node_encoder_merge_is_exact():
    from metatrain_flashmd.checkpoints.builtin import merge_node_encoder
    from metatrain_flashmd.modules.encoder import NodeEncoder
    from metatrain_flashmd.network.encoder import MomentumEncoder

    torch.manual_seed(0)
    builtin = NodeEncoder(3, 5).double()
    with torch.no_grad():
        for parameter in builtin.parameters():
            parameter.normal_()
    merged = merge_node_encoder(
        builtin.center_encoder.weight,
        tuple(builtin.momenta_encoder[i].weight for i in (0, 2, 4)),
        builtin.compressor.weight,
    )
    ours = MomentumEncoder(3, 5, 20).double()
    ours.load_state_dict(merged)
    species = torch.tensor([0, 2, 1, 1, 0])
    momenta = torch.randn(5, 3, dtype=torch.float64)
    assert torch.allclose(
        ours(species, momenta), builtin(species, momenta), rtol=1e-12, atol=1e-12
    )


def relative_differences(
    ours: Dict[str, torch.Tensor],
    builtin: Dict[str, torch.Tensor],
    positions: torch.Tensor,
) -> Dict[str, float]:
    """Largest difference relative to the largest value, for the new positions, the
    displacements (new minus old positions) and the new momenta."""

    def relative(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a - b).abs().max() / b.abs().max())

    return {
        "position": relative(ours["position"], builtin["position"]),
        "displacement": relative(
            ours["position"] - positions, builtin["position"] - positions
        ),
        "momentum": relative(ours["momentum"], builtin["momentum"]),
    }


def _positions(two_elements: bool = False) -> torch.Tensor:
    options = [NeighborListOptions(cutoff=4.5, full_list=True, strict=True)]
    return torch.cat([s.positions for s in input_systems(options, two_elements)])


@pytest.mark.parametrize("context", ["export", "restart"])
@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_predictions_equal_the_builtin_ones(path, context, reference, record_property):
    model = model_from_checkpoint(load(path), context=context)
    ours = predict(model)
    builtin = {
        target: reference["predictions"][f"{name_of(path)}/{context}/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions())
    record_property("relative_differences", differences)
    assert max(differences.values()) < RTOL, differences
    # the comparison is not trivial: the atoms move
    assert float((builtin["position"] - _positions()).abs().max()) > 1e-4


def test_synthetic_model_predictions_equal_the_builtin_ones(reference):
    checkpoint = load(reference["synthetic"])
    model = model_from_checkpoint(checkpoint, context="export")
    assert model.atomic_types == [13, 29]
    assert model.predict_momenta_as_difference
    assert len(model.backbone.node_encoders) == 2
    assert model.momentum_output_scale.tolist() == pytest.approx([0.9, 1.7])
    ours = predict(model, two_elements=True)
    builtin = {
        target: reference["predictions"][f"{SYNTHETIC}/export/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions(True))
    assert max(differences.values()) < RTOL, differences


# -- export ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_export(path):
    model = model_from_checkpoint(load(path), context="export")
    exported = model.export()
    assert exported.capabilities().dtype == "float32"
    extra = exported.metadata().extra
    assert float(extra["flashmd_timestep_fs"]) == TIMESTEP
    assert "arxiv.org/abs/2505.19350" in str(exported.metadata())


def test_mtt_export(tmp_path, reference):
    checkpoint = tmp_path / "builtin.ckpt"
    checkpoint.write_bytes(gzip.decompress(NEWEST.read_bytes()))
    mtt("export", "builtin.ckpt", "-o", "exported.pt", cwd=tmp_path)
    exported = load_atomistic_model(str(tmp_path / "exported.pt"))
    assert float(exported.module.timestep) == TIMESTEP

    # the model stays in float32, the precision it was trained in
    systems = input_systems(exported.requested_neighbor_lists(), dtype=torch.float32)
    options = ModelEvaluationOptions(
        length_unit="angstrom",
        outputs={
            name: ModelOutput(sample_kind="atom") for name in ("position", "momentum")
        },
    )
    results = exported(systems, options, check_consistency=True)
    ours = {
        name: tensor_map.block().values.reshape(-1, 3).double()
        for name, tensor_map in results.items()
    }
    builtin = {
        target: reference["predictions"][f"{name_of(NEWEST)}/export/{target}"]
        for target in ("position", "momentum")
    }
    differences = relative_differences(ours, builtin, _positions())
    assert max(differences.values()) < 1e-5, differences


def mtt(*args: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "metatrain", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "METATRAIN_FLASHMD_DISABLE": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


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
        _, _, changed = restart(load(NEWEST), dataset, targets, tmp_path)
    assert "continues at learning rate zero" in caplog.text
    assert changed == []


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
            "per_atom": True,
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


# -- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "versions", [(6, 7), (5, 8)], ids=["newer-model", "newer-trainer"]
)
def test_newer_builtin_version_says_so(versions):
    checkpoint = load(NEWEST)
    checkpoint["model_ckpt_version"], checkpoint["trainer_ckpt_version"] = versions
    with pytest.raises(ForeignCheckpointError, match="newer built-in FlashMD"):
        model_from_checkpoint(checkpoint, context="export")
    checkpoint = load(NEWEST)
    checkpoint["model_ckpt_version"], checkpoint["trainer_ckpt_version"] = versions
    with pytest.raises(ForeignCheckpointError, match="upgrade metatrain-flashmd"):
        trainer_from_checkpoint(checkpoint, context="restart", hypers={})


def test_unconvertible_checkpoint_says_why():
    checkpoint = load(NEWEST)
    checkpoint["model_data"]["model_hypers"]["long_range"]["enable"] = True
    with pytest.raises(ForeignCheckpointError) as error:
        model_from_checkpoint(checkpoint, context="export")
    message = str(error.value)
    assert "could not convert it: it uses long-range features" in message
    assert "METATRAIN_FLASHMD_DISABLE=1" in message
    assert checkpoint.get("implementation") is None  # left untouched


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
