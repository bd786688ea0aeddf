"""sb3-contrib's TQC and CrossQ through the experiment layer (train, eval, report, bench, diagnostics), and RL Zoo's
``env_wrapper`` key."""

import json
import pathlib

import numpy as np
import pytest
import torch as th
import yaml
from sb3_contrib import TQC, CrossQ

from sb3_ddpg_ext.benchmarking.runner import expand_runs
from sb3_ddpg_ext.benchmarking.suite import load_suite
from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.diagnostics.value import critic_estimates
from sb3_ddpg_ext.experiment.config import build_run_spec, parse_env_wrapper
from sb3_ddpg_ext.experiment.run import make_model

ROOT = pathlib.Path(__file__).resolve().parents[1]
QUICK = ["--eval-freq", "150", "--n-eval-episodes", "3", "--no-progress-bar"]
SMALL = {"learning_starts": 50, "buffer_size": 1000, "batch_size": 32, "policy_kwargs": {"net_arch": [32, 32]}}
TIME_FEATURE = "sb3_contrib.common.wrappers.TimeFeatureWrapper"


def _observations(n: int, seed: int = 0) -> list[np.ndarray]:
    return list(np.random.default_rng(seed).uniform(-1, 1, size=(n, 4)).astype(np.float32))


@pytest.mark.parametrize("algo", ["tqc", "crossq"])
def test_train_eval_and_report_through_the_command_line(tmp_path, capsys, algo):
    run_dir = tmp_path / algo
    params = ["learning_starts=50", "buffer_size=1000", "batch_size=32", "policy_kwargs={net_arch: [32, 32]}"]
    argv = ["train", "--algo", algo, "--env", "InvertedPendulum-v5", "--n-timesteps", "300", "--run-dir", str(run_dir)]
    assert main([*argv, *QUICK, "--params", *params]) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["algo"] == algo and summary["n_timesteps"] == 300
    # InvertedPendulum's episodes terminate: every evaluation's value estimate has usable states
    rows = (run_dir / "diagnostics" / "value.csv").read_text().splitlines()[1:]
    assert len(rows) == 3 and all(np.isfinite(float(row.split(",")[1])) for row in rows)
    capsys.readouterr()
    assert main(["eval", "--model", str(run_dir / "model.zip"), "--n-episodes", "2"]) == 0
    assert "over 2 deterministic episodes" in capsys.readouterr().out
    assert main(["report", str(run_dir), "--out", str(tmp_path / "report.html")]) == 0
    assert algo in (tmp_path / "report.html").read_text()


def test_tqcs_estimate_is_the_mean_of_the_quantiles_its_targets_keep():
    observations = _observations(16)
    estimates = {}
    for drop in (0, 2, 10):
        model = TQC("MlpPolicy", "InvertedPendulum-v5", top_quantiles_to_drop_per_net=drop, seed=0, device="cpu")
        estimates[drop] = critic_estimates(model, observations)
        obs = th.as_tensor(np.stack(observations))
        with th.no_grad():
            quantiles = model.critic(obs, model.actor(obs, deterministic=True)).reshape(len(obs), -1)
        assert estimates[drop].shape == (16,)
        assert np.all(estimates[drop] >= quantiles.min(dim=1).values.numpy() - 1e-6)
        if drop == 0:  # nothing dropped: the plain mean of every critic's quantiles
            np.testing.assert_allclose(estimates[0], quantiles.mean(dim=1).numpy(), rtol=1e-5, atol=1e-6)
    # dropping the largest quantiles lowers the estimate, more as more are dropped
    assert np.all(estimates[2] < estimates[0]) and np.all(estimates[10] < estimates[2])


def test_crossqs_estimate_uses_running_statistics_and_changes_nothing():
    model = CrossQ("MlpPolicy", "InvertedPendulum-v5", seed=0, device="cpu", policy_kwargs={"net_arch": [32, 32]})
    model.policy.set_training_mode(True)
    buffers = [b.clone() for b in model.policy.buffers()]
    observations = _observations(8)
    first = critic_estimates(model, observations)
    # in evaluation mode a state's estimate does not depend on the other states of the batch
    other = critic_estimates(model, [observations[0], *_observations(5, seed=1)])
    assert first[0] == pytest.approx(other[0], rel=1e-6)
    assert model.policy.training and model.critic.training  # the mode it was in, given back
    assert all(th.equal(a, b) for a, b in zip(buffers, model.policy.buffers(), strict=True))


def test_suite_entries_run_tqc_and_crossq(tmp_path):
    suite_file = tmp_path / "contrib.yml"
    suite_file.write_text(
        yaml.safe_dump(
            {
                "name": "contrib",
                "algos": {"tqc": {}, "crossq": {"hyperparams": {"policy_delay": 2}}},
                "envs": {
                    "InvertedPendulum-v5": {"n_timesteps": 200, "eval_freq": 100, "n_eval_episodes": 2, "hyperparams": SMALL}
                },
                "seeds": [0],
            }
        )
    )
    suite = load_suite(suite_file)
    assert {run.algo.algo for run in expand_runs(suite)} == {"tqc", "crossq"}
    assert main(["bench", "--suite", str(suite_file), "--results", str(tmp_path / "results"), "--reps", "200"]) == 0
    table = (tmp_path / "results" / "contrib" / "RESULTS_TABLE.md").read_text()
    # the return table and the value-bias table each have a row per algorithm
    assert table.count("| tqc |") == 2 and table.count("| crossq |") == 2, table


