"""Fonts for Magpie's synthetic initials: every font of texlive-fonts-extra that
draws A-Z, except the fonts the development data (../shared/data/initials) was
made from, and symbol, math and non-Latin fonts.

usage: fontpool.py FONT_ROOT OUT.json [PKG_ROOT...]
  FONT_ROOT: .../usr/share/texlive/texmf-dist/fonts of the unpacked package
  PKG_ROOT: optional, a folder into which Debian fonts-* packages were unpacked
  (dpkg -x); their usr/share/fonts/{truetype,opentype,type1}/<family> folders
  join the pool under the same exclusions (see PACKAGES in
  make-letters-backbone.sh). Display-font collections (aenigma, dustin, ...)
  keep every design; other families up to 3 files.
Writes a list of {dir, path, initial}; `initial` marks the CTAN initials fonts.
"""
import os, re, random, sys, json
from PIL import Image, ImageFont, ImageDraw
import numpy as np
ROOT = sys.argv[1]
EXCLUDE = re.compile(r'yinit|ebgaramond|EBGaramond|blankenburg|gamaliel|QTLondonScroll|QTDublinIrish|lindenhill|LindenHill|'
                     r'accanthis|Accanthis|sqrc|yfrak|ygoth|yswab|yfonts|oldstandard|OldStandard|ArtNouv|Konanur|Kramer|'
                     r'Sanremo|Starburst|bbding|dictsym|niceframe|dingbat|blacklettert1|tfrak|tgoth|tswab', re.I)
SKIPDIR = re.compile(r'math|symbol|icons|awesome|emoji|phaistos|countriesofeurope|semaphor|pigpen|staves|recycle|dozenal|'
                     r'esint|esrelation|esvect|stmary|wasy|cmll|cmexb|mnsymbol|mdsymbol|fdsymbol|svrsymbols|starfont|'
                     r'allrunes|lineara|ocherokee|oinuit|hamnosys|fonetika|ipaex|tapir|frimurer|old-arrows|plimsoll|ccicons|'
                     r'academicons|fontmfizz|typicons|doulossil|dantelogo|logix|cryst|bbold|doublestroke|cmathbb|'
                     r'boondox|dutchcal|txuprcal|esstix|superiors|prodint|tfrupee|hacm|gudea|aspectratio|ascii-font|'
                     r'churchslavonic|stepgreek|gfs|cyklop|hindmadurai|shobhika|ektype|step$|ocr-b|umtypewriter|bguq|foekfont|'
                     r'cmupint|sansmathfonts|notomath|mathabx|mathdesign|stix', re.I)
def files():
    out = []
    for kind, exts in (('opentype', ('.otf',)), ('truetype', ('.ttf',)), ('type1', ('.pfb',))):
        base = os.path.join(ROOT, kind, 'public')
        for d in sorted(os.listdir(base)):
            if SKIPDIR.search(d) or EXCLUDE.search(d): continue
            for dp, _, fs in os.walk(os.path.join(base, d)):
                for f in sorted(fs):
                    if f.endswith(exts) and not EXCLUDE.search(f):
                        out.append((d, os.path.join(dp, f)))
    return out
# collections in which every file is a different design
ALL_DESIGNS = re.compile(r'^(initials|qualitype|aenigma|dustin|larabie.*|adf|gotico-antiqua|bwht|klaudia.*|'
                         r'unifraktur.*|ecolier.*|jura|cabin|okolaks|rampart|havana|joscelyn)$', re.I)
def package_files(root):
    out = []
    base = os.path.join(root, 'usr', 'share', 'fonts')
    if not os.path.isdir(base): return out
    for kind in sorted(os.listdir(base)):
        for d in sorted(os.listdir(os.path.join(base, kind))):
            if SKIPDIR.search(d) or EXCLUDE.search(d): continue
            for dp, _, fs in os.walk(os.path.join(base, kind, d)):
                for f in sorted(fs):
                    if f.lower().endswith(('.otf', '.ttf', '.pfb')) and not EXCLUDE.search(f):
                        out.append(('pkg:' + d, os.path.join(dp, f)))
    return out
