#!/usr/bin/env bash
# The speed measurements of benchmarks/PROFILE.md: `sb3-ddpg speed` on each task and network size, at torch's default
# thread count and at 1 thread, each run alternating this DDPG's fast and exact modes, SBX's DDPG (JAX) and SB3's
# DDPG. Nothing else may run on the machine meanwhile. Writes one text file per measurement into OUT (default
# benchmarks/results/speed/<date>), with the versions and the CPU at the top of each; a file already there is kept.
# `family` instead times the SB3 family's rows of the small-budget suites (TQC, CrossQ, SAC, TD3 and this DDPG, each
# at its suite's settings: `sb3-ddpg speed --suite`), what those comparisons cost.
# Usage: bash benchmarks/speed_grid.sh [ddpg|family] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
grid=${1:-ddpg}
out=${2:-benchmarks/results/speed/$(date +%F)}
mkdir -p "$out"
sb3=${SB3_DDPG:-.venv/bin/sb3-ddpg}
py=${PYTHON:-.venv/bin/python}
header() {
  echo "# command: $*"
  echo "# date: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
    "avx512_bf16: $(grep -qw avx512_bf16 /proc/cpuinfo && echo yes || echo no), amx_bf16: $(grep -qw amx_bf16 /proc/cpuinfo && echo yes || echo no)"
  "$py" -c "import torch, stable_baselines3, sb3_contrib, sbx, jax, gymnasium; from sb3_ddpg_ext.ddpg.fast import cpu_products_round; print(f'# torch {torch.__version__}, SB3 {stable_baselines3.__version__}, sb3-contrib {sb3_contrib.__version__}, SBX {sbx.__version__}, jax {jax.__version__}, gymnasium {gymnasium.__version__}; oneDNN rounds float32 products to bfloat16: {cpu_products_round()}')"
}
run() {  # name, then the speed arguments
  local name=$1; shift
  local file="$out/$name.txt"
  [ -s "$file" ] && { echo "kept $file"; return; }
  { header sb3-ddpg speed "$@"; "$sb3" speed "$@"; } > "$file.tmp" 2>&1 && mv "$file.tmp" "$file"
  echo "wrote $file"
}
if [ "$grid" = family ]; then
  family=tqc,crossq,sac,td3,ddpg_ext
  for suite in pendulum lunarlander; do
    run "family_${suite}_default-threads" --suite "benchmarks/suites/$suite.yml" --algos $family --steps 500 --rounds 3
    run "family_${suite}_1-thread" --suite "benchmarks/suites/$suite.yml" --algos $family --steps 500 --rounds 3 --threads 1
  done
  exit 0
fi
[ "$grid" = ddpg ] || { echo "speed_grid.sh: unknown grid '$grid'; give ddpg or family" >&2; exit 2; }
algos=fast,exact,sbx_ddpg,sb3_ddpg
run pendulum_400-300_default-threads --env Pendulum-v1 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3
run pendulum_400-300_1-thread --env Pendulum-v1 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3 --threads 1
run halfcheetah_400-300_default-threads --env HalfCheetah-v5 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3
run halfcheetah_400-300_1-thread --env HalfCheetah-v5 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3 --threads 1
run pendulum_256-256_default-threads --env Pendulum-v1 --net-arch 256,256 --algos $algos --steps 1000 --rounds 3
run pendulum_64-64_default-threads --env Pendulum-v1 --net-arch 64,64 --algos $algos --steps 1000 --rounds 3
run pendulum_64-64_1-thread --env Pendulum-v1 --net-arch 64,64 --algos $algos --steps 1000 --rounds 3 --threads 1
