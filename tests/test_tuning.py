"""Tuning: sampling functions, converters, objective, studies through the CLI (SQLite), and two workers on PostgreSQL."""

import math
import os
import pathlib
import re
import shutil
import socket
import subprocess
import sys
import tempfile

import numpy as np
import optuna
import pytest
import torch
import yaml
from optuna.trial import FixedTrial, TrialState

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.benchmarking.suite import load_suite
from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.common.noise import GaussianNoise, OrnsteinUhlenbeckNoise
from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.hyperparams import read_hyperparams
from sb3_ddpg_ext.tuning.objective import Objective
from sb3_ddpg_ext.tuning.spaces import (
    resolve_space,
    sample_ddpg_params,
    sample_sac_params,
    sample_td3_params,
    to_hyperparams,
)
from sb3_ddpg_ext.tuning.study import (
    counts_toward_budget,
    create_study,
    make_pruner,
    make_sampler,
    open_storage,
)
from sb3_ddpg_ext.tuning.study_file import load_study_config

REPO = pathlib.Path(__file__).resolve().parents[1]
DDPG_VALUES = {
    "actor_learning_rate": 1e-3,
    "critic_learning_rate": 3e-4,
    "tau": 0.01,
    "one_minus_gamma": 0.02,
    "log2_batch_size": 5,
    "net_arch": "small",
    "train_freq": 4,
    "learning_starts": 100,
    "noise_type": "gaussian",
    "noise_std": 0.2,
    "noise_schedule": "exponential",
    "noise_final_fraction": 0.1,
}
# A study small enough for tests: 400 steps per trial, one evaluation episode every 200 steps
TINY_STUDY = {
    "env_id": "Pendulum-v1",
    "n_trials": 2,
    "n_timesteps": 400,
    "eval_freq": 200,
    "n_eval_episodes": 1,
    "score_last_k": 1,
    "seeds": 1,
    "sampler": "random",
    "pruner": "none",
    "search_space": {"net_arch": "small", "learning_starts": 100, "train_freq": 1, "log2_batch_size": 5},
    "hyperparams": {"buffer_size": 2000},
}


def write_study(folder: pathlib.Path, name: str = "tiny", **changes) -> pathlib.Path:
    path = folder / f"{name}.yml"
    path.write_text(yaml.safe_dump({**TINY_STUDY, **changes}))
    return path


def test_sampling_functions_with_fixed_trial():
    params = sample_ddpg_params(FixedTrial(DDPG_VALUES))
    assert params == {**DDPG_VALUES, "gradient_steps": -1}
    # No noise: its std and schedule are not sampled at all
    quiet = {key: value for key, value in DDPG_VALUES.items() if not key.startswith("noise")}
    assert sample_ddpg_params(FixedTrial({**quiet, "noise_type": "none"}))["noise_type"] == "none"
    assert "noise_final_fraction" not in sample_ddpg_params(FixedTrial({**DDPG_VALUES, "noise_schedule": "constant"}))
    common = {key: DDPG_VALUES[key] for key in ("tau", "one_minus_gamma", "log2_batch_size", "net_arch", "train_freq")}
    common["learning_starts"] = 100
    td3 = sample_td3_params(
        FixedTrial({**common, "learning_rate": 1e-3, "noise_type": "ou", "noise_std": 0.3, "target_policy_noise": 0.2})
    )
    assert td3["noise_std"] == 0.3 and "actor_learning_rate" not in td3
    assert sample_sac_params(FixedTrial({**common, "learning_rate": 1e-3, "ent_coef": "auto"}))["ent_coef"] == "auto"


