"""DDPG runs through all of SB3's machinery with only the import swapped."""

import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from stable_baselines3 import HerReplayBuffer
from stable_baselines3.common.buffers import NStepReplayBuffer
from stable_baselines3.common.callbacks import CheckpointCallback, EvalCallback, StopTrainingOnRewardThreshold
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.envs import BitFlippingEnv, FakeImageEnv
from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecNormalize

from sb3_ddpg_ext import DDPG, CnnPolicy, DDPGPolicy, MlpPolicy, MultiInputPolicy


def params_sum(model) -> float:
    return sum(p.double().sum().item() for p in model.policy.parameters())


@pytest.mark.parametrize("policy", ["MlpPolicy", MlpPolicy, DDPGPolicy])
def test_mlp_policy_by_name_and_class(policy, small_kwargs):
    model = DDPG(policy, "Pendulum-v1", **small_kwargs)
    model.learn(200)
    assert model._n_updates > 0
    assert model.critic.n_critics == 1 and len(model.critic.q_networks) == 1
    action, _ = model.predict(model.env.observation_space.sample(), deterministic=True)
    assert model.action_space.contains(action)


@pytest.mark.parametrize("policy", ["CnnPolicy", CnnPolicy])
def test_cnn_policy(policy, small_kwargs):
    env = FakeImageEnv(screen_height=40, screen_width=40, n_channels=1, discrete=False)
    small_kwargs.update(buffer_size=200, policy_kwargs=dict(net_arch=[16], features_extractor_kwargs=dict(features_dim=16)))
    model = DDPG(policy, env, **small_kwargs)
    model.learn(80)
    assert model._n_updates > 0


@pytest.mark.parametrize("policy", ["MultiInputPolicy", MultiInputPolicy])
def test_dict_observations(policy, small_kwargs):
    model = DDPG(policy, BitFlippingEnv(n_bits=4, continuous=True), **small_kwargs)
    model.learn(150)
    assert model._n_updates > 0


def test_her(small_kwargs):
    env = BitFlippingEnv(n_bits=4, continuous=True, max_steps=4)
    model = DDPG(
        "MultiInputPolicy",
        env,
        replay_buffer_class=HerReplayBuffer,
        replay_buffer_kwargs=dict(n_sampled_goal=2, goal_selection_strategy="future"),
        **small_kwargs,
    )
    model.learn(200)
    assert isinstance(model.replay_buffer, HerReplayBuffer)
    assert model._n_updates > 0


def test_n_step_replay_uses_n_step_discount(small_kwargs):
    model = DDPG("MlpPolicy", "Pendulum-v1", n_steps=3, **small_kwargs)
    model.learn(150)
    assert isinstance(model.replay_buffer, NStepReplayBuffer)
    sample = model.replay_buffer.sample(64)
    assert sample.discounts is not None
    discounts = sample.discounts.cpu().numpy().ravel()
    # gamma**3, or a shorter window for the newest transitions whose next steps are not collected yet
    allowed = np.array([model.gamma, model.gamma**2, model.gamma**3], dtype=np.float32)
    assert np.isclose(discounts[:, None], allowed[None, :]).any(axis=1).all()
    assert np.isclose(discounts, model.gamma**3).mean() > 0.9


@pytest.mark.parametrize("vec_env_cls", [DummyVecEnv, SubprocVecEnv])
@pytest.mark.parametrize("n_envs", [1, 4])
def test_vec_envs_with_noise(vec_env_cls, n_envs, small_kwargs):
    if vec_env_cls is SubprocVecEnv and n_envs == 1:
        pytest.skip("one SubprocVecEnv case is enough")
    env = make_vec_env("Pendulum-v1", n_envs=n_envs, vec_env_cls=vec_env_cls, seed=0)
    noise = OrnsteinUhlenbeckActionNoise(np.zeros(1), 0.1 * np.ones(1))
    model = DDPG("MlpPolicy", env, action_noise=noise, **small_kwargs)
    model.learn(200)
    assert model.num_timesteps >= 200
    assert model._n_updates > 0
    env.close()


def test_vec_normalize_and_callbacks(tmp_path, small_kwargs):
    env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0), norm_reward=True)
    eval_env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=1, seed=1), training=False, norm_reward=False)
    stop = StopTrainingOnRewardThreshold(reward_threshold=1e9)
    callbacks = [
        EvalCallback(eval_env, eval_freq=50, n_eval_episodes=1, callback_on_new_best=stop, log_path=str(tmp_path)),
        CheckpointCallback(save_freq=100, save_path=str(tmp_path / "ckpt"), name_prefix="ddpg"),
    ]
    model = DDPG("MlpPolicy", env, tensorboard_log=str(tmp_path / "tb"), **small_kwargs)
    model.learn(300, callback=callbacks, progress_bar=True)
    assert (tmp_path / "evaluations.npz").exists()
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir())[0].startswith("ddpg_")
    assert any((tmp_path / "tb").rglob("events.out.tfevents*"))
    assert model._vec_normalize_env is env


