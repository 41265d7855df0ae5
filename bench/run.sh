#!/usr/bin/env bash
# Magpie's benchmarks. Usage: bench/run.sh [all|core|ui|collections|training] [--quick]
# Builds a Release tree in build-release/ and prints one JSON line per
# measurement plus a summary with medians. Needs ../shared/data (the
# development data) for the import figures.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
quick=0; [[ " $* " == *" --quick "* ]] && quick=1
data=${MAGPIE_DEV_DATA:-$here/../shared/data}
build=$here/build-release
work=${MAGPIE_BENCH_DIR:-/tmp/magpie-bench}
mkdir -p "$work"
runs=5; [[ $quick == 1 ]] && runs=3

torch=ON; gui=ON
[[ $what == core || $what == collections ]] && torch=OFF
[[ $what == core || $what == collections || $what == training ]] && gui=OFF
cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DMAGPIE_WITH_TORCH=$torch -DMAGPIE_BUILD_GUI=$gui >/dev/null
cmake --build "$build" >/dev/null
cli=$build/app/magpie-cli
benchlib=$build/bench/core/magpie-bench-library
results=$work/results.jsonl
: > "$results"
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
jget() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

bench_import() {
  local name=$1 folder=$2 n=$3
  local rates=()
  for i in $(seq "$n"); do
    rm -rf "$work/imp.magpie"*
    "$cli" init "$work/imp.magpie" >/dev/null
    local r; r=$("$cli" -L "$work/imp.magpie" --json --quiet import "$folder" | jget "d['imports'][0]['images_per_second']")
    rates+=("$r"); echo "{\"bench\":\"import-$name\",\"run\":$i,\"images_per_second\":$r}" | tee -a "$results"
  done
  echo "import $name: median $(printf '%s\n' "${rates[@]}" | median) images/s over $n runs (goal >= 300)"
}

if [[ $what == core || $what == all ]]; then
  if [[ -d $data/initials ]]; then
    bench_import initials-2000 "$data/initials" "$runs"
    tree=$work/tree100k
    if [[ ! -f $tree/.done ]]; then
      echo "making a 100,000-file tree of symbolic links to the dev images in $tree ..."
      rm -rf "$tree"; mkdir -p "$tree"
      python3 - "$data" "$tree" <<'PY'
