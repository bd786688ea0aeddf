"""A killed or stopped run goes on from its last evaluation's checkpoint (real Pendulum runs, a real killed process)."""

import json
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from sb3_ddpg_ext.cli import main
from sb3_ddpg_ext.diagnostics.recorder import read_probes, read_progress, read_value_curve
from sb3_ddpg_ext.experiment.checkpoint import checkpoint_step, load_checkpoint
from sb3_ddpg_ext.experiment.config import build_run_spec
from sb3_ddpg_ext.experiment.run import run_experiment

TINY = pathlib.Path(__file__).resolve().parents[1] / "benchmarks" / "suites" / "tiny.yml"
HYPERPARAMS = {
    "n_timesteps": 2400,
    "learning_starts": 100,
    "batch_size": 32,
    "buffer_size": 3000,
    "noise_type": "ornstein-uhlenbeck",
    "noise_std": 0.3,
    "normalize": True,
    "policy_kwargs": {"net_arch": [32, 32]},
}


def spec(**changes):
    return build_run_spec("Pendulum-v1", {**HYPERPARAMS, **changes}, "ddpg_ext")


def run(tmp_path, hyperparams=None, stop_at=None):
    return run_experiment(
        spec(**(hyperparams or {})),
        800,
        2,
        csv_path=tmp_path / "curve.csv",
        diagnostics_dir=tmp_path / "diagnostics",
        checkpoint_dir=tmp_path / "resume",
        on_evaluation=None if stop_at is None else (lambda step, returns: step < stop_at),
    )


def test_a_stopped_run_resumes_from_its_last_checkpoint(tmp_path):
    first = run(tmp_path, stop_at=1600)
    assert first.stopped and [row[0] for row in first.rows] == [0, 800, 1600]
    # the evaluation at 1600 stopped training inside its rollout: the checkpoint is the one before
    assert checkpoint_step(tmp_path / "resume") == 800
    assert sorted(path.name for path in (tmp_path / "resume").iterdir()) == [
        "latest.json",
        "model_800.zip",
        "replay_buffer_800.pkl",
        "state_800.pkl",
    ]

    second = run(tmp_path)
    assert second.resumed_from == [800] and not second.stopped
    steps = [0, 800, 1600, 2400]
    assert [row[0] for row in second.rows] == steps
    assert second.rows[:2] == first.rows[:2]
    assert second.rows[2][3] >= first.rows[1][3]  # wall time goes on
    assert second.model.num_timesteps == 2400 and second.model.replay_buffer.size() == 2400
    assert second.model.env.obs_rms.count > 2400  # the normalization statistics went on, not restarted
    assert not (tmp_path / "resume").exists()

    assert list(pd.read_csv(tmp_path / "curve.csv")["step"]) == steps
    assert list(read_value_curve(tmp_path / "diagnostics")["step"]) == steps
    probes = read_probes(tmp_path / "diagnostics")
    assert list(probes["steps"]) == steps and probes["actions"].shape[0] == 4
    # SB3's log every 4 episodes: the first attempt's row up to the checkpoint, then the resumed attempt's
    logged = read_progress(tmp_path / "diagnostics")["time/total_timesteps"]
    assert list(logged[~np.isnan(logged)]) == [800, 1600, 2400]


def test_a_checkpoint_of_another_configuration_is_moved_aside_not_resumed(tmp_path, caplog):
    run(tmp_path, stop_at=1600)
    assert checkpoint_step(tmp_path / "resume") == 800
    key = json.loads((tmp_path / "resume" / "latest.json").read_text())["key"]
    files = sorted(path.name for path in (tmp_path / "resume").iterdir())
    with caplog.at_level(logging.WARNING, logger="sb3_ddpg_ext.experiment.checkpoint"):
        other = run(tmp_path, hyperparams={"batch_size": 16})
    assert other.resumed_from == [] and [row[0] for row in other.rows] == [0, 800, 1600, 2400]
    assert not (tmp_path / "resume").exists()
    # nothing deleted: the old checkpoint is beside, complete, and one line said so, naming both folders
    stale = tmp_path / f"resume.stale-{key}"
    assert sorted(path.name for path in stale.iterdir()) == files and checkpoint_step(stale) == 800
    [record] = caplog.records
    message = record.getMessage()
    assert "\n" not in message and str(tmp_path / "resume") in message and str(stale) in message
    assert "another configuration" in message
    # a second one of the same configuration does not replace the first
    shutil.copytree(stale, tmp_path / "resume")
    assert load_checkpoint(tmp_path / "resume", "another key") is None
    assert checkpoint_step(stale) == 800 and checkpoint_step(tmp_path / f"resume.stale-{key}-2") == 800