def test_stop_training_callback_stops_early(small_kwargs):
    eval_env = make_vec_env("Pendulum-v1", n_envs=1, seed=1)
    stop = StopTrainingOnRewardThreshold(reward_threshold=-1e9)  # any return beats it
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.learn(5_000, callback=EvalCallback(eval_env, eval_freq=100, n_eval_episodes=1, callback_on_new_best=stop))
    assert model.num_timesteps == 100


def test_logs_losses(small_kwargs):
    from stable_baselines3.common.logger import configure

    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    logger = configure(None, [])
    model.set_logger(logger)
    model.learn(120)
    values = logger.name_to_value
    assert {"train/actor_loss", "train/critic_loss", "train/n_updates", "train/learning_rate"} <= set(values)
    assert values["train/n_updates"] == model._n_updates


def test_train_called_directly(small_kwargs):
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.learn(100)
    before = model._n_updates
    model.train(gradient_steps=3)
    assert model._n_updates == before + 3


def test_set_env_get_set_parameters(small_kwargs):
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.set_env(make_vec_env("Pendulum-v1", n_envs=1, seed=3))
    model.learn(100)
    params = model.get_parameters()
    assert set(params) == {"policy", "actor.optimizer", "critic.optimizer"}
    other = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    other.set_parameters(params, exact_match=True)
    obs = np.zeros((5, 3), dtype=np.float32)
    assert np.array_equal(model.predict(obs, deterministic=True)[0], other.predict(obs, deterministic=True)[0])
    with pytest.raises(ValueError):
        other.set_parameters({"nonexistent": {}}, exact_match=True)


def test_seeded_runs_identical(small_kwargs):
    sums = []
    for _ in range(2):
        model = DDPG(
            "MlpPolicy", "Pendulum-v1", seed=11, action_noise=NormalActionNoise(np.zeros(1), np.ones(1) * 0.2), **small_kwargs
        )
        model.learn(200)
        sums.append([p.detach().clone() for p in model.policy.parameters()])
    assert all(th.equal(a, b) for a, b in zip(*sums, strict=True))
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=12, **small_kwargs)
    model.learn(200)
    assert not all(th.equal(a, b) for a, b in zip(sums[0], model.policy.parameters(), strict=True))


def test_dict_observation_twin_gives_same_actions(small_kwargs):
    """A Dict observation with one key and its flat twin give identical actions for the same seed."""
    from gymnasium.wrappers import TransformObservation

    def dict_env():
        import gymnasium as gym

        env = gym.make("Pendulum-v1")
        space = spaces.Dict({"obs": env.observation_space})
        return TransformObservation(env, lambda obs: {"obs": obs}, space)

    actions = []
    for policy, env in (("MultiInputPolicy", dict_env()), ("MlpPolicy", "Pendulum-v1")):
        model = DDPG(policy, env, seed=2, **small_kwargs)
        model.learn(150)
        obs = np.linspace(-1, 1, 3, dtype=np.float32)
        actions.append(model.predict({"obs": obs} if policy == "MultiInputPolicy" else obs, deterministic=True)[0])
    np.testing.assert_allclose(actions[0], actions[1], rtol=1e-5, atol=1e-6)


def test_policy_options_build_and_learn(small_kwargs):
    small_kwargs["policy_kwargs"] = dict(net_arch=[32, 32], layer_norm=True, output_init=3e-3, critic_action_layer=1)
    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        actor_learning_rate=1e-4,
        critic_learning_rate=1e-3,
        critic_weight_decay=1e-2,
        **small_kwargs,
    )
    assert any(isinstance(m, th.nn.LayerNorm) for m in model.actor.modules())
    assert any(isinstance(m, th.nn.LayerNorm) for m in model.critic.modules())
    last = [m for m in model.actor.modules() if isinstance(m, th.nn.Linear)][-1]
    assert last.weight.abs().max() <= 3e-3
    # the critic's second layer takes 32 hidden units plus the action
    linears = [m for m in model.critic.modules() if isinstance(m, th.nn.Linear)]
    assert linears[0].in_features == 3 and linears[1].in_features == 32 + 1
    model.learn(150)
    assert model.actor.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert model.critic.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)
    # the L2 of the critic's hidden weight matrices (not its biases, layer-norm gains or output layer), not Adam's
    assert model.critic.optimizer.param_groups[0]["weight_decay"] == 0 and model.critic_weight_decay == 1e-2
    assert len(model._regularized_weights) == 2 and all(weight.dim() == 2 for weight in model._regularized_weights)
    assert model.actor.optimizer.param_groups[0]["weight_decay"] == 0


def test_share_features_extractor_and_dict_net_arch(small_kwargs):
    small_kwargs["policy_kwargs"] = dict(
        net_arch=dict(pi=[16], qf=[32, 32]), share_features_extractor=True, activation_fn=th.nn.Tanh
    )
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    assert model.critic.features_extractor is model.actor.features_extractor
    model.learn(120)


@pytest.mark.skipif(not th.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_device(small_kwargs):
    small_kwargs["device"] = "cuda"
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.learn(120)
    assert next(model.policy.parameters()).is_cuda
