"""Sphinx configuration of the skmtl documentation.

Build (warnings are errors)::

    pip install -e ".[docs]"
    python -m sphinx -W -b html docs docs/_build/html

The gallery runs ``examples/plot_*.py`` only; other scripts in ``examples/`` are shown, not run.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's skmtl when it is not installed
sys.path.insert(1, str(HERE))  # _gallery_order
os.environ.setdefault("MPLBACKEND", "agg")

import skmtl  # noqa: E402

project = "skmtl"
author = "skmtl developers"
copyright = "skmtl developers"  # noqa: A001
release = skmtl.__version__
version = re.sub(r"\.dev\d*$|rc\d*$", "", release)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]


def _offline_mathjax() -> bool:
    try:
        importlib.import_module("sphinx-mathjax-offline")
    except ImportError:
        return False
    return True


# MathJax ships with the pages (sphinx-mathjax-offline, in the docs extra, copies MathJax 3 to
# _static/mathjax): the maths renders without internet. Without the package, MathJax comes from
# a CDN.
if _offline_mathjax():
    extensions.append("sphinx-mathjax-offline")

templates_path = ["_templates"]
# _api_*.rst are parts of api.rst (included), not pages of their own
exclude_patterns = ["_build", "gen_modules/backreferences", "**.ipynb_checkpoints", "_api_*.rst"]
root_doc = "index"
default_role = "literal"

# -- autodoc / autosummary / numpydoc -----------------------------------------------------------
# autosummary_generate is set below, once the optional parts are known

autodoc_typehints = "none"  # numpydoc sections carry the types
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# SKMTL_DOCS_MATHJAX points at another MathJax copy (applied in setup(), after the offline
# extension has set its own), e.g.
# file:///usr/share/javascript/mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML (Debian's
# libjs-mathjax, MathJax 2)

# -- sphinx-gallery -----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",  # executed: plot_*.py only; the rest is shown, not run
    "ignore_pattern": r"__init__\.py",
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skmtl",),
    "reference_url": {"skmtl": None},
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "_gallery_order.ExampleOrder",  # linear models, then networks
    "show_memory": False,
    "plot_gallery": "True",
}

# -- HTML ---------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skmtl {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# pages without sub-pages get no left sidebar; the user guide and the API pages list their
# section's pages there
html_sidebars = {
    page: []
    for page in ["index", "getting_started", "cli", "auto_examples/*"]
}
html_static_path: list[str] = []
html_show_sourcelink = False
toc_object_entries_show_parents = "hide"  # "fit()" rather than "Estimator.fit()" in page tocs


# -- optional parts -----------------------------------------------------------------------------
# The neural half (docs/neural.rst, skmtl.neural) and the smaller modules (metrics,
# model_selection, io) are written alongside the linear half. Until a page exists and its module
# imports, the build drops the references to it instead of failing.
def _importable(name: str) -> bool:
    try:
        importlib.import_module(name)
    except Exception:  # noqa: BLE001 - any import failure means "leave it out"
        return False
    return True


HAS_NEURAL_PAGE = (HERE / "neural.rst").exists()
HAS_NEURAL_API = _importable("skmtl.neural") and hasattr(skmtl, "MultiTaskEstimator")
HAS_METRICS = _importable("skmtl.metrics")
HAS_MODEL_SELECTION = _importable("skmtl.model_selection")
HAS_IO = _importable("skmtl.io")

# blocks between ".. optional-begin:: NAME" and ".. optional-end:: NAME" comments are kept only
# when NAME is available; NAME "page:foo" is available when docs/foo.rst exists
_OPTIONAL = {
    "neural-page": HAS_NEURAL_PAGE,
    "neural-api": HAS_NEURAL_API,
    "metrics": HAS_METRICS,
    "model-selection": HAS_MODEL_SELECTION,
    "io": HAS_IO,
}
_BLOCK = re.compile(r"^\.\. optional-begin:: (\S+)\n(.*?)^\.\. optional-end:: \1\n", re.M | re.S)


# autosummary writes stub pages for the files listed here only (it reads them raw, before the
# optional blocks are dropped), so a part that cannot be imported is never listed
autosummary_generate = ["api.rst"] + [
    f"_api_{name}.rst" for name, ok in [("neural", HAS_NEURAL_API), ("metrics", HAS_METRICS)] if ok
]


def _drop_unavailable(text: str, where: str) -> str:
    def keep(match):
        name = match.group(1)
        if name.startswith("page:"):  # a user-guide page that is still being written
            return match.group(2) if (HERE / f"{name[5:]}.rst").exists() else ""
        if name not in _OPTIONAL:
            raise ValueError(f"{where}: unknown optional block {name!r}")
        return match.group(2) if _OPTIONAL[name] else ""

    return _BLOCK.sub(keep, text)


# In a numpydoc type such as "ndarray of shape (n_features_in_,)", reST reads the bare
# ``n_features_in_`` as a link to a target that does not exist. Quote such names in the
# "name : type" lines before numpydoc renders them (scikit-learn writes `n_features_in_`).
_PARAM_LINE = re.compile(r"^(\s*\*{0,2}\w+(?:, \w+)* : )(.*)$")
_BARE_NAME = re.compile(r"(?<![`\w])([A-Za-z]\w*_)(?![\w`])")


def _quote_type_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        match = _PARAM_LINE.match(line)
        if match:
            lines[i] = match.group(1) + _BARE_NAME.sub(r"``\1``", match.group(2))


def _on_source_read(app, docname, source):
    source[0] = _drop_unavailable(source[0], docname)


def _on_include_read(app, relative_path, parent_docname, content):
    content[0] = _drop_unavailable(content[0], str(relative_path))


class _CommandHelp(SphinxDirective):
    """``.. skmtl-help:: compare``: the ``--help`` text of ``python -m skmtl ...``, as a literal
    block, so that the options on the page are those of the installed command."""

    required_arguments = 0
    optional_arguments = 10

    def run(self):
        env = {**os.environ, "COLUMNS": "96", "PYTHONPATH": str(HERE.parent)}
        command = [sys.executable, "-m", "skmtl", *self.arguments, "--help"]
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        if done.returncode != 0:
            raise self.error(f"{' '.join(command)} failed: {done.stderr.strip()}")
        # argparse does not wrap a raw description: wrap long lines here, keeping the indent
        lines = []
        for line in done.stdout.splitlines():
            indent = line[: len(line) - len(line.lstrip())]
            lines.extend(textwrap.wrap(line, 96, subsequent_indent=indent + "  ") or [""])
        text = "\n".join(lines)
        block = nodes.literal_block(text, text)
        block["language"] = "text"
        return [block]


def _math_in_summaries(app, pagename, templatename, context, doctree):
    # autosummary tables render a docstring's :math: as \( ... \) text, not as a math node, so
    # Sphinx would leave MathJax out of a page (api.html) whose only maths is in such a table
    if "\\(" in context.get("body", ""):
        context["has_maths_elements"] = True


def _mathjax_override(app, config):
    if os.environ.get("SKMTL_DOCS_MATHJAX"):
        config.mathjax_path = os.environ["SKMTL_DOCS_MATHJAX"]


def setup(app):
    app.connect("config-inited", _mathjax_override)
    app.add_directive("skmtl-help", _CommandHelp)
    app.connect("html-page-context", _math_in_summaries, priority=400)  # before MathJax's hook
    app.connect("source-read", _on_source_read)
    app.connect("include-read", _on_include_read)
    app.connect("autodoc-process-docstring", _quote_type_names, priority=100)  # before numpydoc
