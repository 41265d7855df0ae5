"""Fonts for Magpie's synthetic initials: every font of texlive-fonts-extra that
draws A-Z, except the fonts the development data (../shared/data/initials) was
made from, and symbol, math and non-Latin fonts.

usage: fontpool.py FONT_ROOT OUT.json
  FONT_ROOT: .../usr/share/texlive/texmf-dist/fonts of the unpacked package
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
    bydir = {}
    for d, p in cands: bydir.setdefault(d, []).append(p)
    chosen = []
    for d, ps in sorted(bydir.items()):
        # regular-looking files first, then up to 3 (initials and qualitype: all)
        cap = 999 if d in ('initials', 'qualitype') else 3
        rng.shuffle(ps)
        n = 0
        for p in ps:
            if n >= cap: break
            if glyph_ok(p):
                chosen.append({'dir': d, 'path': p, 'initial': d == 'initials'}); n += 1
    json.dump(chosen, open(sys.argv[2], 'w'), indent=0)
    print(len(cands), 'candidates;', len(chosen), 'fonts from', len({c["dir"] for c in chosen}), 'folders')
