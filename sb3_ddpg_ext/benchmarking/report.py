"""Report a suite's results: learning curves (PNG) and a markdown table of final returns; where the runs recorded
diagnostics, the critic's value-estimate bias at the end of training (table) and over training (curves).

Only complete runs (those with a matching completion marker) are read, so results merged from several
machines' shards, or a suite still running, report exactly what has finished.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sb3_ddpg_ext.benchmarking.runner import diagnostics_dir, env_dirname, expand_runs, is_complete, run_paths
from sb3_ddpg_ext.benchmarking.stats import (
    DEFAULT_REPS,
    curve_estimate,
    interval_estimate,
    probability_of_improvement,
)
from sb3_ddpg_ext.benchmarking.suite import EnvSpec, Suite, reference_algo
from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.diagnostics.recorder import VALUE_COLUMNS, VALUE_FILE
from sb3_ddpg_ext.experiment.plots import Curve, plot_curves

TABLE_NAME = "RESULTS_TABLE.md"


def load_results(suite: Suite, results_dir: str | Path) -> pd.DataFrame:
    """
    Evaluation rows of every complete run of a suite.

    :param suite: the suite
    :param results_dir: root of all results
    :return: columns ``env, algo, seed, step, mean_return, std_return, wall_time, run_wall_time, resumed`` (the
        number of times the run was resumed from a checkpoint)
    """
    frames = []
    for run in expand_runs(suite):
        if not is_complete(results_dir, run):
            continue
        csv_path, done_path = run_paths(results_dir, run)
        frame = pd.read_csv(csv_path)
        frame.insert(0, "seed", run.seed)
        frame.insert(0, "algo", run.algo.name)
        frame.insert(0, "env", run.env.env_id)
        marker = json.loads(done_path.read_text())
        frame["run_wall_time"] = marker["wall_time_s"]
        frame["resumed"] = len(marker.get("resumed_from", []))
        frames.append(frame)
    columns = ["env", "algo", "seed", "step", "mean_return", "std_return", "wall_time", "run_wall_time", "resumed"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def load_value_bias(suite: Suite, results_dir: str | Path) -> pd.DataFrame:
    """
    The value-estimate rows (``diagnostics/value.csv``) of every complete run that recorded them.

    :param suite: the suite
    :param results_dir: root of all results
    :return: columns ``env, algo, seed`` and :data:`~sb3_ddpg_ext.diagnostics.recorder.VALUE_COLUMNS`
    """
    frames = []
    for run in expand_runs(suite):
        path = diagnostics_dir(results_dir, run) / VALUE_FILE
        if is_complete(results_dir, run) and path.is_file():
            frame = pd.read_csv(path)
            frame.insert(0, "seed", run.seed)
            frame.insert(0, "algo", run.algo.name)
            frame.insert(0, "env", run.env.env_id)
            frames.append(frame)
    columns = ["env", "algo", "seed", *VALUE_COLUMNS]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def final_returns(results: pd.DataFrame) -> pd.DataFrame:
    """
    The last evaluation of each run.

    :param results: from :func:`load_results`
    :return: one row per (env, algo, seed)
    """
    if results.empty:
        return results
    # runs in (env, algo, seed) order, so identical scores get identical bootstrap intervals
    ordered = results.sort_values(["env", "algo", "seed", "step"], kind="stable")
    return ordered.groupby(["env", "algo", "seed"], sort=False).tail(1).reset_index(drop=True)


def best_returns(results: pd.DataFrame) -> pd.DataFrame:
    """
    The best evaluation of each run (the statistic of the TD3 paper's "max average return" table).

    :param results: from :func:`load_results`
    :return: one row per (env, algo, seed) with its highest ``mean_return``
    """
    if results.empty:
        return results
    return results.groupby(["env", "algo", "seed"], as_index=False)["mean_return"].max()


def plot_env_curves(env: EnvSpec, results: pd.DataFrame, path: Path, reps: int = DEFAULT_REPS) -> Path:
    """
    Mean evaluation return against environment steps, with a 95% bootstrap band, one line per algorithm.

    :param env: the environment entry
    :param results: rows of this environment (from :func:`load_results`)
    :param path: PNG file to write
    :param reps: bootstrap resamples
    :return: ``path``
    """
    curves = []
    for algo, frame in results.groupby("algo", sort=False):
        runs = [group.set_index("step")["mean_return"] for _, group in frame.groupby("seed")]
        steps = sorted(set.intersection(*(set(run.index) for run in runs)))  # points every run has
        mean, low, high = curve_estimate(np.stack([run.loc[steps].to_numpy() for run in runs]), reps=reps)
        curves.append(Curve(f"{algo} ({len(runs)} seeds)", np.asarray(steps), mean, low, high))
    title = f"{env.env_id}: deterministic evaluation, mean and 95% CI"
    return plot_curves(curves, path, title, ylabel=f"mean return over {env.n_eval_episodes} episodes")


def plot_env_bias(env: EnvSpec, values: pd.DataFrame, path: Path, reps: int = DEFAULT_REPS) -> Path:
    """
    Mean value-estimate bias ``Q - G`` against environment steps, with a 95% bootstrap band, one line per algorithm,
    from the first evaluation after the environment's ``learning_starts`` (before it the critic is its random
    initialisation), on a symmetric log scale: the first trained critics are off by hundreds, the last by a few units.

    :param env: the environment entry
    :param values: rows of this environment (from :func:`load_value_bias`) with a finite bias
    :param path: PNG file to write
    :param reps: bootstrap resamples
    :return: ``path``
    """
    curves = []
    values = values[values["step"] > int(env.hyperparams.get("learning_starts", 0))]
    for algo, frame in values.groupby("algo", sort=False):
        runs = [group.set_index("step")["bias"] for _, group in frame.groupby("seed")]
        steps = sorted(set.intersection(*(set(run.index) for run in runs)))
        mean, low, high = curve_estimate(np.stack([run.loc[steps].to_numpy() for run in runs]), reps=reps)
        curves.append(Curve(f"{algo} ({len(runs)} seeds)", np.asarray(steps), mean, low, high))
    title = f"{env.env_id}: value-estimate bias, mean and 95% CI"
    return plot_curves(curves, path, title, ylabel="bias Q(s, mu(s)) - G (evaluation states)", symlog=True)


def _bias_table(suite: Suite, finals: pd.DataFrame, reps: int) -> list[str]:
    """IQM [95% CI] of each algorithm's bias and relative bias at the last evaluation."""
    lines = [
        "| algorithm | final bias Q - G, IQM [95% CI] | relative bias, IQM [95% CI] | mean estimate Q | mean true G | runs |",
        "|---|---|---|---|---|---|",
    ]
    for algo in suite.algos:
        rows = finals[finals["algo"] == algo.name]
        if rows.empty:
            continue
        bias = interval_estimate(rows["bias"].to_numpy(), reps=reps).format(1)
        relative = interval_estimate(rows["relative_bias"].to_numpy(), reps=reps).format(2)
        estimate, true = rows["estimate"].mean(), rows["true_value"].mean()
        lines.append(f"| {algo.name} | {bias} | {relative} | {estimate:.1f} | {true:.1f} | {len(rows)} |")
    return lines


