"""The architecture page documents every hyperparameter of documentation.py.

The documentation build checks the rendered page (``docs/_ext/flashmd_docs.py``,
failing ``tox -e docs``); these tests check the same rule on the page's source,
without Sphinx: which fields the autodoc directives of ``docs/architecture.rst``
render, given their options and the fields' docstrings.
"""

import ast
import re
import sys
from pathlib import Path
from typing import Dict, List

import pytest

import metatrain_flashmd.documentation as documentation


DOCS = Path(__file__).resolve().parents[1] / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

import hyper_coverage  # noqa: E402


def attribute_docstrings() -> Dict[str, Dict[str, str]]:
    """Docstring of each field of each class of documentation.py (empty if none)."""
    tree = ast.parse(Path(documentation.__file__).read_text())
    classes = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = {}
        for index, item in enumerate(node.body):
            if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                following = node.body[index + 1] if index + 1 < len(node.body) else None
                text = ""
                if isinstance(following, ast.Expr) and isinstance(
                    following.value, ast.Constant
                ):
                    text = str(following.value.value)
                fields[item.target.id] = text
        classes[node.name] = fields
    return classes


def autodoc_directives(page: str) -> List[Dict[str, str]]:
    """The ``autoclass`` directives of an rst page: name and options."""
    directives = []
    lines = page.splitlines()
    for index, line in enumerate(lines):
        match = re.match(r"\.\. autoclass:: (\S+)\s*$", line)
        if match is None:
            continue
        options = {"name": match.group(1).split(".")[-1]}
        for option_line in lines[index + 1 :]:
            option = re.match(r"\s+:([\w-]+):\s*(.*)$", option_line)
            if option is None:
                break
            options[option.group(1)] = option.group(2).strip()
        directives.append(options)
    return directives


def rendered_fields(page: str) -> Dict[str, str]:
    """What autodoc renders from ``page``: qualified name -> description, for the
    classes of documentation.py (as Sphinx would, for the options used here)."""
    docstrings = attribute_docstrings()
    rendered = {}
    for directive in autodoc_directives(page):
        name = directive["name"]
        if name not in docstrings:
            continue
        rendered[name] = "(class)"
        if "members" not in directive:
            continue
        fields = docstrings[name]
        if directive["members"]:
            chosen = [m.strip() for m in directive["members"].split(",")]
            fields = {f: text for f, text in fields.items() if f in chosen}
        excluded = [m.strip() for m in directive.get("exclude-members", "").split(",")]
        for field, text in fields.items():
            if field in excluded:
                continue
            if text.strip() or "undoc-members" in directive:
                rendered[f"{name}.{field}"] = text
    return rendered


def architecture_page() -> str:
    return (DOCS / "architecture.rst").read_text()


def test_every_hyperparameter_is_on_the_architecture_page():
    missing = hyper_coverage.missing_names(
        documentation, rendered_fields(architecture_page())
    )
    assert missing == []


def test_the_groups_are_the_typeddicts_of_documentation_py():
    groups = hyper_coverage.option_groups(documentation)
    fields = list(documentation.ModelHypers.__annotations__)
    assert groups["ModelHypers"] == fields
    assert "timestep" in groups["TrainerHypers"]
    assert "LossSpecification" in groups and "FixedWeights" not in groups


@pytest.mark.parametrize(
    "change",
    [
        # one hyperparameter excluded from the page
        (
            ".. autoclass:: TrainerHypers\n    :members:\n",
            ".. autoclass:: TrainerHypers\n    :members:\n"
            "    :exclude-members: masses\n",
        ),
        # a whole group left out
        (".. autoclass:: LossSpecification\n", ".. autoclass:: Unrelated\n"),
        # members listed by hand, one forgotten
        (
            ".. autoclass:: ModelHypers\n    :members:\n",
            ".. autoclass:: ModelHypers\n    :members: cutoff, d_pet\n",
        ),
    ],
)
def test_a_missing_hyperparameter_is_found(change):
    page = architecture_page()
    before, after = change
    assert before in page
    missing = hyper_coverage.missing_names(
        documentation, rendered_fields(page.replace(before, after))
    )
    assert missing


def test_a_hyperparameter_without_description_counts_as_missing():
    documented = dict.fromkeys(hyper_coverage.expected_names(documentation), "text")
    assert hyper_coverage.missing_names(documentation, documented) == []

    documented["ModelHypers.cutoff"] = "  "
    assert hyper_coverage.missing_names(documentation, documented) == [
        "ModelHypers.cutoff"
    ]
    # fields of nested groups only need to be shown
    documented["ModelHypers.cutoff"] = "text"
    documented["NoFinetuneHypers.method"] = ""
    assert hyper_coverage.missing_names(documentation, documented) == []

    del documented["TrainerHypers.time_reversal"]
    assert hyper_coverage.missing_names(documentation, documented) == [
        "TrainerHypers.time_reversal"
    ]
