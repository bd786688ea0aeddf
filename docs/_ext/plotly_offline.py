"""
Plotly figures of executed notebooks, offline: the notebooks' kernel (started with ``IPYTHONDIR=docs/_ipython``) renders
figures as a div and a script calling ``Plotly.newPlot``, without plotly.js or MathJax from a CDN; this extension copies
plotly.min.js from the installed plotly package into ``_static/`` and loads it on the pages that come from notebooks.
"""

import pathlib
import shutil
from typing import Any

import plotly
from sphinx.application import Sphinx

PLOTLY_JS = pathlib.Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def _copy_plotly_js(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        static = pathlib.Path(app.outdir) / "_static"
        static.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(PLOTLY_JS, static / "plotly.min.js")


def _add_plotly_js(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if app.env.doc2path(pagename).suffix == ".ipynb":
        app.add_js_file("plotly.min.js")  # called in html-page-context: this page only


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("html-page-context", _add_plotly_js)
    app.connect("build-finished", _copy_plotly_js)
    return {"version": plotly.__version__, "parallel_read_safe": True, "parallel_write_safe": True}
