"""The ``sb3-ddpg`` command: train | eval | tune | best | bench | speed."""

import argparse
import datetime
import pathlib
import sys

from sb3_ddpg_ext.config import ConfigError, build_run_config, parse_overrides, read_hyperparams


def _add_train(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train DDPG and write a run folder", description=_train.__doc__)
    parser.add_argument("--env", required=True, help="Gymnasium environment id, e.g. Pendulum-v1")
    parser.add_argument("--hyperparams", help="RL Zoo-style YAML file (flat, or keyed by env id)")
    parser.add_argument(
        "--params",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="override hyperparameters, values read as YAML: learning_rate=3e-4 'policy_kwargs={net_arch: [64, 64]}'",
    )
    parser.add_argument("--n-timesteps", type=int, help="training budget (default: the file's n_timesteps, else 20000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the model and the environments")
    parser.add_argument("--n-envs", type=int, help="number of parallel environments (overrides the file)")
    parser.add_argument("--eval-freq", type=int, default=2_000, help="evaluate every N environment steps")
    parser.add_argument("--n-eval-episodes", type=int, default=10, help="episodes per evaluation")
    parser.add_argument("--run-dir", help="output folder (default: runs/<env>-<date>-seed<seed>)")
    parser.add_argument("--device", default="auto", help="torch device: auto, cpu, cuda")
    parser.add_argument("--no-progress-bar", action="store_true", help="hide the progress bar")
    parser.add_argument("--verbose", type=int, default=0, help="SB3 verbosity (0, 1, 2)")
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    """Train DDPG on an environment with periodic deterministic evaluation; write model, logs, config and plot."""
    from stable_baselines3.common.env_util import make_vec_env

    from sb3_ddpg_ext.run import check_env_id, train

    check_env_id(args.env)
    hyperparams = read_hyperparams(args.hyperparams, args.env) if args.hyperparams else {}
    hyperparams.update(parse_overrides(args.params))
    if args.n_envs is not None:
        hyperparams["n_envs"] = args.n_envs
    probe = make_vec_env(args.env, n_envs=1)
    n_actions = int(probe.action_space.shape[0]) if probe.action_space.shape else 0
    probe.close()
    config = build_run_config(hyperparams, n_actions, source=args.hyperparams or "--params")
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = pathlib.Path(args.run_dir or f"runs/{args.env}-{stamp}-seed{args.seed}")
    result = train(
        args.env,
        config,
        run_dir,
        n_timesteps=args.n_timesteps,
        seed=args.seed,
        eval_freq=args.eval_freq,
        n_eval_episodes=args.n_eval_episodes,
        progress_bar=not args.no_progress_bar,
        device=args.device,
        verbose=args.verbose,
    )
    print(
        f"Final evaluation on {args.env}: mean return {result.mean_return:.1f} +/- {result.std_return:.1f} "
        f"over {args.n_eval_episodes} deterministic episodes"
    )
    print(f"Model:          {result.model_path}")
    print(f"Learning curve: {result.plot_path}")
    print(f"Tensorboard:    tensorboard --logdir {result.run_dir / 'tb'}")
    return 0


def _add_eval(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="evaluate a saved model", description=_eval.__doc__)
    parser.add_argument("--model", required=True, help="model file written by train / DDPG.save")
    parser.add_argument("--env", help="environment id (default: read from the run folder's config.yml)")
    parser.add_argument("--n-episodes", type=int, default=10, help="number of deterministic episodes")
    parser.add_argument("--seed", type=int, default=0, help="seed of the evaluation environment")
    parser.add_argument("--vecnormalize", help="VecNormalize statistics (default: the run folder's, if any)")
    parser.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    """Print the mean and std return of a saved model over N deterministic episodes."""
    from sb3_ddpg_ext.run import evaluate

    if args.n_episodes <= 0:
        raise ConfigError(f"--n-episodes must be positive, got {args.n_episodes}.")
    mean, std = evaluate(args.model, args.env, args.n_episodes, args.seed, args.vecnormalize)
    print(f"mean return {mean:.2f} +/- {std:.2f} over {args.n_episodes} deterministic episodes")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """
    Build the ``sb3-ddpg`` argument parser.

    :return: The parser with one subcommand per action
    """
    parser = argparse.ArgumentParser(prog="sb3-ddpg", description="Train, evaluate, tune and benchmark DDPG for SB3.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    _add_train(subparsers)
    _add_eval(subparsers)
    for name, module, help_text in _DELEGATED:
        _add_delegated(subparsers, name, module, help_text)
    return parser


# Subcommands whose code lives in the tuning / benchmarking packages: (name, module, help)
_DELEGATED = [
    ("tune", "sb3_ddpg_ext.tuning.cli_tune", "run (or resume) an Optuna study of DDPG's hyperparameters"),
    ("best", "sb3_ddpg_ext.tuning.cli_tune", "export a study's best trial as hyperparameters, with plots and a CSV"),
    ("bench", "sb3_ddpg_ext.benchmarking.cli_bench", "run a benchmark suite against SB3's DDPG, TD3 and SAC"),
    ("speed", "sb3_ddpg_ext.benchmarking.cli_bench", "compare training throughput with SB3's DDPG in one run"),
]


def _add_delegated(subparsers: argparse._SubParsersAction, name: str, module_name: str, help_text: str) -> None:
    """Register a subcommand implemented by ``module_name.add_<name>_arguments`` / ``run_<name>``."""
    import importlib

    parser = subparsers.add_parser(name, help=help_text, description=help_text)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        missing = str(error)
        parser.set_defaults(func=lambda args: _missing_extra(name, missing))
        return
    getattr(module, f"add_{name}_arguments")(parser)
    parser.set_defaults(func=getattr(module, f"run_{name}"))


def _missing_extra(name: str, reason: str) -> int:
    extra = "tuning" if name in ("tune", "best") else "benchmarks"
    raise ConfigError(f"'sb3-ddpg {name}' needs the '{extra}' extra ({reason}): pip install 'sb3_ddpg_ext[{extra}]'.")


def main(argv: list[str] | None = None) -> int:
    """
    Run the ``sb3-ddpg`` command line.

    :param argv: Arguments (default: ``sys.argv[1:]``)
    :return: Exit status
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (ConfigError, FileNotFoundError) as error:
        print(f"sb3-ddpg {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"sb3-ddpg {args.command}: interrupted; files already written are complete.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
