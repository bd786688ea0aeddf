"""
pytest plugin for ``make test-sb3``: SB3's own test files (fetched by :mod:`tests.sb3_oracle.fetch`) run with
``sb3_ddpg_ext.DDPG`` in the place of ``stable_baselines3.DDPG``.

- ``stable_baselines3.DDPG`` is set to ours at ``pytest_configure``, before any SB3 test module is imported, so every
  ``from stable_baselines3 import DDPG`` in them gets ours (parametrize lists and module-level dicts included).
- While a module of :data:`TD3_FILES` is imported, ``stable_baselines3.TD3`` is :class:`DDPGAsTD3` (our DDPG,
  dropping TD3's own arguments): those files test with TD3 only features that DDPG shares. Elsewhere TD3 stays
  SB3's, and its cases are deselected.
- Only the cases that run our DDPG are kept: parametrized with it, or named in :data:`EXTRA_CASES`.
- The cases of :data:`~tests.sb3_oracle.expectations.XFAIL` are marked ``xfail(strict=True)``; those of
  :data:`~tests.sb3_oracle.expectations.TO_FIX` are not (they fail until the package is fixed).
- Collection fails if the substitution did not take effect, if a listed file has no case left, or if an expected
  failure names a case that does not exist.
- Each case runs in its own temporary folder (SB3's tests may write to the working directory).

Load it with ``-p tests.sb3_oracle.plugin`` from the repository root (see the Makefile's ``test-sb3``).
"""

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import stable_baselines3
import torch as th

from sb3_ddpg_ext import DDPG
from tests.conftest import sb3_log_folder  # noqa: F401  (SB3's loggers write into pytest's temporary folder)
from tests.sb3_oracle.expectations import TO_FIX, XFAIL
from tests.sb3_oracle.fetch import sb3_tests_dir

SB3_DDPG = stable_baselines3.DDPG
SB3_TD3 = stable_baselines3.TD3

# SB3 test files whose DDPG cases run (stable_baselines3.DDPG is ours in every file)
DDPG_FILES = frozenset(
    {
        "test_callbacks.py",
        "test_dict_env.py",
        "test_her.py",
        "test_identity.py",
        "test_run.py",
        "test_save_load.py",
        "test_spaces.py",
    }
)
# SB3 test files that test with TD3 only what DDPG has too: their TD3 cases run with DDPGAsTD3
TD3_FILES = (
    frozenset(
        {
            "test_cnn.py",  # CnnPolicy, features extractors shared or not, target networks
            "test_custom_policy.py",  # net_arch, custom optimizer
            "test_deterministic.py",  # same seed, same numbers
            "test_n_step_replay.py",  # n_steps > 1
            "test_predict.py",  # predict() shapes and devices, subclassed spaces
            "test_tensorboard.py",  # tensorboard log folders
            "test_train_eval_mode.py",  # batch norm and dropout in train / eval mode
            "test_vec_normalize.py",  # VecNormalize with an off-policy algorithm
        }
    )
    | DDPG_FILES
)  # and the TD3 cases of the DDPG files (replay buffers, HER, spaces, save/load with TD3's options)
# Cases that use DDPG or TD3 without being parametrized by the algorithm class
EXTRA_CASES = frozenset(
    {
        "test_tensorboard.py::test_tensorboard[td3]",
        "test_train_eval_mode.py::test_td3_train_with_batch_norm",
    }
)


