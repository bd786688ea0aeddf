"""
The ``sb3-ddpg`` command: train | eval | report | tune | best | bench | speed.

Each subcommand imports what it needs when it runs: ``train`` and ``eval`` load no optuna, rliable or pandas. Bad
input (a :class:`~sb3_ddpg_ext.common.errors.ConfigError`) is printed as one line naming the file, the key and
the fix, with exit status 2. Ctrl-C ends a command with exit status 130 and SIGTERM one that trains with 143 (the
shell's 128 + signal number), after ``train`` saved the model trained so far.
"""

import argparse
import datetime
import importlib
import importlib.util
import pathlib
import sys
from typing import Any

from sb3_ddpg_ext.common.errors import ConfigError
from sb3_ddpg_ext.experiment.interrupt import RunInterrupted

ALGO_CHOICES = ("ddpg_ext", "sb3_ddpg", "td3", "sac", "tqc", "crossq")


def _add_train(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "train", help="train DDPG (or an SB3 algorithm) and write a run folder", description=_train.__doc__
    )
    parser.add_argument("--env", required=True, help="Gymnasium environment id, e.g. Pendulum-v1")
    parser.add_argument("--algo", default="ddpg_ext", choices=ALGO_CHOICES, help="algorithm (default: this package's DDPG)")
    parser.add_argument("--hyperparams", help="RL Zoo-style YAML file (flat, or keyed by env id with an optional 'default')")
    parser.add_argument(
        "--params",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override hyperparameters (YAML values, mappings merged): learning_rate=3e-4 'policy_kwargs={net_arch: [64]}'",
    )
    parser.add_argument("--n-timesteps", type=int, help="training budget (default: the file's n_timesteps, else 20000)")
    parser.add_argument("--seed", type=int, help="seed of the model and the environments (default: the file's, else 0)")
    parser.add_argument("--n-envs", type=int, help="number of parallel environments (default: the file's, else 1)")
    parser.add_argument("--device", help="torch device: auto, cpu, cuda (default: the file's, else auto)")
    parser.add_argument("--verbose", type=int, help="SB3 verbosity 0, 1, 2 (default: the file's, else 0)")
    parser.add_argument("--fast", action="store_true", help="this DDPG's fast mode (fused Adam, bfloat16 where native)")
    parser.add_argument("--eval-freq", type=int, default=2_000, help="evaluate every N environment steps (default 2000)")
    parser.add_argument("--n-eval-episodes", type=int, default=10, help="episodes per evaluation (default 10)")
    parser.add_argument(
        "--run-dir",
        help="output folder (default: runs/<env>-<algo>-<date>-seed<seed>); if it holds the checkpoint of a killed or "
        "interrupted run of the same configuration, training resumes from it",
    )
    parser.add_argument(
        "--no-checkpoint",
        action="store_true",
        help="do not keep <run-dir>/checkpoint/, written after each evaluation and removed when the run completes, "
        "so that a killed run resumes: it holds the model and its replay buffer (tens to hundreds of MB)",
    )
    parser.add_argument("--no-progress-bar", action="store_true", help="hide the progress bar")
    parser.add_argument(
        "--no-diagnostics",
        action="store_true",
        help="do not record the diagnostics (value estimate vs true return, update statistics, probe states)",
    )
    parser.set_defaults(func=_train)


def train_hyperparams(args: argparse.Namespace) -> dict[str, Any]:
    """
    The hyperparameters of ``sb3-ddpg train``: the file's, then ``--params``, then the dedicated flags that were given.

    :param args: Parsed ``train`` arguments
    :return: The merged hyperparameters
    """
    from sb3_ddpg_ext.experiment.hyperparams import merge_hyperparams, parse_overrides, read_hyperparams

    hyperparams = read_hyperparams(args.hyperparams, args.env) if args.hyperparams else {}
    flags = {key: getattr(args, key) for key in ("n_timesteps", "seed", "n_envs", "device", "verbose")}
    given = {key: value for key, value in flags.items() if value is not None}
    if args.fast:
        given["fast"] = True
    return merge_hyperparams(hyperparams, parse_overrides(args.params), given)


