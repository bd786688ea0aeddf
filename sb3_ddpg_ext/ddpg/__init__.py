from sb3_ddpg_ext.ddpg.ddpg import DDPG
from sb3_ddpg_ext.ddpg.nan_guard import NonFiniteLossError
from sb3_ddpg_ext.ddpg.policies import CnnPolicy, DDPGPolicy, MlpPolicy, MultiInputPolicy

__all__ = ["DDPG", "CnnPolicy", "DDPGPolicy", "MlpPolicy", "MultiInputPolicy", "NonFiniteLossError"]