import os, sys
data, tree = sys.argv[1], sys.argv[2]
files = [os.path.join(data, d, f) for d in ("initials", "themes") for f in sorted(os.listdir(os.path.join(data, d))) if f.endswith((".jpg", ".png"))]
for i in range(100000):
    d = os.path.join(tree, "vol%03d" % (i // 1000), "part%d" % (i % 1000 // 100))
    os.makedirs(d, exist_ok=True)
    src = files[i % len(files)]
    os.symlink(src, os.path.join(d, "f%06d%s" % (i, os.path.splitext(src)[1])))
PY
      touch "$tree/.done"
    fi
    bench_import tree-100k "$tree" $([[ $quick == 1 ]] && echo 1 || echo 3)
  else
    echo "no development data at $data: import benchmarks skipped"
  fi

  ms=(); for i in $(seq "$runs"); do
    line=$("$benchlib" open-count 1000000 "$work/million.magpie"); echo "$line" | tee -a "$results"
    ms+=("$(echo "$line" | jget "d['open_and_count_ms']")"); rss=$(echo "$line" | jget "d['max_rss_kb']")
  done
  echo "open + count per category, 1,000,000 images: median $(printf '%s\n' "${ms[@]}" | median) ms (goal <= 1000), peak RSS ${rss} KiB"

  cps=(); for i in $(seq "$runs"); do
    line=$("$benchlib" commits 5000 "$work/commits.magpie"); echo "$line" | tee -a "$results"
    cps+=("$(echo "$line" | jget "d['per_second']")")
  done
  echo "single-answer commits (WAL, synchronous=NORMAL): median $(printf '%s\n' "${cps[@]}" | median) /s (goal >= 2000)"

  # SIGKILL at 20 random moments during an import and during a stream of answers
  if [[ -d $data/initials ]]; then
    rm -rf "$work/kill.magpie"*; "$cli" init "$work/kill.magpie" >/dev/null
    ok=0
    for i in $(seq 20); do
      "$cli" -L "$work/kill.magpie" --quiet import "$data/initials" >/dev/null 2>&1 &
      pid=$!; sleep "$(python3 -c "import random; print(random.uniform(0.05, 1.5))")"; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
      "$cli" -L "$work/kill.magpie" --json info >/dev/null && ok=$((ok+1))
    done
    "$cli" -L "$work/kill.magpie" --quiet import "$data/initials" >/dev/null
    n=$("$cli" -L "$work/kill.magpie" --json info | jget "d['images']")
    dup=$(sqlite3 "$work/kill.magpie" "select count(*) from (select root_id, rel_path from images group by 1,2 having count(*)>1)" 2>/dev/null || echo "?")
    echo "{\"bench\":\"kill-import\",\"kills\":20,\"reopened_ok\":$ok,\"images_after_resume\":$n,\"duplicate_rows\":\"$dup\"}" | tee -a "$results"
    echo "SIGKILL x20 during import: library reopened $ok/20 times; after resuming: $n images (expected 2000), duplicate rows: $dup"
  fi
  rm -rf "$work/stream.magpie"*; lost=0; shown=0; reopened=0
  for i in $(seq 20); do
    "$benchlib" answer-stream "$work/stream.magpie" > "$work/ids.txt" 2>/dev/null &
    pid=$!; sleep "$(python3 -c "import random; print(random.uniform(0.1, 1.0))")"; kill -9 $pid 2>/dev/null || true; wait $pid 2>/dev/null || true
    if line=$("$benchlib" verify "$work/stream.magpie" "$work/ids.txt"); then reopened=$((reopened+1)); fi
    echo "$line" >> "$results"
    lost=$((lost + $(echo "$line" | jget "d['lost']"))); shown=$((shown + $(echo "$line" | jget "d['shown_done']")))
  done
  echo "SIGKILL x20 during a stream of answers: $shown answers shown as done, $lost lost, library reopened $reopened/20"
fi

if [[ ($what == ui || $what == all) && -x $build/app/magpie && -d $data/initials ]]; then
  # keypress to next image fully painted, 2,000 scripted answers at 10/s on the 2,000 dev initials
  n=2000; [[ $quick == 1 ]] && n=600
  rm -rf "$work/swipe.magpie"*
  "$cli" init "$work/swipe.magpie" >/dev/null
  "$cli" -L "$work/swipe.magpie" --quiet import "$data/initials" >/dev/null
  "$cli" -L "$work/swipe.magpie" category create "very sad girls" >/dev/null
  p99s=(); maxs=()
  for i in $(seq $([[ $quick == 1 ]] && echo 1 || echo 3)); do
    sqlite3 "$work/swipe.magpie" "delete from answers" 2>/dev/null || true
    line=$(QT_QPA_PLATFORM=offscreen MAGPIE_BACKBONE=/nonexistent "$build/app/magpie" "$work/swipe.magpie" \
           --category "very sad girls" --bench-swipe $n --rate 10 2>/dev/null | grep '"bench":"swipe"')
    echo "$line" | tee -a "$results"
    p99s+=("$(echo "$line" | jget "d['p99_ms']")"); maxs+=("$(echo "$line" | jget "d['max_ms']")")
  done
  echo "swipe, keypress to painted, $n answers at 10/s: median p99 $(printf '%s\n' "${p99s[@]}" | median) ms (goal <= 16), median max $(printf '%s\n' "${maxs[@]}" | median) ms (goal <= 50)"
fi

for extra in "$here"/bench/*/run-part.sh; do
  [[ -f $extra ]] || continue
  part=$(basename "$(dirname "$extra")")
  if [[ $what == all || $what == "$part" ]]; then
    MAGPIE_BUILD=$build MAGPIE_DEV_DATA=$data MAGPIE_BENCH_DIR=$work bash "$extra"
  fi
done
echo "all measurements: $results"
