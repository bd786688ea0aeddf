"""Regression tests for algorithm defects: frozen parameters, load kwargs, NaN stop, one progress clock,
parameter noise with several environments."""

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.noise import NormalActionNoise
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from stable_baselines3.common.vec_env import DummyVecEnv

from sb3_ddpg_ext import DDPG, AdaptiveParamNoise, GaussianNoise, NonFiniteLossError

TINY = dict(policy_kwargs=dict(net_arch=[16]), buffer_size=1_000, batch_size=16, device="cpu")


def _state(model) -> list[th.Tensor]:
    """Every tensor an update changes: networks, targets and both optimizers' states."""
    tensors = [p.detach().clone() for p in model.policy.parameters()]
    for optimizer in (model.actor.optimizer, model.critic.optimizer):
        for state in optimizer.state_dict()["state"].values():
            tensors += [value.clone() for value in state.values()]
    return tensors


def _assert_same(a: list[th.Tensor], b: list[th.Tensor]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert th.equal(x, y)


# 1. Frozen actor parameters train as in SB3's DDPG


class FrozenLinearExtractor(BaseFeaturesExtractor):
    """A features extractor with a frozen (e.g. pretrained) linear layer."""

    def __init__(self, observation_space: gym.spaces.Box, features_dim: int = 8):
        super().__init__(observation_space, features_dim)
        self.linear = th.nn.Linear(observation_space.shape[0], features_dim)
        self.linear.requires_grad_(False)

    def forward(self, observations: th.Tensor) -> th.Tensor:
        return th.relu(self.linear(observations))


@pytest.mark.parametrize("frozen", ["first_layer_after_construction", "features_extractor"])
def test_frozen_actor_parameters_train_like_sb3(frozen):
    results = []
    for cls in (DDPG, SB3DDPG):
        policy_kwargs: dict = dict(net_arch=[32, 32])
        if frozen == "features_extractor":
            policy_kwargs["features_extractor_class"] = FrozenLinearExtractor
        model = cls(
            "MlpPolicy",
            "Pendulum-v1",
            seed=4,
            learning_starts=50,
            buffer_size=1_000,
            batch_size=32,
            policy_kwargs=policy_kwargs,
            action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)),
            device="cpu",
        )
        layer = model.actor.mu[0] if frozen == "first_layer_after_construction" else model.actor.features_extractor
        layer.requires_grad_(False)
        before = [p.detach().clone() for p in layer.parameters()]
        trained_before = [p.detach().clone() for p in model.actor.mu[-2].parameters()]
        model.learn(200)
        _assert_same([p.detach() for p in layer.parameters()], before)
        assert not th.equal(model.actor.mu[-2].weight, trained_before[0])  # the rest of the actor trained
        results.append(_state(model))
    _assert_same(*results)


# 2. load(critic_weight_decay=...) wins over the saved optimizer's value


def test_load_kwargs_set_critic_weight_decay(tmp_path):
    # scope 'all': Adam's weight_decay carries the decay (the other scopes add it to the gradients, Adam's is 0)
    model = DDPG(
        "MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, critic_weight_decay_scope="all", learning_starts=20, **TINY
    )
    model.learn(40)
    model.save(tmp_path / "m")
    for kwargs, expected in (({"critic_weight_decay": 0.05}, 0.05), ({"critic_weight_decay": 0.0}, 0.0), ({}, 0.01)):
        loaded = DDPG.load(tmp_path / "m", env=model.get_env(), **kwargs)
        assert loaded.critic_weight_decay == expected
        assert [group["weight_decay"] for group in loaded.critic.optimizer.param_groups] == [expected]
        assert [group["weight_decay"] for group in loaded.actor.optimizer.param_groups] == [0.0]
        assert loaded.critic.optimizer.state_dict()["state"]  # the saved Adam moments came back
    # set_parameters from a file with another weight decay keeps the model's own
    other = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.2, critic_weight_decay_scope="all", **TINY)
    other.set_parameters(str(tmp_path / "m.zip"))
    assert [group["weight_decay"] for group in other.critic.optimizer.param_groups] == [0.2]


# 3. A non-finite loss stops training before it reaches the parameters


def _nan_model() -> DDPG:
    model = DDPG("MlpPolicy", "Pendulum-v1", seed=0, learning_starts=100, **TINY)
    model.learn(150)  # 50 updates: the optimizers have state
    return model


