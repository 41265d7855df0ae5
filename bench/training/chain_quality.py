#!/usr/bin/env python3
"""How alike the steps of `magpie-cli chain` are, over random pairs of images.

Usage: chain_quality.py MAGPIE_CLI LIBRARY [PAIRS] [STEPS]
LIBRARY must be embedded (magpie-cli embed). Picks PAIRS (default 30) random
pairs of image ids (seed 5), asks for a chain of STEPS (default 8) images
between each, and prints the weakest step's cosine (median and mean), the
share of chains with a step below 0.5, and the mean step.
"""
import json
import random
import statistics as st
import subprocess
import sys

if len(sys.argv) < 3:
    sys.exit(__doc__)
cli, lib = sys.argv[1], sys.argv[2]
npairs = int(sys.argv[3]) if len(sys.argv) > 3 else 30
steps = sys.argv[4] if len(sys.argv) > 4 else "8"
info = json.loads(subprocess.run([cli, "--library", lib, "--json", "info"], capture_output=True, text=True, check=True).stdout)
count = info.get("images", {}).get("ok") if isinstance(info.get("images"), dict) else info.get("images")
random.seed(5)
pairs = [random.sample(range(1, int(count) + 1), 2) for _ in range(npairs)]
mins, means = [], []
for a, b in pairs:
    o = subprocess.run([cli, "--library", lib, "--json", "chain", str(a), str(b), "-n", steps], capture_output=True, text=True)
    if o.returncode:
        continue
    c = [x["cosine_to_previous"] for x in json.loads(o.stdout)["chain"][1:]]
    mins.append(min(c))
    means.append(sum(c) / len(c))
print(f"pairs {len(mins)}  weakest step: median {st.median(mins):.3f} mean {st.mean(mins):.3f}  "
      f"share below 0.5 {sum(m < 0.5 for m in mins) / len(mins):.2f}  mean step {st.mean(means):.3f}")
