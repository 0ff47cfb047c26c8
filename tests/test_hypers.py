"""Hyperparameters: documentation.py is the single source, validated by metatrain."""

import copy
from pathlib import Path

import pytest
from metatrain.utils.architectures import check_architecture_options, get_default_hypers
from metatrain.utils.pydantic import MetatrainValidationError
from omegaconf import OmegaConf


DEFAULTS_FILE = Path(__file__).parents[1] / "default_hypers/flashmd-default-hypers.yaml"


def defaults() -> dict:
    return copy.deepcopy(get_default_hypers("experimental.flashmd"))


def test_default_hypers_file_matches_documentation():
    written = OmegaConf.to_container(OmegaConf.load(DEFAULTS_FILE))
    assert written == {"architecture": defaults()}


def test_every_hyper_has_a_docstring():
    import ast

    import metatrain_flashmd.documentation as documentation

    tree = ast.parse(Path(documentation.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in (
            "ModelHypers",
            "TrainerHypers",
        ):
            body = node.body
            for index, item in enumerate(body):
                if isinstance(item, ast.AnnAssign):
                    following = body[index + 1] if index + 1 < len(body) else None
                    assert isinstance(following, ast.Expr), item.target.id
                    assert isinstance(following.value.value, str), item.target.id


def test_defaults_are_valid():
    check_architecture_options("experimental.flashmd", defaults())


@pytest.mark.parametrize(
    "section, key, value, message",
    [
        ("model", "d_pett", 8, "Unrecognized option 'd_pett'"),
        ("model", "d_pet", "wide", "Input should be a valid integer"),
        ("model", "normalization", "BatchNorm", "Input should be 'RMSNorm' or"),
        ("training", "timestep", "fast", "Input should be a valid number"),
        ("training", "masses", {"H": 1.0}, "Input should be a valid integer"),
    ],
)
def test_bad_options_are_refused(section, key, value, message):
    options = defaults()
    options[section][key] = value
    with pytest.raises(MetatrainValidationError, match=message):
        check_architecture_options("experimental.flashmd", options)


def test_older_name_of_atomic_baseline_is_accepted():
    options = defaults()
    options["training"]["fixed_composition_weights"] = {"position": 0.0}
    check_architecture_options("experimental.flashmd", options)
