"""sb3_ddpg_ext: DDPG as a first-class Stable-Baselines3 algorithm."""

import pathlib

from sb3_ddpg_ext.ddpg import DDPG, CnnPolicy, DDPGPolicy, MlpPolicy, MultiInputPolicy, NonFiniteLossError

__version__ = (pathlib.Path(__file__).parent / "version.txt").read_text().strip()

__all__ = [
    "DDPG",
    "CnnPolicy",
    "DDPGPolicy",
    "MlpPolicy",
    "MultiInputPolicy",
    "NonFiniteLossError",
    "__version__",
]
