"""Sphinx configuration of the metatrain-flashmd documentation.

Build with ``tox -e docs`` (or ``sphinx-build -W --keep-going docs docs/_build/html``
in an environment with the ``docs`` extra installed). The tutorial in ``tutorials/``
is executed by sphinx-gallery during the build.
"""

import os
import sys
from pathlib import Path

import metatrain_flashmd


HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE / "_ext"))

# -- project -------------------------------------------------------------------------

project = "metatrain-flashmd"
author = "The metatrain-flashmd developers"
copyright = "2025-2026, " + author
release = metatrain_flashmd.__version__
version = release

# -- general -------------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxcontrib.bibtex",
    "sphinx_gallery.gen_gallery",
    "sphinxarg.ext",
    # local extensions, in _ext/
    "flashmd_docs",
]

# keep "--option" as typed in command-line help (no en dashes)
smartquotes_action = "qe"

exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # included by the architecture page (see _ext/flashmd_docs.py), not pages
    "snippets",
    # sphinx-gallery reads the tutorial sources and writes auto_examples/
    "tutorials",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.zip",
]

# no intersphinx: the build must work offline. References to Python objects outside
# this package (torch, ase, metatomic, typing) stay plain text; inside it, a broken
# reference is an error (nitpicky, with everything else ignored).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!metatrain_flashmd\b).*")]

# -- autodoc -------------------------------------------------------------------------

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
add_module_names = False
# evaluate `from __future__`-free annotations as written in the source
autodoc_preserve_defaults = True

# -- bibliography --------------------------------------------------------------------

bibtex_bibfiles = ["refs.bib"]
bibtex_default_style = "unsrt"
bibtex_reference_style = "author_year"

# -- sphinx-gallery ------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r"/.*\.py$",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    # one run of the tutorial takes minutes: a failure must fail the build
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "write_computation_times": False,
    "reset_modules": ("matplotlib",),
}

os.environ.setdefault("MPLBACKEND", "Agg")

# -- HTML ----------------------------------------------------------------------------

html_theme = "furo"
html_title = f"metatrain-flashmd {release}"
html_static_path = []
html_theme_options = {
    "source_repository": "https://github.com/metatrain-flashmd/metatrain-flashmd/",
    "source_branch": "main",
    "source_directory": "docs/",
}
