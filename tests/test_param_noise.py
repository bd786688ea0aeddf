import copy
import pickle

import cloudpickle
import numpy as np
import pytest
import torch
from torch import nn

from sb3_ddpg_ext.common.param_noise import AdaptiveParamNoise, PerturbedActors, is_normalization_layer


def make_actor(obs_dim: int = 4, n_actions: int = 2, batch_norm: bool = False) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(obs_dim, 32), nn.LayerNorm(32), nn.ReLU()]
    if batch_norm:
        layers += [nn.Linear(32, 32), nn.BatchNorm1d(32), nn.ReLU()]
    layers += [nn.Linear(32, n_actions), nn.Tanh()]
    return nn.Sequential(*layers)


def test_perturb_changes_linear_not_norm_layers():
    torch.manual_seed(0)
    actor = make_actor(batch_norm=True)
    with torch.no_grad():  # non-default norm parameters, to check they are copied
        actor[1].weight.fill_(2.0)
        actor[4].bias.fill_(-1.0)
    actor[4].running_mean.fill_(0.5)
    before = copy.deepcopy(actor.state_dict())
    perturbed = make_actor(batch_norm=True)
    noise = AdaptiveParamNoise(initial_stddev=0.3)
    noise.perturb(actor, perturbed)
    # the actor is unchanged
    for key, value in actor.state_dict().items():
        assert torch.equal(value, before[key])
    for name, module in perturbed.named_modules():
        reference = actor.get_submodule(name) if name else actor
        for param_name, param in module.named_parameters(recurse=False):
            original = getattr(reference, param_name)
            if is_normalization_layer(module):
                assert torch.equal(param, original), f"{name}.{param_name} was perturbed"
            else:
                diff = (param - original).flatten()
                assert not torch.any(diff == 0), f"{name}.{param_name} was not perturbed"
                if diff.numel() > 100:
                    assert diff.std().item() == pytest.approx(0.3, rel=0.2)
    # buffers (batch-norm statistics) are copied, not perturbed
    assert torch.equal(perturbed[4].running_mean, actor[4].running_mean)
    assert isinstance(perturbed[1], nn.LayerNorm) and is_normalization_layer(perturbed[1])


def test_perturb_is_repeatable_with_torch_seed():
    actor = make_actor()
    a, b = make_actor(), make_actor()
    noise = AdaptiveParamNoise()
    torch.manual_seed(1)
    noise.perturb(actor, a)
    torch.manual_seed(1)
    noise.perturb(actor, b)
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)
    with pytest.raises(ValueError, match="separate copy"):
        noise.perturb(actor, actor)


def run_adaptation(initial_stddev: float, desired: float, rounds: int = 300) -> tuple[AdaptiveParamNoise, list[float]]:
    torch.manual_seed(0)
    actor = make_actor(batch_norm=True)
    adaptive_actor = copy.deepcopy(actor)
    observations = torch.randn(128, 4)
    noise = AdaptiveParamNoise(initial_stddev=initial_stddev, desired_action_stddev=desired, adaptation_coefficient=1.05)
    distances = []
    for _ in range(rounds):
        noise.perturb(actor, adaptive_actor)
        distances.append(noise.adapt(actor, adaptive_actor, observations))
    return noise, distances


@pytest.mark.parametrize("initial_stddev", [0.001, 3.0])
@pytest.mark.parametrize("desired", [0.05, 0.2])
def test_adaptation_reaches_desired_distance(initial_stddev, desired):
    noise, distances = run_adaptation(initial_stddev, desired)
    assert noise.last_distance == distances[-1]
    assert not (desired / 1.5 < distances[0] < desired * 1.5)  # starts far from the target
    recent = np.array(distances[-50:])
    assert desired / 1.5 < np.median(recent) < desired * 1.5
    assert np.mean((recent > desired / 1.5) & (recent < desired * 1.5)) > 0.8


def test_adapt_direction_and_modes():
    torch.manual_seed(0)
    actor = make_actor(batch_norm=True)
    perturbed = copy.deepcopy(actor)
    actor.train()
    perturbed[4].eval()  # a mixed mode must come back as it was
    observations = torch.randn(16, 4)
    noise = AdaptiveParamNoise(initial_stddev=1.0, desired_action_stddev=0.01, adaptation_coefficient=2.0)
    noise.perturb(actor, perturbed)
    running_mean = actor[4].running_mean.clone()
    distance = noise.adapt(actor, perturbed, observations)
    assert distance > 0.01 and noise.current_stddev == 0.5
    assert actor.training and perturbed.training and not perturbed[4].training
    assert torch.equal(actor[4].running_mean, running_mean)  # eval mode: statistics not updated
    # identical actors: distance 0 <= desired, so the stddev grows
    assert noise.adapt(actor, copy.deepcopy(actor), observations) == 0.0
    assert noise.current_stddev == 1.0


