"""
The one layer under ``train``, ``tune`` and ``bench``: RL Zoo-style hyperparameters to algorithm arguments
(:mod:`.config`, one converter), one run (:mod:`.run`: environments, seeds, evaluation, files), one periodic
evaluation (:mod:`.evaluation`), one plotting path (:mod:`.plots`) and one user-error type (:mod:`.errors`).
"""
