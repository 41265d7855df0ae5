#!/usr/bin/env python3
"""How well `magpie-cli map` keeps kinds of picture together.

Usage: map_quality.py MAGPIE_CLI LIBRARY LABELS.csv [COLUMN] [RUNS]
Makes the map RUNS times (default 3; --positions), then prints, for the
images named in LABELS.csv (its `file` column matched to the file name), the
share of each image's 10 nearest map neighbours whose COLUMN (default
`group`) is the same as its own, and the median time. On ../shared/data/themes
(embedded): 0.72 with t-SNE (0.73 before alike pictures were parted, session
13); the principal plane kept 0.42 (scikit-learn on the same embeddings), the
full embedding space 0.71.
"""
import csv
import json
import os
import statistics as st
import subprocess
import sys
import tempfile

if len(sys.argv) < 4:
    sys.exit(__doc__)
cli, lib, labels = sys.argv[1:4]
column = sys.argv[4] if len(sys.argv) > 4 else "group"
runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
truth = {r["file"]: r[column] for r in csv.DictReader(open(labels))}
times = []
with tempfile.TemporaryDirectory() as tmp:
    for _ in range(runs):
        out = subprocess.run([cli, "--library", lib, "--json", "map", "--out", os.path.join(tmp, "map.png"), "--size", "256",
                              "--thumb", "8", "--positions", os.path.join(tmp, "pos.csv")],
                             capture_output=True, text=True, check=True)
        report = json.loads(out.stdout)
        times.append(report["seconds"])
    pts = [(float(r["x"]), float(r["y"]), truth.get(os.path.basename(r["path"])))
           for r in csv.DictReader(open(os.path.join(tmp, "pos.csv")))]
pts = [p for p in pts if p[2] is not None]
same = 0
for i, (x, y, g) in enumerate(pts):
    near = sorted(((x - a) ** 2 + (y - b) ** 2, h) for j, (a, b, h) in enumerate(pts) if j != i)[:10]
    same += sum(h == g for _, h in near)
print(json.dumps({"bench": "map_quality", "images": len(pts), "method": report.get("method"),
                  "knn10_same_" + column: round(same / (10 * len(pts)), 3), "median_seconds": st.median(times),
                  "runs": runs}))