def test_schedule_scales_desired_stddev():
    noise = AdaptiveParamNoise(desired_action_stddev=0.2, schedule={"type": "linear", "start": 1.0, "end": 0.25})
    assert noise.desired_stddev == pytest.approx(0.2)
    noise.update_progress(0.0)
    assert noise.desired_stddev == pytest.approx(0.05)
    constant = AdaptiveParamNoise(desired_action_stddev=0.2)
    constant.update_progress(0.0)
    assert constant.desired_stddev == 0.2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"initial_stddev": 0.0}, "initial_stddev must be finite and > 0"),
        ({"initial_stddev": -0.1}, "initial_stddev must be finite and > 0"),
        ({"desired_action_stddev": float("nan")}, "desired_action_stddev must be finite and > 0"),
        ({"desired_action_stddev": "a"}, "desired_action_stddev must be a positive number"),
        ({"adaptation_coefficient": 1.0}, "adaptation_coefficient must be > 1"),
        ({"adaptation_coefficient": 0.5}, "adaptation_coefficient must be > 1"),
        ({"adaptation_interval": 0}, "adaptation_interval must be an integer >= 1"),
        ({"adaptation_interval": 2.5}, "adaptation_interval must be an integer >= 1"),
        ({"perturb_interval": 0}, "perturb_interval must be an integer >= 1"),
        ({"schedule": lambda p: p - 0.5}, "returned -0.5"),
        ({"schedule": {"type": "nope"}}, "unknown schedule type"),
    ],
)
def test_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        AdaptiveParamNoise(**kwargs)


def test_pickle_and_repr():
    noise, _ = run_adaptation(0.1, 0.2, rounds=5)
    noise.schedule = None
    scheduled = AdaptiveParamNoise(schedule="lin_1")
    scheduled.update_progress(0.5)
    for original in (noise, scheduled):
        for clone in (
            pickle.loads(pickle.dumps(original)),
            cloudpickle.loads(cloudpickle.dumps(original)),
            copy.deepcopy(original),
        ):
            assert vars(clone).keys() == vars(original).keys()
            assert clone.current_stddev == original.current_stddev
            assert clone.desired_stddev == original.desired_stddev
            assert clone.last_distance == original.last_distance
        assert repr(original).startswith("AdaptiveParamNoise(initial_stddev=")
    assert "current_stddev=" in repr(noise)


class DictActor(nn.Module):
    """An actor that takes Dict observations, as SB3's MultiInputPolicy actors do."""

    def __init__(self):
        super().__init__()
        self.net = make_actor()

    def forward(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.net(obs["state"])


@pytest.mark.parametrize("dict_obs", [False, True])
def test_perturbed_actors_one_copy_per_env(dict_obs):
    torch.manual_seed(0)
    actor = DictActor() if dict_obs else make_actor()
    actors = PerturbedActors(copy.deepcopy(actor))
    noise = AdaptiveParamNoise(perturb_interval=3)
    state = torch.randn(2, 4)
    obs = {"state": state} if dict_obs else state

    def weights() -> list[torch.Tensor]:
        return [copy_.state_dict()[next(iter(copy_.state_dict()))].clone() for copy_ in actors.actors]

    actions = actors.act(noise, actor, obs, n_envs=2)
    assert len(actors.actors) == 2 and not actors.actors[1].training
    first = weights()
    assert not torch.equal(first[0], first[1])  # independent perturbations
    for i in range(2):  # each env acts with its own copy
        own = {"state": state[i : i + 1]} if dict_obs else state[i : i + 1]
        assert torch.equal(actions[i : i + 1], actors.actors[i](own))
    # env 1's episode ends: only its copy changes
    actors.start_episodes(np.array([False, True]))
    actors.act(noise, actor, obs, n_envs=2)
    second = weights()
    assert torch.equal(second[0], first[0]) and not torch.equal(second[1], first[1])
    # perturb_interval=3: each copy serves 3 steps of its env, then is perturbed again (env 1 one step after env 0)
    actors.act(noise, actor, obs, n_envs=2)
    assert [torch.equal(a, b) for a, b in zip(weights(), second, strict=True)] == [True, True]
    actors.act(noise, actor, obs, n_envs=2)
    third = weights()
    assert [torch.equal(a, b) for a, b in zip(third, second, strict=True)] == [False, True]
    actors.act(noise, actor, obs, n_envs=2)
    assert [torch.equal(a, b) for a, b in zip(weights(), third, strict=True)] == [True, False]
    # all envs reset (a new learn()): every copy is perturbed before its next step
    actors.start_episodes()
    before = weights()
    actors.act(noise, actor, obs, n_envs=2)
    assert not any(torch.equal(a, b) for a, b in zip(weights(), before, strict=True))
