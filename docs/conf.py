"""Sphinx configuration of emkit's documentation site (built by ``make docs``).

Pages are MyST Markdown; the tutorials are MyST-NB text notebooks, executed at every
build (a failing cell fails the build). The API reference is autosummary over the
modules' ``__all__``; the gallery is written at build time from ``examples/*.py`` and
the figures in ``docs/images/``. Nothing is fetched from the network.
"""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import emkit  # noqa: E402

project = "emkit"
author = "the emkit developers"
copyright = "the emkit developers, BSD-3-Clause"
release = version = emkit.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "myst_nb",
    "emkit_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", "**.ipynb_checkpoints", "_ext", "_templates"]
templates_path = ["_templates"]
root_doc = "index"

# -- API reference ------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_member_order = "groupwise"
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_class_signature = "mixed"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_attr_annotations = True
# Attributes sections as fields, not as objects: autodoc documents the properties
napoleon_use_ivar = True


def _skip_member(app, what, name, obj, skip, options):
    """Leave out what a reader of emkit's reference does not call.

    scikit-learn's methods (``set_output``, the metadata-routing setters
    ``set_fit_request``, ...) are scikit-learn's to document; the parameter attributes
    (``means_``, ...) are descriptors that the class docstring's Attributes section
    already describes.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    if str(getattr(obj, "__module__", "")).startswith("sklearn."):
        return True
    if type(obj).__name__ == "Parameter" and type(obj).__module__.startswith("emkit."):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_member)


# -- tutorials (MyST-NB) ------------------------------------------------------------
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 300
nb_execution_show_tb = True
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

# -- HTML ---------------------------------------------------------------------------
html_theme = "furo"
html_title = f"emkit {release}"
html_static_path = []
html_show_sourcelink = True
