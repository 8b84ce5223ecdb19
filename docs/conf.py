"""Sphinx configuration for the refloss documentation.

Build: ``sphinx-build -W --keep-going -b html docs docs/_build/html`` from the repository root.
The catalogue, the per-family API pages and the per-family derivation pages are generated from the registry by
``_ext/refloss_docgen.py``.
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the repository root: build from a clean clone without installing
sys.path.insert(0, str(DOCS / "_ext"))

import refloss  # noqa: E402

project = "refloss"
author = "the refloss developers"
copyright = "the refloss developers"
release = refloss.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # copies MathJax into _static: formulas render without a network
    "refloss_docgen",
]

exclude_patterns = ["_build", "_ext"]
templates_path = []

# Broken cross-references into refloss itself fail the build; references to NumPy, SciPy, PyTorch and
# the like stay plain text (no intersphinx: the build needs no network).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!refloss\.).*")]

# Google-style docstrings only.
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # array-likes are described in Args:; annotations would only add noise
# Every default is a literal whose repr is its source text, so the source is not parsed for them: the public
# functions are the registry's wrappers (refloss._options), whose signatures add the options to the source's.
autodoc_preserve_defaults = False
add_module_names = False

# Section titles of the generated catalogue and API pages; a family missing here is titled by its name.
refloss_family_titles = {
    "calibration": "Calibration",
    "classification": "Classification losses",
    "comp_sum": "Comp-sum losses",
    "consistency": "Consistency bounds",
    "curvature": "Curvature of cross-entropy",
    "discrete": "Discrete measures of probabilities",
    "distillation": "Distillation losses",
    "entropy": "Entropy and divergence",
    "gaussian": "Gaussian closed forms",
    "knn": "Nearest-neighbour estimators",
    "linear": "Losses of a linear head",
    "softmax": "Softmax primitives",
    "step_size": "Step-size geometry",
}

html_theme = "furo"
html_title = f"refloss {release}"
html_static_path = []
pygments_style = "default"
