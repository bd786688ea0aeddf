"""Command-line arguments of ``sb3-ddpg tune`` and ``sb3-ddpg best``, declared without importing Optuna."""

import argparse

SAMPLERS = ("tpe", "random", "cmaes", "gp", "qmc")
PRUNERS = ("wilcoxon", "median", "halving", "hyperband", "none")


def add_tune_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the arguments of ``sb3-ddpg tune``.

    :param parser: The subcommand's parser
    """
    parser.add_argument("--study", required=True, help="study file, e.g. tuning/studies/pendulum.yml")
    parser.add_argument("--n-trials", type=int, help="total trial budget of the study, over all workers (default: the file's)")
    parser.add_argument("--storage", help="Optuna storage URL (default: the file's, else sqlite:///<file's folder>/<name>.db)")
    parser.add_argument("--study-name", help="study name in the storage (default: the file's name key, else its stem)")
    parser.add_argument("--sampler", choices=SAMPLERS, help="Optuna sampler (default: the file's)")
    parser.add_argument("--sampler-seed", type=int, help="sampler seed; give concurrent workers different seeds")
    parser.add_argument("--pruner", choices=PRUNERS, help="Optuna pruner (default: the file's)")
    parser.add_argument("--seeds", type=int, help="seeds per trial (default: the file's)")
    parser.add_argument("--n-timesteps", type=int, help="training steps per seed of a trial (default: the file's)")
    parser.add_argument("--n-jobs", type=int, default=1, help="parallel trials in this process (threads)")
    parser.add_argument("--device", help="torch device of the trials (default: the study's hyperparams, else cpu)")
    parser.add_argument("--torch-threads", type=int, default=1, help="torch CPU threads per process (0: torch's default)")
    parser.add_argument("--quiet", action="store_true", help="no line per trial")


def add_best_arguments(parser: argparse.ArgumentParser) -> None:
    """
    Add the arguments of ``sb3-ddpg best``.

    :param parser: The subcommand's parser
    """
    parser.add_argument("--study", help="study file: its storage and name are the defaults of --storage / --study-name")
    parser.add_argument("--storage", help="Optuna storage URL")
    parser.add_argument("--study-name", help="study name in the storage")
    parser.add_argument("--out", required=True, help="hyperparameter YAML to write (keyed by env id, RL Zoo style)")
    parser.add_argument("--plots-dir", help="folder for the PNG plots (default: no plots)")
    parser.add_argument("--csv", help="trials CSV to write (default: <plots-dir>/trials.csv when --plots-dir is given)")
    parser.add_argument(
        "--validate",
        type=int,
        metavar="K",
        help="re-run the K best trials on seeds no trial used and write the one with the best validation score "
        "(needs --study; resumable)",
    )
    parser.add_argument("--validation-seeds", type=int, default=5, help="seeds per trial in --validate (default: 5)")
    parser.add_argument(
        "--results", help="root of the validation runs; they go to <results>/<study>_validation/ (default: --out's folder)"
    )
    parser.add_argument("--jobs", type=int, default=1, help="validation runs in parallel processes (default: 1)")
    parser.add_argument("--shard", help="'i/n': run every n-th validation run from the i-th, to split it over machines")
