#!/usr/bin/env bash
# Tuned DDPG (a study's best.yml) vs SB3's default DDPG hyperparameters, same seeds and budget, all runs in parallel.
# Our DDPG with default arguments learns exactly what stable_baselines3.DDPG learns (tests/test_fast_path.py),
# so "default" runs `sb3-ddpg train` without --hyperparams.
# Usage: tuning/compare.sh ENV_ID BEST_YML N_TIMESTEPS OUT_DIR [SEEDS...]
set -euo pipefail
env_id=$1 best=$2 steps=$3 out=$4
shift 4
seeds=${*:-0 1 2 3 4}
cmd=${SB3_DDPG:-sb3-ddpg}
extra=${TRAIN_ARGS:-}  # e.g. "--device cpu"
for seed in $seeds; do
  $cmd train --env "$env_id" --hyperparams "$best" --n-timesteps "$steps" --seed "$seed" --eval-freq 2000 \
    --n-eval-episodes 5 --run-dir "$out/tuned/seed$seed" --no-progress-bar $extra > /dev/null &
  $cmd train --env "$env_id" --n-timesteps "$steps" --seed "$seed" --eval-freq 2000 \
    --n-eval-episodes 5 --run-dir "$out/sb3_default/seed$seed" --no-progress-bar $extra > /dev/null &
done
wait
