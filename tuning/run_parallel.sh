#!/usr/bin/env bash
# Run a study with N worker processes on this machine, sharing the study's storage (by default the SQLite file
# beside the study YAML; pass --storage URL for PostgreSQL), then export the best trial, plots and trials CSV.
# Usage: tuning/run_parallel.sh STUDY_YML N_WORKERS OUT_DIR [more `sb3-ddpg tune` arguments]
# Set SB3_DDPG to the command to use (default: sb3-ddpg).
set -euo pipefail
study=$1 workers=$2 out=$3
shift 3
cmd=${SB3_DDPG:-sb3-ddpg}
# The first worker creates the study; the others join it, each with its own sampler seed
$cmd tune --study "$study" --sampler-seed 0 "$@" &
pids=($!)
sleep 15
for i in $(seq 1 $((workers - 1))); do
  $cmd tune --study "$study" --sampler-seed "$i" --quiet "$@" &
  pids+=($!)
done
wait "${pids[@]}" || true
mkdir -p "$out"
$cmd best --study "$study" --out "$out/best.yml" --plots-dir "$out"
