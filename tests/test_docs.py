"""
The documentation's code runs: every Python block written in the site's pages is executed, every YAML block is
converted by the one converter, and every command line is parsed by ``sb3-ddpg``'s own parser (the files it names must
exist); tests/test_readme.py runs every command line of the README and the pages at a small budget. The built site's
link checker is tested on a small site with known faults. (The scripts the pages include from examples/ are run by
tests/test_examples.py, the tutorial notebook by ``make docs``.)
"""

import importlib.util
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest
import yaml

from sb3_ddpg_ext.cli import build_parser
from sb3_ddpg_ext.experiment.config import build_run_spec

REPO = pathlib.Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = sorted(path for path in DOCS.rglob("*.rst") if "_build" not in path.parts)
SMALL_TRAIN = ["--n-timesteps", "1000", "--eval-freq", "500", "--n-eval-episodes", "2", "--no-progress-bar"]
# Files that the command lines of a page write and later lines read
WRITTEN_BY_FLAGS = ("--out", "--run-dir")
FILE_FLAGS = ("--suite", "--study", "--hyperparams", "--model")

spec = importlib.util.spec_from_file_location("check_links", DOCS / "check_links.py")
assert spec is not None and spec.loader is not None
check_links = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_links)


def code_blocks(page: pathlib.Path, language: str) -> list[str]:
    """The bodies of a page's ``.. code-block:: LANGUAGE`` directives, dedented."""
    lines, blocks = page.read_text().splitlines(), []
    for k, line in enumerate(lines):
        if line.strip() == f".. code-block:: {language}":
            body, j = [], k + 1
            while j < len(lines) and (not lines[j].strip() or lines[j].startswith("   ")):
                body.append(lines[j][3:])
                j += 1
            blocks.append("\n".join(body).strip("\n"))
    return blocks


def command_lines(block: str) -> list[list[str]]:
    """The commands of a shell block: continuations joined, comments and leading VAR=value assignments dropped."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):
            words = words[1:]
        if words:
            commands.append(words)
    return commands


def test_code_blocks_are_found():
    blocks = {page.name: len(code_blocks(page, "python")) for page in PAGES}
    assert blocks["quickstart.rst"] == 1 and sum(blocks.values()) >= 4
    assert sum(len(code_blocks(page, "bash")) for page in PAGES) >= 8


@pytest.fixture(scope="module")
def run_folders(tmp_path_factory) -> pathlib.Path:
    """A folder with tiny DDPG and TD3 run folders where the pages' examples expect them (runs/ddpg, runs/td3)."""
    folder = tmp_path_factory.mktemp("docs")
    for algo, name in (("ddpg_ext", "ddpg"), ("td3", "td3")):
        small = ["--params", "policy_kwargs={net_arch: [32]}", *SMALL_TRAIN]
        run_cli(["train", "--env", "Pendulum-v1", "--algo", algo, "--run-dir", f"runs/{name}", *small], folder)
    shutil.copytree(REPO / "hyperparams", folder / "hyperparams")
    return folder


def run_cli(args: list[str], folder: pathlib.Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "sb3_ddpg_ext", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


@pytest.mark.parametrize("page", [page for page in PAGES if code_blocks(page, "python")], ids=lambda page: page.stem)
def test_python_blocks_run(page, run_folders):
    program = "\n\n".join(code_blocks(page, "python"))
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PLOTLY_RENDERER": "json"}
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=run_folders, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]


@pytest.mark.parametrize("page", [page for page in PAGES if code_blocks(page, "yaml")], ids=lambda page: page.stem)
def test_yaml_blocks_convert(page):
    for block in code_blocks(page, "yaml"):
        for env_id, hyperparams in yaml.safe_load(block).items():
            build_run_spec(env_id, hyperparams, source=f"{page.name} yaml block")


def make_targets() -> set[str]:
    return set(re.findall(r"^([a-z][\w-]*(?: [a-z][\w-]*)*):", (REPO / "Makefile").read_text(), re.MULTILINE))


def check_command(words: list[str], written: set[str], where: str) -> None:
    """A command line of the docs: a make target that exists, a pip install of extras that exist, or an sb3-ddpg
    command that sb3-ddpg's parser accepts and whose input files exist."""
    program = pathlib.Path(words[0]).name
    if program == "make":
        targets = {name for group in make_targets() for name in group.split()}
        assert set(words[1:]) <= targets, (where, words)
    elif program == "pip":
        extras = re.findall(r"\[([\w,]+)\]", " ".join(words))
        cfg = (REPO / "setup.cfg").read_text()
        for extra in ",".join(extras).split(",") if extras else []:
            assert re.search(rf"^{extra} =", cfg, re.MULTILINE), (where, extra)
    else:
        assert program == "sb3-ddpg", (where, words)
        args = build_parser().parse_args(words[1:])  # exits (SystemExit) on an unknown flag or a bad value
        for flag in FILE_FLAGS:
            value = getattr(args, flag[2:].replace("-", "_"), None)
            if value and value not in written:
                assert (REPO / value).exists() or value.startswith("runs/"), (where, flag, value)
        for flag in WRITTEN_BY_FLAGS:
            if flag in words:
                written.add(words[words.index(flag) + 1])


@pytest.mark.parametrize("page", [page for page in PAGES if code_blocks(page, "bash")], ids=lambda page: page.stem)
def test_command_lines_parse(page):
    written: set[str] = set()
    for block in code_blocks(page, "bash"):
        for words in command_lines(block):
            check_command(words, written, f"{page.relative_to(DOCS)}: {' '.join(words)}")


def test_link_checker_finds_broken_links_and_network_loads(tmp_path):
    (tmp_path / "guide").mkdir()
    (tmp_path / "index.html").write_text(
        '<html><body><a href="guide/page.html#here">ok</a> <a href="guide/page.html#gone">bad anchor</a>'
        '<a href="missing.html">bad file</a> <a href="https://example.org/">a link out is fine</a>'
        '<script src="https://cdn.example.org/plotly.js"></script><img src="guide/"><a id="top"></a>'
        '<a href="#top">top</a></body></html>'
    )
    (tmp_path / "guide" / "page.html").write_text('<html><body><h1 id="here">Here</h1></body></html>')
    (tmp_path / "guide" / "index.html").write_text("<html></html>")
    problems = check_links.check_site(tmp_path)
    assert len(problems) == 3, problems
    assert "no id 'gone'" in problems[0] + problems[1] + problems[2]
    assert any("missing.html" in line for line in problems) and any("loads from the network" in line for line in problems)
    (tmp_path / "index.html").write_text('<html><a href="guide/page.html#here">ok</a></html>')
    assert check_links.check_site(tmp_path) == []


def test_every_example_is_in_the_docs():
    shown = (DOCS / "guide" / "examples.rst").read_text()
    for script in (REPO / "examples").glob("*.py"):
        assert f"literalinclude:: ../../examples/{script.name}" in shown, script.name
