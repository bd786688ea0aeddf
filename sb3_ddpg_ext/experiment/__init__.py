"""
The one layer under ``train``, ``tune`` and ``bench``: RL Zoo-style hyperparameters to algorithm arguments (one
converter), one run (environments, seeds, evaluation, files), one periodic evaluation, one plotting path and one
user-error type.
"""

from sb3_ddpg_ext.experiment.config import RunSpec, build_run_spec, merge_hyperparams, read_hyperparams
from sb3_ddpg_ext.experiment.errors import ConfigError
from sb3_ddpg_ext.experiment.evaluation import PeriodicEvaluation, evaluate_returns
from sb3_ddpg_ext.experiment.run import RunResult, run

__all__ = [
    "ConfigError",
    "PeriodicEvaluation",
    "RunResult",
    "RunSpec",
    "build_run_spec",
    "evaluate_returns",
    "merge_hyperparams",
    "read_hyperparams",
    "run",
]
