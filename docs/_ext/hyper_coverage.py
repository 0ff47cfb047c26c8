"""Which hyperparameters of ``documentation.py`` a rendered page documents.

Used by the ``flashmd_docs`` Sphinx extension (a missing hyperparameter fails the
build) and by ``tests/test_docs.py``; it imports nothing from Sphinx.

Every option group of :mod:`metatrain_flashmd.documentation` (``ModelHypers``,
``TrainerHypers`` and the nested ``TypedDict`` groups) must appear on the
architecture page as a documented class, and each of its fields as a documented
attribute. The fields of :data:`DESCRIBED_GROUPS` must also have a non-empty
description (some fields of the nested groups, such as ``NoFinetuneHypers.method``,
are placeholders without one).
"""

import types
from typing import Dict, Iterable, List, Mapping


DESCRIBED_GROUPS = ("ModelHypers", "TrainerHypers")
"""Option groups whose every field must have a description."""


def is_typeddict(value: object) -> bool:
    """Whether ``value`` is a ``TypedDict`` class (of typing or typing_extensions)."""
    return (
        isinstance(value, type)
        and issubclass(value, dict)
        and hasattr(value, "__required_keys__")
        and hasattr(value, "__optional_keys__")
    )


def option_groups(module: types.ModuleType) -> Dict[str, List[str]]:
    """The ``TypedDict`` classes defined in ``module``, with their fields in source
    order: ``{"ModelHypers": ["predict_momenta_as_difference", ...], ...}``."""
    groups = {}
    for name, value in vars(module).items():
        if is_typeddict(value) and value.__module__ == module.__name__:
            groups[name] = list(value.__annotations__)
    return groups


def expected_names(module: types.ModuleType) -> List[str]:
    """Qualified names (``ModelHypers``, ``ModelHypers.cutoff``, ...) that the page
    must document."""
    names = []
    for group, fields in option_groups(module).items():
        names.append(group)
        names.extend(f"{group}.{field}" for field in fields)
    return names


def missing_names(
    module: types.ModuleType, documented: Mapping[str, str] | Iterable[str]
) -> List[str]:
    """Names of :func:`expected_names` that ``documented`` lacks.

    :param module: the ``documentation`` module.
    :param documented: the documented objects of ``module``, by qualified name: a
        mapping to their description, or just the names. A field of
        :data:`DESCRIBED_GROUPS` with an empty description counts as missing.
    """
    if not isinstance(documented, Mapping):
        documented = dict.fromkeys(documented, "(documented)")
    missing = []
    for name in expected_names(module):
        if name not in documented:
            missing.append(name)
        elif name.split(".")[0] in DESCRIBED_GROUPS and not documented[name].strip():
            missing.append(name)
    return missing
