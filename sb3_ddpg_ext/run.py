"""Train and evaluate DDPG into a run folder: model, monitor CSVs, tensorboard logs, the config used, a learning curve."""

import json
import pathlib
import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3.common.callbacks import EvalCallback
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from sb3_ddpg_ext.common.save import atomic_write
from sb3_ddpg_ext.config import ConfigError, RunConfig
from sb3_ddpg_ext.ddpg.ddpg import DDPG

DEFAULT_TIMESTEPS = 20_000


@dataclass
class TrainResult:
    """
    What a training run produced.

    :param run_dir: The run folder
    :param model_path: The saved model
    :param mean_return: Mean return of the final deterministic evaluation
    :param std_return: Its standard deviation
    :param plot_path: The learning-curve PNG
    """

    run_dir: pathlib.Path
    model_path: pathlib.Path
    mean_return: float
    std_return: float
    plot_path: pathlib.Path


def check_env_id(env_id: str) -> None:
    """
    Raise a clear error for an environment id Gymnasium does not know, before any work starts.

    :param env_id: Gymnasium environment id
    """
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        raise ConfigError(f"Unknown environment '{env_id}': {error}. Examples: Pendulum-v1, HalfCheetah-v5.") from error


def _make_env(env_id: str, n_envs: int, seed: int, monitor_dir: pathlib.Path, normalize: bool | dict[str, Any]) -> VecEnv:
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed, monitor_dir=str(monitor_dir))
    if normalize:
        env = VecNormalize(env, **(normalize if isinstance(normalize, dict) else {}))
    return env