def test_nan_stops_before_the_bad_update():
    model, reference = _nan_model(), _nan_model()
    _assert_same(_state(model), _state(reference))
    for m in (model, reference):
        m.replay_buffer.rewards[17, 0] = np.nan  # one poisoned transition among 150
    n_updates = model._n_updates
    np.random.seed(3)
    with pytest.raises(NonFiniteLossError, match=r"critic loss became nan at gradient update (\d+) \(environment step 150\)"):
        model.train(gradient_steps=40, batch_size=16)
    bad = model._n_updates + 1 - n_updates  # index of the bad update in this call
    assert bad >= 3, "the test needs finite updates before the bad one"
    # the reference does exactly the finite updates, on the same minibatches
    np.random.seed(3)
    reference.train(gradient_steps=bad - 1, batch_size=16)
    _assert_same(_state(model), _state(reference))
    assert model._n_updates == reference._n_updates
    assert all(th.isfinite(t).all() for t in _state(model))


class NaNRewardAfter(gym.Wrapper):
    """Pendulum whose rewards become NaN after ``start`` steps."""

    def __init__(self, env: gym.Env, start: int):
        super().__init__(env)
        self.start, self.steps = start, 0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        return obs, (float("nan") if self.steps > self.start else reward), terminated, truncated, info


@pytest.mark.parametrize("gradient_steps", [4, -1])
def test_nan_reward_stops_learn_with_finite_networks(gradient_steps):
    env = NaNRewardAfter(gym.make("Pendulum-v1"), start=60)
    model = DDPG("MlpPolicy", env, seed=1, learning_starts=40, train_freq=4, gradient_steps=gradient_steps, **TINY)
    with pytest.raises(NonFiniteLossError, match=r"at gradient update \d+ \(environment step \d+\)"):
        model.learn(300)
    assert model.num_timesteps < 300
    assert all(th.isfinite(t).all() for t in _state(model))


def test_nan_at_the_first_update_leaves_the_initial_state():
    env = NaNRewardAfter(gym.make("Pendulum-v1"), start=0)
    model = DDPG("MlpPolicy", env, seed=1, learning_starts=30, train_freq=5, gradient_steps=-1, **TINY)
    initial = _state(model)
    with pytest.raises(NonFiniteLossError, match=r"at gradient update 1 \(environment step 35\)"):
        model.learn(100)
    _assert_same(_state(model), initial)  # the optimizers have no state yet, as before any update
    assert model._n_updates == 0


# 4. One progress clock for learning rates and noise schedules


class RecordClocks(BaseCallback):
    def __init__(self):
        super().__init__()
        self.rows: list[tuple[float, float, float, float]] = []

    def _on_step(self) -> bool:
        model = self.model
        progress = model._current_progress_remaining
        self.rows.append((progress, model.lr_schedule(progress), model.action_noise.scale, model.param_noise.scale))
        return True


def test_noise_and_learning_rate_follow_one_progress_clock():
    model = DDPG(
        "MlpPolicy",
        "Pendulum-v1",
        learning_rate=lambda p: 1e-3 * p,
        action_noise=GaussianNoise(np.zeros(1), 0.1 * np.ones(1), schedule=lambda p: p),
        param_noise=AdaptiveParamNoise(schedule=lambda p: p),
        learning_starts=20,
        seed=0,
        **TINY,
    )
    recorder = RecordClocks()
    model.learn(100, callback=recorder)
    model.learn(50, callback=recorder, reset_num_timesteps=False)
    model.learn(60, callback=recorder)  # a fresh learn starts again at 1
    assert len(recorder.rows) == 210
    for progress, lr, noise_scale, param_noise_scale in recorder.rows:
        assert noise_scale == param_noise_scale == progress
        assert lr == 1e-3 * noise_scale
    progress = [row[0] for row in recorder.rows]
    # the callback runs before the step's progress update: it sees the progress after the previous step
    assert progress[0] == 1.0 and progress[99] == pytest.approx(1 - 99 / 100)
    # learn(50, reset_num_timesteps=False): SB3 sets the total to 100 + 50, so progress continues from 1 - 100/150
    assert progress[100] == pytest.approx(1 - 100 / 150) and progress[149] == pytest.approx(1 - 149 / 150)
    assert progress[150] == 1.0 and progress[209] == pytest.approx(1 - 59 / 60)


def test_model_saved_with_noise_horizon_loads(tmp_path):
    model = DDPG("MlpPolicy", "Pendulum-v1", learning_starts=10, **TINY)
    model.learn(30)
    model._noise_horizon = 30  # what the previous version saved
    model.save(tmp_path / "old")
    loaded = DDPG.load(tmp_path / "old", env=model.get_env())
    assert not hasattr(loaded, "_noise_horizon")
    loaded.learn(20, reset_num_timesteps=False)
    assert loaded.num_timesteps == 50


