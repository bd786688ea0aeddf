"""
Held-out validation of a study: re-run its best trials on seeds no trial used, through the benchmark runner
(resumable, sharded, ``--jobs``), and choose among them by the validation score.

The best of many trial scores is biased upwards (the winner's curse: each score is a mean over a few noisy seeds, and
the maximum of many noisy means picks luck as well as quality). Re-running the top trials on fresh seeds gives each an
unbiased score, and choosing by it leaves only the small bias of choosing among ``top`` candidates. The validation
scores a seed exactly as the study does (:func:`~sb3_ddpg_ext.tuning.objective.seed_score`: the mean of the last
``score_last_k`` evaluations, with the study's budget and evaluation), so the two scores sit side by side.
"""

import datetime
import pathlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from sb3_ddpg_ext.benchmarking.arguments import DEFAULT_REPS
from sb3_ddpg_ext.benchmarking.report import load_results, make_report
from sb3_ddpg_ext.benchmarking.runner import run_suite
from sb3_ddpg_ext.benchmarking.stats import Estimate, interval_estimate
from sb3_ddpg_ext.benchmarking.suite import Suite, parse_suite
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.tuning.objective import ALGOS, seed_score
from sb3_ddpg_ext.tuning.study_file import StudyConfig


@dataclass
class ValidatedTrial:
    """
    One of the top trials, with its tuning and validation scores.

    :param trial: The study's trial
    :param label: Its entry in the validation suite (``trial_<number>``)
    :param tuning_scores: Its seeds' scores in the study
    :param scores: Its validation seeds' scores, in seed order (complete runs only)
    :param estimate: Mean of ``scores`` with a 95% bootstrap confidence interval (None until a run is complete)
    """

    trial: FrozenTrial
    label: str
    tuning_scores: list[float]
    scores: list[float] = field(default_factory=list)
    estimate: Estimate | None = None


@dataclass
class Validation:
    """
    The validation of a study's top trials.

    :param suite: The benchmark suite that ran it
    :param trials: The top trials, in order of their tuning score
    :param tuning_seeds: The seeds the study's trials used
    :param study_trials: Number of the study's trials
    :param core_hours_study: Sum of the study's trial durations, in hours
    :param core_hours: Sum of the validation runs' wall-clock times, in hours
    """

    suite: Suite
    trials: list[ValidatedTrial]
    tuning_seeds: list[int]
    study_trials: int
    core_hours_study: float
    core_hours: float

    @property
    def complete(self) -> bool:
        """Whether every trial has a score on every validation seed."""
        return all(len(entry.scores) == len(self.suite.seeds) for entry in self.trials)

    @property
    def winner(self) -> ValidatedTrial | None:
        """The trial with the highest validation mean (the better tuning score breaks a tie); None until complete."""
        if not self.complete:
            return None
        return max(self.trials, key=lambda entry: entry.estimate.value if entry.estimate else float("-inf"))


def top_trials(study: optuna.Study, top: int) -> list[FrozenTrial]:
    """
    The ``top`` completed trials with the highest values (the study maximizes), best first.

    :param study: The study
    :param top: How many (>= 1)
    """
    completed = [trial for trial in study.get_trials(deepcopy=False) if trial.state == TrialState.COMPLETE]
    if not completed:
        raise ConfigError(f"study '{study.study_name}' has no completed trial yet")
    return sorted(completed, key=lambda trial: float(trial.value or 0.0), reverse=True)[:top]


def tuning_seeds(study: optuna.Study, config: StudyConfig) -> list[int]:
    """
    The seeds the study's trials used: ``base_seed`` onwards, as many as the study file asks for or any trial ran
    (``tune --seeds K`` may have overridden the file's count).

    :param study: The study
    :param config: Its study file's settings
    """
    used = max([config.seeds, *(len(trial.user_attrs.get("seed_scores", ())) for trial in study.get_trials(deepcopy=False))])
    return list(range(config.base_seed, config.base_seed + used))


