#!/usr/bin/env bash
# The release check (make release-check): build the sdist and the wheel, check them with twine, install the wheel into
# a fresh venv (with constraints.txt: the CPU build of PyTorch), then, from a folder outside the checkout so that the
# installed package is what runs, train with `sb3-ddpg train` and execute the tutorial notebook at small budgets.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/sb3-ddpg-release.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
started=$SECONDS

rm -rf dist
"$PYTHON" -m build --outdir dist . >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
"$PYTHON" -m twine check --strict dist/*
wheel=$(ls dist/*.whl)
version=$(cat sb3_ddpg_ext/version.txt)
case "$wheel" in *"-$version-"*) ;; *) echo "wheel $wheel does not carry version $version"; exit 1 ;; esac
grep -q "^## Release $version" CHANGELOG.md || { echo "CHANGELOG.md has no '## Release $version' section"; exit 1; }
echo "built $(ls dist | tr '\n' ' ')($((SECONDS - started)) s)"

# A fresh venv from the base interpreter (not the development venv), the wheel with the extras the tutorial needs
base=$("$PYTHON" -c "import sys; print(sys._base_executable)")
"$base" -m venv "$WORK/venv"
"$WORK/venv/bin/python" -m pip install -q -c constraints.txt "$wheel[extra,docs]"
echo "installed into a fresh venv ($((SECONDS - started)) s)"

cd "$WORK"
installed=$("$WORK/venv/bin/python" -c "import sb3_ddpg_ext; print(sb3_ddpg_ext.__file__)")
case "$installed" in "$WORK"/venv/*) ;; *) echo "sb3_ddpg_ext imported from $installed, not from the venv"; exit 1 ;; esac
"$WORK/venv/bin/sb3-ddpg" train --env Pendulum-v1 --n-timesteps 1000 --eval-freq 500 --n-eval-episodes 2 \
    --params learning_starts=100 'policy_kwargs={net_arch: [32, 32]}' --run-dir "$WORK/run" --no-progress-bar
"$WORK/venv/bin/sb3-ddpg" report "$WORK/run"
echo "trained with the installed sb3-ddpg ($((SECONDS - started)) s)"

SB3_DDPG_TUTORIAL_STEPS=${SB3_DDPG_TUTORIAL_STEPS:-1500} "$WORK/venv/bin/python" - "$REPO/docs/tutorials/ddpg_explained.ipynb" <<'PY'
import pathlib
import sys

import nbclient
import nbformat

path = pathlib.Path(sys.argv[1])
notebook = nbformat.read(path, as_version=4)
# The kernel runs in the notebook's folder, as in Jupyter; sb3_ddpg_ext comes from the venv (no checkout on sys.path)
nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
assert not errors, errors
print(f"tutorial: {len(notebook.cells)} cells executed")
PY
echo "release check passed ($((SECONDS - started)) s)"