class DDPGAsTD3(DDPG):
    """
    Our DDPG in the place of ``stable_baselines3.TD3`` in :data:`TD3_FILES`: it accepts TD3's own arguments and drops
    them (``policy_delay``, ``target_policy_noise``, ``target_noise_clip``: DDPG updates the actor at every step and
    has no target smoothing), builds its policy with one critic (a given ``policy_kwargs["n_critics"]`` becomes 1;
    none given keeps the policy's default, 1, and leaves ``policy_kwargs`` as the test wrote it, which ``load()``
    compares with the saved one), and names its tensorboard runs ``TD3_<n>`` by default as ``TD3.learn`` does.
    Keyword arguments only after ``policy, env`` (TD3's positional order differs from DDPG's).
    """

    def __init__(
        self,
        policy: Any,
        env: Any,
        *,
        policy_delay: int = 2,
        target_policy_noise: float = 0.2,
        target_noise_clip: float = 0.5,
        **kwargs: Any,
    ):
        if "n_critics" in (kwargs.get("policy_kwargs") or {}):
            kwargs["policy_kwargs"] = {**kwargs["policy_kwargs"], "n_critics": 1}
        super().__init__(policy, env, **kwargs)

    def learn(  # type: ignore[override]
        self,
        total_timesteps: int,
        callback: Any = None,
        log_interval: int = 4,
        tb_log_name: str = "TD3",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> "DDPGAsTD3":
        return super().learn(total_timesteps, callback, log_interval, tb_log_name, reset_num_timesteps, progress_bar)


OURS = (DDPG, DDPGAsTD3)


def oracle_id(item: pytest.Item) -> str:
    """``<file>::<test>[<params>]``, whatever the rootdir: the key of the expectation lists."""
    return "::".join([item.path.name, *item.nodeid.split("::")[1:]])


def _function_id(case_id: str) -> str:
    return case_id.split("[", 1)[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "expensive: SB3's marker for its expensive tests")
    overlap = set(XFAIL) & set(TO_FIX)
    if overlap:
        raise pytest.UsageError(f"sb3-oracle: cases both in XFAIL and TO_FIX: {sorted(overlap)}")
    config.stash[_SB3_TESTS] = sb3_tests_dir().resolve()
    stable_baselines3.DDPG = DDPG  # type: ignore[attr-defined]
    th.set_num_threads(1)  # as tests/conftest.py: two shared cores


def pytest_unconfigure(config: pytest.Config) -> None:
    stable_baselines3.DDPG = SB3_DDPG  # type: ignore[attr-defined]


_SB3_TESTS = pytest.StashKey[pathlib.Path]()


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    """Import the modules of TD3_FILES (a Module imports its file while it collects) with TD3 set to DDPGAsTD3."""
    if not (isinstance(collector, pytest.Module) and collector.path.name in TD3_FILES):
        return (yield)
    stable_baselines3.TD3 = DDPGAsTD3  # type: ignore[attr-defined,misc]
    try:
        return (yield)
    finally:
        stable_baselines3.TD3 = SB3_TD3  # type: ignore[attr-defined,misc]


def pytest_ignore_collect(collection_path: pathlib.Path, config: pytest.Config) -> bool | None:
    """Do not even import SB3's other test files (some need packages this project does not install, e.g. ale_py)."""
    if collection_path.suffix == ".py" and collection_path.name not in DDPG_FILES | TD3_FILES:
        return True
    return None


def _check_module(module: Any) -> list[str]:
    """What in an SB3 test module still refers to SB3's DDPG (or, in TD3_FILES, SB3's TD3)."""
    name = pathlib.Path(module.__file__).name
    replaced = {id(SB3_DDPG): "stable_baselines3.DDPG"}
    if name in TD3_FILES:
        replaced[id(SB3_TD3)] = "stable_baselines3.TD3"
    problems = [f"{name}: {key} is {replaced[id(value)]}" for key, value in vars(module).items() if id(value) in replaced]
    if getattr(module, "DDPG", DDPG) not in (DDPG, SB3_DDPG):  # SB3's is reported above
        problems.append(f"{name}: DDPG is {module.DDPG!r}, not sb3_ddpg_ext.DDPG")
    if name in TD3_FILES and getattr(module, "TD3", DDPGAsTD3) not in (DDPGAsTD3, SB3_TD3):
        problems.append(f"{name}: TD3 is {module.TD3!r}, not DDPGAsTD3")
    return problems


def _uses_ours(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params.values() if callspec is not None else ()
    # By identity: parameters may be arrays or spaces, whose == is not a plain bool
    return any(value is ours for value in params for ours in OURS) or oracle_id(item) in EXTRA_CASES


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    sb3_tests = config.stash[_SB3_TESTS]
    listed = DDPG_FILES | TD3_FILES
    problems: list[str] = []
    outside = sorted({str(item.path) for item in items if item.path.parent.resolve() != sb3_tests})
    if outside:
        raise pytest.UsageError(f"sb3-oracle runs SB3's test files in {sb3_tests} only, not {outside}")
    for module in {item.module for item in items if isinstance(item, pytest.Function)}:
        problems += _check_module(module)
    for item in items:
        callspec = getattr(item, "callspec", None)
        for value in callspec.params.values() if callspec is not None else ():
            if value is SB3_DDPG or (value is SB3_TD3 and item.path.name in TD3_FILES):
                problems.append(f"{oracle_id(item)} is parametrized with SB3's {value.__name__}")
    selected = [item for item in items if item.path.name in listed and _uses_ours(item)]
    selected_ids = {oracle_id(item) for item in selected}
    collected_ids = {oracle_id(item) for item in items}
    collected_functions = {_function_id(case) for case in collected_ids}
    # When the whole folder is collected: every listed file is there and keeps at least one case
    whole_folder = any(pathlib.Path(arg).resolve() == sb3_tests for arg in config.args)
    if whole_folder:
        for name in sorted(listed):
            if not any(item.path.name == name for item in selected):
                problems.append(f"{name}: no DDPG case collected (missing file, or SB3 renamed its tests?)")
        problems += [f"EXTRA_CASES names {case}, which was not collected" for case in sorted(EXTRA_CASES - collected_ids)]
    # An expectation names a DDPG case (checked for the whole folder, or for the test functions collected)
    for case in sorted({*XFAIL, *TO_FIX} - selected_ids):
        if whole_folder or _function_id(case) in collected_functions:
            problems.append(f"expectations.py names {case}, which is not one of the DDPG cases collected")
    if problems:
        raise pytest.UsageError("sb3-oracle: cannot run SB3's tests as intended:\n  " + "\n  ".join(problems))
    for item in selected:
        reason = XFAIL.get(oracle_id(item))
        if reason is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=reason))
    deselected = [item for item in items if oracle_id(item) not in selected_ids]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
    items[:] = selected


@pytest.fixture(autouse=True)
def _sb3_oracle_in_tmp_path(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each case in its own temporary folder, so nothing SB3's tests write lands in the repository."""
    monkeypatch.chdir(tmp_path)


# Outcome of each TO_FIX case run (its setup failure, else its call)
_TO_FIX_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    case = "::".join([pathlib.Path(report.fspath).name, *report.nodeid.split("::")[1:]])
    if case in TO_FIX and (report.when == "call" or report.outcome != "passed"):
        _TO_FIX_OUTCOMES.setdefault(case, report.outcome)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _TO_FIX_OUTCOMES:
        return
    terminalreporter.section("sb3-oracle: known bugs (TO_FIX in tests/sb3_oracle/expectations.py)")
    for case in sorted(_TO_FIX_OUTCOMES):
        outcome = _TO_FIX_OUTCOMES[case]
        note = "  <- fixed: remove it from TO_FIX" if outcome == "passed" else ""
        terminalreporter.write_line(f"{outcome.upper():8} {case}{note}")