# old-book hands among the packages' fonts: drawn as often as the initials fonts
PERIOD = re.compile(r'^pkg:(gotico-antiqua|klaudia.*|joscelyn|elstob|cardo|fanwood|essays1743|isabella|sortsmill|levien|'
                    r'fonts-century-catalogue|dustin|unifraktur.*|junicode)$', re.I)
AENIGMA_CAP = 150  # of the 465 aenigma display designs, so that they do not outnumber the book faces
def shapes(path):
    """A-Z as blurred, normalised 24x24 shapes (26 x 576)."""
    from PIL import ImageFilter
    font = ImageFont.truetype(path, 64)
    out = []
    for i in range(26):
        im = Image.new('L', (160, 160), 0)
        ImageDraw.Draw(im).text((30, 20), chr(65 + i), font=font, fill=255)
        b = im.getbbox()
        if not b: out.append(np.zeros(576)); continue
        a = np.asarray(im.crop(b).resize((24, 24)).filter(ImageFilter.GaussianBlur(1.5)), np.float32).ravel()
        a = a - a.mean(); out.append(a / (np.linalg.norm(a) + 1e-6))
    return np.array(out)
def letterness(path, refs):
    """How many of A-Z are closest to their own letter in a plain reference
    font: about 1 of 26 for a pictorial font, 20+ for a plain roman. A package
    font needs 2 (ornamental and outline designs score 2-5, snowflake and star
    dingbats 0-1)."""
    try:
        G = shapes(path)
    except Exception:
        return 0
    return max(int(((G @ R.T).argmax(1) == np.arange(26)).sum()) for R in refs)
def glyph_ok(path):
    try:
        font = ImageFont.truetype(path, 64)
    except Exception:
        return None
    imgs = []
    for ch in 'AEGMQRZ':
        im = Image.new('L', (128, 128), 0)
        ImageDraw.Draw(im).text((20, 10), ch, font=font, fill=255)
        a = np.asarray(im) > 127
        if a.sum() < 30: return None
        imgs.append(a)
    # all different (a notdef box repeats)
    for i in range(len(imgs)):
        for j in range(i + 1, len(imgs)):
            if (imgs[i] ^ imgs[j]).sum() < 20: return None
    lower = Image.new('L', (128, 128), 0)
    ImageDraw.Draw(lower).text((20, 10), 'a', font=font, fill=255)
    return True
if __name__ == '__main__':
    rng = random.Random(7)
    cands = files()
    for extra in sys.argv[3:]: cands += package_files(extra)
    refs = []
    if len(sys.argv) > 3:
        import glob
        for name in ('DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf'):
            hits = sorted(glob.glob(os.path.join(sys.argv[3], 'usr/share/fonts/truetype/dejavu', name)))
            if hits: refs.append(hits[0])
        refs = [shapes(r) for r in refs]
        if not refs: sys.exit('fontpool.py: no DejaVu Sans Bold / Serif under ' + sys.argv[3] + ' (fonts-dejavu-core)')
    bydir = {}
    for d, p in cands: bydir.setdefault(d, []).append(p)
    chosen = []
    # texlive's folders first, so that the pool without packages stays as it was
    for d, ps in sorted(bydir.items(), key=lambda kv: (kv[0].startswith('pkg:'), kv[0])):
        # regular-looking files first, then up to 3 (initials and qualitype: all)
        cap = 999 if ALL_DESIGNS.match(d.replace('pkg:', '')) else 3
        if d == 'pkg:aenigma': cap = AENIGMA_CAP
        rng.shuffle(ps)
        n = 0
        for p in ps:
            if n >= cap: break
            if glyph_ok(p) and (not d.startswith('pkg:') or letterness(p, refs) >= 2):
                chosen.append({'dir': d, 'path': p, 'initial': d == 'initials' or bool(PERIOD.match(d))}); n += 1
    json.dump(chosen, open(sys.argv[2], 'w'), indent=0)
    print(len(cands), 'candidates;', len(chosen), 'fonts from', len({c["dir"] for c in chosen}), 'folders')