def test_env_wrapper_wraps_training_evaluation_and_probes_and_is_recorded(tmp_path, capsys):
    run_dir = tmp_path / "run"
    params = [f"env_wrapper={TIME_FEATURE}", "learning_starts=50", "buffer_size=1000", "batch_size=32"]
    argv = ["train", "--env", "Pendulum-v1", "--n-timesteps", "300", "--run-dir", str(run_dir), *QUICK]
    assert main([*argv, "--params", *params]) == 0
    config = yaml.safe_load((run_dir / "config.yml").read_text())["Pendulum-v1"]
    assert config["env_wrapper"] == TIME_FEATURE
    from sb3_ddpg_ext import DDPG

    model = DDPG.load(run_dir / "model.zip", device="cpu")
    assert model.observation_space.shape == (4,)  # Pendulum's 3 observations and the time feature
    probes = np.load(run_dir / "diagnostics" / "probes.npz")
    assert probes["states"].shape[1] == 4
    capsys.readouterr()
    # eval reads the wrapper from the run folder: the model gets the observations it was trained on
    assert main(["eval", "--model", str(run_dir / "model.zip"), "--n-episodes", "1"]) == 0


def test_a_list_of_wrappers_with_keyword_arguments_applies_in_order(tmp_path):
    hyperparams = {**SMALL, "env_wrapper": [{"gymnasium.wrappers.TimeLimit": {"max_episode_steps": 50}}, TIME_FEATURE]}
    spec = build_run_spec("Pendulum-v1", hyperparams, "td3")
    assert [(cls.__name__, kwargs) for cls, kwargs in spec.env_wrapper] == [
        ("TimeLimit", {"max_episode_steps": 50}),
        ("TimeFeatureWrapper", {}),
    ]
    run_dir = tmp_path / "run"
    file = tmp_path / "hp.yml"
    file.write_text(yaml.safe_dump(hyperparams))
    argv = ["train", "--algo", "td3", "--env", "Pendulum-v1", "--hyperparams", str(file), "--n-timesteps", "200"]
    assert main([*argv, "--run-dir", str(run_dir), *QUICK]) == 0
    monitor = next((run_dir / "monitor").glob("*.monitor.csv")).read_text().splitlines()[2:]
    assert len(monitor) == 4 and all(line.split(",")[1] == "50" for line in monitor)  # 200 steps of 50-step episodes


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("no_such_module.Wrapper", "cannot import 'no_such_module.Wrapper'"),
        ("collections.OrderedDict", "'collections.OrderedDict' is not a gymnasium.Wrapper subclass"),
        ("TimeFeatureWrapper", "expected a dotted class name"),
        ({"a.B": {}, "c.D": {}}, "each mapping names one wrapper"),
        ("os.system('echo no')", "cannot import"),
    ],
)
def test_bad_wrapper_names_are_one_line(value, expected):
    with pytest.raises(ConfigError, match="env_wrapper") as error:
        parse_env_wrapper(value, "hp.yml")
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_a_wrapper_that_refuses_its_arguments_stops_train_before_any_work(tmp_path, capsys):
    file = tmp_path / "bad.yml"
    file.write_text(yaml.safe_dump({"env_wrapper": [{"gymnasium.wrappers.TimeLimit": {"max_steps": 5}}]}))
    argv = ["train", "--env", "Pendulum-v1", "--hyperparams", str(file), "--run-dir", str(tmp_path / "r")]
    assert main([*argv, "--no-progress-bar"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "bad.yml: env_wrapper: TimeLimit" in err and "max_steps" in err, err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("suite_name", "algo"),
    [(name, algo) for name in ("pendulum", "inverted_pendulum", "lunarlander") for algo in ("tqc", "crossq")],
)
def test_the_small_suites_give_tqc_and_crossq_rl_zoos_settings_not_the_shared_ones(suite_name, algo):
    # The suite's entry builds the model RL Zoo's file builds (or the class defaults, where the Zoo has no entry):
    # none of the suite's shared DDPG settings (gamma 0.98, learning_starts 10000, net_arch [400, 300], ...) leaks in.
    suite = load_suite(ROOT / "benchmarks" / "suites" / f"{suite_name}.yml")
    run = next(run for run in expand_runs(suite) if run.algo.name == algo and run.seed == 0)
    zoo = yaml.safe_load((ROOT / "hyperparams" / f"{algo}.yml").read_text()).get(run.env.env_id, {})
    zoo = {key: value for key, value in zoo.items() if key not in ("n_timesteps", "policy")}
    ours = make_model(run.spec(), run.env.env_id)
    theirs = make_model(build_run_spec(run.env.env_id, zoo, algo=algo), run.env.env_id)
    for name in ("gamma", "buffer_size", "learning_starts", "batch_size", "tau", "train_freq", "gradient_steps",
                 "use_sde", "policy_delay", "top_quantiles_to_drop_per_net", "ent_coef"):  # fmt: skip
        assert getattr(ours, name, None) == getattr(theirs, name, None), name
    for progress in (1.0, 0.5):
        assert ours.lr_schedule(progress) == theirs.lr_schedule(progress)
    assert str(ours.policy) == str(theirs.policy)
    if suite_name != "inverted_pendulum":
        assert zoo  # RL Zoo has entries for these two
