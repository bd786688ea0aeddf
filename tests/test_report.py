"""sb3-ddpg report: the HTML page of run folders, rendered by a real headless Chromium."""

import json
import logging
import pathlib
import re
import shutil
import subprocess

import pytest

from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.run import run_experiment
from sb3_ddpg_ext.report.page import FIGURES, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
HYPERPARAMS = {"learning_starts": 200, "n_timesteps": 1000, "gamma": 0.98, "policy_kwargs": {"net_arch": [32]}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> list[pathlib.Path]:
    """A DDPG run with diagnostics (constant Gaussian noise) and a TD3 run without them."""
    root = tmp_path_factory.mktemp("runs")
    ddpg = build_run_spec("Pendulum-v1", {**HYPERPARAMS, "noise_type": "normal", "noise_std": 0.2}, "ddpg_ext")
    run_experiment(
        ddpg, eval_freq=250, n_eval_episodes=2, run_dir=root / "ddpg", diagnostics_dir=root / "ddpg" / "diagnostics"
    )
    run_experiment(build_run_spec("Pendulum-v1", HYPERPARAMS, "td3"), eval_freq=500, n_eval_episodes=2, run_dir=root / "td3")
    return [root / "ddpg", root / "td3"]


def rendered_figures(page: pathlib.Path) -> dict[str, str]:
    """The DOM of ``page`` after headless Chromium ran its scripts, cut into one piece per figure."""
    assert CHROMIUM is not None
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    pieces = re.split(r'<div id="figure-', dom)[1:]
    return {piece.split('"', 1)[0]: piece for piece in pieces}


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here (.ci/run installs Debian's chromium package)")
def test_report_renders_every_figure_in_headless_chromium(runs, tmp_path):
    page = write_report(runs, tmp_path / "report.html")
    assert "<script src=" not in page.read_text()  # plotly.js is embedded: the page opens offline
    figures = rendered_figures(page)
    assert sorted(figures) == sorted(name for name, _ in FIGURES)
    for name, dom in figures.items():
        assert 'class="main-svg"' in dom, f"figure {name} was not drawn"
    # data drawn where recorded: curves of both runs, the heatmap of the DDPG run's probe states, a note for TD3
    assert figures["return"].count('class="trace scatter') >= 2
    assert "heatmaplayer" in figures["probes"] and "<image" in figures["probes"]
    for name in ("value", "targets", "saturation", "probes"):  # the TD3 run recorded no diagnostics
        assert "not recorded by: td3 seed 0 (td3)" in figures[name]
    assert not any("not recorded by: ddpg_ext" in dom for dom in figures.values())
    assert "ddpg_ext seed 0 (ddpg): constant" in figures["noise"]


def test_report_cli_writes_the_page_into_a_single_run_folder(runs, capsys):
    assert main(["report", str(runs[0])]) == 0
    assert (runs[0] / "report.html").is_file() and "Report:" in capsys.readouterr().out


def test_report_of_a_folder_that_is_not_a_run_is_one_line(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no evaluations.csv" in err
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such run folder" in capsys.readouterr().err


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium here for kaleido to drive (.ci/run installs it)")
def test_report_png_export(runs, tmp_path):
    write_report(runs, tmp_path / "report.html", png_dir=tmp_path / "png")
    for name, _ in FIGURES:
        assert (tmp_path / "png" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_browser_logs_are_dropped_during_the_export_and_restored_after(caplog):
    """choreographer logs a traceback for a browser message it ignores (a CI run failed on it); the export hides it."""
    from sb3_ddpg_ext.report.page import quiet_browser_logs

    pipe = logging.getLogger("choreographer.channels.pipe")
    with quiet_browser_logs():
        try:
            raise ValueError("not JSON")
        except ValueError:
            pipe.exception("JSONError decoding message. Ignoring")
    assert caplog.records == []
    pipe.error("after the export")  # levels restored: the library logs as before
    assert [record.getMessage() for record in caplog.records] == ["after the export"]


def test_report_figures_are_the_pages_figures(runs, tmp_path):
    from sb3_ddpg_ext.report import report_figures

    figures = report_figures(runs)
    assert list(figures) == [name for name, _ in FIGURES]
    assert [trace.name for trace in report_figures(runs[0])["return"].data] == ["ddpg_ext seed 0 (ddpg)"]
    page = write_report(runs, tmp_path / "report.html").read_text().replace("\\u002f", "/")  # Plotly escapes /
    for name, figure in figures.items():  # the page shows these figures, trace for trace
        for trace in figure.data:
            if trace.name:
                assert json.dumps(trace.name) in page, (name, trace.name)


def test_report_of_a_run_shorter_than_sb3s_first_log_dump(tmp_path, capsys):
    """300 steps on Pendulum: the update statistics are in progress.csv, SB3's time/ keys not yet (every 4 episodes)."""
    spec = build_run_spec("Pendulum-v1", {**HYPERPARAMS, "n_timesteps": 300, "learning_starts": 100}, "ddpg_ext")
    run_experiment(
        spec, eval_freq=300, n_eval_episodes=1, run_dir=tmp_path / "short", diagnostics_dir=tmp_path / "short" / "diagnostics"
    )
    assert main(["report", str(tmp_path / "short")]) == 0
    assert (tmp_path / "short" / "report.html").is_file() and "error" not in capsys.readouterr().err
