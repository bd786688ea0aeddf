#!/usr/bin/env bash
# The speed measurements of benchmarks/PROFILE.md: `sb3-ddpg speed` on each task and network size, at torch's default
# thread count and at 1 thread, each run alternating this DDPG's fast and exact modes, SBX's DDPG (JAX) and SB3's
# DDPG. Nothing else may run on the machine meanwhile. Writes one text file per measurement into OUT (default
# benchmarks/results/speed/<date>), with the versions and the CPU at the top of each.
# Usage: bash benchmarks/speed_grid.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results/speed/$(date +%F)}
mkdir -p "$out"
sb3=${SB3_DDPG:-.venv/bin/sb3-ddpg}
py=${PYTHON:-.venv/bin/python}
header() {
  echo "# command: $*"
  echo "# date: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores;" \
    "avx512_bf16: $(grep -qw avx512_bf16 /proc/cpuinfo && echo yes || echo no), amx_bf16: $(grep -qw amx_bf16 /proc/cpuinfo && echo yes || echo no)"
  "$py" -c "import torch, stable_baselines3, sbx, jax, gymnasium; from sb3_ddpg_ext.ddpg.fast import cpu_products_round; print(f'# torch {torch.__version__}, SB3 {stable_baselines3.__version__}, SBX {sbx.__version__}, jax {jax.__version__}, gymnasium {gymnasium.__version__}; oneDNN rounds float32 products to bfloat16: {cpu_products_round()}')"
}
run() {  # name, then the speed arguments
  local name=$1; shift
  local file="$out/$name.txt"
  [ -s "$file" ] && { echo "kept $file"; return; }
  { header sb3-ddpg speed "$@"; "$sb3" speed "$@"; } > "$file.tmp" 2>&1 && mv "$file.tmp" "$file"
  echo "wrote $file"
}
algos=fast,exact,sbx_ddpg,sb3_ddpg
run pendulum_400-300_default-threads --env Pendulum-v1 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3
run pendulum_400-300_1-thread --env Pendulum-v1 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3 --threads 1
run halfcheetah_400-300_default-threads --env HalfCheetah-v5 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3
run halfcheetah_400-300_1-thread --env HalfCheetah-v5 --net-arch 400,300 --algos $algos --steps 1000 --rounds 3 --threads 1
run pendulum_256-256_default-threads --env Pendulum-v1 --net-arch 256,256 --algos $algos --steps 1000 --rounds 3
run pendulum_64-64_default-threads --env Pendulum-v1 --net-arch 64,64 --algos $algos --steps 1000 --rounds 3
run pendulum_64-64_1-thread --env Pendulum-v1 --net-arch 64,64 --algos $algos --steps 1000 --rounds 3 --threads 1
