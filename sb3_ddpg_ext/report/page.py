"""
``sb3-ddpg report RUN_DIR [RUN_DIR ...]``: one self-contained interactive HTML page (Plotly, with plotly.js embedded
so it opens offline) of what runs recorded: the return curve, the critic's value estimate against the true return,
targets and TD error, the exploration noise, the actor's saturation and the policy on the probe states. Several run
folders overlay (DDPG beside TD3). ``--png DIR`` also writes each figure as a PNG (Plotly's export, kaleido, which
drives a Chrome or Chromium).
"""

import argparse
import contextlib
import html
import json
import logging
import pathlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go
import yaml
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_open, atomic_write
from sb3_ddpg_ext.diagnostics.recorder import (
    PROBES_FILE,
    PROGRESS_FILE,
    VALUE_FILE,
    read_probes,
    read_progress,
    read_value_curve,
)
from sb3_ddpg_ext.experiment.evaluation import read_curve

STEP = "time/total_timesteps"
COLORS = qualitative.Plotly


@dataclass
class RunData:
    """
    What one run folder recorded (see :func:`~sb3_ddpg_ext.experiment.run.run_experiment`).

    :param label: The run's name in legends
    :param evaluations: ``evaluations.csv`` columns
    :param value: ``diagnostics/value.csv`` columns, or empty
    :param probes: ``diagnostics/probes.npz`` arrays, or empty
    :param progress: ``diagnostics/progress.csv`` columns (SB3's log), or empty
    :param noise_std: The action noise's standard deviation in ``config.yml`` (a constant noise logs no scale), or None
    """

    label: str
    evaluations: dict[str, np.ndarray]
    value: dict[str, np.ndarray] = field(default_factory=dict)
    probes: dict[str, np.ndarray] = field(default_factory=dict)
    progress: dict[str, np.ndarray] = field(default_factory=dict)
    noise_std: float | None = None


def run_label(run_dir: str | pathlib.Path) -> str:
    """
    :param run_dir: A run folder
    :return: Its name in legends: algorithm, seed and folder from its ``summary.json``, else the folder's name
    """
    folder = pathlib.Path(run_dir)
    summary = folder / "summary.json"
    if not summary.is_file():
        return folder.name
    info = json.loads(summary.read_text())
    return f"{info['algo']} seed {info['seed']} ({folder.name})"


def load_run(run_dir: str | pathlib.Path) -> RunData:
    """
    Read a run folder.

    :param run_dir: A folder written by ``sb3-ddpg train`` (or ``run_experiment`` with a run folder)
    :return: Its data; missing diagnostics files give empty fields
    :raises ConfigError: when the folder has no ``evaluations.csv``
    """
    folder = pathlib.Path(run_dir)
    curve = folder / "evaluations.csv"
    if not curve.is_file():
        raise ConfigError(f"{folder}: no evaluations.csv; give a run folder written by 'sb3-ddpg train'")
    diagnostics = folder / "diagnostics"
    noise_std = None
    if (folder / "config.yml").is_file():
        for hyperparams in (yaml.safe_load((folder / "config.yml").read_text()) or {}).values():
            noise_std = hyperparams.get("noise_std") if hyperparams.get("noise_type") else None
    progress = read_progress(diagnostics) if (diagnostics / PROGRESS_FILE).is_file() else {}
    if STEP not in progress:  # nothing logged against steps yet: SB3 writes its time/ keys every few episodes
        progress = {}
    return RunData(
        label=run_label(folder),
        evaluations=read_curve(curve),
        value=read_value_curve(diagnostics) if (diagnostics / VALUE_FILE).is_file() else {},
        probes=read_probes(diagnostics) if (diagnostics / PROBES_FILE).is_file() else {},
        progress=progress,
        noise_std=None if noise_std is None else float(noise_std),
    )


def _layout(fig: go.Figure, title: str, y_title: str, missing: list[str], rows: int = 1) -> go.Figure:
    """Title, axes (the step axis titled under the bottom panel) and a note naming the runs without this data."""
    fig.update_layout(title=title, template="plotly_white", legend=dict(orientation="h", y=-0.2))
    fig.update_layout(height=fig.layout.height or 420)
    fig.layout["xaxis" if rows == 1 else f"xaxis{rows}"].title.text = "environment steps"
    fig.layout.yaxis.title.text = y_title
    if missing:
        fig.add_annotation(
            text="not recorded by: " + ", ".join(missing),
            xref="paper",
            yref="paper",
            x=0,
            y=1.08,
            showarrow=False,
            font=dict(size=11, color="gray"),
            xanchor="left",
        )
    return fig


