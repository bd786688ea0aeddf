"""
Every script in examples/ runs, as a user runs it (``python examples/NAME.py`` in a fresh folder), on real
environments at a small budget (``SB3_DDPG_EXAMPLE_STEPS``); the PostgreSQL study runs against a server of its own.
"""

import os
import pathlib
import subprocess
import sys

import pytest
import yaml
from test_tuning import postgres_url  # noqa: F401  (the PostgreSQL server fixture)

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
STEPS = os.environ.get("SB3_DDPG_EXAMPLE_STEPS", "300")

# Script -> a line its output must contain (each checks its own result with assert statements too)
EXPECTED = {
    "dropin_sb3.py": "DDPGPolicy after",
    "ou_noise_mountaincar.py": "noise scale at the end: 0.10, sigma 0.05",
    "parameter_noise.py": "parameter noise stddev after",
    "her_bit_flipping.py": "mean episode return",
    "resume_training.py": f"{int(STEPS)} steps in all, replay buffer {int(STEPS)}",
    "load_sb3_file.py": "sb3_ddpg_ext.ddpg.policies DDPGPolicy",
    "custom_features_extractor.py": "actor and critic share the extractor: False",
}


def run_example(name: str, folder: pathlib.Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SB3_DDPG_EXAMPLE_STEPS": STEPS, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args], cwd=folder, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_example_is_tested():
    assert sorted(path.name for path in EXAMPLES.glob("*.py")) == sorted([*EXPECTED, "postgres_study.py"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name, tmp_path):
    assert EXPECTED[name] in run_example(name, tmp_path)


@pytest.mark.postgres
def test_postgres_study_example(tmp_path, postgres_url):  # noqa: F811
    run_example("postgres_study.py", tmp_path, postgres_url, "--workers", "2", "--n-trials", "3", "--n-timesteps", "400")
    best = yaml.safe_load((tmp_path / "best.yml").read_text())
    assert list(best) == ["Pendulum-v1"] and "learning_rate" in str(best)  # the best trial as hyperparameters