def validation_suite(study: optuna.Study, config: StudyConfig, top: int, n_seeds: int) -> dict[str, Any]:
    """
    The benchmark suite that re-runs the study's ``top`` best trials, as the study trained them, on the ``n_seeds``
    seeds after every seed a trial used, with the study's budget and evaluation.

    :param study: A study made by ``sb3-ddpg tune`` from ``config``
    :param config: The study file's settings
    :param top: How many of the best completed trials (>= 1)
    :param n_seeds: Validation seeds per trial (>= 1)
    :return: The suite as a YAML-ready mapping (checked by the suite parser), named ``<study>_validation``, its
        reference the trial with the best tuning score
    """
    best = top_trials(study, top)
    first_seed = tuning_seeds(study, config)[-1] + 1
    data: dict[str, Any] = {
        "name": f"{config.name}_validation",
        "reference": f"trial_{best[0].number}",
        "algos": {
            f"trial_{trial.number}": {"algo": ALGOS[config.algo], "hyperparams": trial.user_attrs["hyperparams"]}
            for trial in best
        },
        "envs": {
            config.env_id: {
                "n_timesteps": config.n_timesteps,
                "eval_freq": config.eval_freq,
                "n_eval_episodes": config.n_eval_episodes,
            }
        },
        "seeds": list(range(first_seed, first_seed + n_seeds)),
    }
    parse_suite(data, f"validation of study '{config.name}'")
    return data


def study_core_hours(study: optuna.Study) -> float:
    """Sum of the durations of the study's finished trials, in hours (each trial runs on one core by default)."""
    seconds = sum(
        (trial.datetime_complete - trial.datetime_start).total_seconds()
        for trial in study.get_trials(deepcopy=False)
        if trial.datetime_start is not None and trial.datetime_complete is not None
    )
    return seconds / 3600


def read_validation(
    study: optuna.Study, config: StudyConfig, suite: Suite, results_dir: str | pathlib.Path, reps: int = DEFAULT_REPS
) -> Validation:
    """
    The validation scores of a suite's complete runs.

    :param study: The study
    :param config: Its study file's settings (``score_last_k``)
    :param suite: From :func:`validation_suite`
    :param results_dir: Root of the benchmark results
    :param reps: Bootstrap resamples of the confidence intervals
    """
    results = load_results(suite, results_dir)
    by_number = {trial.number: trial for trial in study.get_trials(deepcopy=False)}
    entries = []
    for algo in suite.algos:
        trial = by_number[int(algo.name.removeprefix("trial_"))]
        entry = ValidatedTrial(trial, algo.name, [float(score) for score in trial.user_attrs.get("seed_scores", [])])
        runs = results[results["algo"] == algo.name]
        for _, rows in sorted(runs.groupby("seed"), key=lambda item: item[0]):
            rows = rows.sort_values("step")
            score = seed_score(rows[["step", "mean_return"]].to_numpy().tolist(), config.score_last_k)
            if score is not None:
                entry.scores.append(score)
        if entry.scores:
            entry.estimate = interval_estimate(entry.scores, aggregate="mean", reps=reps)
        entries.append(entry)
    run_hours = results.groupby(["algo", "seed"])["run_wall_time"].first().sum() / 3600 if not results.empty else 0.0
    n_trials = len(study.get_trials(deepcopy=False))
    return Validation(suite, entries, tuning_seeds(study, config), n_trials, study_core_hours(study), float(run_hours))


def validate(
    study: optuna.Study,
    config: StudyConfig,
    top: int,
    n_seeds: int,
    results_dir: str | pathlib.Path,
    jobs: int = 1,
    shard: tuple[int, int] = (0, 1),
    log: Callable[[str], None] | None = print,
    reps: int = DEFAULT_REPS,
) -> Validation:
    """
    Run the validation suite's incomplete runs (of one shard), then read every complete run's score. Re-running it
    resumes: complete runs are skipped and an interrupted run continues from its checkpoint.

    :param study: The study
    :param config: Its study file's settings
    :param top: How many of the best trials to validate
    :param n_seeds: Validation seeds per trial
    :param results_dir: Root of the benchmark results; the runs go to ``<results_dir>/<study>_validation/``
    :param jobs: Runs in parallel processes (one torch thread each); 1 runs in this process
    :param shard: ``(i, n)``: run only every ``n``-th run from the ``i``-th (to split the validation over machines)
    :param log: Progress messages; None for silence
    :param reps: Bootstrap resamples
    :return: The validation; :attr:`Validation.winner` once every run is complete
    """
    data = validation_suite(study, config, top, n_seeds)
    suite = parse_suite(data, f"validation of study '{config.name}'")
    folder = pathlib.Path(results_dir) / suite.name
    folder.mkdir(parents=True, exist_ok=True)
    text = f"# Re-report with: sb3-ddpg bench --suite {folder / 'suite.yml'} --results {results_dir} --report-only\n"
    text += yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    atomic_write(folder / "suite.yml", lambda file: file.write(text), mode="w")
    summary = run_suite(suite, results_dir, jobs=jobs, shard=shard, log=log)
    if summary.failed:
        raise RuntimeError(f"{len(summary.failed)} validation run(s) failed: {', '.join(summary.failed)}")
    validation = read_validation(study, config, suite, results_dir, reps)
    if validation.complete:
        make_report(suite, results_dir, reps=reps)
    return validation


