import os

import pytest
import torch as th

# Two cores on the reference machine: one thread per test process keeps timings stable and avoids oversubscription.
th.set_num_threads(1)
os.environ.setdefault("MPLBACKEND", "Agg")

# SB3_DDPG_TEST_DEVICE=cuda runs the quick tests on a GPU (CI has none; see README "GPU")
DEVICE = os.environ.get("SB3_DDPG_TEST_DEVICE", "cpu")
SMALL = dict(policy_kwargs=dict(net_arch=[32, 32]), buffer_size=2_000, learning_starts=50, batch_size=32, device=DEVICE)


@pytest.fixture
def small_kwargs() -> dict:
    """Hyperparameters for quick runs: tiny networks, small buffer."""
    return {key: (dict(value) if isinstance(value, dict) else value) for key, value in SMALL.items()}
