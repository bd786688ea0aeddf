# Started by the docs build's notebook kernel (docs/conf.py sets IPYTHONDIR): render Plotly figures as HTML that loads
# neither plotly.js nor MathJax from a CDN; the page loads plotly.js from _static/ (docs/_ext/plotly_offline.py).
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer


class _OfflineHtmlRenderer(MimetypeRenderer):
    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False, default_width="100%", validate=False
        )
        return {"text/html": html}


pio.renderers["sphinx_offline"] = _OfflineHtmlRenderer()
pio.renderers.default = "sphinx_offline"
