#!/usr/bin/env bash
# Runs the exploration comparison: 4 noise configurations x 3 seeds on MountainCarContinuous-v0, 30k steps each.
# Resumable: a run whose summary.json exists is skipped. Then writes the table and plot (report.py).
# Usage: bash benchmarks/exploration/run.sh   (from the repository root, after `make setup`)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=benchmarks/results/exploration
for seed in 0 1 2; do
  for name in gaussian ou ou_decay param; do
    dir=$out/$name/seed$seed
    [ -f "$dir/summary.json" ] && continue
    .venv/bin/sb3-ddpg train --env MountainCarContinuous-v0 --hyperparams benchmarks/exploration/$name.yml \
      --seed "$seed" --eval-freq 5000 --n-eval-episodes 5 --run-dir "$dir" --no-progress-bar
  done
done
.venv/bin/python benchmarks/exploration/report.py "$out"
