"""
One Optuna study, several workers, one PostgreSQL database (Optuna's distributed mode): the study is created once, then
each worker (here processes on this machine; on a cluster, the same command on every machine) runs
``sb3-ddpg tune --storage URL`` with its own sampler seed. Workers share the study's trial budget; a killed worker's
trial is failed by Optuna's heartbeat and replaced. At the end, ``sb3-ddpg best`` exports the best trial.

Run: python examples/postgres_study.py postgresql://USER@HOST:5432/DATABASE [--workers 2] [--n-trials 8]
(needs the [tuning] extra; the database must exist, the tables are created here)
"""

import argparse
import pathlib
import subprocess
import sys

from sb3_ddpg_ext.tuning.study import create_study
from sb3_ddpg_ext.tuning.study_file import load_study_config

STUDY = pathlib.Path(__file__).resolve().parents[1] / "tuning" / "studies" / "pendulum.yml"

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("storage", help="PostgreSQL URL, e.g. postgresql://tuner@db-host:5432/optuna")
parser.add_argument("--workers", type=int, default=2, help="worker processes to start here")
parser.add_argument("--n-trials", type=int, default=8, help="the study's trial budget, shared by all workers")
parser.add_argument("--n-timesteps", type=int, help="steps per seed of a trial (default: the study file's, 8000)")
parser.add_argument("--out", default="best.yml", help="where to write the best trial's hyperparameters")
args = parser.parse_args()

# Create the study's tables once, before the workers start (the workers then load it)
study = create_study(load_study_config(STUDY), storage=args.storage)
print(f"study '{study.study_name}' in {args.storage.split('@')[-1]}: {len(study.trials)} trials so far")

tune = [sys.executable, "-m", "sb3_ddpg_ext", "tune", "--study", str(STUDY), "--storage", args.storage]
tune += ["--n-trials", str(args.n_trials)] + (["--n-timesteps", str(args.n_timesteps)] if args.n_timesteps else [])
workers = [subprocess.Popen([*tune, "--sampler-seed", str(seed)]) for seed in range(1, args.workers + 1)]
if any(worker.wait() != 0 for worker in workers):
    sys.exit("a worker failed")

best = [sys.executable, "-m", "sb3_ddpg_ext", "best", "--study", str(STUDY), "--storage", args.storage, "--out", args.out]
subprocess.run(best, check=True)
