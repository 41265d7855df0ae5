#!/usr/bin/env bash
# The training engine's GPU figures (issue 3), on a machine with an NVIDIA GPU
# and an installed PyTorch, and nothing else (no Qt, OpenCV, npm or network).
# Builds the engine alone (-DMAGPIE_ENGINE_ONLY=ON: LibTorch + the standard
# library) against the LibTorch that comes with PyTorch, then:
#   1. checks that the GPU gives the CPU's features (same images, both devices;
#      TF32 convolutions as by default, and full float32);
#   2. embedding throughput on the GPU, uint8 images in host memory to float
#      features back in host memory, batches of 64 and 256 (goal >= 5,000 img/s);
#   3. a deep pass on 5,000 images x 5 epochs, 27 classes, blocks 9-10 as
#      `train --deep` does by default (goal <= 60 s), and once with blocks 7-10
#      as the letters backbone was made;
#   4. the fast retrain on 5,000 answers (CPU, as in the app).
# Usage, from the repository root: bash bench/gpu/run.sh [BUILD_DIR] [RUNS]
# Prints one JSON line per run and a summary with medians. MAGPIE_DEVICE=cpu
# runs everything on the CPU instead (the same build works on a CPU machine
# with Debian's libtorch-dev; then Torch is found without PyTorch).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$here/build-gpu}
runs=${2:-3}
images=${MAGPIE_BENCH_IMAGES:-5000}   # smaller for a smoke test on a CPU
epochs=${MAGPIE_BENCH_EPOCHS:-5}
py=$(command -v python3 || true)
prefix=
if [[ -n $py ]] && "$py" -c 'import torch' 2>/dev/null; then
  prefix=$("$py" -c 'import torch; print(torch.utils.cmake_prefix_path)')
  "$py" -c 'import torch; c = torch.cuda.is_available(); print("PyTorch", torch.__version__, "CUDA", torch.version.cuda, "GPU:", torch.cuda.get_device_name(0) if c else "none visible")'
else
  echo "no PyTorch for python3: looking for a system LibTorch (libtorch-dev)"
fi
command -v cmake >/dev/null || { echo "cmake is not installed on this machine: cannot build the engine" >&2; exit 1; }
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
cmake -S "$here" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DMAGPIE_ENGINE_ONLY=ON -DBUILD_TESTING=OFF \
  ${prefix:+-DCMAKE_PREFIX_PATH="$prefix"} >"$build.configure.log" 2>&1 || { tail -30 "$build.configure.log"; exit 1; }
cmake --build "$build" -j "$(nproc)" >"$build.build.log" 2>&1 || { tail -40 "$build.build.log"; exit 1; }
bench=$build/bench/training/bench_training
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }

tmp=$(mktemp -d)
"$bench" device --features-out "$tmp/dev.bin"
MAGPIE_DEVICE=cpu "$bench" device --features-out "$tmp/cpu.bin" >/dev/null
# cuDNN convolutions run in TF32 by default on Ampere and later;
# MAGPIE_GPU_TF32=0 asks for full float32, which should agree to ~1e-5.
MAGPIE_GPU_TF32=0 "$bench" device --features-out "$tmp/dev32.bin" >/dev/null
if [[ -n $py ]] && "$py" -c 'import numpy' 2>/dev/null; then
  "$py" - "$tmp/cpu.bin" "$tmp/dev.bin" "$tmp/dev32.bin" <<'PY'
import sys, numpy as np
cpu, tf32, fp32 = (np.fromfile(f, np.float32) for f in sys.argv[1:4])
for name, a in (("default (TF32 convolutions)", tf32), ("MAGPIE_GPU_TF32=0", fp32)):
    print('{"figure":"device_agreement","gpu":"%s","max_abs_diff":%.3g,"max_abs_feature":%.3g}' % (name, np.abs(a - cpu).max(), np.abs(cpu).max()))
PY
else
  cmp -s "$tmp/dev.bin" "$tmp/cpu.bin" && echo "features identical on both devices" || echo "features differ (no numpy here to say by how much)"
fi
rm -rf "$tmp"

for batch in 64 256; do
  rates=()
  for i in $(seq "$runs"); do
    line=$("$bench" embed --batch "$batch"); echo "$line"; rates+=("$(field "$line" images_per_second)")
  done
  echo "embedding, batch $batch, $(field "$line" device): median $(printf '%s\n' "${rates[@]}" | median) img/s over $runs runs (goal >= 5,000 on one H100)"
done
secs=()
for i in $(seq "$runs"); do
  line=$("$bench" deep --images "$images" --epochs "$epochs"); echo "$line"; secs+=("$(field "$line" seconds)")
done
echo "deep pass, $images images x $epochs epochs, blocks 9-10, $(field "$line" device): median $(printf '%s\n' "${secs[@]}" | median) s over $runs runs (goal <= 60 s on one H100)"
"$bench" deep --images "$images" --epochs "$epochs" --tune-from 7
"$bench" retrain
