"""The options file of ``mtt-flashmd pairs --options``: valid for metatrain without a
deprecation warning, and the same as the one the README writes by hand."""

import re
import warnings
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from metatrain_flashmd.pairs.build import build_pairs
from metatrain_flashmd.pairs.output import options_text


README = Path(__file__).resolve().parents[1] / "README.rst"
AL_MASS = 26.9815385
"""ASE's mass of aluminium, u."""


def readme_options() -> dict:
    """The ``options.yaml`` written by hand in the README."""
    text = README.read_text()
    section = text[text.index("A minimal ``options.yaml``") :]
    block = section[section.index(".. code-block:: yaml") :].split("\n\n")[1]
    return yaml.safe_load(block)


def test_written_options_pass_metatrain_validation_without_deprecation(
    tmp_path, al_trajectory
):
    from metatrain.utils.omegaconf import expand_dataset_config
    from metatrain.utils.pydantic import validate_base_options

    options = tmp_path / "options.yaml"
    build_pairs([al_trajectory], tmp_path / "pairs.xyz", lag=10, options=options)
    written = yaml.safe_load(options.read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        validated = validate_base_options(written)
        for section in ("training_set", "validation_set", "test_set"):
            (expanded,) = expand_dataset_config(OmegaConf.create(validated[section]))
            for target in expanded["targets"].values():
                assert target["sample_kind"] == "atom"
    for section in ("training_set", "validation_set", "test_set"):
        for target in written[section]["targets"].values():
            assert "per_atom" not in target


def test_the_readme_options_are_what_pairs_writes():
    sets = {name: Path(f"pairs-{name}.xyz") for name in ("train", "val", "test")}
    written = options_text(sets, Path("options.yaml"), 32.0, {13: AL_MASS})
    assert readme_options() == yaml.safe_load(written)


@pytest.mark.parametrize("name", ["README.rst", "docs/troubleshooting.rst"])
def test_no_deprecated_per_atom_in_the_user_docs(name):
    """No options example sets ``per_atom`` (deprecated in metatrain 2026.4)."""
    text = (README.parent / name).read_text()
    assert re.search(r"^\s*per_atom\s*:", text, re.MULTILINE) is None
    assert "sample_kind: atom" in text
