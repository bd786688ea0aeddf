"""The critic's L2 regularization (``critic_weight_decay``) covers what its scope names, as the reference
implementations apply it: the gradient of ``wd / 2 * sum(w ** 2)`` over the hidden layers' weight matrices (OpenAI
Baselines), every weight matrix (rllab), or every parameter through Adam (this package before 0.1.0)."""

import copy
import json
import pathlib
import zipfile

import numpy as np
import pytest
import torch as th
import torch.nn.functional as F

from sb3_ddpg_ext import DDPG

SMALL = dict(policy_kwargs=dict(net_arch=[16, 8]), buffer_size=1_000, batch_size=32, learning_starts=50, device="cpu")


def names(model: DDPG) -> list[str]:
    by_id = {id(param): name for name, param in model.critic.named_parameters()}
    return [by_id[id(param)] for param in model._regularized_weights]


def test_scopes_name_the_weights_they_regularize():
    hidden = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, **SMALL)
    assert names(hidden) == ["qf0.0.weight", "qf0.2.weight"]  # not the biases, not the output layer qf0.4
    assert hidden.critic.optimizer.param_groups[0]["weight_decay"] == 0.0
    weights = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, critic_weight_decay_scope="weights", **SMALL)
    assert names(weights) == ["qf0.0.weight", "qf0.2.weight", "qf0.4.weight"]
    every = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, critic_weight_decay_scope="all", **SMALL)
    assert names(every) == [] and every.critic.optimizer.param_groups[0]["weight_decay"] == 0.01
    # the paper's networks: layer-norm gains are not weight matrices; the late action input changes no scope
    paper = dict(layer_norm=True, critic_action_layer=1, net_arch=[16, 8])
    model = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, **{**SMALL, "policy_kwargs": paper})
    matrices = [name for name, param in model.critic.named_parameters() if param.dim() == 2]
    assert names(model) == matrices[:-1] and all(model.critic.get_parameter(name).dim() == 2 for name in names(model))
    assert DDPG("MlpPolicy", "Pendulum-v1", **SMALL)._regularized_weights == []  # no decay, nothing added
    with pytest.raises(ValueError, match=r"critic_weight_decay_scope='biases' is not one of \['hidden', 'weights', 'all'\]"):
        DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay_scope="biases", **SMALL)


@pytest.mark.parametrize("scope", ["hidden", "weights", "all"])
def test_the_critics_gradient_is_the_reference_loss_gradient(scope):
    model = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.1, critic_weight_decay_scope=scope, seed=0, **SMALL)
    model.learn(100)
    critic, actor_target, critic_target = (copy.deepcopy(m) for m in (model.critic, model.actor_target, model.critic_target))
    state = np.random.get_state()
    model.train(1, batch_size=32)
    np.random.set_state(state)  # the same minibatch
    data = model.replay_buffer.sample(32)
    with th.no_grad():
        y = (
            data.rewards
            + (1 - data.dones) * model.gamma * critic_target(data.next_observations, actor_target(data.next_observations))[0]
        )
    loss = F.mse_loss(critic(data.observations, data.actions)[0], y)
    if scope != "all":  # the reference implementations' loss term (rllab's: every weight matrix)
        regularized = [
            p for n, p in critic.named_parameters() if n.endswith("weight") and (scope == "weights" or n != "qf0.4.weight")
        ]
        loss = loss + 0.1 / 2 * sum(w.square().sum() for w in regularized)
    loss.backward()
    for (name, expected), actual in zip(critic.named_parameters(), model.critic.parameters(), strict=True):
        assert th.allclose(actual.grad, expected.grad, rtol=1e-5, atol=1e-7), name  # scope 'all': Adam adds it


def _drop_scope(path: pathlib.Path) -> None:
    """Rewrite a saved model as a file of an earlier version: no critic_weight_decay_scope in its data."""
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(entries["data"])
    del data["critic_weight_decay_scope"]
    entries["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)


def test_files_of_earlier_versions_keep_decaying_every_parameter(tmp_path):
    model = DDPG("MlpPolicy", "Pendulum-v1", critic_weight_decay=0.01, **SMALL)
    model.save(tmp_path / "new.zip")
    assert DDPG.load(tmp_path / "new.zip").critic_weight_decay_scope == "hidden"  # a file of this version: as saved
    _drop_scope(tmp_path / "new.zip")
    with pytest.warns(UserWarning, match=r"saved before critic_weight_decay_scope existed: its critic_weight_decay=0\.01"):
        old = DDPG.load(tmp_path / "new.zip")
    assert old.critic_weight_decay_scope == "all" and old.critic.optimizer.param_groups[0]["weight_decay"] == 0.01
    chosen = DDPG.load(tmp_path / "new.zip", critic_weight_decay_scope="hidden")  # the user's choice wins
    assert chosen.critic_weight_decay_scope == "hidden" and chosen.critic.optimizer.param_groups[0]["weight_decay"] == 0.0
    DDPG("MlpPolicy", "Pendulum-v1", **SMALL).save(tmp_path / "plain.zip")
    _drop_scope(tmp_path / "plain.zip")
    assert DDPG.load(tmp_path / "plain.zip").critic_weight_decay_scope == "hidden"  # no decay: nothing to keep
