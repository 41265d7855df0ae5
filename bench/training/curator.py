#!/usr/bin/env python3
"""Simulated curator: plays the person through magpie-cli only.

  curator.py letters --cli BUILD/app/magpie-cli --data ../shared/data/initials --work DIR
  curator.py themes  --cli BUILD/app/magpie-cli --data ../shared/data/themes  --work DIR
  (--backbone letters: the library embeds with the letters backbone; use its own --work)

letters: a class set A-Z + none on the initials archive. Fonts (the `source`
column) are split once (seeded): a third are held out and never answered; the
curator answers only images of the other sources. It starts from 5 answers per
class, then repeatedly asks `suggest` (queue mix, or random for the baseline),
answers from labels.csv (Yes for the true class), and retrains (`train --fast`).
At 5/10/20/... answers per class it runs `eval` on the held-out fonts.

themes: for each of portrait/animal/food, a binary theme seeded with 20 random
positives (and 20 random negatives), trained, then the first 100 `harvest`
proposals are checked against labels.csv: precision@100.

The library is imported and embedded once per --work folder (copied per run).
Prints one JSON line per measurement.
"""
import argparse, csv, json, os, random, shutil, subprocess, sys, time

def run(cli, lib, *args, check=True):
    cmd = [cli, '-L', lib, '--quiet', '--json'] + [str(a) for a in args]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit('failed: %s\n%s%s' % (' '.join(cmd), p.stdout, p.stderr))
    try:
        return json.loads(p.stdout) if p.stdout.strip() else {}
    except json.JSONDecodeError:
        return {'raw': p.stdout}

def base_library(cli, data, work, name, backbone='general'):
    os.makedirs(work, exist_ok=True)
    lib = os.path.join(work, name + '.library')
    if not os.path.exists(lib):
        subprocess.run([cli, 'init', lib], check=True, capture_output=True)
        run(cli, lib, 'import', data)
    run(cli, lib, 'backbone', backbone)
    t = time.time()
    e = run(cli, lib, 'embed')
    e['wall_seconds'] = time.time() - t
    print(json.dumps({'figure': 'embed_library', 'archive': name, **e}), flush=True)
    return lib

def copy_library(lib, dest):
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(lib + suffix):
            shutil.copy(lib + suffix, dest + suffix)
    if os.path.exists(dest + '-cache'):
        shutil.rmtree(dest + '-cache')
    os.makedirs(dest + '-cache')
    for f in os.listdir(lib + '-cache'):
        if f.startswith('embeddings-'):  # share the embedding cache, not the models
            os.symlink(os.path.join(lib + '-cache', f), os.path.join(dest + '-cache', f))
    return dest

def answer(cli, lib, cat, rows, path):
    with open(path, 'w', newline='') as f:
        w = csv.writer(f)
        w.writerow(['file', 'value', 'class'])
        for r in rows:
            w.writerow(r)
    run(cli, lib, 'answer', '-c', cat, '--csv', path)

