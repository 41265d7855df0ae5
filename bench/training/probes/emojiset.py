"""Probe (not part of Magpie): a labelled clip-art set from emoji, for tuning a
backbone towards what pictures show (docs/training.md, session 10). Fluent
(SVG: modern, flat, high-contrast; rsvg-convert from librsvg2-bin), Noto and
Twemoji 64-px PNGs from npm, each labelled with its Unicode emoji subgroup
(Debian's /usr/share/unicode/emoji/emoji-test.txt; subgroups under 6 emoji are
merged per group, flags capped at 40, skin tones left out).

  cd SRC && npm pack fluentui-emoji@1.3.0 emoji-datasource-google@16.0.0 emoji-datasource-twitter@16.0.0
  mkdir fl g t && tar xzf fluentui-emoji-1.3.0.tgz -C fl && tar xzf emoji-datasource-google-16.0.0.tgz -C g \
      && tar xzf emoji-datasource-twitter-16.0.0.tgz -C t
  python3 emojiset.py SRC OUT     # OUT/*.png and OUT/labels.csv (file,class)
"""
import json, os, re, subprocess, sys, collections, random
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
def norm(s): return re.sub(r'[^a-z0-9]+', '-', s.lower()).strip('-')
group = sub = None
emoji = {}      # norm(name) -> (group, subgroup, codepoints)
for line in open('/usr/share/unicode/emoji/emoji-test.txt', encoding='utf-8'):
    if line.startswith('# group:'): group = line.split(':', 1)[1].strip(); continue
    if line.startswith('# subgroup:'): sub = line.split(':', 1)[1].strip(); continue
    if line.startswith('#') or ';' not in line: continue
    cps, rest = line.split(';', 1)
    if 'fully-qualified' not in rest: continue
    name = rest.split('#', 1)[1].strip().split(' ', 2)[2]
    if 'skin tone' in name: continue
    emoji.setdefault(norm(name), (group, sub, cps.split()))
classes = {}
for n, (g, s, c) in emoji.items():
    if g == 'Component': continue
    classes[n] = 'flag' if g == 'Flags' else s
count = collections.Counter(classes.values())
for n in list(classes):
    if count[classes[n]] < 6: classes[n] = norm(emoji[n][0]) + '-other'
rng = random.Random(3)
flags = [n for n in classes if classes[n] == 'flag']
for n in rng.sample(flags, max(0, len(flags) - 40)): del classes[n]
skin = re.compile(r'-(default|light|medium-light|medium|medium-dark|dark)$')
rows = []
def add(img, name, style, c):
    f = '%s_%s.png' % (style, name[:60]); img.save(os.path.join(out, f)); rows.append((f, c))
fl = os.path.join(src, 'fl/package/icons')
for style in ('modern', 'flat', 'high-contrast'):
    for f in sorted(os.listdir(os.path.join(fl, style))):
        n = f[:-4]
        m = skin.search(n)
        if m and m.group(1) != 'default': continue
        n = skin.sub('', n) if m else n
        if n not in classes: continue
        png = os.path.join(out, 'tmp.png')
        subprocess.run(['rsvg-convert', '-w', '224', '-h', '224', '-b', 'white', os.path.join(fl, style, f), '-o', png], check=True)
        add(Image.open(png).convert('RGB'), n, 'fl' + style[0], classes[n])
for vendor, d in (('google', 'g'), ('twitter', 't')):
    base = os.path.join(src, d, 'package/img', vendor, '64')
    for n, c in classes.items():
        cps = [x.lower() for x in emoji[n][2]]
        for cand in ('-'.join(cps), '-'.join(x for x in cps if x != 'fe0f')):
            p = os.path.join(base, cand + '.png')
            if os.path.exists(p):
                im = Image.open(p).convert('RGBA'); bg = Image.new('RGBA', im.size, 'white'); bg.alpha_composite(im)
                add(bg.convert('RGB'), n, vendor[0], c); break
os.remove(os.path.join(out, 'tmp.png'))
with open(os.path.join(out, 'labels.csv'), 'w') as f:
    f.write('file,class\n')
    for name, c in rows: f.write('%s,%s\n' % (name, norm(c)))
cc = collections.Counter(c for _, c in rows)
print(len(rows), 'images', len(cc), 'classes'); print(sorted(cc.items(), key=lambda x: -x[1]))
