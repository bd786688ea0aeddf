import os

import pytest
import torch as th

# Two cores on the reference machine: one thread per test process keeps timings stable and avoids oversubscription.
th.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")

# SB3_DDPG_TEST_DEVICE=cuda runs the quick tests on a GPU (CI has none; see README "GPU")
DEVICE = os.environ.get("SB3_DDPG_TEST_DEVICE", "cpu")
SMALL = dict(policy_kwargs=dict(net_arch=[32, 32]), buffer_size=2_000, learning_starts=50, batch_size=32, device=DEVICE)


@pytest.fixture(scope="session", autouse=True)
def sb3_log_folder(tmp_path_factory):
    """SB3 makes a folder for every logger it configures without one (``/tmp/SB3-<time>``, one per ``learn()``); keep
    the test run's in pytest's temporary directory instead of leaving hundreds in /tmp."""
    previous = os.environ.get("SB3_LOGDIR")
    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3_logs"))
    yield
    if previous is None:
        del os.environ["SB3_LOGDIR"]
    else:
        os.environ["SB3_LOGDIR"] = previous


@pytest.fixture
def small_kwargs() -> dict:
    """Hyperparameters for quick runs: tiny networks, small buffer."""
    return {key: (dict(value) if isinstance(value, dict) else value) for key, value in SMALL.items()}
