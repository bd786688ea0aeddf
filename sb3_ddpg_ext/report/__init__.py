"""
``sb3-ddpg report``: reads run folders (written by :mod:`sb3_ddpg_ext.experiment`) and writes an interactive page.

:func:`report_figures` returns the page's figures for run folders (in a notebook, display them inline). The names are
imported from :mod:`sb3_ddpg_ext.report.page` when first used, so that ``sb3_ddpg_ext.report.arguments`` (the CLI's
flags) imports no Plotly.
"""

from typing import Any

__all__ = ["FIGURES", "build_figures", "load_run", "report_figures", "write_report"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from sb3_ddpg_ext.report import page

        return getattr(page, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
