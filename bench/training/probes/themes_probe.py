#!/usr/bin/env python3
"""Themes precision@100 on frozen features, outside Magpie (numpy + scikit-learn):
the curator's protocol (20 random yes + 20 random no seeds, logistic head,
first 100 proposals) over seeds 1-10, in one round and answered as they come
(10 rounds of 10 with a retrain in between).

  themes_probe.py LABELS.csv LIB EMBEDDING_NAME   # a Magpie library's embedding cache
  themes_probe.py LABELS.csv FEATURES.bin          # graphfeatures.js output (+ .json)
"""
import csv, json, os, random, sys
import numpy as np
from sklearn.linear_model import LogisticRegression

def from_library(lib, name):
    d = os.path.join(lib + '-cache', name)
    raw = open(d + '.f16', 'rb').read()
    dim = int(np.frombuffer(raw[8:12], np.int32)[0])
    ids = np.fromfile(d + '.ids', np.int64)
    X = np.frombuffer(raw[16:16 + len(ids) * dim * 2], np.float16).reshape(len(ids), dim).astype(np.float32)
    import sqlite3
    names = {i: os.path.basename(p) for i, p in sqlite3.connect(lib).execute('select id, rel_path from images')}
    return X, [names[i] for i in ids]

def from_bin(path):
    meta = json.load(open(path + '.json'))
    files = [os.path.basename(f) for f in meta['files']]
    return np.fromfile(path, np.float32).reshape(len(files), meta['dim']), files

def precision(X, files, rows, theme, seed, rounds, C=0.1):
    idx = {f: i for i, f in enumerate(files)}
    y = np.array([{r['file']: r[theme] == '1' for r in rows}[f] for f in files]).astype(int)
    Z = (X - X.mean(0)) / (X.std(0) + 1e-6)
    rng = random.Random(seed)
    pos = [r['file'] for r in rows if r[theme] == '1']
    neg = [r['file'] for r in rows if r[theme] == '0']
    seen = [idx[f] for f in rng.sample(pos, 20) + rng.sample(neg, 20)]
    hits = 0
    for _ in range(rounds):
        m = LogisticRegression(C=C, max_iter=2000, class_weight='balanced').fit(Z[seen], y[seen])
        s = m.decision_function(Z)
        s[seen] = -np.inf
        top = list(np.argsort(-s)[:100 // rounds])
        hits += int(y[top].sum())
        seen += top
    return hits / (100 // rounds * rounds)

if __name__ == '__main__':
    rows = list(csv.DictReader(open(sys.argv[1])))
    X, files = from_library(sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else from_bin(sys.argv[2])
    for rounds in (1, 10):
        res = {t: np.mean([precision(X, files, rows, t, s, rounds) for s in range(1, 11)]) for t in ('portrait', 'animal', 'food')}
        print('rounds %d: ' % rounds + '  '.join('%s %.3f' % kv for kv in res.items()), flush=True)