def test_outputs_are_written_before_the_checkpoint_is_removed(tmp_path):
    def attempt(on_complete=None):
        return run_experiment(
            spec(), 800, 2, run_dir=tmp_path / "run", checkpoint_dir=tmp_path / "resume", on_complete=on_complete
        )

    # a directory where model.zip goes: saving the finished model fails for real (os.replace onto a directory)
    (tmp_path / "run" / "model.zip").mkdir(parents=True)
    (tmp_path / "run" / "model.zip" / "keep").touch()
    with pytest.raises(IsADirectoryError):
        attempt()
    assert checkpoint_step(tmp_path / "resume") == 1600  # the run is not lost: the last checkpoint is still there
    shutil.rmtree(tmp_path / "run" / "model.zip")

    def fail(result):
        assert (tmp_path / "run" / "model.zip").is_file() and (tmp_path / "run" / "summary.json").is_file()
        raise OSError("the caller's completion step failed (a benchmark marker)")

    with pytest.raises(OSError, match="completion step failed"):
        attempt(on_complete=fail)
    assert checkpoint_step(tmp_path / "resume") == 1600

    done = attempt()
    assert done.resumed_from == [1600] and done.model.num_timesteps == 2400 and not (tmp_path / "resume").exists()
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["resumed_from"] == [1600] and summary["n_timesteps"] == 2400 and not summary["interrupted"]


def test_a_resumed_runs_progress_csv_keeps_the_earlier_rows_when_it_fails(tmp_path):
    run(tmp_path, stop_at=1600)
    assert checkpoint_step(tmp_path / "resume") == 800

    def fail_at_1600(step, returns):
        if step >= 1600:
            raise RuntimeError("failed mid-training")
        return True

    with pytest.raises(RuntimeError, match="failed mid-training"):
        run_experiment(
            spec(),
            800,
            2,
            csv_path=tmp_path / "curve.csv",
            diagnostics_dir=tmp_path / "diagnostics",
            checkpoint_dir=tmp_path / "resume",
            on_evaluation=fail_at_1600,
        )
    # the first attempt's row (step 800, before the checkpoint) is on disk, in SB3's CSV form
    logged = read_progress(tmp_path / "diagnostics")["time/total_timesteps"]
    assert list(logged[~np.isnan(logged)]) == [800]


def test_a_killed_benchmark_run_resumes(tmp_path, capsys):
    data = yaml.safe_load(TINY.read_text())
    data["algos"] = {"td3": {}}
    data["seeds"] = [0]
    data["envs"]["Pendulum-v1"].update(n_timesteps=4000, eval_freq=500)
    suite = tmp_path / "suite.yml"
    suite.write_text(yaml.safe_dump(data))
    results = tmp_path / "results"
    folder = results / "tiny" / "Pendulum-v1" / "td3"
    command = [sys.executable, "-m", "sb3_ddpg_ext", "bench", "--suite", str(suite), "--results", str(results)]
    process = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while (checkpoint_step(folder / "seed_0.resume") or 0) < 1000 and process.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint at step 1000 within 300 s"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = checkpoint_step(folder / "seed_0.resume")
    assert killed_at is not None and 1000 <= killed_at < 4000, "the run finished before it could be killed"
    assert not (folder / "seed_0.done.json").exists()
    before = pd.read_csv(folder / "seed_0.csv")

    assert main(["bench", "--suite", str(suite), "--results", str(results), "--reps", "50"]) == 0
    assert f"(resuming from step {killed_at})" in capsys.readouterr().out
    marker = json.loads((folder / "seed_0.done.json").read_text())
    assert marker["resumed_from"] == [killed_at]
    after = pd.read_csv(folder / "seed_0.csv")
    assert list(after["step"]) == list(range(0, 4001, 500))
    kept = before[before["step"] <= killed_at]
    pd.testing.assert_frame_equal(after.iloc[: len(kept)], kept)
    assert not (folder / "seed_0.resume").exists()
    table = (results / "tiny" / "RESULTS_TABLE.md").read_text()
    assert "1/1 runs complete" in table and "resumed from a checkpoint after a kill" in table and "td3 seed 0" in table