def _env_table(suite: Suite, env: EnvSpec, finals: pd.DataFrame, bests: pd.DataFrame, reference: str, reps: int) -> list[str]:
    scores = {algo.name: finals.loc[finals["algo"] == algo.name, "mean_return"].to_numpy() for algo in suite.algos}
    peaks = {algo.name: bests.loc[bests["algo"] == algo.name, "mean_return"].to_numpy() for algo in suite.algos}
    times = {algo.name: finals.loc[finals["algo"] == algo.name, "run_wall_time"].to_numpy() for algo in suite.algos}
    threshold = env.success_threshold
    success = "" if threshold is None else f" success rate (final > {threshold:g}) [95% CI] |"
    lines = [
        "| algorithm | final return IQM [95% CI] | best evaluation IQM [95% CI] | seeds | median run time (s) "
        f"| P({reference} > algorithm) [95% CI] |{success}",
        "|---|---|---|---|---|---|" + ("---|" if success else ""),
    ]
    for algo in suite.algos:
        values = scores[algo.name]
        if len(values) == 0:
            lines.append(f"| {algo.name} | no complete run | - | 0 | - | - |" + (" - |" if success else ""))
            continue
        estimate = interval_estimate(values, reps=reps).format(1)
        peak = interval_estimate(peaks[algo.name], reps=reps).format(1)
        wall = f"{np.median(times[algo.name]):.1f}"
        if algo.name == reference or len(scores.get(reference, [])) == 0:
            improvement = "-"
        else:
            improvement = probability_of_improvement(scores[reference], values, reps=reps).format(2)
        rate = ""
        if threshold is not None:  # the mean of 0/1 outcomes, with its bootstrap interval
            rate = f" {interval_estimate((values > threshold).astype(float), aggregate='mean', reps=reps).format(2)} |"
        lines.append(f"| {algo.name} | {estimate} | {peak} | {len(values)} | {wall} | {improvement} |{rate}")
    return lines