def test_space_narrowed_and_fixed_values_are_respected():
    space = {"tau": {"low": 0.001, "high": 0.002}, "net_arch": "big", "noise_type": {"choices": ["ou", "none"]}, "tau_": None}
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['tau_'\]"):
        sample_ddpg_params(FixedTrial(DDPG_VALUES), space)
    del space["tau_"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(10):
        trial = study.ask()
        params = sample_ddpg_params(trial, space)
        assert 0.001 <= params["tau"] <= 0.002
        assert params["net_arch"] == "big" and "net_arch" not in trial.params  # fixed: not sampled
        assert params["noise_type"] in ("ou", "none")
        study.tell(trial, 0.0)
    assert to_hyperparams(params)["policy_kwargs"] == {"net_arch": [400, 300]}


@pytest.mark.parametrize("noise_type", ["gaussian", "ou", "parameter", "none"])
def test_converter_output_is_accepted_by_ddpg(noise_type):
    values = {**DDPG_VALUES, "noise_type": noise_type}
    kwargs = build_run_spec("Pendulum-v1", to_hyperparams(values)).algo_kwargs
    model = DDPG("MlpPolicy", "Pendulum-v1", buffer_size=1000, device="cpu", **kwargs)
    assert model.batch_size == 32 and math.isclose(model.gamma, 0.98) and model.tau == 0.01
    assert model.actor_learning_rate == 1e-3 and model.critic_learning_rate == 3e-4
    assert [layer.out_features for layer in model.actor.mu if hasattr(layer, "out_features")] == [64, 64, 1]
    expected = {"gaussian": GaussianNoise, "ou": OrnsteinUhlenbeckNoise}.get(noise_type)
    assert (model.action_noise is None) == (expected is None)
    if expected is not None:
        assert isinstance(model.action_noise, expected)
        assert math.isclose(model.action_noise.scale, 1.0)
    assert isinstance(model.param_noise, AdaptiveParamNoise) == (noise_type == "parameter")
    # The YAML form reads back to the same arguments
    hyperparams = yaml.safe_load(yaml.safe_dump(to_hyperparams(values)))
    again = build_run_spec("Pendulum-v1", hyperparams).algo_kwargs
    assert set(again) == set(kwargs) and again["batch_size"] == kwargs["batch_size"]


def test_objective_is_deterministic_and_reports_failures():
    space = resolve_space("ddpg", TINY_STUDY["search_space"])
    objective = Objective(
        "Pendulum-v1",
        space=space,
        hyperparams={"buffer_size": 2000},
        n_timesteps=400,
        eval_freq=200,
        n_eval_episodes=1,
        seeds=2,
        score_last_k=2,
    )
    values = {key: value for key, value in DDPG_VALUES.items() if key in space and isinstance(space[key], dict)}
    first, second = FixedTrial(values), FixedTrial(values)
    assert objective(first) == objective(second)
    assert first.user_attrs["seed_scores"] == second.user_attrs["seed_scores"] and len(first.user_attrs["seed_scores"]) == 2
    objective.space = resolve_space(
        "ddpg", {**TINY_STUDY["search_space"], "critic_learning_rate": {"low": 1e-5, "high": 1e30}}
    )
    diverging = FixedTrial({**values, "critic_learning_rate": 1e30})
    assert math.isnan(objective(diverging))
    assert "non-finite loss" in diverging.user_attrs["fail_reason"]


def test_tune_resumes_to_budget_and_best_writes_config_plots_csv(tmp_path, capsys):
    study_file = write_study(tmp_path)
    assert main(["tune", "--study", str(study_file), "--n-trials", "2"]) == 0
    storage = f"sqlite:///{tmp_path / 'tiny.db'}"  # default: beside the study file
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 2
    # Same command with a total budget of 4: resumes, runs 2 more; then nothing more to do
    assert main(["tune", "--study", str(study_file), "--n-trials", "4"]) == 0
    assert main(["tune", "--study", str(study_file), "--n-trials", "4"]) == 0
    out = capsys.readouterr().out
    assert "ran 2 trial(s)" in out and "ran 0 trial(s)" in out and "[4/4]" in out
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert [t.number for t in study.trials] == [0, 1, 2, 3] and all(t.state == TrialState.COMPLETE for t in study.trials)

    best_file, plots = tmp_path / "out" / "best.yml", tmp_path / "plots"
    argv = ["best", "--storage", storage, "--study-name", "tiny", "--out", str(best_file), "--plots-dir", str(plots)]
    assert main(argv) == 0
    best = yaml.safe_load(best_file.read_text())
    section = best["Pendulum-v1"]
    assert section["n_timesteps"] == 400 and section["policy_kwargs"] == {"net_arch": [64, 64]}
    assert section == {"n_timesteps": 400, "policy": "MlpPolicy", **study.best_trial.user_attrs["hyperparams"]}
    spec = build_run_spec("Pendulum-v1", read_hyperparams(best_file, "Pendulum-v1"))
    assert spec.n_timesteps == 400
    DDPG("MlpPolicy", "Pendulum-v1", device="cpu", **spec.algo_kwargs)
    for name in ("optimization_history", "param_importances", "parallel_coordinate", "slice"):
        assert (plots / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
    csv = (plots / "trials.csv").read_text().splitlines()
    assert len(csv) == 5 and "value" in csv[0]
    assert not list(tmp_path.rglob(".*.tmp*"))  # atomic writes leave no temporary file


def test_objective_reports_seeds_as_instances_for_the_wilcoxon_pruner():
    objective = load_study_config(write_study(pathlib.Path(tempfile.mkdtemp()), seeds=3, pruner="wilcoxon")).make_objective()
    assert objective.report_seeds and objective.seeds == 3
    study = optuna.create_study(direction="maximize", pruner=make_pruner("wilcoxon"))
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    # one report per seed, at the seed's index, and no report within a seed; the value is the mean over the seeds
    assert trial.state == TrialState.COMPLETE and trial.intermediate_values == dict(enumerate(trial.user_attrs["seed_scores"]))
    assert trial.value == pytest.approx(np.mean(trial.user_attrs["seed_scores"]))
    pruner = make_pruner("wilcoxon")
    assert isinstance(pruner, optuna.pruners.WilcoxonPruner) and pruner._p_threshold == 0.3  # stops after 2 worse seeds


# Pendulum-v1 at 4,000 steps: trained, seeds 0-2 end near -370, -550, -110; never trained (learning_starts beyond the
# budget) they end near -1320, -1130, -1210 (measured on 2026-12-02, fast mode)
LEARNS = {"learning_starts": 100, "noise_type": "gaussian", "noise_std": 0.3}
NEVER_TRAINS = {"learning_starts": 10000, "noise_type": "none"}


@pytest.mark.slow
def test_wilcoxon_pruner_stops_a_failing_configuration_after_its_first_seeds(tmp_path, capsys):
    space = {**TINY_STUDY["search_space"], "learning_starts": {"choices": [100, 10000]}, "noise_std": 0.3}
    space.update(noise_type={"choices": ["gaussian", "none"]}, noise_schedule="constant", log2_batch_size=8)
    space.update(actor_learning_rate=1e-3, critic_learning_rate=1e-3, tau=0.005, one_minus_gamma=0.01)  # DDPG's defaults
    study_file = write_study(
        tmp_path, "seeds", n_trials=2, n_timesteps=4000, eval_freq=2000, n_eval_episodes=5, seeds=3, pruner="wilcoxon",
        search_space=space, hyperparams={"buffer_size": 5000, "fast": True},
    )  # fmt: skip
    study = create_study(load_study_config(study_file))
    for params in (LEARNS, NEVER_TRAINS):
        study.enqueue_trial(params)
    assert main(["tune", "--study", str(study_file)]) == 0
    learns, fails = optuna.load_study(study_name="seeds", storage=f"sqlite:///{tmp_path / 'seeds.db'}").trials
    assert learns.state == TrialState.COMPLETE and len(learns.user_attrs["seed_scores"]) == 3
    # both of its first two seeds scored below the learning trial's same seeds (p = 0.25 < 0.3): its third never ran
    assert fails.state == TrialState.PRUNED and fails.user_attrs["pruned_after_seeds"] == 2
    assert all(a < b for a, b in zip(fails.user_attrs["seed_scores"], learns.user_attrs["seed_scores"], strict=False))
    assert "trial 1 pruned after 2 seed(s)" in capsys.readouterr().out


def test_best_validate_reruns_the_top_trials_on_fresh_seeds_and_picks_by_validation(tmp_path, capsys):
    study_file = write_study(tmp_path, "pick", n_trials=3, base_seed=7)
    assert main(["tune", "--study", str(study_file), "--seeds", "2"]) == 0  # trials use seeds 7 and 8
    trials = optuna.load_study(study_name="pick", storage=f"sqlite:///{tmp_path / 'pick.db'}").trials
    top = sorted(trials, key=lambda trial: trial.value, reverse=True)[:2]
    out = tmp_path / "tuned" / "best.yml"
    argv = ["best", "--study", str(study_file), "--out", str(out), "--validate", "2", "--validation-seeds", "2"]
    assert main([*argv, "--shard", "0/2"]) == 0  # half of the runs: nothing chosen, nothing written yet
    assert "validation: 2/4 runs complete" in capsys.readouterr().out and not out.exists()
    assert main(argv) == 0  # resumes: runs the other half only
    printed = capsys.readouterr().out
    assert "2 complete, 2 to run" in printed
    folder = tmp_path / "tuned" / "pick_validation"
    suite = load_suite(folder / "suite.yml")
    # the two best trials, as the study trained them, on seeds after every seed a trial used, with its evaluation
    assert [algo.name for algo in suite.algos] == [f"trial_{trial.number}" for trial in top]
    assert [algo.hyperparams for algo in suite.algos] == [trial.user_attrs["hyperparams"] for trial in top]
    assert suite.seeds == (9, 10) and suite.envs[0].n_timesteps == 400 and suite.envs[0].n_eval_episodes == 1
    # each trial's validation score, from its runs' CSVs: the study's score (the last evaluation, score_last_k 1)
    scores = {
        trial.number: np.mean([float(np.loadtxt(path, delimiter=",", skiprows=1)[-1, 1]) for path in
                               sorted((folder / "Pendulum-v1" / f"trial_{trial.number}").glob("seed_*.csv"))])
        for trial in top
    }  # fmt: skip
    winner = max(scores, key=lambda number: scores[number])
    header = out.read_text().splitlines()[0]
    assert header.startswith(f"# Trial {winner} of study 'pick'") and "over seeds [9, 10], which no trial used" in header
    assert yaml.safe_load(out.read_text())["Pendulum-v1"]["n_timesteps"] == 400
    page = (folder / "VALIDATION.md").read_text()
    for number, score in scores.items():  # tuning and validation scores side by side, the chosen one marked
        tuning = next(trial.value for trial in top if trial.number == number)
        row = next(line for line in page.splitlines() if line.startswith(f"| {number} |"))
        assert f"| {tuning:.1f} | 2 | {score:.1f} [" in row and "| 2/2 |" in row
        assert ("**yes**" in row) == (number == winner)
    assert "core-hours" in page and (folder / "RESULTS_TABLE.md").is_file()
    # the validation needs the study file's settings: with a bare storage URL it is refused before anything is written
    bare = ["best", "--storage", f"sqlite:///{tmp_path / 'pick.db'}", "--study-name", "pick", "--out", str(tmp_path / "b.yml")]
    assert main([*bare, "--validate", "2"]) == 2
    assert main([*argv[:-1], "0"]) == 2
    errors = capsys.readouterr().err
    assert "--validate needs --study" in errors and "--validation-seeds and --jobs must be >= 1, got 2, 0 and 1" in errors
    assert not (tmp_path / "b.yml").exists()


def test_failing_trial_is_recorded_and_study_goes_on(tmp_path, capsys):
    space = {**TINY_STUDY["search_space"], "critic_learning_rate": {"choices": [1e-3, 1e30]}}
    study_file = write_study(tmp_path, "failing", search_space=space, n_trials=3)
    study = create_study(load_study_config(study_file))
    for lr in (1e30, 1e-3):  # the first trial diverges at its first update
        study.enqueue_trial({"critic_learning_rate": lr})
    assert main(["tune", "--study", str(study_file)]) == 0
    trials = optuna.load_study(study_name="failing", storage=f"sqlite:///{tmp_path / 'failing.db'}").trials
    assert [t.state for t in trials[:2]] == [TrialState.FAIL, TrialState.COMPLETE] and len(trials) == 3
    assert "non-finite loss" in trials[0].user_attrs["fail_reason"]
    assert counts_toward_budget(trials[0])  # a failed trial with a reason uses up the budget
    assert "failed: non-finite loss" in capsys.readouterr().out


def test_bad_input_names_file_key_and_allowed(tmp_path):
    with pytest.raises(ConfigError, match=r"bad\.yml: n_timesteps='many' \(str\) is not allowed; expected an integer >= 1"):
        load_study_config(write_study(tmp_path, "bad", n_timesteps="many"))
    with pytest.raises(ConfigError, match=r"bad\.yml: unknown parameter\(s\) \['learning_rat'\] for ddpg; known: \["):
        load_study_config(write_study(tmp_path, "bad", search_space={"learning_rat": 1e-3}))
    with pytest.raises(ConfigError, match=r"search_space\.noise_type: noise_type='pink' is not allowed; allowed: \["):
        load_study_config(write_study(tmp_path, "bad", search_space={"noise_type": {"choices": ["ou", "pink"]}}))
    with pytest.raises(ConfigError, match=r"bad\.yml: sampler='anneal' \(str\) is not allowed; expected one of \['tpe'"):
        load_study_config(write_study(tmp_path, "bad", sampler="anneal"))
    with pytest.raises(ConfigError, match=r"bad\.yml: unknown key\(s\) \['n_trails'\]"):
        load_study_config(write_study(tmp_path, "bad", n_trails=3))
    with pytest.raises(ConfigError, match=r"bad\.yml: env_id: 'Pendulum-v9' is not a registered Gymnasium environment"):
        load_study_config(write_study(tmp_path, "bad", env_id="Pendulum-v9"))
    # run settings: the study owns seeds and budget; a device this machine lacks fails before any trial
    with pytest.raises(ConfigError, match=r"bad\.yml: hyperparams\.seed: is set by the study itself"):
        load_study_config(write_study(tmp_path, "bad", hyperparams={"seed": 3}))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match=r"bad\.yml: hyperparams: device: 'cuda': CUDA is not available"):
            load_study_config(write_study(tmp_path, "bad", hyperparams={"device": "cuda"}))
        assert main(["tune", "--study", str(write_study(tmp_path, "gpu")), "--device", "cuda"]) == 2
        assert not (tmp_path / "gpu.db").exists()  # no study created, no trial spent
    with pytest.raises(ConfigError, match=r"bad\.yml: hyperparams: param_noise: conflicts with noise_type: parameter"):
        load_study_config(write_study(tmp_path, "bad", hyperparams={"noise_type": "parameter", "param_noise": {}}))
    with pytest.raises(ConfigError, match="unknown sampler 'anneal'; allowed"):
        make_sampler("anneal")
    with pytest.raises(ConfigError, match="unknown pruner 'mean'; allowed"):
        make_pruner("mean")
    with pytest.raises(ConfigError, match="pruner_kwargs for pruner 'median'"):
        make_pruner("median", {"n_warmup": 3})
    with pytest.raises(ConfigError, match="pruner_kwargs for pruner 'wilcoxon': p_threshold must be between 0 and 1"):
        make_pruner("wilcoxon", {"p_threshold": 2})
    with pytest.raises(ConfigError, match=r"bad\.yml: pruner 'wilcoxon' .* seeds=2 leaves nothing to prune; give seeds >= 3"):
        load_study_config(write_study(tmp_path, "bad", pruner="wilcoxon", seeds=2))
    with pytest.raises(SystemExit):  # argparse: invalid choice, with the allowed ones
        main(["tune", "--study", "x.yml", "--sampler", "anneal"])
    with pytest.raises(ConfigError, match=r"cannot open storage 'postgresql://tuner:\*\*\*@127\.0\.0\.1:1/optuna'"):
        open_storage("postgresql://tuner:secret@127.0.0.1:1/optuna")
    assert main(["tune", "--study", str(write_study(tmp_path, "ok")), "--storage", "sqlite:////no/such/dir/x.db"]) == 2
    # reading a study that was never run names the missing file and creates none
    assert main(["best", "--study", str(write_study(tmp_path, "never")), "--out", str(tmp_path / "best.yml")]) == 2
    assert not (tmp_path / "never.db").exists() and not (tmp_path / "best.yml").exists()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def postgres_url():
    """A PostgreSQL server of its own on loopback, in a temporary folder, stopped at the end."""
    binaries = [shutil.which(name) for name in ("initdb", "pg_ctl")]
    if not all(binaries):
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) not found; install them with: apt-get install -y postgresql")
    initdb, pg_ctl = binaries
    folder = tempfile.mkdtemp(prefix="sb3-ddpg-pg-")
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        shutil.chown(folder, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(folder, "data"), _free_port()
    subprocess.run([*prefix, initdb, "-D", data, "-A", "trust", "-U", "tuner"], check=True, capture_output=True)
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        [*prefix, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://tuner@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.postgres
def test_two_workers_share_one_postgres_study(tmp_path, postgres_url):
    study_file = write_study(tmp_path, "shared", n_trials=5, sampler="tpe", pruner="median")
    create_study(load_study_config(study_file), storage=postgres_url)  # create the tables once, before the workers
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # no MPLBACKEND: library code must not need a backend switch
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sb3_ddpg_ext",
                "tune",
                "--study",
                str(study_file),
                "--storage",
                postgres_url,
                "--sampler-seed",
                str(seed),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        for seed in (1, 2)
    ]
    outputs = [worker.communicate(timeout=120)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs
    study = optuna.load_study(study_name="shared", storage=open_storage(postgres_url))
    trials = study.get_trials()
    numbers = [trial.number for trial in trials]
    assert sorted(numbers) == list(range(len(trials)))  # every trial recorded once
    assert not [trial for trial in trials if trial.state in (TrialState.RUNNING, TrialState.WAITING)]
    assert sum(counts_toward_budget(trial) for trial in trials) == 5  # the total budget, not 5 per worker
    # Each trial was run by exactly one worker
    ran = [set(map(int, re.findall(r"\] trial (\d+) ", output))) for output in outputs]
    assert ran[0] and ran[1] and not ran[0] & ran[1] and ran[0] | ran[1] == set(numbers), outputs
    assert np.isfinite(study.best_value)
