"""
The one layer under ``train``, ``tune`` and ``bench``: RL Zoo-style hyperparameters to algorithm arguments
(:mod:`.config`, one converter), one run (:mod:`.run`: environments, seeds, evaluation, files), one periodic
evaluation (:mod:`.evaluation`) and one plotting path (:mod:`.plots`). Its user errors are
:class:`sb3_ddpg_ext.common.errors.ConfigError`, the one type every layer raises.
"""
