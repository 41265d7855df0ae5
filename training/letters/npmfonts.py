"""Google Fonts from the npm registry (the @fontsource packages) for Magpie's
synthetic initials: 1,000+ more Latin typefaces than Debian ships, display,
serif, handwriting and sans alike. Nothing here runs when Magpie runs.
Session 9 (docs/training.md, "1,264 more fonts from npm"): a deep pass on
them did not beat the shipped letters backbone (72.5 % vs 74.0 % on the
held-out fonts), but a prior head trained on them, averaged with the shipped
one, did (74.8 %): make-letters-backbone.sh uses them for that (pass 8).

usage:
  npmfonts.py pin OUT.txt     list every @fontsource family with a Latin
                              subset (from google-font-metadata, pinned below)
                              as 'id version sha512-integrity category', the
                              newest version the registry has. Run once; the
                              list is kept in training/letters/npm-fonts.txt.
  npmfonts.py fetch LIST DIR  download each listed tarball from the npm
                              registry, check its integrity against LIST, and
                              keep its Latin regular face as DIR/<id>.woff2
                              (400 normal, else the weight nearest to it).
  npmfonts.py pool LIST DIR OUT.json REFS_ROOT
                              the fonts of DIR that pass fontpool.py's checks
                              (no dev-data font, all glyphs drawn, letterness
                              >= 2 against DejaVu under REFS_ROOT), as
                              fontpool.py's {dir, path, initial} list;
                              period hands (blackletter, uncial, medieval,
                              old-style) are marked 'initial' so that synth.py
                              draws them as often as the initials fonts.
"""
import base64, hashlib, io, json, os, re, sys, tarfile, urllib.request
from concurrent.futures import ThreadPoolExecutor

REGISTRY = 'https://registry.npmjs.org'
METADATA = 'google-font-metadata@6.0.8'
PERIOD = re.compile(r'fraktur|gotisch|goth|blackletter|pirata|rocker|texturina|jacquard|germania|medieval|almendra|uncial|'
                    r'metamorphous|eagle-lake|macondo|kings|caudex|cardo|fell|grenze|manuale|luxurious-roman|'
                    r'cinzel-decorative|berkshire|pinyon|goudy|sorts-mill|old|antiqua|tangerine|fleur|'
                    r'italianno|monsieur|rochester|great-vibes|alex-brush|cormorant-unicase|diplomata|rye|ewert|'
                    r'sancreek|smokum|fruktur|castoro|spectral|crimson|garamond|baskerville|caslon', re.I)

def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read()

def pin(out):
    import subprocess, tempfile
    tmp = tempfile.mkdtemp()
    subprocess.run(['npm', 'pack', '--silent', METADATA], cwd=tmp, check=True, stdout=subprocess.DEVNULL)
    tgz = [f for f in os.listdir(tmp) if f.endswith('.tgz')][0]
    with tarfile.open(os.path.join(tmp, tgz)) as t:
        meta = json.load(t.extractfile('package/data/google-fonts-v1.json'))
    fams = sorted((k, v['category']) for k, v in meta.items()
                  if 'latin' in v['subsets'] and v['category'] != 'monospace')

    def one(kc):
        k, cat = kc
        try:
            doc = json.loads(get('%s/@fontsource%%2f%s' % (REGISTRY, k)))
            ver = doc['dist-tags']['latest']
            return '%s %s %s %s' % (k, ver, doc['versions'][ver]['dist']['integrity'], cat)
        except Exception as e:
            print('skip', k, e, file=sys.stderr)
            return None
    with ThreadPoolExecutor(16) as ex:
        lines = [l for l in ex.map(one, fams) if l]
    with open(out, 'w') as f:
        f.write('# @fontsource packages (Google Fonts, OFL/Apache) for training/letters: id version integrity category\n')
        f.write('# from %s; made by npmfonts.py pin\n' % METADATA)
        f.write('\n'.join(lines) + '\n')
    print(len(lines), 'families')

def entries(listfile):
    for l in open(listfile):
        if l.strip() and not l.startswith('#'):
            yield l.split()

def fetch(listfile, outdir):
    os.makedirs(outdir, exist_ok=True)

    def one(e):
        k, ver, integrity, cat = e
        dst = os.path.join(outdir, k + '.woff2')
        if os.path.exists(dst): return 1
        try:
            data = get('%s/@fontsource/%s/-/%s-%s.tgz' % (REGISTRY, k, k, ver))
            algo, want = integrity.split('-', 1)
            if base64.b64encode(hashlib.new(algo, data).digest()).decode() != want:
                print('integrity mismatch', k, file=sys.stderr); return 0
            with tarfile.open(fileobj=io.BytesIO(data)) as t:
                faces = {}
                for m in t.getmembers():
                    r = re.match(r'package/files/%s-latin-(\d+)-normal\.woff2$' % re.escape(k), m.name)
                    if r: faces[int(r.group(1))] = m
                if not faces: return 0
                w = min(faces, key=lambda x: (abs(x - 400), x))
                with open(dst + '.part', 'wb') as f: f.write(t.extractfile(faces[w]).read())
                os.replace(dst + '.part', dst)
            return 1
        except Exception as ex_:
            print('skip', k, ex_, file=sys.stderr); return 0
    with ThreadPoolExecutor(16) as ex:
        n = sum(ex.map(one, list(entries(listfile))))
    print(n, 'fonts in', outdir)

def pool(listfile, fontdir, out, refs_root):
    sys.argv = [sys.argv[0], '/nonexistent']
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    import glob, fontpool
    refs = []
    for name in ('DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf'):
        hits = sorted(glob.glob(os.path.join(refs_root, 'usr/share/fonts/truetype/dejavu', name)))
        if hits: refs.append(fontpool.shapes(hits[0]))
    if not refs: sys.exit('npmfonts.py: no DejaVu under ' + refs_root)
    chosen = []
    for k, ver, integrity, cat in entries(listfile):
        p = os.path.join(fontdir, k + '.woff2')
        if not os.path.exists(p) or fontpool.EXCLUDE.search(k.replace('-', '')): continue
        try:
            ok = fontpool.glyph_ok(p) and fontpool.letterness(p, refs) >= 2
        except Exception as e:  # a font FreeType cannot draw (e.g. 'execution context too long')
            print('skip', k, e, file=sys.stderr); ok = False
        if ok:
            chosen.append({'dir': 'npm:' + cat, 'path': os.path.abspath(p), 'initial': bool(PERIOD.search(k))})
    json.dump(chosen, open(out, 'w'), indent=0)
    print(len(chosen), 'fonts;', sum(c['initial'] for c in chosen), 'period hands')

if __name__ == '__main__':
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'pin' and len(sys.argv) == 3: pin(sys.argv[2])
    elif cmd == 'fetch' and len(sys.argv) == 4: fetch(sys.argv[2], sys.argv[3])
    elif cmd == 'pool' and len(sys.argv) == 6: pool(*sys.argv[2:])
    else: sys.exit(__doc__)