def _train(args: argparse.Namespace) -> int:
    """
    Train on an environment with periodic deterministic evaluation; write model, logs, config, curve and plot. A
    checkpoint after each evaluation lets a killed run resume: run the same command (with the same --run-dir) again.
    Ctrl-C or SIGTERM saves the model trained so far, the curve and summary.json (marked "interrupted") first.
    """
    from sb3_ddpg_ext.experiment.checkpoint import checkpoint_step
    from sb3_ddpg_ext.experiment.config import build_run_spec, check_env_id, check_int
    from sb3_ddpg_ext.experiment.run import check_spec, resume_step, run_experiment

    check_env_id(args.env)
    eval_freq = check_int(args.eval_freq, "--eval-freq", "command line")
    n_eval_episodes = check_int(args.n_eval_episodes, "--n-eval-episodes", "command line")
    source = args.hyperparams or "command line"
    spec = build_run_spec(args.env, train_hyperparams(args), args.algo, source=source)
    check_spec(spec)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = pathlib.Path(args.run_dir or f"runs/{args.env}-{args.algo}-{stamp}-seed{spec.seed}")
    has = {name: importlib.util.find_spec(name) is not None for name in ("tensorboard", "tqdm", "rich", "matplotlib")}
    if "tensorboard_log" not in spec.hyperparams and has["tensorboard"]:
        spec.tensorboard_log = str(run_dir / "tb")
    progress_bar = not args.no_progress_bar and has["tqdm"] and has["rich"]
    diagnostics_dir = None if args.no_diagnostics else run_dir / "diagnostics"
    checkpoint_dir = None if args.no_checkpoint else run_dir / "checkpoint"
    step = resume_step(spec, eval_freq, n_eval_episodes, checkpoint_dir)
    if step is not None:
        print(f"resuming from step {step} (checkpoint in {checkpoint_dir})")
    title = f"{args.algo} on {args.env} (seed {spec.seed})"
    try:
        result = run_experiment(
            spec,
            eval_freq,
            n_eval_episodes,
            run_dir=run_dir,
            progress_bar=progress_bar,
            diagnostics_dir=diagnostics_dir,
            checkpoint_dir=checkpoint_dir,
        )
    except RunInterrupted as interrupted:
        if has["matplotlib"] and (run_dir / "evaluations.csv").is_file():
            from sb3_ddpg_ext.experiment.plots import plot_run

            plot_run(run_dir, title)
        if args.run_dir is None and checkpoint_dir is not None and checkpoint_step(checkpoint_dir) is not None:
            message = f"{interrupted} (add --run-dir {run_dir})"
            raise RunInterrupted(message, interrupted.signal_number) from interrupted.__cause__
        raise
    mean, std = result.final_return
    print(
        f"Final evaluation on {args.env}: mean return {mean:.1f} +/- {std:.1f} over {n_eval_episodes} deterministic episodes"
    )
    print(f"Model:          {run_dir / 'model.zip'}")
    print(f"Evaluations:    {run_dir / 'evaluations.csv'}")
    if has["matplotlib"]:
        from sb3_ddpg_ext.experiment.plots import plot_run

        print(f"Learning curve: {plot_run(run_dir, title)}")
    else:
        print("Learning curve: not plotted (pip install 'sb3_ddpg_ext[extra]' for matplotlib)")
    if spec.tensorboard_log:
        print(f"Tensorboard:    tensorboard --logdir {spec.tensorboard_log}")
    if diagnostics_dir is not None:
        print(f"Diagnostics:    sb3-ddpg report {run_dir}")
    return 0


def _add_eval(subparsers: Any) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a saved model", description=_eval.__doc__)
    parser.add_argument("--model", required=True, help="model file written by train / model.save")
    parser.add_argument("--env", help="environment id (default: read from the run folder's config.yml)")
    parser.add_argument(
        "--algo", choices=ALGO_CHOICES, help="algorithm of the model (default: the run folder's, else ddpg_ext)"
    )
    parser.add_argument("--n-episodes", type=int, default=10, help="number of deterministic episodes (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation environment (default 0)")
    parser.add_argument("--vecnormalize", help="VecNormalize statistics (default: the run folder's, if any)")
    parser.set_defaults(func=_eval)


def _run_folder_value(run_dir: pathlib.Path, key: str) -> str | None:
    """The env id (``env``) or algorithm (``algo``) of a run folder, from its summary.json or config.yml."""
    import json

    import yaml

    summary, config = run_dir / "summary.json", run_dir / "config.yml"
    if summary.is_file():
        return json.loads(summary.read_text()).get(key)
    if key == "env" and config.is_file():
        sections = list(yaml.safe_load(config.read_text()) or {})
        return str(sections[0]) if len(sections) == 1 else None
    return None


