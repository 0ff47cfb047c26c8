"""Checkpoints of metatrain's built-in FlashMD are converted to this plugin's format:
what the converted checkpoints hold, their export, and the checkpoints refused.

The converted models' predictions are compared with the built-in implementation in
``test_builtin_predictions.py``, their restarts and fine-tuning in
``test_builtin_restarts.py``.
"""

from typing import Any, Dict

import pytest
import torch
from builtin_checkpoint_files import (
    CHECKPOINTS,
    NEWEST,
    TIMESTEP,
    load,
    name_of,
)
from metatrain.utils.io import model_from_checkpoint, trainer_from_checkpoint

from metatrain_flashmd.checkpoints.versions import (
    IMPLEMENTATION,
    MODEL_VERSION,
    TRAINER_VERSION,
    ForeignCheckpointError,
)


# -- conversion -----------------------------------------------------------------------


def test_all_versions_are_here():
    pairs = {tuple(name_of(path).split("_")) for path in CHECKPOINTS}
    assert len(pairs) == 12
    assert {m for m, _ in pairs} == {f"model-v{v}" for v in range(1, 6)}
    assert {t for _, t in pairs} == {f"trainer-v{v}" for v in range(1, 8)}


@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_conversion(path):
    from metatrain.utils.hypers import init_with_defaults
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
    old_hypers = dict(original["model_data"]["model_hypers"])
    assert not old_hypers.pop("long_range")["enable"]
    assert {k: hypers[k] for k in old_hypers} == old_hypers
    # exactly this plugin's hypers: the built-in long_range entry is not carried over
    assert sorted(hypers) == sorted(init_with_defaults(ModelHypers))
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


# -- export ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHECKPOINTS, ids=name_of)
def test_export(path):
    model = model_from_checkpoint(load(path), context="export")
    exported = model.export()
    assert exported.capabilities().dtype == "float32"
    extra = exported.metadata().extra
    assert float(extra["flashmd_timestep_fs"]) == TIMESTEP
    assert "arxiv.org/abs/2505.19350" in str(exported.metadata())


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


def test_builtin_long_range_entry_is_dropped():
    """A built-in model without long-range features converts to hypers without the
    built-in ``long_range`` entry (only this plugin's hypers, with its defaults)."""
    from metatrain.utils.hypers import init_with_defaults

    from metatrain_flashmd.checkpoints.builtin import convert_model_hypers
    from metatrain_flashmd.documentation import ModelHypers

    hypers = load(NEWEST)["model_data"]["model_hypers"]
    hypers["long_range"] = {"enable": False, "builtin_only": 1}
    converted = convert_model_hypers(hypers)
    defaults = init_with_defaults(ModelHypers)
    assert sorted(converted) == sorted(defaults)
    assert "long_range" not in converted
    assert "builtin_only" in hypers["long_range"]  # the input is left unchanged
    del hypers["long_range"]  # formats without the entry convert too
    assert sorted(convert_model_hypers(hypers)) == sorted(defaults)