def return_figure(runs: list[RunData]) -> go.Figure:
    """Evaluation returns (mean and standard deviation over the evaluation episodes) against environment steps."""
    fig = go.Figure()
    for k, run in enumerate(runs):
        curve = run.evaluations
        fig.add_trace(
            go.Scatter(
                x=curve["step"],
                y=curve["mean_return"],
                error_y=dict(type="data", array=curve["std_return"], visible=True, thickness=1),
                mode="lines+markers",
                name=run.label,
                line=dict(color=COLORS[k % len(COLORS)]),
            )
        )
    return _layout(fig, "Return of the deterministic policy at each evaluation", "mean return (+/- std)", [])


def value_figure(runs: list[RunData]) -> go.Figure:
    """The critic's estimate and the true discounted return (top), their difference (bottom)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    missing = []
    for k, run in enumerate(runs):
        if not run.value:
            missing.append(run.label)
            continue
        color, step = COLORS[k % len(COLORS)], run.value["step"]
        fig.add_trace(
            go.Scatter(x=step, y=run.value["estimate"], name=f"{run.label}: Q(s, mu(s))", line=dict(color=color)), 1, 1
        )
        true = go.Scatter(
            x=step, y=run.value["true_value"], name=f"{run.label}: true return G", line=dict(color=color, dash="dot")
        )
        fig.add_trace(true, 1, 1)
        fig.add_trace(go.Scatter(x=step, y=run.value["bias"], name=f"{run.label}: bias Q - G", line=dict(color=color)), 2, 1)
    fig.add_hline(y=0, line=dict(color="gray", width=1), row=2, col=1)
    fig.update_yaxes(title_text="bias Q - G", row=2, col=1)
    fig.update_layout(height=560)
    return _layout(fig, "Value estimate against the true discounted return (evaluation episodes)", "value", missing, 2)


def _band(fig: go.Figure, x: np.ndarray, mean: np.ndarray, std: np.ndarray, name: str, color: str, row: int) -> None:
    """A mean line with a +/- one standard deviation band."""
    keep = np.isfinite(mean) & np.isfinite(std)
    x, mean, std = x[keep], mean[keep], std[keep]
    fig.add_trace(go.Scatter(x=x, y=mean, name=name, mode="lines+markers", line=dict(color=color)), row, 1)
    band_x = np.concatenate([x, x[::-1]])
    band_y = np.concatenate([mean + std, (mean - std)[::-1]])
    band = go.Scatter(
        x=band_x,
        y=band_y,
        fill="toself",
        mode="lines",
        line=dict(width=0),
        fillcolor=color,
        opacity=0.2,
        showlegend=False,
        hoverinfo="skip",
    )
    fig.add_trace(band, row, 1)


def targets_figure(runs: list[RunData]) -> go.Figure:
    """Mean and spread of the critic's targets y and Q(s, a) (top) and of the TD error y - Q (bottom)."""
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    missing = []
    for k, run in enumerate(runs):
        log = run.progress
        if "train/target_mean" not in log:
            missing.append(run.label)
            continue
        color = COLORS[k % len(COLORS)]
        _band(fig, log[STEP], log["train/target_mean"], log["train/target_std"], f"{run.label}: target y", color, 1)
        fig.add_trace(
            go.Scatter(x=log[STEP], y=log["train/q_mean"], name=f"{run.label}: Q(s, a)", line=dict(color=color, dash="dot")),
            1,
            1,
        )
        _band(fig, log[STEP], log["train/td_error_mean"], log["train/td_error_std"], f"{run.label}: TD error", color, 2)
    fig.update_yaxes(title_text="TD error y - Q (+/- std)", row=2, col=1)
    fig.update_layout(height=560)
    return _layout(fig, "Critic targets and TD error on the training minibatches", "y (+/- std), Q", missing, 2)