def _eval(args: argparse.Namespace) -> int:
    """Print the mean and std return of a saved model over N deterministic episodes (the evaluation of train runs)."""
    import numpy as np
    from stable_baselines3.common.vec_env import VecNormalize

    from sb3_ddpg_ext.experiment.config import RunSpec, check_env_id, check_int, parse_env_wrapper, resolve_algorithm
    from sb3_ddpg_ext.experiment.evaluation import evaluate_returns
    from sb3_ddpg_ext.experiment.hyperparams import read_hyperparams
    from sb3_ddpg_ext.experiment.run import make_env

    model_path = pathlib.Path(args.model)
    n_episodes = check_int(args.n_episodes, "--n-episodes", "command line")
    env_id = args.env or _run_folder_value(model_path.parent, "env")
    if env_id is None:
        raise ConfigError(f"--env: not given and no run folder beside '{model_path}' to read it from; pass --env ENV_ID")
    check_env_id(env_id)
    algo = args.algo or _run_folder_value(model_path.parent, "algo") or "ddpg_ext"
    try:
        model = resolve_algorithm(algo).load(model_path, device="cpu")
    except ValueError as error:
        raise ConfigError(f"--model: {error}") from error
    config = model_path.parent / "config.yml"  # a run folder's: its env_wrapper wraps the evaluation env too
    wrappers = parse_env_wrapper(read_hyperparams(config, env_id).get("env_wrapper"), str(config)) if config.is_file() else []
    env = make_env(RunSpec(env_id, env_wrapper=wrappers), 1, args.seed)
    stats = pathlib.Path(args.vecnormalize) if args.vecnormalize else model_path.parent / "vecnormalize.pkl"
    if stats.is_file():
        env = VecNormalize.load(str(stats), env)
        env.training, env.norm_reward = False, False
    elif args.vecnormalize:
        raise ConfigError(f"--vecnormalize: no file at '{stats}'")
    returns = evaluate_returns(model, env, n_episodes, args.seed)
    env.close()
    print(f"mean return {np.mean(returns):.2f} +/- {np.std(returns):.2f} over {n_episodes} deterministic episodes")
    return 0


# Subcommands whose code lives in the tuning / benchmarking packages: (name, module, extra, help)
_DELEGATED = [
    ("report", "sb3_ddpg_ext.report.page", "extra", "write an interactive HTML report of run folders"),
    ("tune", "sb3_ddpg_ext.tuning.cli_tune", "tuning", "run (or resume) an Optuna study of DDPG's hyperparameters"),
    ("best", "sb3_ddpg_ext.tuning.cli_tune", "tuning", "export a study's best trial as hyperparameters, with plots and a CSV"),
    ("bench", "sb3_ddpg_ext.benchmarking.cli_bench", "benchmarks", "run a benchmark suite (DDPG, TD3, SAC, TQC, CrossQ)"),
    ("speed", "sb3_ddpg_ext.benchmarking.cli_bench", "benchmarks", "compare training throughput with SB3's DDPG in one run"),
]


def build_parser() -> argparse.ArgumentParser:
    """
    Build the ``sb3-ddpg`` argument parser. The arguments of the delegated subcommands are declared by their modules'
    ``add_<name>_arguments``, which import nothing heavy; their work is imported when they run.

    :return: The parser with one subcommand per action
    """
    parser = argparse.ArgumentParser(prog="sb3-ddpg", description="Train, evaluate, tune and benchmark DDPG for SB3.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train(subparsers)
    _add_eval(subparsers)
    for name, module_name, _, help_text in _DELEGATED:
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        getattr(importlib.import_module(module_name.rsplit(".", 1)[0] + ".arguments"), f"add_{name}_arguments")(sub)
        sub.set_defaults(func=_delegate)
    return parser


def _delegate(args: argparse.Namespace) -> int:
    """Import the subcommand's module (its extra's packages) and run it."""
    module_name, extra = next((module, extra) for name, module, extra, _ in _DELEGATED if name == args.command)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(
            f"'sb3-ddpg {args.command}' needs the '{extra}' extra ({error}): pip install 'sb3_ddpg_ext[{extra}]'"
        ) from error
    return int(getattr(module, f"run_{args.command}")(args))


def main(argv: list[str] | None = None) -> int:
    """
    Run the ``sb3-ddpg`` command line.

    :param argv: Arguments (default: ``sys.argv[1:]``)
    :return: Exit status: 0, 1 when some benchmark run failed, 2 for bad input, 130 after Ctrl-C, 143 after SIGTERM
        while training
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, FileNotFoundError) as error:
        message = " ".join(str(error).split())
        print(f"sb3-ddpg {args.command}: error: {message}", file=sys.stderr)
        return 2
    except RunInterrupted as interrupted:  # its message says where a train run's model went; others add the general line
        tail = "" if args.command == "train" else "; files already written are complete."
        print(f"sb3-ddpg {args.command}: {interrupted}{tail}", file=sys.stderr)
        return interrupted.exit_status
    except KeyboardInterrupt:
        print(f"sb3-ddpg {args.command}: interrupted; files already written are complete.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
