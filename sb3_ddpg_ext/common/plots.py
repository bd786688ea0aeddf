"""Learning-curve plot of a training run folder."""

import pathlib

import numpy as np


def plot_run(run_dir: str | pathlib.Path, title: str = "DDPG") -> pathlib.Path:
    """
    Plot a run's training episode returns (from the monitor CSVs) and its deterministic evaluations
    (from ``evaluations.npz``) against environment steps, into ``run_dir/learning_curve.png``.

    :param run_dir: Run folder written by ``sb3_ddpg_ext.run.train``
    :param title: Plot title
    :return: Path of the PNG
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from stable_baselines3.common.monitor import load_results

    run_dir = pathlib.Path(run_dir)
    fig, ax = plt.subplots(figsize=(7, 4))
    monitor_dir = run_dir / "monitor"
    if monitor_dir.is_dir() and any(monitor_dir.glob("*.monitor.csv")):
        episodes = load_results(str(monitor_dir)).sort_values("t")
        steps = np.cumsum(episodes["l"].to_numpy())
        ax.plot(steps, episodes["r"].to_numpy(), color="tab:gray", alpha=0.35, lw=0.8, label="training episodes")
    evaluations = run_dir / "evaluations.npz"
    if evaluations.is_file():
        data = np.load(evaluations)
        mean, std = data["results"].mean(axis=1), data["results"].std(axis=1)
        ax.plot(data["timesteps"], mean, color="tab:blue", marker="o", ms=3, label="deterministic evaluation")
        ax.fill_between(data["timesteps"], mean - std, mean + std, color="tab:blue", alpha=0.2)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    path = run_dir / "learning_curve.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