def letters(a):
    rows = list(csv.DictReader(open(os.path.join(a.data, 'labels.csv'))))
    base = base_library(a.cli, a.data, a.work, 'initials', a.backbone)
    sources = sorted({r['source'] for r in rows})
    rng = random.Random(a.seed)
    fonts = sorted({r['source'] for r in rows if r['source'].startswith('font:')})
    others = [s for s in sources if not s.startswith('font:')]
    held = set(rng.sample(fonts, len(fonts) // 3)) | set(rng.sample(others, len(others) // 3))
    pool = [r for r in rows if r['source'] not in held]
    test = [r for r in rows if r['source'] in held]
    truth = os.path.join(a.work, 'letters-heldout.csv')
    with open(truth, 'w', newline='') as f:
        w = csv.writer(f); w.writerow(['file', 'label'])
        for r in test: w.writerow([r['file'], r['label']])
    label = {r['file']: r['label'] for r in rows}
    poolset = {r['file'] for r in pool}
    classes = sorted({r['label'] for r in rows})
    checkpoints = [int(k) for k in a.checkpoints.split(',')]
    for mode in a.modes.split(','):
        lib = copy_library(base, os.path.join(a.work, 'letters-%s.library' % mode))
        run(a.cli, lib, 'category', 'create', '--letters', '--backbone', a.backbone, 'letters')
        answered = set()
        per = {c: 0 for c in classes}
        seed_rows = []
        r2 = random.Random(a.seed + 1)
        for c in classes:
            cand = [r['file'] for r in pool if r['label'] == c]
            for f in r2.sample(cand, min(5, len(cand))):
                seed_rows.append([f, 'yes', c]); answered.add(f); per[c] += 1
        # 0 answers: a backbone with a prior head for these classes scores them before any answer.
        ev0 = run(a.cli, lib, 'eval', '-c', 'letters', '--truth', truth, check=False)
        if isinstance(ev0, dict) and ev0.get('accuracy') is not None:
            print(json.dumps({'figure': 'learning_curve', 'backbone': a.backbone, 'prior_weight': a.prior_weight, 'queue': mode,
                              'answers_per_class_target': 0, 'answers': 0, 'heldout_accuracy': ev0.get('accuracy'),
                              'heldout_images': ev0.get('evaluated'), 'model': 'the prior head alone'}), flush=True)
        answer(a.cli, lib, 'letters', seed_rows, os.path.join(a.work, 'ans.csv'))
        t0 = time.time()
        rounds = 0
        for k in checkpoints:
            target = k * len(classes)
            while len(answered) < target:
                run(a.cli, lib, 'train', '-c', 'letters', '--fast', '--no-validate', '--prior-weight', a.prior_weight)
                need = min(a.batch, target - len(answered))
                sug = run(a.cli, lib, 'suggest', '-c', 'letters', '--queue', mode, '-n', 400, '--seed', rounds)['suggestions']
                batch = []
                for s in sug:
                    f = os.path.basename(s['path'])
                    if f in poolset and f not in answered:
                        batch.append([f, 'yes', label[f]]); answered.add(f); per[label[f]] += 1
                    if len(batch) >= need: break
                if not batch: break
                answer(a.cli, lib, 'letters', batch, os.path.join(a.work, 'ans.csv'))
                rounds += 1
            tr = run(a.cli, lib, 'train', '-c', 'letters', '--fast', '--prior-weight', a.prior_weight)
            ev = run(a.cli, lib, 'eval', '-c', 'letters', '--truth', truth)
            print(json.dumps({'figure': 'learning_curve', 'backbone': a.backbone, 'prior_weight': a.prior_weight, 'queue': mode, 'answers_per_class_target': k,
                              'answers': len(answered), 'min_per_class': min(per.values()),
                              'heldout_accuracy': ev.get('accuracy'), 'heldout_images': ev.get('evaluated'),
                              'cv_accuracy': tr.get('metrics', {}).get('accuracy'),
                              'train_seconds': tr.get('train_seconds'), 'elapsed_seconds': round(time.time() - t0, 1)}), flush=True)

def themes(a):
    rows = list(csv.DictReader(open(os.path.join(a.data, 'labels.csv'))))
    base = base_library(a.cli, a.data, a.work, 'themes', a.backbone)
    for theme in a.themes.split(','):
        lib = copy_library(base, os.path.join(a.work, 'themes-%s.library' % theme))
        run(a.cli, lib, 'category', 'create', theme)
        rng = random.Random(a.seed)
        pos = [r['file'] for r in rows if r[theme] == '1']
        neg = [r['file'] for r in rows if r[theme] == '0']
        seeds = [[f, 'yes', ''] for f in rng.sample(pos, 20)] + [[f, 'no', ''] for f in rng.sample(neg, a.negatives)]
        answer(a.cli, lib, theme, seeds, os.path.join(a.work, 'ans.csv'))
        tr = run(a.cli, lib, 'train', '-c', theme, '--fast', '--unlabeled-weight', a.unlabeled_weight, '--l2', a.l2)
        if a.deep_epochs > 0:
            tr = run(a.cli, lib, 'train', '-c', theme, '--deep', '--epochs', a.deep_epochs, '--time-box', 600,
                     '--unlabeled-weight', a.unlabeled_weight, '--l2', a.l2)
        truth = {r['file']: r[theme] == '1' for r in rows}
        if a.rounds <= 1:
            sug = run(a.cli, lib, 'suggest', '-c', theme, '--queue', 'harvest', '-n', 100)['suggestions']
        else:  # the person answers each batch of proposals and the model is retrained in between
            sug = []
            for k in range(a.rounds):
                batch = run(a.cli, lib, 'suggest', '-c', theme, '--queue', 'harvest', '-n', 100 // a.rounds)['suggestions']
                sug += batch
                answer(a.cli, lib, theme, [[os.path.basename(s['path']), 'yes' if truth[os.path.basename(s['path'])] else 'no', '']
                                           for s in batch], os.path.join(a.work, 'ans.csv'))
                run(a.cli, lib, 'train', '-c', theme, '--fast', '--no-validate', '--unlabeled-weight', a.unlabeled_weight, '--l2', a.l2)
        hits = sum(truth[os.path.basename(s['path'])] for s in sug)
        print(json.dumps({'figure': 'themes_precision_at_100', 'theme': theme, 'positives_in_archive': len(pos),
                          'rounds': a.rounds, 'best_possible': min(len(sug), len(pos) - 20) / max(1, len(sug)),
                          'seed_positives': 20, 'seed_negatives': a.negatives, 'proposals': len(sug),
                          'backbone': a.backbone, 'deep_epochs': a.deep_epochs, 'unlabeled_weight': a.unlabeled_weight, 'l2': a.l2,
                          'seed': a.seed,
                          'precision': hits / max(1, len(sug)), 'cv_accuracy': tr.get('metrics', {}).get('accuracy')}), flush=True)

if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('task', choices=['letters', 'themes'])
    ap.add_argument('--cli', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--work', required=True)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--backbone', default='general', help='general | letters (magpie-cli backbone)')
    ap.add_argument('--modes', default='mix,random')
    ap.add_argument('--prior-weight', default='auto',
                    help="letters: weight of the backbone's prior head (train --prior-weight X|auto; 0: answers only)")
    ap.add_argument('--checkpoints', default='5,10,20,30')
    ap.add_argument('--batch', type=int, default=27)
    ap.add_argument('--themes', default='portrait,animal,food')
    ap.add_argument('--negatives', type=int, default=20)
    ap.add_argument('--rounds', type=int, default=1, help='themes: answer the 100 proposals in this many batches, retraining between')
    ap.add_argument('--unlabeled-weight', default='0', help="themes: train --unlabeled-weight (0: answers only)")
    ap.add_argument('--l2', default='0.01', help='themes: train --l2')
    ap.add_argument('--deep-epochs', type=int, default=0, help='themes: a deep pass of N epochs after the fast head')
    a = ap.parse_args()
    (letters if a.task == 'letters' else themes)(a)
