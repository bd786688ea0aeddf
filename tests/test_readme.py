"""
Every shell command in README.md's code blocks (```bash, ```sh, ```console, ```shell) and in the documentation
site's pages (``.. code-block:: bash``) runs and exits with status 0, without a traceback, at a small budget where it
trains. The commands run in order (the README, then the getting-started page, then the other pages) in one workspace
(a copy of the repository's files, without the package, which comes from this checkout through PYTHONPATH), so later
commands read what earlier ones wrote, as a reader's would. What is changed to keep them short is listed here: the
budget flags (:func:`small_budget`), the files the long commands read (:data:`SHRUNK_FILES`), the run folders a
page assumes the reader trained (:data:`RUN_FOLDERS`) and the commands not run at all, with the reason
(:data:`SKIPPED`).
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml
from test_docs import code_blocks

import sb3_ddpg_ext

ROOT = pathlib.Path(sb3_ddpg_ext.__file__).resolve().parents[1]
README = ROOT / "README.md"
FIRST_PAGE = ROOT / "docs" / "guide" / "quickstart.rst"
PAGES = [FIRST_PAGE, *sorted(p for p in (ROOT / "docs").rglob("*.rst") if "_build" not in p.parts and p != FIRST_PAGE)]
SHELL_BLOCKS = ("bash", "sh", "console", "shell")
STEPS = 300  # training steps of every command that trains

# Commands not run (matched by prefix), the reason, and where what they do is tested
SKIPPED = {
    "make test": "runs the test suite this test belongs to (`python -m pytest`)",
    "sb3-ddpg tune --study tuning/studies/halfcheetah.yml --storage postgresql://": (
        "needs a PostgreSQL server; tests/test_tuning.py::test_two_workers_share_one_postgres_study starts one"
    ),
    "pip install": "installs packages; the tests run in the environment it made",
    "make setup": "installs packages; the tests run in the environment it made",
    "make docs": "builds this site, whose notebook trains; .ci/run runs it (SB3_DDPG_TUTORIAL_STEPS=3000 make docs)",
    "make release-check": "builds and installs the wheel into a new venv; .ci/run runs it",
}
# Run folders a page's commands read that no earlier command writes (a reader's own runs), and the algorithm of each
RUN_FOLDERS = {"runs/ddpg": "ddpg_ext", "runs/td3": "td3"}


def _shrink_study(data: dict) -> None:
    seeds = 3 if data.get("pruner", "wilcoxon") == "wilcoxon" else 1  # the Wilcoxon pruner needs 3
    data.update(n_trials=2, n_timesteps=STEPS, eval_freq=150, n_eval_episodes=1, seeds=seeds, score_last_k=1)


def _shrink_suite(data: dict) -> None:
    data["seeds"] = data["seeds"][:1]
    for env in data["envs"].values():
        env.update(n_timesteps=STEPS, eval_freq=150, n_eval_episodes=1)
        env.setdefault("hyperparams", {}).update(learning_starts=100, buffer_size=1000)


# The files of the long commands (a study, a benchmark suite), shrunk in the workspace copy to seconds of training;
# `sb3-ddpg best --validate` validates with the shrunk study's budget
SHRUNK_FILES = {
    **{f"tuning/studies/{name}.yml": _shrink_study for name in ("pendulum", "mountaincar")},
    **{f"benchmarks/suites/{name}.yml": _shrink_suite for name in ("pendulum", "inverted_pendulum", "mountaincar")},
    **{f"benchmarks/suites/{name}.yml": _shrink_suite for name in ("lunarlander", "mujoco")},
}


def readme_commands(text: str) -> list[str]:
    """
    :param text: Markdown
    :return: The commands of its shell code blocks, in order (comments dropped, continued lines joined)
    """
    commands = []
    for language, body in re.findall(r"^```(\w*)\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL):
        if language in SHELL_BLOCKS:
            body = body.replace("\\\n", " ")
            commands += [shlex.join(tokens) for tokens in map(_tokens, body.splitlines()) if tokens]
    return commands


def page_commands(page: pathlib.Path) -> list[str]:
    """
    :param page: A reStructuredText page of the site
    :return: The commands of its ``bash`` code blocks, in order
    """
    body = "\n".join(code_blocks(page, "bash")).replace("\\\n", " ")
    return [shlex.join(tokens) for tokens in map(_tokens, body.splitlines()) if tokens]


def _tokens(line: str) -> list[str]:
    tokens = shlex.split(line, comments=True)
    return tokens[1:] if tokens[:1] == ["$"] else tokens  # a console prompt


def _set_option(tokens: list[str], flag: str, value: str) -> list[str]:
    if flag in tokens:
        index = tokens.index(flag)
        return [*tokens[: index + 1], value, *tokens[index + 2 :]]
    return [*tokens, flag, value]


def small_budget(tokens: list[str], venv: pathlib.Path) -> list[str]:
    """
    A README command at a small budget.

    :param tokens: The command
    :param venv: The environment running the tests (``make`` targets use it instead of making ``.venv``)
    :return: The command to run
    """
    if tokens and tokens[0].endswith("/sb3-ddpg"):  # .venv/bin/sb3-ddpg: the environment running the tests
        tokens = ["sb3-ddpg", *tokens[1:]]
    if tokens[:2] == ["sb3-ddpg", "train"]:
        return _set_option(tokens, "--n-timesteps", str(STEPS))
    if tokens[:2] == ["sb3-ddpg", "speed"]:
        return [*tokens, "--steps", "200", "--rounds", "1", "--updates", "10"]
    if tokens[:1] == ["make"]:
        # -o: the environment counts as set up (no pip install into it); the demo trains STEPS steps
        return ["make", "-o", f"{venv}/.installed", f"VENV={venv}", f"STEPS={STEPS}", *tokens[1:]]
    return tokens


README_COMMANDS = readme_commands(README.read_text())
# In reading order, each command once (the getting-started page repeats the README's two)
COMMANDS = list(dict.fromkeys([*README_COMMANDS, *(command for page in PAGES for command in page_commands(page))]))


def _skip_reason(command: str) -> str | None:
    return next((reason for prefix, reason in SKIPPED.items() if command.startswith(prefix)), None)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> pathlib.Path:
    """A copy of the repository's files (not the package, not the tests), with the long commands' files shrunk."""
    folder = tmp_path_factory.mktemp("readme") / "repo"
    ignored = shutil.ignore_patterns(".git", ".venv", "runs", "sb3_ddpg_ext", "tests", "__pycache__", "*.egg-info", ".*_cache")
    shutil.copytree(ROOT, folder, ignore=ignored)
    for name, shrink in SHRUNK_FILES.items():
        data = yaml.safe_load((folder / name).read_text())
        shrink(data)
        (folder / name).write_text(yaml.safe_dump(data, sort_keys=False))
    for name, algo in RUN_FOLDERS.items():
        command = ["sb3-ddpg", "train", "--env", "Pendulum-v1", "--algo", algo, "--run-dir", name]
        subprocess.run(
            small_budget(command, pathlib.Path(sys.prefix)), cwd=folder, env=_env(), check=True, capture_output=True
        )
    return folder


def _env() -> dict[str, str]:
    venv = pathlib.Path(sys.prefix)
    path = os.pathsep.join([str(pathlib.Path(sys.executable).parent), str(venv / "bin"), os.environ.get("PATH", "")])
    return {**os.environ, "PYTHONPATH": str(ROOT), "PATH": path, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}


def test_the_readme_and_the_pages_have_the_commands_this_test_expects():
    assert README_COMMANDS[:2] == ["make demo", "make test"]
    assert len(COMMANDS) >= 25 and any(command.startswith("sb3-ddpg train") for command in COMMANDS)
    # every skip names a command the README or a page has, so the list stays short and true
    for prefix in SKIPPED:
        if prefix != "make setup":
            assert any(command.startswith(prefix) for command in COMMANDS), prefix
    assert all(any(name in command for command in COMMANDS) for name in RUN_FOLDERS)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=[command[:70] for command in COMMANDS])
def test_readme_command_runs(command, workspace):
    reason = _skip_reason(command)
    if reason is not None:
        pytest.skip(reason)
    env, tokens = _env(), shlex.split(command)
    while tokens and re.fullmatch(r"[A-Z_]+=\S*", tokens[0]):  # VAR=value before the command
        name, _, value = tokens.pop(0).partition("=")
        env[name] = value
    tokens = small_budget(tokens, pathlib.Path(sys.prefix))
    result = subprocess.run(tokens, cwd=workspace, env=env, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{shlex.join(tokens)} exited with {result.returncode}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
