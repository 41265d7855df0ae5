#!/usr/bin/env bash
# Collection layout and print export figures (issue 5). Called by bench/run.sh
# with MAGPIE_BUILD, MAGPIE_DEV_DATA and MAGPIE_BENCH_DIR set; or by hand:
#   MAGPIE_BUILD=build-collections bash bench/collections/run-part.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${MAGPIE_BUILD:-$here/build-release}
data=${MAGPIE_DEV_DATA:-$here/../shared/data}
work=${MAGPIE_BENCH_DIR:-/tmp/magpie-bench}
runs=${MAGPIE_BENCH_RUNS:-5}
bench=$build/bench/collections/magpie-bench-collections
themes=$data/themes
results=$work/collections.jsonl
mkdir -p "$work"; : > "$results"
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }

if [[ ! -d $themes ]]; then echo "no $themes: collection benchmarks skipped"; exit 0; fi
for spec in "16 auto" "64 auto" "1024 auto" "1024 approx"; do
  set -- $spec
  "$bench" layout "$themes" "$1" "$runs" "$2" 2>/dev/null | tee -a "$results" | grep layout-summary | python3 -c '
import json,sys
d=json.loads(sys.stdin.read())
print("layout %4d themes images (colour/tone features): median %.4f s over %d runs, %s; neighbour distance %.3f vs %.3f random (ratio %.3f); features %.2f s" % (d["n"], d["median_seconds"], d["runs"], d["method"], d["neighbour_distance"], d["random_distance"], d["quality_ratio"], d["feature_seconds"]))'
done
"$bench" layout-synthetic 10000 3 approx 32 2>/dev/null | tee -a "$results" | grep layout-summary | python3 -c '
import json,sys
d=json.loads(sys.stdin.read())
print("layout %d items, %s: median %.3f s, %s; ratio %.3f" % (d["n"], d["data"], d["median_seconds"], d["method"], d["quality_ratio"]))'
"$bench" layout-synthetic 1024 3 auto 1280 2>/dev/null | tee -a "$results" | grep layout-summary | python3 -c '
import json,sys
d=json.loads(sys.stdin.read())
print("layout %d items, %s: median %.3f s, %s; ratio %.3f" % (d["n"], d["data"], d["median_seconds"], d["method"], d["quality_ratio"]))'
"$bench" layout-synthetic 10000 1 approx 1280 2>/dev/null | tee -a "$results" | grep layout-summary | python3 -c '
import json,sys
d=json.loads(sys.stdin.read())
print("layout %d items, %s: median %.3f s, %s; ratio %.3f" % (d["n"], d["data"], d["median_seconds"], d["method"], d["quality_ratio"]))'

for fmt in png pdf tiff; do
  secs=(); rss=(); ws=()
  for i in $(seq "$runs"); do
    rm -rf "$work/prints"
    line=$("$bench" export "$themes" 64 "$fmt" A2 300 "$work/prints" 2>/dev/null); echo "$line" >> "$results"
    secs+=("$(field "$line" export_seconds)"); rss+=("$(field "$line" max_rss_kb)"); ws+=("$(field "$line" write_seconds)")
  done
  echo "export 64 images, A2 at 300 dpi, $fmt: median $(printf '%s\n' "${secs[@]}" | median) s over $runs runs (goal <= 5 s; of which writing the file $(printf '%s\n' "${ws[@]}" | median) s), peak RSS median $(printf '%s\n' "${rss[@]}" | median) KiB"
done

# Camera-size sources: the same 64 images upscaled to a 4000 px long side.
large=$work/large64
[[ -f $large/.done ]] || { "$bench" make-large "$themes" 64 4000 "$large" 2>/dev/null && touch "$large/.done"; }
for fmt in png pdf; do
  secs=(); rss=(); n=3
  for i in $(seq "$n"); do
    rm -rf "$work/prints"
    line=$("$bench" export "$large" 64 "$fmt" A2 300 "$work/prints" 2>/dev/null); echo "$line" >> "$results"
    secs+=("$(field "$line" export_seconds)"); rss+=("$(field "$line" max_rss_kb)"); bytes=$(field "$line" bytes)
  done
  echo "export 64 images of 4000 px, A2 at 300 dpi, $fmt: median $(printf '%s\n' "${secs[@]}" | median) s over $n runs, peak RSS median $(printf '%s\n' "${rss[@]}" | median) KiB, $bytes bytes"
done
echo "collection measurements: $results"