def _series_figure(
    runs: list[RunData],
    keys: tuple[str, ...],
    title: str,
    y_title: str,
    constant_of: Callable[[RunData], float | None] | None = None,
) -> go.Figure:
    """Logged values against environment steps, one line per run and key; ``constant_of(run)``: a flat line for a
    run that logged none of the keys."""
    fig = go.Figure()
    missing = []
    for k, run in enumerate(runs):
        found = [key for key in keys if key in run.progress]
        constant = None if found or constant_of is None else constant_of(run)
        if constant is not None:
            steps = run.evaluations["step"][[0, -1]]
            line = dict(color=COLORS[k % len(COLORS)])
            fig.add_trace(go.Scatter(x=steps, y=[constant, constant], name=f"{run.label}: constant", line=line))
        elif not found:
            missing.append(run.label)
        for key in found:
            values, keep = run.progress[key], np.isfinite(run.progress[key])
            line = dict(color=COLORS[k % len(COLORS)], dash="solid" if key == found[0] else "dash")
            fig.add_trace(go.Scatter(x=run.progress[STEP][keep], y=values[keep], name=f"{run.label}: {key}", line=line))
    return _layout(fig, title, y_title, missing)


def probes_figure(runs: list[RunData]) -> go.Figure:
    """The deterministic policy's first action on each probe state at each evaluation, one heatmap per run."""
    recorded = [run for run in runs if run.probes]
    fig = make_subplots(rows=max(1, len(recorded)), cols=1, subplot_titles=[run.label for run in recorded] or None)
    for k, run in enumerate(recorded):
        actions = run.probes["actions"][:, :, 0].T  # probe state x evaluation
        heatmap = go.Heatmap(
            x=run.probes["steps"],
            y=np.arange(actions.shape[0]),
            z=actions,
            colorscale="RdBu",
            zmid=0,
            colorbar=dict(title="action", len=1 / max(1, len(recorded)), y=1 - (k + 0.5) / len(recorded)),
        )
        fig.add_trace(heatmap, k + 1, 1)
        fig.update_yaxes(title_text="probe state", row=k + 1, col=1)
    fig.update_layout(height=max(420, 300 * len(recorded)))
    missing = [run.label for run in runs if not run.probes]
    return _layout(fig, "Policy on fixed probe states (first action dimension)", "probe state", missing, max(1, len(recorded)))


FIGURES: list[tuple[str, str]] = [
    ("return", "The return of the deterministic policy at every evaluation (error bars: spread over the episodes)."),
    (
        "value",
        "The critic's estimate Q(s, mu(s)) on the states the evaluation visited, against the discounted return the "
        "policy then collected from them, G (states of time-limited episodes only where the cut-off tail weighs at most "
        "5%). Above zero in the bottom panel the critic overestimates; DDPG's known weakness. For SAC, TQC and CrossQ "
        "the critic estimates the soft value, which includes the entropy bonus: its gap is not overestimation alone "
        "(TQC's estimate is the mean of the quantiles its targets keep, CrossQ's uses its batch renormalization's "
        "running statistics).",
    ),
    (
        "targets",
        "The regression the critic solves at each update: its targets y = r + gamma Q'(s', mu'(s')) and its "
        "estimates Q(s, a) (top), the TD error y - Q (bottom). Exploding targets or a TD error that grows are the "
        "usual signs of divergence. Recorded by this package's DDPG.",
    ),
    ("noise", "The exploration noise scale (action noise standard deviation, parameter noise standard deviation)."),
    (
        "saturation",
        "The fraction of the actor's actions on the training minibatches within 1% of the action bounds: a saturated "
        "tanh passes almost no gradient, a known DDPG failure.",
    ),
    ("probes", "The policy's action on a fixed set of start states at every evaluation: how (and when) the policy changed."),
]


def build_figures(runs: list[RunData]) -> dict[str, go.Figure]:
    """
    :param runs: The runs to show together
    :return: Figure name (:data:`FIGURES`) -> figure
    """
    return {
        "return": return_figure(runs),
        "value": value_figure(runs),
        "targets": targets_figure(runs),
        "noise": _series_figure(
            runs,
            ("rollout/noise_scale", "rollout/param_noise_stddev"),
            "Exploration noise scale",
            "scale",
            lambda run: run.noise_std,  # a constant action noise logs no scale: its configured level
        ),
        "saturation": _series_figure(
            runs, ("train/actor_saturation",), "Actor outputs within 1% of the action bounds", "fraction"
        ),
        "probes": probes_figure(runs),
    }


