"""
Sphinx configuration of the sb3_ddpg_ext site.

Sphinx, as Stable-Baselines3 and sb3-contrib build theirs (reStructuredText pages, the Read the Docs theme, an API page
per algorithm from the ``:param:`` docstrings through autodoc), so an SB3 user finds the same page shapes and the
docstrings need no second format. Notebooks through myst-nb (no pandoc needed), executed at every build. The site
opens offline: no intersphinx, MathJax shipped by sphinx-mathjax-offline, plotly.js copied from the installed plotly
(``_ext/plotly_offline.py``). ``make docs`` builds with warnings as errors and nitpicky cross references, then checks
every local link of the built pages (``docs/check_links.py``).
"""

import os
import pathlib
import sys

DOCS = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))  # the package from this checkout
sys.path.insert(0, str(DOCS / "_ext"))

import sb3_ddpg_ext  # noqa: E402

project = "sb3_ddpg_ext"
author = "sb3_ddpg_ext contributors"
copyright = "sb3_ddpg_ext contributors"
version = release = sb3_ddpg_ext.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static: equations render offline
    "sphinx_rtd_theme",
    "myst_nb",
    "plotly_offline",
]
source_suffix = {".rst": "restructuredtext", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_ipython", "README.md", "**.ipynb_checkpoints"]
nitpicky = True
# Cross references into other projects cannot resolve without intersphinx (the site builds offline): they stay plain
# text. References within this package are checked.
nitpick_ignore_regex = [
    (r"py:.*", r"(stable_baselines3|gymnasium|gym|torch|th|numpy|np|optuna|plotly|go|nn|argparse|pathlib|io)\..*"),
    (r"py:.*", r"(GymEnv|Schedule|MaybeCallback|ReplayBufferSamples|ActionNoise|ReplayBuffer|BasePolicy|TensorDict)"),
    (r"py:.*", r"(SelfDDPG|ArrayLike|ScheduleLike|Any|Callable|Sequence|Mapping|Iterable|Path|ClassVar|TypeVar)"),
    (r"py:.*", r"(optional|callable|Optimizer|Module|Tensor|Figure|dict|list|tuple|float|int|str|bool|None|type)"),
    (r"py:.*", r"(collections|typing)\..*|VecEnv|BaseCallback|BaseAlgorithm|.*SelfDDPG"),
    (r"py:class", r".*[\[\]|].*"),  # pieces of generic annotations (dict[str, ...]) that autodoc splits
    # Private base classes, and names the docstrings give unqualified (documented under their module paths)
    (r"py:.*", r".*\._[A-Za-z]\w*|ConfigError|PerturbedActors"),
    # The actor network class, in annotations: documented with its policy (DDPGPolicy), not on its own
    (r"py:class", r"sb3_ddpg_ext\.ddpg\.policies\.Actor"),
]
suppress_warnings = ["myst.header"]  # CHANGELOG.md's release headings are H2 under the changelog page's title
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
add_module_names = False

html_theme = "sphinx_rtd_theme"
html_title = f"sb3_ddpg_ext {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
html_show_sourcelink = False
html_copy_source = False
html_theme_options = {"navigation_depth": 3, "collapse_navigation": False}

# Notebooks: executed at every build (their outputs are not committed), failing the build on any error. The kernel
# inherits this environment: IPYTHONDIR points at a startup file that registers the offline Plotly renderer, and
# SB3_DDPG_TUTORIAL_STEPS (when set, e.g. by CI) shrinks the tutorial's budget.
nb_execution_mode = os.environ.get("SB3_DDPG_DOCS_EXECUTE", "force")
nb_execution_timeout = 900
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
os.environ["IPYTHONDIR"] = str(DOCS / "_ipython")
os.environ.setdefault("MPLBACKEND", "Agg")
myst_enable_extensions = ["dollarmath", "amsmath"]  # $...$ and $$...$$ in the notebook's markdown cells