def _seed_range(seeds: list[int] | tuple[int, ...]) -> str:
    seeds = list(seeds)
    contiguous = seeds == list(range(seeds[0], seeds[0] + len(seeds)))
    return f"{seeds[0]}-{seeds[-1]}" if contiguous and len(seeds) > 1 else ", ".join(map(str, seeds))


def validation_table(validation: Validation) -> str:
    """
    The top trials' tuning and validation scores side by side, as a Markdown table (the chosen trial marked).

    :param validation: From :func:`validate` or :func:`read_validation`
    """
    winner = validation.winner
    lines = [
        "| trial | tuning score (mean) | tuning seeds | validation score (mean [95% CI]) | validation seeds | chosen |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for entry in validation.trials:
        done = len(entry.scores)
        score = entry.estimate.format(1) if entry.estimate else "-"
        lines.append(
            f"| {entry.trial.number} | {float(entry.trial.value or 0.0):.1f} | {len(entry.tuning_scores)} | {score} | "
            f"{done}/{len(validation.suite.seeds)} | {'**yes**' if entry is winner else ''} |"
        )
    return "\n".join(lines)


def validation_page(validation: Validation, config: StudyConfig, command: str) -> str:
    """
    The validation report (``VALIDATION.md``): what was run, the side-by-side table, each seed's score, the compute.

    :param validation: A complete validation
    :param config: The study file's settings
    :param command: The command that wrote it
    """
    suite, env = validation.suite, validation.suite.envs[0]
    winner = validation.winner
    lines = [
        f"# Validation of study '{config.name}' ({config.env_id}, {config.algo})",
        "",
        f"Written {datetime.date.today().isoformat()} by `{command}`.",
        "",
        f"The {len(validation.trials)} best trials by tuning score, each re-run as the study trained it on seeds "
        f"{_seed_range(suite.seeds)} (the study's trials used seeds {_seed_range(validation.tuning_seeds)}), with the "
        f"study's budget ({env.n_timesteps} steps) and evaluation (every {env.eval_freq} steps, {env.n_eval_episodes} "
        f"episodes). A seed's score is the mean of its last {config.score_last_k} evaluations, in the study and here; "
        "a trial's score is the mean over its seeds, with a 95% bootstrap confidence interval. The chosen trial has "
        "the highest validation mean.",
        "",
    ]
    if winner is not None and winner.estimate is not None:
        lines += [
            f"Chosen: trial {winner.trial.number}, validation {winner.estimate} against its tuning score "
            f"{float(winner.trial.value or 0.0):.1f}.",
            "",
        ]
    lines += [validation_table(validation), "", "Per-seed validation scores:", ""]
    for entry in validation.trials:
        lines.append(f"- trial {entry.trial.number}: " + ", ".join(f"{score:.1f}" for score in entry.scores))
    lines += [
        "",
        f"Compute: the study {validation.core_hours_study:.2f} core-hours ({validation.study_trials} trials, the sum "
        f"of their durations), the validation {validation.core_hours:.2f} core-hours "
        f"({sum(len(entry.scores) for entry in validation.trials)} runs, the sum of their wall-clock times).",
        "",
        "Curves and the value-bias table of these runs: [RESULTS_TABLE.md](RESULTS_TABLE.md).",
    ]
    return "\n".join(lines) + "\n"
