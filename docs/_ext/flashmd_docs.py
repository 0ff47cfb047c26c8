"""Sphinx extension of the metatrain-flashmd documentation.

Architecture page
    The page ``architecture.rst`` starts with the directive-like marker
    ``.. flashmd-documentation-docstring::``, replaced, when the page is read, by
    the module docstring of :mod:`metatrain_flashmd.documentation` (the text that
    metatrain shows for the architecture), whose ``{{SECTION_...}}`` placeholders
    become the snippets in ``snippets/``, as metatrain's own documentation does.

Hyperparameter coverage
    After the architecture page is read, every option group of
    ``documentation.py`` and every field of it must be documented on the page (see
    ``hyper_coverage.py``); each one missing is reported as a warning, which
    ``sphinx-build -W`` turns into a failed build.
"""

import importlib
import inspect
from typing import Any, Dict, List

import hyper_coverage
from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging


logger = logging.getLogger(__name__)

DOCUMENTATION_MODULE = "metatrain_flashmd.documentation"
ARCHITECTURE_PAGE = "architecture"
MARKER = ".. flashmd-documentation-docstring::"
PLACEHOLDERS = {
    "{{SECTION_INSTALLATION}}": ".. include:: /snippets/installation.rst",
    "{{SECTION_DEFAULT_HYPERS}}": ".. include:: /snippets/default-hypers.rst",
}


def architecture_text() -> str:
    """The module docstring of ``documentation.py``, placeholders replaced."""
    module = importlib.import_module(DOCUMENTATION_MODULE)
    text = inspect.cleandoc(module.__doc__ or "")
    for placeholder, replacement in PLACEHOLDERS.items():
        if placeholder not in text:
            logger.warning(
                f"the docstring of {DOCUMENTATION_MODULE} has no {placeholder}",
                location=ARCHITECTURE_PAGE,
            )
        text = text.replace(placeholder, replacement)
    if "{{" in text:
        logger.warning(
            f"unknown placeholder left in the docstring of {DOCUMENTATION_MODULE}",
            location=ARCHITECTURE_PAGE,
        )
    return text


def on_source_read(app: Sphinx, docname: str, source: List[str]) -> None:
    if docname != ARCHITECTURE_PAGE:
        return
    if MARKER not in source[0]:
        logger.warning(
            f"{ARCHITECTURE_PAGE}.rst must contain '{MARKER}'",
            location=ARCHITECTURE_PAGE,
        )
        return
    source[0] = source[0].replace(MARKER, architecture_text())


def documented_objects(doctree: nodes.document, module: str) -> Dict[str, str]:
    """Python objects of ``module`` described in ``doctree``: qualified name ->
    text of the description."""
    found: Dict[str, str] = {}
    for desc in doctree.findall(addnodes.desc):
        if desc.get("domain") != "py":
            continue
        content = "".join(
            child.astext()
            for child in desc.children
            if isinstance(child, addnodes.desc_content)
        )
        for signature in desc.findall(addnodes.desc_signature):
            if signature.get("module") == module and signature.get("fullname"):
                name = signature["fullname"]
                found[name] = found.get(name, "") + content
    return found


def on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    env = app.env
    if env.docname != ARCHITECTURE_PAGE:
        return
    module = importlib.import_module(DOCUMENTATION_MODULE)
    documented = documented_objects(doctree, DOCUMENTATION_MODULE)
    env.flashmd_missing_hypers = hyper_coverage.missing_names(module, documented)
    env.flashmd_architecture_read = True


def on_check_consistency(app: Sphinx, env: BuildEnvironment) -> None:
    if ARCHITECTURE_PAGE not in env.found_docs:
        logger.warning(f"the documentation has no {ARCHITECTURE_PAGE}.rst page")
        return
    for name in getattr(env, "flashmd_missing_hypers", []):
        logger.warning(
            f"hyperparameter '{name}' of {DOCUMENTATION_MODULE} is not documented on "
            f"the architecture page (a field needs a docstring and an autodoc "
            "directive that shows it)",
            location=ARCHITECTURE_PAGE,
        )


def on_merge_info(
    app: Sphinx, env: BuildEnvironment, docnames: Any, other: BuildEnvironment
) -> None:
    if getattr(other, "flashmd_architecture_read", False):
        env.flashmd_missing_hypers = other.flashmd_missing_hypers
        env.flashmd_architecture_read = True


def setup(app: Sphinx) -> Dict[str, Any]:
    app.connect("source-read", on_source_read)
    app.connect("doctree-read", on_doctree_read)
    app.connect("env-check-consistency", on_check_consistency)
    app.connect("env-merge-info", on_merge_info)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
