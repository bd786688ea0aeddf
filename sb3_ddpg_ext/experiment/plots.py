"""
The one plotting path for PNGs: matplotlib's object API (``matplotlib.figure.Figure``, rendered by the Agg canvas),
written atomically. No pyplot state and no backend switching in library code.
"""

import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from sb3_ddpg_ext.common.save import atomic_path

LINE_STYLES = ("-", "--", ":", "-.")


@dataclass
class Curve:
    """
    One line of a plot, with an optional band.

    :param label: Legend label
    :param x: Environment steps
    :param y: Values
    :param low: Lower edge of the band (a confidence interval or mean - std), or None
    :param high: Upper edge of the band, or None
    """

    label: str
    x: np.ndarray
    y: np.ndarray
    low: np.ndarray | None = None
    high: np.ndarray | None = None


def save_figure(figure: Figure, path: str | pathlib.Path, dpi: int = 100) -> pathlib.Path:
    """
    Write a figure as PNG, atomically.

    :param figure: The figure
    :param path: PNG file
    :param dpi: Resolution
    :return: The path
    """
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)
    return pathlib.Path(path)


def plot_curves(
    curves: Sequence[Curve],
    path: str | pathlib.Path,
    title: str,
    ylabel: str = "episode return",
    background: Curve | None = None,
    symlog: bool = False,
) -> pathlib.Path:
    """
    Plot lines against environment steps, each with its band; line styles keep coinciding lines visible.

    :param curves: The lines, the first drawn thicker
    :param path: PNG file
    :param title: Plot title
    :param ylabel: Label of the y axis
    :param background: A faint line drawn first (training episodes)
    :param symlog: Symmetric log scale on the y axis (linear within +-1), for values spanning orders of magnitude
    :return: The path
    """
    figure = Figure(figsize=(7, 4.5))
    axis = figure.subplots()
    if background is not None:
        axis.plot(background.x, background.y, color="tab:gray", alpha=0.35, lw=0.8, label=background.label)
    for index, curve in enumerate(curves):
        style = LINE_STYLES[index % len(LINE_STYLES)]
        axis.plot(curve.x, curve.y, linestyle=style, linewidth=2.5 if index == 0 else 1.5, marker=".", label=curve.label)
        if curve.low is not None and curve.high is not None:
            axis.fill_between(curve.x, curve.low, curve.high, alpha=0.2)
    axis.set_title(title)
    axis.set_xlabel("environment steps")
    axis.set_ylabel(ylabel)
    if symlog:
        axis.set_yscale("symlog", linthresh=1.0)
    axis.grid(alpha=0.3)
    axis.legend(loc="best", fontsize="small")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_run(run_dir: str | pathlib.Path, title: str) -> pathlib.Path:
    """
    Plot a run folder's training episode returns (monitor CSVs) and its evaluations (``evaluations.csv``, mean +- std)
    into ``run_dir/learning_curve.png``.

    :param run_dir: Run folder written by :func:`sb3_ddpg_ext.experiment.run.run_experiment`
    :param title: Plot title
    :return: The PNG
    """
    from stable_baselines3.common.monitor import get_monitor_files

    from sb3_ddpg_ext.experiment.evaluation import read_curve

    run_dir = pathlib.Path(run_dir)
    background = None
    files = get_monitor_files(str(run_dir / "monitor")) if (run_dir / "monitor").is_dir() else []
    # Monitor CSVs: a JSON comment line, then columns r (return), l (length), t (time); episodes of all envs by time.
    # A resumed run's attempt appends its episodes with t restarting at 0: each restart goes on from the time before.
    episodes = [np.loadtxt(name, delimiter=",", skiprows=2, ndmin=2) for name in files]
    episodes = [rows for rows in episodes if rows.size]
    for rows in episodes:
        rows[1:, 2] += np.cumsum(np.where(np.diff(rows[:, 2]) < 0, rows[:-1, 2], 0.0))
    if episodes:
        rows = np.concatenate(episodes)
        rows = rows[np.argsort(rows[:, 2], kind="stable")]
        background = Curve("training episodes", np.cumsum(rows[:, 1]), rows[:, 0])
    curve = read_curve(run_dir / "evaluations.csv")
    mean, std = curve["mean_return"], curve["std_return"]
    evaluation = Curve("deterministic evaluation (mean +- std)", curve["step"], mean, mean - std, mean + std)
    return plot_curves([evaluation], run_dir / "learning_curve.png", title, background=background)