# 5. Parameter noise with several environments


class RecordingParamNoise(AdaptiveParamNoise):
    """Parameter noise that records which copy it perturbs, and its adaptations, with the step counter."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.model = None
        self.perturbed: list[tuple[int, int]] = []  # (num_timesteps, id of the perturbed copy)
        self.adapted: list[int] = []

    def perturb(self, actor, perturbed_actor):
        if self.model is not None and perturbed_actor is not self.model.param_noise_probe:
            self.perturbed.append((self.model.num_timesteps, id(perturbed_actor)))
        super().perturb(actor, perturbed_actor)

    def adapt(self, actor, perturbed_actor, observations):
        self.adapted.append(self.model.num_timesteps)
        return super().adapt(actor, perturbed_actor, observations)

    def __getstate__(self):
        return {**self.__dict__, "model": None}


class RecordActions(BaseCallback):
    """Check at every step that each environment acted with its own perturbed copy; record the copies' weights."""

    def __init__(self):
        super().__init__()
        self.weights: list[list[th.Tensor]] = []
        self.dones: list[np.ndarray] = []

    def _on_step(self) -> bool:
        model = self.model
        if model.num_timesteps - model.n_envs >= model.learning_starts:
            obs = th.as_tensor(self.locals["self"]._last_obs)
            copies = model.perturbed_actors
            expected = np.concatenate([copies[i](obs[i : i + 1]).detach().numpy() for i in range(model.n_envs)])
            np.testing.assert_allclose(self.locals["buffer_actions"], expected, rtol=0, atol=1e-6)
            self.weights.append([copy.mu[0].weight.detach().clone() for copy in copies])
            self.dones.append(self.locals["dones"].copy())
        return True


def _param_noise_model(lengths: list[int], **noise_kwargs) -> tuple[DDPG, RecordingParamNoise]:
    env = DummyVecEnv([lambda n=n: gym.make("Pendulum-v1", max_episode_steps=n) for n in lengths])
    noise = RecordingParamNoise(**noise_kwargs)
    model = DDPG("MlpPolicy", env, param_noise=noise, learning_starts=12, seed=0, gradient_steps=0, **TINY)
    noise.model = model
    return model, noise


@pytest.mark.parametrize("perturb_interval", [None, 7])
def test_each_env_keeps_its_perturbation_for_its_episode(perturb_interval):
    lengths = [13, 20, 31]
    model, noise = _param_noise_model(lengths, perturb_interval=perturb_interval)
    recorder = RecordActions()
    model.learn(3 * 120, callback=recorder)
    copies = model.perturbed_actors
    assert len(copies) == 3 and len({id(c) for c in copies}) == 3
    # the expected perturbation times of each env: its episode starts and, when set, every perturb_interval of its steps
    for i, length in enumerate(lengths):
        expected, since = [], None
        for step in range(4, 120):  # vectorized steps; 12 learning starts = 4 vectorized steps
            if step % length == 0 or since is None or (perturb_interval is not None and since >= perturb_interval):
                expected.append(3 * step)
                since = 0
            since += 1
        assert [t for t, copy_id in noise.perturbed if copy_id == id(copies[i])] == expected, i
        # between its perturbations, the env's copy does not change
        weights = [w[i] for w in recorder.weights]  # at vectorized steps 4, 5, ...
        changes = [3 * (5 + k) for k in range(len(weights) - 1) if not th.equal(weights[k], weights[k + 1])]
        assert changes == expected[1:]


def test_single_env_perturbs_at_episode_start_and_interval():
    model, noise = _param_noise_model([25], perturb_interval=10)
    model.learn(100)
    assert [t for t, _ in noise.perturbed] == [12, 22, 25, 35, 45, 50, 60, 70, 75, 85, 95]
    assert model.perturbed_actor is model.perturbed_actors[0]


def test_adaptation_counts_environment_steps_and_restarts_with_learn():
    model, noise = _param_noise_model([200, 200, 200], adaptation_interval=10)
    model.learn(90)
    # every vectorized step counts 3 environment steps: the first at 12 >= learning_starts and >= 10 steps after 0,
    # then at the first step at least 10 environment steps after the last adaptation
    assert noise.adapted == [12, 24, 36, 48, 60, 72, 84]
    noise.adapted.clear()
    model.learn(30)  # reset_num_timesteps=True: the count starts again at 0
    assert noise.adapted == [12, 24]