def report_figures(run_dirs: str | pathlib.Path | Sequence[str | pathlib.Path]) -> dict[str, go.Figure]:
    """
    The figures of ``sb3-ddpg report`` for some run folders, the same figures the HTML page shows; in a notebook,
    display one (``figures["value"]``) or all of them.

    :param run_dirs: A run folder written by ``sb3-ddpg train`` (or ``run_experiment`` with a run folder), or several,
        overlaid (DDPG beside TD3)
    :return: Figure name -> interactive Plotly figure, in the report's order
        (:data:`~sb3_ddpg_ext.report.page.FIGURES`: ``return``, ``value``, ``targets``, ``noise``, ``saturation``,
        ``probes``)
    :raises ConfigError: when a folder has no ``evaluations.csv``
    """
    folders = [run_dirs] if isinstance(run_dirs, (str, pathlib.Path)) else list(run_dirs)
    return build_figures([load_run(folder) for folder in folders])


def write_report(run_dirs: list[pathlib.Path], out: pathlib.Path, png_dir: pathlib.Path | None = None) -> pathlib.Path:
    """
    Write the HTML report of some run folders (and, with ``png_dir``, one PNG per figure).

    :param run_dirs: Run folders
    :param out: The HTML file (written atomically)
    :param png_dir: Folder of the PNGs; None: none
    :return: The HTML file
    """
    figures = report_figures(run_dirs)
    sections = []
    for k, (name, text) in enumerate(FIGURES):
        div = figures[name].to_html(full_html=False, include_plotlyjs=k == 0, div_id=f"figure-{name}")
        sections.append(f"<section><p>{html.escape(text)}</p>\n{div}</section>")
    title = "DDPG diagnostics: " + ", ".join(html.escape(run_label(path)) for path in run_dirs)
    page = (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{title}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}section{margin-bottom:2em}</style>"
        f"</head><body><h1>{title}</h1>\n" + "\n".join(sections) + "\n</body></html>\n"
    )
    atomic_write(out, lambda file: file.write(page), mode="w")
    if png_dir is not None:
        png_dir.mkdir(parents=True, exist_ok=True)
        with quiet_browser_logs():
            for name, figure in figures.items():
                with atomic_open(png_dir / f"{name}.png", "wb") as file:
                    file.write(_png(figure))
    return out


BROWSER_LOGGERS = ("choreographer", "kaleido")


@contextlib.contextmanager
def quiet_browser_logs() -> Iterator[None]:
    """
    Drop what kaleido and the browser driver under it (choreographer) log while they export, restoring their levels
    after. Their log is not the user's business: choreographer logs a full traceback for a browser message it could
    not decode and then ignores (seen in CI with the export succeeding), and a real failure raises, which
    :func:`_png` turns into one line.
    """
    loggers = [logging.getLogger(name) for name in BROWSER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _png(figure: go.Figure, attempts: int = 3) -> bytes:
    """A figure as PNG through Plotly's kaleido, tried again when the browser it drives fails (seen on a loaded
    machine: a page script not yet defined when kaleido calls it)."""
    for _ in range(attempts):
        try:
            return figure.to_image(format="png", width=1000, height=figure.layout.height or 420)
        except ImportError as error:
            failure: Exception = error
            break
        except Exception as error:  # kaleido missing, no Chrome for it to drive, or the browser failed
            failure = error
    message = " ".join(str(failure).split())[:200]
    raise ConfigError(
        f"--png: Plotly could not export PNG ({message}); pip install kaleido and install Chrome or Chromium"
    ) from failure


def run_report(args: argparse.Namespace) -> int:
    """Write the report of ``args.run_dirs``; print where."""
    for path in args.run_dirs:
        if not path.is_dir():
            raise ConfigError(f"{path}: no such run folder; give folders written by 'sb3-ddpg train'")
    out = args.out or (args.run_dirs[0] / "report.html" if len(args.run_dirs) == 1 else pathlib.Path("report.html"))
    path = write_report(args.run_dirs, out, args.png)
    print(f"Report: {path.resolve()}")
    if args.png:
        print(f"PNGs:   {args.png.resolve()}")
    return 0