def train(
    env_id: str,
    config: RunConfig,
    run_dir: str | pathlib.Path,
    n_timesteps: int | None = None,
    seed: int = 0,
    eval_freq: int = 2_000,
    n_eval_episodes: int = 10,
    progress_bar: bool = True,
    device: str = "auto",
    verbose: int = 0,
) -> TrainResult:
    """
    Train DDPG on ``env_id`` with periodic deterministic evaluation and write everything into ``run_dir``.

    :param env_id: Gymnasium environment id
    :param config: Hyperparameters (see :func:`sb3_ddpg_ext.config.build_run_config`)
    :param run_dir: Output folder (created; an existing model there is replaced only once the new one is complete)
    :param n_timesteps: Budget; overrides the config's ``n_timesteps``
    :param seed: Seed for the model and the environments
    :param eval_freq: Evaluate every this many environment steps (summed over envs)
    :param n_eval_episodes: Episodes per evaluation
    :param progress_bar: Show SB3's progress bar
    :param device: Torch device
    :param verbose: Verbosity of the model
    :return: Paths and the final evaluation
    """
    check_env_id(env_id)
    budget = n_timesteps or config.n_timesteps or DEFAULT_TIMESTEPS
    run_dir = pathlib.Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    env = _make_env(env_id, config.n_envs, seed, run_dir / "monitor", config.normalize)
    eval_env = _make_env(env_id, 1, seed + 10_000, run_dir / "eval_monitor", config.normalize)
    if isinstance(eval_env, VecNormalize):
        eval_env.training, eval_env.norm_reward = False, False
    model = DDPG(
        config.policy,
        env,
        seed=seed,
        device=device,
        verbose=verbose,
        tensorboard_log=str(run_dir / "tb"),
        **config.algo_kwargs,
    )
    _write_config(run_dir, env_id, config, budget, seed, eval_freq, n_eval_episodes)
    eval_callback = EvalCallback(
        eval_env,
        eval_freq=max(eval_freq // config.n_envs, 1),
        n_eval_episodes=n_eval_episodes,
        log_path=str(run_dir),
        best_model_save_path=str(run_dir / "best"),
        deterministic=True,
        verbose=0,
    )
    start = time.time()
    model.learn(budget, callback=eval_callback, progress_bar=progress_bar)
    wall_time = time.time() - start
    model_path = run_dir / "model.zip"
    model.save(model_path)
    if isinstance(env, VecNormalize):
        env.save(str(run_dir / "vecnormalize.pkl"))
    if isinstance(eval_env, VecNormalize) and isinstance(env, VecNormalize):
        eval_env.obs_rms = env.obs_rms
    mean_return, std_return = evaluate_returns(model, eval_env, n_eval_episodes)
    summary = dict(
        env=env_id,
        n_timesteps=int(model.num_timesteps),
        seed=seed,
        wall_time_s=round(wall_time, 1),
        final_mean_return=float(mean_return),
        final_std_return=float(std_return),
    )
    atomic_write(run_dir / "summary.json", lambda f: json.dump(summary, f, indent=2), mode="w")
    from sb3_ddpg_ext.common.plots import plot_run

    plot_path = plot_run(run_dir, title=f"DDPG on {env_id} (seed {seed})")
    env.close()
    eval_env.close()
    return TrainResult(run_dir, model_path, mean_return, std_return, plot_path)


def _write_config(
    run_dir: pathlib.Path, env_id: str, config: RunConfig, budget: int, seed: int, eval_freq: int, n_eval_episodes: int
) -> None:
    import sb3_ddpg_ext

    content = {
        # The hyperparameters as given, keyed by env id like RL Zoo's files: this file works as --hyperparams
        env_id: {**config.raw, "n_timesteps": budget},
        "run": {
            "env": env_id,
            "seed": seed,
            "eval_freq": eval_freq,
            "n_eval_episodes": n_eval_episodes,
            "sb3_ddpg_ext_version": sb3_ddpg_ext.__version__,
        },
    }
    atomic_write(run_dir / "config.yml", lambda f: yaml.safe_dump(content, f, sort_keys=False), mode="w")


def evaluate(
    model_path: str | pathlib.Path,
    env_id: str | None = None,
    n_episodes: int = 10,
    seed: int = 0,
    vecnormalize_path: str | pathlib.Path | None = None,
) -> tuple[float, float]:
    """
    Evaluate a saved model over ``n_episodes`` deterministic episodes.

    :param model_path: A model saved by ``DDPG.save`` (or ``sb3-ddpg train``)
    :param env_id: Environment id; read from the run folder's config.yml when omitted
    :param n_episodes: Number of episodes
    :param seed: Seed of the evaluation environment
    :param vecnormalize_path: VecNormalize statistics; the run folder's vecnormalize.pkl is used when present
    :return: Mean and standard deviation of the episode returns
    """
    model_path = pathlib.Path(model_path)
    run_dir = model_path.parent
    if env_id is None:
        config_file = run_dir / "config.yml"
        if not config_file.is_file():
            raise ConfigError(f"No --env given and no config.yml beside '{model_path}' to read it from; pass --env ENV_ID.")
        env_id = str(yaml.safe_load(config_file.read_text())["run"]["env"])
    check_env_id(env_id)
    model = DDPG.load(model_path, device="cpu")
    env: VecEnv = make_vec_env(env_id, n_envs=1, seed=seed)
    stats = pathlib.Path(vecnormalize_path) if vecnormalize_path else run_dir / "vecnormalize.pkl"
    if stats.is_file():
        env = VecNormalize.load(str(stats), env)
        env.training, env.norm_reward = False, False
    result = evaluate_returns(model, env, n_episodes)
    env.close()
    return result


def evaluate_returns(model: DDPG, env: VecEnv, n_episodes: int) -> tuple[float, float]:
    """
    Mean and standard deviation of the returns of ``n_episodes`` deterministic episodes.

    :param model: The model
    :param env: The evaluation environment
    :param n_episodes: Number of episodes
    :return: Mean and standard deviation
    """
    returns, _ = evaluate_policy(model, env, n_eval_episodes=n_episodes, deterministic=True, return_episode_rewards=True)
    return float(np.mean(returns)), float(np.std(returns))
