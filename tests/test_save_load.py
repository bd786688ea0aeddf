"""save / load keep everything a user needs, and never leave a half-written file."""

import threading
import time

import numpy as np
import pytest
import torch as th
from stable_baselines3 import DDPG as SB3DDPG
from stable_baselines3.common.envs import BitFlippingEnv
from stable_baselines3.common.noise import NormalActionNoise

from sb3_ddpg_ext import DDPG
from sb3_ddpg_ext.common.save import atomic_open, atomic_path, atomic_write

OBS = np.random.default_rng(0).uniform(-1, 1, size=(20, 3)).astype(np.float32)


def test_save_load_identical_predictions_and_resume(tmp_path, small_kwargs):
    model = DDPG(
        "MlpPolicy", "Pendulum-v1", seed=1, action_noise=NormalActionNoise(np.zeros(1), 0.1 * np.ones(1)), **small_kwargs
    )
    model.learn(200)
    model.save(tmp_path / "model")
    assert (tmp_path / "model.zip").is_file()
    loaded = DDPG.load(tmp_path / "model", env=model.get_env())
    assert np.array_equal(model.predict(OBS, deterministic=True)[0], loaded.predict(OBS, deterministic=True)[0])
    for name in ("actor", "critic", "actor_target", "critic_target"):
        for a, b in zip(getattr(model, name).parameters(), getattr(loaded, name).parameters(), strict=True):
            assert th.equal(a, b)
    # optimizer state and noise come back
    assert loaded.actor.optimizer.state_dict()["state"].keys() == model.actor.optimizer.state_dict()["state"].keys()
    assert isinstance(loaded.action_noise, NormalActionNoise)
    assert loaded.actor is loaded.policy.actor and loaded.critic_target is loaded.policy.critic_target
    # resume
    model.save_replay_buffer(tmp_path / "buffer")
    loaded.load_replay_buffer(tmp_path / "buffer.pkl")
    assert loaded.replay_buffer.size() == model.replay_buffer.size()
    n_updates = loaded._n_updates
    loaded.learn(100, reset_num_timesteps=False)
    assert loaded.num_timesteps == 300
    assert loaded._n_updates == n_updates + 100


def test_load_with_custom_objects_and_new_lr(tmp_path, small_kwargs):
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.save(tmp_path / "m.zip")
    loaded = DDPG.load(tmp_path / "m.zip", custom_objects={"learning_rate": 5e-4, "batch_size": 16})
    assert loaded.batch_size == 16
    loaded.set_env(model.get_env())
    loaded.learn(100)
    assert loaded.actor.optimizer.param_groups[0]["lr"] == pytest.approx(5e-4)


def test_loads_sb3_ddpg_weights(tmp_path, small_kwargs):
    """A model saved by SB3's DDPG loads its weights into this DDPG unchanged."""
    sb3 = SB3DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    sb3.learn(120)
    ours = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    ours.set_parameters(sb3.get_parameters(), exact_match=True)
    assert np.array_equal(sb3.predict(OBS, deterministic=True)[0], ours.predict(OBS, deterministic=True)[0])


def test_dict_obs_save_load(tmp_path, small_kwargs):
    env = BitFlippingEnv(n_bits=4, continuous=True)
    model = DDPG("MultiInputPolicy", env, **small_kwargs)
    model.learn(100)
    model.save(tmp_path / "dict")
    loaded = DDPG.load(tmp_path / "dict", env=env)
    obs = env.reset()[0]
    assert np.array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])


class _Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot pickle this on purpose")


def test_failed_save_keeps_previous_file(tmp_path, small_kwargs):
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.save(tmp_path / "model.zip")
    before = (tmp_path / "model.zip").read_bytes()
    model.broken = _Unpicklable()
    with pytest.raises(RuntimeError, match="on purpose"):
        model.save(tmp_path / "model.zip")
    assert (tmp_path / "model.zip").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.zip"]  # no temp file left behind
    DDPG.load(tmp_path / "model.zip")


def test_missing_and_truncated_model_file(tmp_path, small_kwargs):
    with pytest.raises(FileNotFoundError, match="No model file"):
        DDPG.load(tmp_path / "nothing_here")
    model = DDPG("MlpPolicy", "Pendulum-v1", **small_kwargs)
    model.save(tmp_path / "model.zip")
    data = (tmp_path / "model.zip").read_bytes()
    (tmp_path / "cut.zip").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cut\.zip"):
        DDPG.load(tmp_path / "cut.zip")
    (tmp_path / "text.zip").write_text("not a model")
    with pytest.raises(ValueError, match="not a zip archive"):
        DDPG.load(tmp_path / "text.zip")


def test_atomic_write_from_threads(tmp_path):
    target = tmp_path / "out.txt"
    n_threads, rounds = 8, 15
    barrier = threading.Barrier(n_threads)
    errors: list[BaseException] = []
    contents = [f"{i}" * 100_000 for i in range(n_threads)]

    def write(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(rounds):

                def writer(file):
                    for start in range(0, len(contents[i]), 10_000):
                        file.write(contents[i][start : start + 10_000])
                        time.sleep(0.0005)  # let the other threads write meanwhile

                atomic_write(target, writer, mode="w")
        except BaseException as error:  # collected: an exception in a thread would not fail the test
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert target.read_text() in contents
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_atomic_path_for_writers_that_take_a_path(tmp_path):
    target = tmp_path / "sub" / "table.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target and tmp.suffix == ".csv"
        np.savetxt(tmp, np.arange(3))
        assert not target.exists()
    assert np.array_equal(np.loadtxt(target), np.arange(3))
    with pytest.raises(RuntimeError, match="boom"), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert np.array_equal(np.loadtxt(target), np.arange(3))
    with pytest.raises(KeyboardInterrupt), atomic_open(target, "w") as file:
        file.write("half")
        raise KeyboardInterrupt
    assert sorted(p.name for p in target.parent.iterdir()) == ["table.csv"]
    # the file gets the permissions a plain open() gives, not mkstemp's private 0600
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert target.stat().st_mode == plain.stat().st_mode
