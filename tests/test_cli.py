"""`sb3-ddpg train` / `eval` and RL Zoo-style hyperparameter files, through the real command line."""

import json
import subprocess
import sys

import pytest
import torch as th
import yaml

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.config import ConfigError, build_run_config, parse_policy_kwargs, read_hyperparams

ZOO_FILE = """
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
  policy_kwargs: "dict(net_arch=[32, 32], activation_fn=nn.Tanh)"
"""


def test_train_writes_run_folder_and_eval_reads_it(tmp_path, capsys):
    hyperparams = tmp_path / "ddpg.yml"
    hyperparams.write_text(ZOO_FILE)
    run_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--env",
            "Pendulum-v1",
            "--hyperparams",
            str(hyperparams),
            "--eval-freq",
            "200",
            "--n-eval-episodes",
            "2",
            "--run-dir",
            str(run_dir),
            "--no-progress-bar",
            "--params",
            "tau=0.01",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Final evaluation on Pendulum-v1: mean return" in out and "learning_curve.png" in out
    for name in ("model.zip", "config.yml", "summary.json", "learning_curve.png", "evaluations.npz"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "monitor").glob("*.monitor.csv"))
    assert list((run_dir / "tb").rglob("events.out.tfevents*"))
    assert json.loads((run_dir / "summary.json").read_text())["n_timesteps"] == 400
    config = yaml.safe_load((run_dir / "config.yml").read_text())
    assert config["Pendulum-v1"]["tau"] == 0.01 and config["run"]["seed"] == 0
    model = DDPG.load(run_dir / "model.zip")
    assert model.tau == 0.01 and model.gamma == 0.98 and model.batch_size == 32
    assert model.policy.activation_fn is th.nn.Tanh
    assert type(model.action_noise).__name__ in ("GaussianNoise", "NormalActionNoise")
    # the config written beside the run works as --hyperparams for a re-run
    rerun = build_run_config(read_hyperparams(run_dir / "config.yml", "Pendulum-v1"), n_actions=1)
    assert rerun.n_timesteps == 400 and rerun.algo_kwargs["tau"] == 0.01
    assert main(["eval", "--model", str(run_dir / "model.zip"), "--n-episodes", "2"]) == 0
    assert "over 2 deterministic episodes" in capsys.readouterr().out


def test_module_entry_point_help():
    result = subprocess.run([sys.executable, "-m", "sb3_ddpg_ext", "train", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "--hyperparams" in result.stdout


def test_unknown_env_and_bad_file_fail_before_work(tmp_path, capsys):
    assert main(["train", "--env", "NoSuchEnv-v0", "--run-dir", str(tmp_path / "r")]) == 2
    assert "Unknown environment 'NoSuchEnv-v0'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
    bad = tmp_path / "bad.yml"
    bad.write_text("learning_rat: 0.001\n")
    assert main(["train", "--env", "Pendulum-v1", "--hyperparams", str(bad), "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "bad.yml" in err and "learning_rat" in err and "learning_rate" in err
    assert not (tmp_path / "r").exists()


def test_config_conversions():
    config = build_run_config(
        {
            "n_timesteps": 1e4,
            "noise_type": "ornstein-uhlenbeck",
            "noise_std": 0.2,
            "normalize": True,
            "policy_kwargs": {"net_arch": [64, 64], "activation_fn": "relu"},
            "train_freq": [1, "episode"],
        },
        n_actions=2,
    )
    assert config.n_timesteps == 10_000 and config.normalize is True
    assert config.algo_kwargs["policy_kwargs"]["activation_fn"] is th.nn.ReLU
    assert config.algo_kwargs["train_freq"] == (1, "episode")
    assert config.algo_kwargs["action_noise"]().shape == (2,)
    assert parse_policy_kwargs("dict(net_arch=dict(pi=[64], qf=[400, 300]))") == {"net_arch": {"pi": [64], "qf": [400, 300]}}
    with pytest.raises(ConfigError, match="not a literal"):
        parse_policy_kwargs("dict(net_arch=__import__('os').system('true'))")
    with pytest.raises(ConfigError, match="n_timesteps must be a positive integer"):
        build_run_config({"n_timesteps": -3}, n_actions=1)
    with pytest.raises(ConfigError, match="noise_type"):
        build_run_config({"noise_type": "pink"}, n_actions=1)


def test_zoo_file_with_other_sections_only(tmp_path):
    path = tmp_path / "zoo.yml"
    path.write_text("HalfCheetah-v5:\n  n_timesteps: 1000\n")
    with pytest.raises(ConfigError, match="none for env 'Pendulum-v1'"):
        read_hyperparams(path, "Pendulum-v1")
    assert read_hyperparams(path, "HalfCheetah-v5") == {"n_timesteps": 1000}
