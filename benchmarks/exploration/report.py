"""
Table and plot of the exploration comparison (benchmarks/exploration/run.sh).

Reads ``<results>/<config>/seed<k>/evaluations.npz`` (written by ``sb3-ddpg train``), writes ``<results>/RESULTS.md``
and ``<results>/curves.png``. Final return of a run = mean of its last two evaluations; across seeds the table
gives the interquartile mean with a bootstrap 95% CI (rliable) and how many seeds solved the task.

Usage: python benchmarks/exploration/report.py benchmarks/results/exploration
"""

import pathlib
import platform
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import stable_baselines3
import torch
from rliable import library as rly
from rliable import metrics

import sb3_ddpg_ext

SOLVED = 90.0  # MountainCarContinuous-v0 counts as solved at a return of 90
LABELS = {
    "gaussian": "Gaussian, sigma 0.5, constant",
    "ou": "Ornstein-Uhlenbeck, sigma 0.5, constant",
    "ou_decay": "Ornstein-Uhlenbeck, sigma 0.5 -> 0.05 (linear)",
    "param": "adaptive parameter noise, target 0.5",
}


def load(results: pathlib.Path) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    runs: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for name in LABELS:
        for path in sorted(results.glob(f"{name}/seed*/evaluations.npz")):
            if (path.parent / "summary.json").is_file():  # finished runs only
                data = np.load(path)
                runs.setdefault(name, []).append((data["timesteps"], data["results"].mean(axis=1)))
    return runs


def main(results: pathlib.Path) -> None:
    runs = load(results)
    finals = {name: np.array([curve[-2:].mean() for _, curve in r])[:, None] for name, r in runs.items()}
    iqm = lambda scores: np.array([metrics.aggregate_iqm(scores)])  # noqa: E731
    point, interval = rly.get_interval_estimates(finals, iqm, reps=2000)
    lines = [
        "| exploration | seeds | final return IQM [95% CI] | seeds solved (>= 90) | final returns |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, scores in finals.items():
        low, high = interval[name][:, 0]
        solved = int((scores >= SOLVED).sum())
        values = ", ".join(f"{v:.1f}" for v in scores.ravel())
        lines.append(
            f"| {LABELS[name]} | {len(scores)} | {point[name][0]:.1f} [{low:.1f}, {high:.1f}] | {solved} | {values} |"
        )
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, r in runs.items():
        steps = r[0][0]
        curves = np.stack([curve[: len(steps)] for _, curve in r if len(curve) >= len(steps)])
        mean = curves.mean(axis=0)
        ax.plot(steps, mean, label=f"{LABELS[name]} (n={len(curves)})")
        ax.fill_between(steps, curves.min(axis=0), curves.max(axis=0), alpha=0.15)
    ax.axhline(SOLVED, color="gray", ls="--", lw=0.8)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("deterministic evaluation return")
    ax.set_title("DDPG exploration, MountainCarContinuous-v0 (mean, min-max over seeds)", fontsize=10)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(results / "curves.png", dpi=110)
    versions = (
        f"sb3_ddpg_ext {sb3_ddpg_ext.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
        f"torch {torch.__version__}, Python {platform.python_version()}, {platform.machine()} ({platform.system()})"
    )
    header = (
        "# Exploration on MountainCarContinuous-v0: which noise lets DDPG find the goal\n\n"
        "4 noise configurations x 3 seeds (0, 1, 2) x 30,000 steps; otherwise identical DDPG settings "
        "([64, 64] networks, batch 256, lr 1e-3, gamma 0.99, learning_starts 1,000; `benchmarks/exploration/*.yml`). "
        "Deterministic evaluation every 5,000 steps over 5 episodes; final return = mean of the last two evaluations.\n\n"
        "Made by `bash benchmarks/exploration/run.sh` (which ends with "
        "`python benchmarks/exploration/report.py benchmarks/results/exploration`) on a 2-vCPU VM shared with other jobs.\n\n"
    )
    text = header + "\n".join(lines) + f"\n\n![curves](curves.png)\n\nVersions: {versions}\n"
    (results / "RESULTS.md").write_text(text)
    print("\n".join(lines))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/exploration"))
