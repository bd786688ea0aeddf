# Every target installs what it needs into .venv first; torch is pinned to the CPU build by constraints.txt.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
PIP_INSTALL := $(PY) -m pip install -q -c constraints.txt
ENV ?= Pendulum-v1
STEPS ?= 20000

.PHONY: setup demo train test test-slow test-all test-sb3 lint type bench speed tune docs release-check clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PIP_INSTALL) -e ".[all]"
	touch $@

# Train DDPG on Pendulum-v1, print its evaluation return and where the learning-curve plot is.
demo train: setup
	$(VENV)/bin/sb3-ddpg train --env $(ENV) --n-timesteps $(STEPS) --seed 0 --hyperparams hyperparams/ddpg.yml --run-dir runs/demo-$(ENV)

# Fast tests (the README's test command; CI runs it too).
test: setup
	$(PY) -m pytest

# Learning and benchmark tests, marked slow.
test-slow: setup
	$(PY) -m pytest -m slow

test-all: test test-slow

# SB3's own test files for the installed SB3 (from its sdist on PyPI, cached in .cache/sb3-tests/<version>/: the first
# run downloads them) with this package's DDPG in the place of SB3's DDPG, and of TD3 where SB3 tests with TD3 only
# what DDPG shares; expected failures in tests/sb3_oracle/expectations.py. Not part of `make test`.
test-sb3: setup
	dir=$$($(PY) -m tests.sb3_oracle.fetch) && \
	$(PY) -m pytest -c tests/sb3_oracle/pytest.ini --rootdir="$$dir" -p tests.sb3_oracle.plugin "$$dir"

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

type: setup
	$(PY) -m mypy

speed: setup
	$(VENV)/bin/sb3-ddpg speed --env $(ENV)

# The documentation site (docs/_build/html/index.html, opens offline): warnings are errors, cross references are
# checked (-n), the tutorial notebook is executed (SB3_DDPG_TUTORIAL_STEPS=N sets its budget per algorithm, default
# 12000), then every local link of the built pages is checked (docs/check_links.py).
docs: setup
	rm -rf docs/_build
	$(PY) -m sphinx -W --keep-going -n -q -b html docs docs/_build/html
	$(PY) docs/check_links.py docs/_build/html
	@echo "Site: docs/_build/html/index.html"

# The release: sdist and wheel (python -m build), twine check, then a fresh venv installs the wheel (with -c
# constraints.txt) and runs sb3-ddpg train and the tutorial notebook at a small budget (tests/release_check.sh).
release-check: setup
	PYTHON=$(PY) bash tests/release_check.sh

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache .mypy_cache docs/_build