def _bias_section(suite: Suite, env: EnvSpec, values: pd.DataFrame, out_dir: Path, reps: int) -> list[str]:
    """The value-estimate bias of one environment: curves and the end-of-training table."""
    png = plot_env_bias(env, values, out_dir / f"bias_{env_dirname(env.env_id)}.png", reps=reps)
    finals = values.sort_values(["algo", "seed", "step"], kind="stable").groupby(["algo", "seed"]).tail(1)
    return [
        "Value-estimate bias: the critic's Q(s, mu(s)) minus the discounted return G the deterministic policy "
        "collected from s, over the evaluation episodes' states (time-limited episodes: states whose cut-off tail "
        "weighs at most 5%); SAC's, TQC's and CrossQ's critics estimate the soft value, which includes an entropy bonus "
        "(TQC: the mean of the quantiles its targets keep; CrossQ: its critic with batch renormalization's running "
        "statistics).",
        "",
        f"![{env.env_id} value-estimate bias]({png.name})",
        "",
        *_bias_table(suite, finals, reps),
        "",
    ]


def _resumed_note(finals: pd.DataFrame) -> str:
    resumed = finals[finals["resumed"] > 0]
    if resumed.empty:
        return ""
    runs = ", ".join(f"{row.algo} seed {row.seed}" for row in resumed.itertuples())
    return f"; resumed from a checkpoint after a kill (`resumed_from` in the run's marker): {runs}"


def _versions(suite: Suite, results_dir: str | Path) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for run in expand_runs(suite):
        done_path = run_paths(results_dir, run)[1]
        if is_complete(results_dir, run):
            versions = json.loads(done_path.read_text()).get("versions", {})
            versions.pop("platform", None)
            if versions not in found:
                found.append(versions)
    return found


def make_report(suite: Suite, results_dir: str | Path, reps: int = DEFAULT_REPS) -> Path:
    """
    Write ``<results_dir>/<suite>/RESULTS_TABLE.md`` and ``curves_<env>.png`` for every environment with results.

    :param suite: the suite
    :param results_dir: root of all results
    :param reps: bootstrap resamples for every interval
    :return: the table's path
    """
    out_dir = Path(results_dir) / suite.name
    out_dir.mkdir(parents=True, exist_ok=True)
    results = load_results(suite, results_dir)
    values = load_value_bias(suite, results_dir)
    values = values[np.isfinite(values["bias"].astype(float))] if not values.empty else values
    finals = final_returns(results)
    bests = best_returns(results)
    reference = reference_algo(suite)
    n_expected = len(suite.algos) * len(suite.seeds)
    lines = [
        f"# Benchmark results: {suite.name}",
        "",
        f"Made by `sb3-ddpg bench --suite {suite.path} --results {results_dir}` "
        f"(seeds {list(suite.seeds)}; `--report-only` rewrites this file from the CSVs).",
        "",
        "Every algorithm has the same budget, hyperparameters and evaluation protocol on an environment. "
        "Final return: mean return of the deterministic policy over the last evaluation's episodes, on a separate "
        "evaluation env seeded identically for every algorithm. Aggregate over seeds: interquartile mean (IQM) with "
        f"95% stratified bootstrap confidence intervals ({reps} resamples, rliable). P(X > Y): probability that a run "
        "of X ends higher than a run of Y. Best evaluation: each run's highest evaluation, the statistic of the TD3 "
        "paper's table (it flatters unstable learners; the final return does not). Run time: the median over seeds "
        "of each run's training time; runs share the machine with each other (`--jobs`), so compare speed with "
        "`sb3-ddpg speed`, not with this column. Core-hours: the sum of the complete runs' wall-clock times "
        "(with `--jobs`, one torch thread per run), the compute an environment's results took.",
        "",
    ]
    for env in suite.envs:
        env_results = results[results["env"] == env.env_id]
        env_finals = finals[finals["env"] == env.env_id] if not finals.empty else finals
        lines += [
            f"## {env.env_id}",
            "",
            f"{env.n_timesteps} steps, evaluation every {env.eval_freq} steps over {env.n_eval_episodes} episodes; "
            f"{len(env_finals)}/{n_expected} runs complete"
            + (f", {env_finals['run_wall_time'].sum() / 3600:.1f} core-hours in all" if len(env_finals) else "")
            + _resumed_note(env_finals)
            + ".",
            "",
        ]
        if env_results.empty:
            lines += ["No complete run yet.", ""]
            continue
        png = plot_env_curves(env, env_results, out_dir / f"curves_{env_dirname(env.env_id)}.png", reps=reps)
        lines += [f"![{env.env_id} learning curves]({png.name})", ""]
        env_bests = bests[bests["env"] == env.env_id]
        lines += _env_table(suite, env, env_finals, env_bests, reference, reps)
        lines.append("")
        env_values = values[values["env"] == env.env_id] if not values.empty else values
        if not env_values.empty:
            lines += _bias_section(suite, env, env_values, out_dir, reps)
    versions = _versions(suite, results_dir)
    if versions:
        lines += ["## Versions", ""]
        lines += [f"- {', '.join(f'{key} {value}' for key, value in sorted(entry.items()))}" for entry in versions]
        lines.append("")
    table_path = out_dir / TABLE_NAME
    atomic_write(table_path, lambda file: file.write("\n".join(lines)), mode="w")
    return table_path
