"""`sb3-ddpg train` / `eval` through the real command line, and the experiment layer's converter on RL Zoo files."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest
import torch as th

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.diagnostics.recorder import read_progress
from sb3_ddpg_ext.experiment.checkpoint import checkpoint_step
from sb3_ddpg_ext.experiment.config import build_run_spec, parse_policy_kwargs
from sb3_ddpg_ext.experiment.evaluation import EVAL_SEED_OFFSET, evaluate_returns, read_curve
from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams, read_hyperparams
from sb3_ddpg_ext.experiment.run import make_env

ZOO_FILE = """
default:
  gamma: 0.95
  policy_kwargs: "dict(activation_fn=nn.Tanh)"
Pendulum-v1:
  n_timesteps: 400
  policy: 'MlpPolicy'
  gamma: 0.98
  buffer_size: 2000
  learning_starts: 100
  noise_type: 'normal'
  noise_std: 0.1
  batch_size: 32
  learning_rate: !!float 1e-3
  policy_kwargs: "dict(net_arch=[32, 32])"
"""
QUICK = ["--eval-freq", "200", "--n-eval-episodes", "2", "--no-progress-bar"]


def test_train_writes_run_folder_and_eval_reads_it(tmp_path, capsys):
    hyperparams = tmp_path / "ddpg.yml"
    hyperparams.write_text(ZOO_FILE)
    run_dir = tmp_path / "run"
    argv = ["train", "--env", "Pendulum-v1", "--hyperparams", str(hyperparams), "--run-dir", str(run_dir), *QUICK]
    assert main([*argv, "--params", "tau=0.01", "seed=3"]) == 0
    out = capsys.readouterr().out
    assert "Final evaluation on Pendulum-v1: mean return" in out and "learning_curve.png" in out
    for name in ("model.zip", "best/best_model.zip", "config.yml", "summary.json", "learning_curve.png", "evaluations.csv"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "monitor").glob("*.monitor.csv"))
    assert list((run_dir / "tb").rglob("events.out.tfevents*"))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["n_timesteps"] == 400 and summary["seed"] == 3  # seed given as a hyperparameter, used once
    assert summary["update_backend"] == "autograd"  # the exact mode (the fast mode names its products' backends)
    curve = read_curve(run_dir / "evaluations.csv")
    assert curve["step"].tolist() == [0, 200, 400]  # one protocol: step 0, every eval_freq, the end
    assert summary["final_mean_return"] == pytest.approx(curve["mean_return"][-1])
    model = DDPG.load(run_dir / "model.zip")
    assert model.tau == 0.01 and model.gamma == 0.98 and model.batch_size == 32  # the env section overrides default
    assert model.policy.activation_fn is th.nn.Tanh  # the default section's policy_kwargs merged with the env's
    assert model.policy.net_arch == [32, 32]
    # the final evaluation is the evaluation protocol applied to the saved model: same seeded episodes, same returns
    env = make_env(build_run_spec("Pendulum-v1", {}), 1, 3 + EVAL_SEED_OFFSET)
    assert np.mean(evaluate_returns(model, env, 2, 3 + EVAL_SEED_OFFSET)) == pytest.approx(summary["final_mean_return"])
    # the config written beside the run works as --hyperparams for a re-run
    rerun = build_run_spec("Pendulum-v1", read_hyperparams(run_dir / "config.yml", "Pendulum-v1"))
    assert rerun.n_timesteps == 400 and rerun.seed == 3 and rerun.algo_kwargs["tau"] == 0.01
    assert main(["eval", "--model", str(run_dir / "model.zip"), "--n-episodes", "2"]) == 0
    assert "over 2 deterministic episodes" in capsys.readouterr().out


def test_run_settings_and_nested_numbers_from_the_command_line(tmp_path):
    run_dir = tmp_path / "run"
    params = [
        "seed=3",
        "device=cpu",
        "verbose=0",
        f"tensorboard_log={tmp_path / 'tb'}",
        "n_timesteps=300",
        "learning_starts=100",
        "policy_kwargs={net_arch: [16], optimizer_kwargs: {eps: 1e-5}}",
    ]
    assert main(["train", "--env", "Pendulum-v1", "--run-dir", str(run_dir), *QUICK, "--params", *params]) == 0
    model = DDPG.load(run_dir / "model.zip")
    assert model.actor.optimizer.defaults["eps"] == 1e-5 and model.policy.net_arch == [16]
    assert list((tmp_path / "tb").rglob("events.out.tfevents*")) and not (run_dir / "tb").exists()
    # the dedicated flags win over --params, which wins over the file
    assert main(["train", "--env", "Pendulum-v1", "--run-dir", str(run_dir), *QUICK, "--params", *params, "--seed", "5"]) == 0
    assert json.loads((run_dir / "summary.json").read_text())["seed"] == 5


def test_train_loads_no_tooling_packages(tmp_path):
    code = (
        "import sys; from sb3_ddpg_ext.cli import main; "
        f"assert main(['train', '--env', 'Pendulum-v1', '--n-timesteps', '200', '--run-dir', r'{tmp_path / 'r'}', "
        "'--eval-freq', '100', '--n-eval-episodes', '1', '--no-progress-bar']) == 0; "
        "loaded = sorted(m for m in ('optuna', 'rliable', 'pandas', 'scipy') if m in sys.modules); "
        "assert not loaded, loaded"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "sb3_ddpg_ext", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--hyperparams" in result.stdout


@pytest.mark.parametrize(
    ("file_text", "argv", "expected"),
    [
        (None, ["--env", "NoSuchEnv-v0"], "'NoSuchEnv-v0' is not a registered Gymnasium environment"),
        ("learning_rat: 0.001\n", [], "learning_rat: not a hyperparameter of ddpg_ext; allowed: ["),
        ("noise_type: parameter\nparam_noise: {initial_stddev: 0.1}\n", [], "param_noise: conflicts with noise_type"),
        ("noise_schedule: lin_1.0\n", [], "noise_schedule: has no effect without noise_type"),
        ("tau: 2.0\n", [], "tau=2.0 must lie in [0, 1]"),
        ("n_timesteps: -3\n", [], "n_timesteps: must be an integer >= 1"),
        ("HalfCheetah-v5: {gamma: 0.9}\n", [], "none for 'Pendulum-v1' and no 'default' section"),
        ("policy_kwargs: {activation_fn: swish}\n", [], "policy_kwargs.activation_fn: unknown 'swish'"),
        ("[1, 2]\n", [], "must hold a mapping"),
        (None, ["--params", "lr"], "'lr' must look like key=value"),
        (None, ["--eval-freq", "0"], "--eval-freq: must be an integer >= 1"),
        (None, ["--device", "cuda:99"] if not th.cuda.is_available() else ["--device", "tpu"], "device"),
    ],
)
def test_bad_input_is_one_line_before_any_work(tmp_path, capsys, file_text, argv, expected):
    files = []
    if file_text is not None:
        (tmp_path / "bad.yml").write_text(file_text)
        files = ["--hyperparams", str(tmp_path / "bad.yml")]
    env = [] if "--env" in argv else ["--env", "Pendulum-v1"]
    assert main(["train", *env, *files, *argv, "--run-dir", str(tmp_path / "r"), "--no-progress-bar"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sb3-ddpg train: error: ") and err.count("\n") == 1, err
    assert expected in err and (file_text is None or "bad.yml" in err), err
    assert not (tmp_path / "r").exists()


def test_eval_errors_are_one_line(tmp_path, capsys):
    assert main(["eval", "--model", str(tmp_path / "none.zip"), "--env", "Pendulum-v1"]) == 2
    assert "No model file" in capsys.readouterr().err
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    assert main(["eval", "--model", str(tmp_path / "broken.zip"), "--env", "Pendulum-v1"]) == 2
    assert "not a zip archive" in capsys.readouterr().err
    assert main(["eval", "--model", str(tmp_path / "broken.zip")]) == 2
    assert "--env: not given" in capsys.readouterr().err


def test_converter_conversions():
    spec = build_run_spec(
        "Pendulum-v1",
        {
            "n_timesteps": 1e4,
            "noise_type": "ornstein-uhlenbeck",
            "noise_std": 0.2,
            "normalize": "dict(norm_obs=True, norm_reward=False)",
            "policy_kwargs": {"net_arch": [64, 64], "activation_fn": "relu", "optimizer_class": "th.optim.AdamW"},
            "train_freq": [1, "episode"],
            "learning_rate": "lin_1e-3",
        },
    )
    assert spec.n_timesteps == 10_000 and spec.normalize == {"norm_obs": True, "norm_reward": False}
    kwargs = spec.algo_kwargs
    assert (
        kwargs["policy_kwargs"]["activation_fn"] is th.nn.ReLU and kwargs["policy_kwargs"]["optimizer_class"] is th.optim.AdamW
    )
    assert kwargs["train_freq"] == (1, "episode") and kwargs["learning_rate"](0.5) == pytest.approx(5e-4)
    assert kwargs["action_noise"]().shape == (1,)
    assert parse_policy_kwargs("dict(net_arch=dict(pi=[64], qf=[400, 300]))") == {"net_arch": {"pi": [64], "qf": [400, 300]}}
    with pytest.raises(ConfigError, match="cannot read"):
        parse_policy_kwargs("dict(net_arch=__import__('os').system('true'))")
    # numbers are numbers at every depth
    nested = build_run_spec("Pendulum-v1", {"policy_kwargs": {"optimizer_kwargs": {"eps": "1e-5"}, "net_arch": ["8"]}})
    assert nested.algo_kwargs["policy_kwargs"] == {"optimizer_kwargs": {"eps": 1e-5}, "net_arch": [8]}
    # one merge rule: mappings merge recursively, other values replace
    merged = merge_hyperparams(
        {"policy_kwargs": {"net_arch": [64], "activation_fn": "tanh"}, "tau": 0.1}, {"policy_kwargs": {"net_arch": [8]}}
    )
    assert merged == {"policy_kwargs": {"net_arch": [8], "activation_fn": "tanh"}, "tau": 0.1}


def test_sections_of_any_registered_env_id(tmp_path):
    gym.register("PendulumNoVersion", entry_point="gymnasium.envs.classic_control.pendulum:PendulumEnv", max_episode_steps=200)
    try:
        path = tmp_path / "zoo.yml"
        path.write_text("default: {gamma: 0.9, tau: 0.1}\nPendulumNoVersion: {gamma: 0.8}\nHalfCheetah-v5: {gamma: 0.7}\n")
        assert read_hyperparams(path, "PendulumNoVersion") == {"gamma": 0.8, "tau": 0.1}
        assert read_hyperparams(path, "Pendulum-v1") == {"gamma": 0.9, "tau": 0.1}
        assert read_hyperparams(path, "HalfCheetah-v5") == {"gamma": 0.7, "tau": 0.1}
        spec = build_run_spec("PendulumNoVersion", read_hyperparams(path, "PendulumNoVersion"))
        assert spec.algo_kwargs == {"gamma": 0.8, "tau": 0.1}
    finally:
        gym.registry.pop("PendulumNoVersion")


# Pendulum runs with small networks, observations normalized, evaluated every 500 steps (the tests add the budget)
SIGNALED = [
    *["--env", "Pendulum-v1", "--eval-freq", "500", "--n-eval-episodes", "1", "--no-progress-bar", "--params"],
    *["learning_starts=100", "batch_size=32", "buffer_size=5000", "policy_kwargs={net_arch: [32, 32]}", "normalize=true"],
]


def start_train(run_dir, n_timesteps):
    command = [sys.executable, "-m", "sb3_ddpg_ext", "train", *SIGNALED, "--n-timesteps", str(n_timesteps)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # Ctrl-C as a terminal delivers it: a test run launched in the background (`cmd &`) inherits SIGINT ignored
    return subprocess.Popen(
        [*command, "--run-dir", str(run_dir)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for(condition, process, what, timeout=300):
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"train ended before {what}: {process.communicate()[1].decode()[-2000:]}"
        assert time.monotonic() < deadline, f"no {what} within {timeout} s"
        time.sleep(0.05)


def evaluated_steps(run_dir):
    try:
        return read_curve(run_dir / "evaluations.csv")["step"].tolist()
    except (OSError, ValueError):
        return []


@pytest.mark.parametrize(("signal_number", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_train_keeps_the_model_trained_so_far(tmp_path, signal_number, status):
    run_dir = tmp_path / "run"
    process = start_train(run_dir, 100_000)
    # after the evaluation at step 500 and its checkpoint, at any moment of training
    wait_for(lambda: (checkpoint_step(run_dir / "checkpoint") or 0) >= 500, process, "checkpoint at step 500")
    process.send_signal(signal_number)
    _, err = process.communicate(timeout=120)
    err = err.decode()
    assert process.returncode == status, err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    name = signal.Signals(signal_number).name
    [line] = [line for line in err.splitlines() if line.startswith("sb3-ddpg train: interrupted")]
    match = re.match(rf"sb3-ddpg train: interrupted by {name} at step (\d+); model saved to (\S+) ", line)
    assert match and match.group(2) == str(run_dir / "model.zip"), line
    step = int(match.group(1))
    checkpoint = checkpoint_step(run_dir / "checkpoint")
    assert checkpoint is not None and 500 <= checkpoint <= step
    assert f"run it again to resume from its checkpoint of step {checkpoint} in {run_dir / 'checkpoint'}" in line

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["interrupted"] is True and summary["n_timesteps"] == step
    assert summary["last_evaluation_step"] == evaluated_steps(run_dir)[-1] <= step
    for name in ("vecnormalize.pkl", "learning_curve.png", "best/best_model.zip", "config.yml"):
        assert (run_dir / name).is_file(), name
    assert DDPG.load(run_dir / "model.zip").num_timesteps == step
    command = [sys.executable, "-m", "sb3_ddpg_ext", "eval", "--model", str(run_dir / "model.zip"), "--n-episodes", "1"]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0 and "over 1 deterministic episodes" in result.stdout, result.stderr[-2000:]


def test_a_killed_train_resumes_from_its_checkpoint(tmp_path, capsys):
    run_dir = tmp_path / "run"
    process = start_train(run_dir, 3000)
    wait_for(lambda: (checkpoint_step(run_dir / "checkpoint") or 0) >= 1000, process, "checkpoint at step 1000")
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = checkpoint_step(run_dir / "checkpoint")
    assert killed_at is not None and 1000 <= killed_at < 3000, "the run finished before it could be killed"
    assert not (run_dir / "summary.json").exists()
    before = read_curve(run_dir / "evaluations.csv")
    monitor = next((run_dir / "monitor").glob("*.monitor.csv"))
    episodes_before = len(monitor.read_text().splitlines()) - 2

    assert main(["train", *SIGNALED, "--n-timesteps", "3000", "--run-dir", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"resuming from step {killed_at} (checkpoint in {run_dir / 'checkpoint'})" in out
    assert "Final evaluation on Pendulum-v1" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["resumed_from"] == [killed_at] and summary["n_timesteps"] == 3000 and not summary["interrupted"]
    after = read_curve(run_dir / "evaluations.csv")
    assert after["step"].tolist() == list(range(0, 3001, 500))
    kept = before["step"] <= killed_at
    np.testing.assert_array_equal(after["mean_return"][: kept.sum()], before["mean_return"][kept])
    # a complete run folder, the checkpoint removed; the monitor CSV keeps the killed attempt's episodes
    assert not (run_dir / "checkpoint").exists()
    for name in ("model.zip", "vecnormalize.pkl", "best/best_model.zip", "config.yml", "learning_curve.png"):
        assert (run_dir / name).is_file(), name
    assert len(monitor.read_text().splitlines()) - 2 > episodes_before >= killed_at // 200 - 1
    # SB3's log every 4 episodes: the killed attempt's rows up to the checkpoint, then the resumed attempt's
    logged = read_progress(run_dir / "diagnostics")["time/total_timesteps"]
    assert logged[~np.isnan(logged)].tolist() == [800, 1600, 2400]
    assert DDPG.load(run_dir / "model.zip").num_timesteps == 3000
