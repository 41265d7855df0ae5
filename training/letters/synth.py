"""Synthetic decorative initials for Magpie's letters backbone.

Renders A-Z from free fonts (none of the dev data's fonts) and 'none' images
(ornaments and body text), then ages them like a scan from an old book.
usage: synth.py FONTS.json OUTDIR N_PER_FONT_LETTER SEED PART PARTS
  FONTS.json from fontpool.py; PART of PARTS lets several processes share the
  work. Writes OUTDIR/syn_<part>_<n>.jpg|png and OUTDIR/labels-<part>.csv
  (file,label,font). $MAGPIE_FONT_ROOT: the font root given to fontpool.py
  (ornament fonts for the 'none' class come from there). Needs numpy, PIL and
  SciPy (warp()).
"""
import json, os, random, sys, io, string
import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageFilter, ImageOps

LETTERS = string.ascii_uppercase
MISSING = {'Zallman.pfb': 'XY', 'Kinigcap.pfb': 'QX'}
WORDS = ('the of and to in that is was he for it with as his on be at by had not are but from or have an they which one '
         'you were her all she there would their we him been has when who will more no if out so said what up its about '
         'into than them can only other new some could time these two may then do first any my now such like our over man '
         'me even most made after also did many before must through back years where much your way well down should because '
         'each just those people how too little state good very make world still own see men work long get here between both '
         'life being under never day same another know while last might us great old year off come since against go came right '
         'used take three').split()
# Latin words for the body text beside drop caps (old books are full of it)
LATIN = ('et in est non ad cum quod ut sed qui quae per de ex deus dominus enim autem erat esse sunt omnia ipse '
         'illum illa vero nunc tunc sicut super terra caelum lux verbum vita gloria populus rex filius pater mater '
         'homo homines dies nox tempore anno ecclesia sancti fide gratia regnum mundo lege verba dixit fecit venit '
         'factum facta apud principio tenebris lucet comprehenderunt missus nomen testimonium credere').split()
SERIF_DIRS = ('cochineal', 'crimsonpro', 'garamond-libre', 'libertinus-fonts', 'baskervillef', 'etbb', 'heuristica',
              'xcharter', 'junicode', 'tempora', 'newpx', 'libertine', 'scholax', 'erewhon')

def render_glyph(font_path, ch, size):
    font = ImageFont.truetype(font_path, size)
    w = h = int(size * 2.2)
    im = Image.new('L', (w, h), 0)
    ImageDraw.Draw(im).text((size * 0.4, size * 0.3), ch, font=font, fill=255)
    box = im.getbbox()
    if not box: return None
    return im.crop(box)

def text_block(font_path, w, h, rng, size):
    font = ImageFont.truetype(font_path, size)
    im = Image.new('L', (w, h), 0)
    d = ImageDraw.Draw(im)
    y = rng.randint(-size // 2, size // 3)
    while y < h:
        x = rng.randint(-size, 0)
        words = LATIN if rng.random() < 0.5 else WORDS
        line = ' '.join(rng.choice(words) for _ in range(40))
        if rng.random() < 0.5: line = line[0].upper() + line[1:]
        d.text((x, y), line, font=font, fill=255)
        y += int(size * rng.uniform(1.15, 1.5))
    return im

def ground(w, h, rng):
    """A hatched or dotted ground (mask, 255 = ink)."""
    im = Image.new('L', (w, h), 0)
    d = ImageDraw.Draw(im)
    step = rng.randint(3, 7)
    if rng.random() < 0.5:
        for k in range(-h, w, step):
            if rng.random() < 0.5: d.line([(k, 0), (k + h, h)], fill=255, width=1)
            else: d.line([(k, 0), (k, h)], fill=255, width=1)
    else:
        for yy in range(0, h, step):
            for xx in range((yy // step % 2) * step // 2, w, step):
                d.point((xx, yy), fill=255)
    return im

def _odd(k): return max(3, k | 1)

def stylize(mask, rng, ornaments):
    """Ornate letter forms from a plain glyph (ink mask): outlined, inlined,
    filled with hatching, dots or foliage, shadowed or heavier/lighter. Initial
    fonts draw letters like this; the network should learn the letter's
    silhouette whatever fills it."""
    w, h = mask.size
    stroke = max(3, int(min(w, h) * rng.uniform(0.03, 0.07)))
    r = rng.random()
    if r < 0.2:  # outline (hollow letter), sometimes doubled
        core = mask.filter(ImageFilter.MinFilter(_odd(stroke)))
        out = ImageChops.subtract(mask, core)
        if rng.random() < 0.3:
            core2 = core.filter(ImageFilter.MinFilter(_odd(stroke)))
            out = ImageChops.lighter(out, ImageChops.subtract(core2, core2.filter(ImageFilter.MinFilter(3))))
        return out
    if r < 0.35:  # inline: a white line inside the strokes
        a = mask.filter(ImageFilter.MinFilter(_odd(stroke // 2)))
        b = a.filter(ImageFilter.MinFilter(_odd(max(3, stroke // 2))))
        return ImageChops.subtract(mask, ImageChops.subtract(a, b))
    if r < 0.65:  # outline filled with a pattern
        core = mask.filter(ImageFilter.MinFilter(_odd(stroke)))
        if ornaments and rng.random() < 0.4:
            fill = Image.new('L', (w, h), 0)
            for _ in range(rng.randint(4, 12)):
                o = ornament_mask(rng, ornaments, max(8, int(min(w, h) * rng.uniform(0.1, 0.3))))
                if o is not None:
                    fill.paste(255, (rng.randint(-o.width // 3, w - o.width * 2 // 3), rng.randint(-o.height // 3, h - o.height * 2 // 3)), o)
        else:
            fill = ground(w, h, rng)
        return ImageChops.lighter(ImageChops.subtract(mask, core), ImageChops.multiply(core, fill))
    if r < 0.8:  # shadow: an offset copy, solid or hatched, behind the letter
        dx, dy = int(w * rng.uniform(0.03, 0.09)), int(h * rng.uniform(0.03, 0.09))
        sh = Image.new('L', (w + dx, h + dy), 0); sh.paste(mask, (dx, dy))
        if rng.random() < 0.5: sh = ImageChops.multiply(sh, ground(w + dx, h + dy, rng))
        halo = mask.filter(ImageFilter.MaxFilter(_odd(stroke // 2)))
        big = sh
        hole = Image.new('L', big.size, 0); hole.paste(halo, (0, 0))
        big = ImageChops.subtract(big, hole)
        big.paste(255, (0, 0), mask)
        return big
    # heavier or lighter strokes
    return mask.filter(ImageFilter.MaxFilter(_odd(stroke // 2)) if rng.random() < 0.5 else ImageFilter.MinFilter(_odd(stroke // 2)))

def warp(mask, rng):
    """New letter shapes from a font's glyph (ink mask), so the network meets
    more designs than the fonts give: slanted, condensed or extended; bent by a
    smooth random field; redrawn with a broad-nib pen (thick and thin strokes
    by direction, as blackletter and calligraphic capitals are written)."""
    from scipy import ndimage
    a = np.asarray(mask, np.float32) / 255
    h, w = a.shape
    pad = int(max(h, w) * 0.25) + 4
    a = np.pad(a, pad)
    H, W = a.shape
    # affine: slant, width and a small rotation, about the centre
    sh = rng.uniform(-0.3, 0.3) if rng.random() < 0.6 else 0.0
    sx = rng.uniform(0.7, 1.3) if rng.random() < 0.6 else 1.0
    th = np.radians(rng.uniform(-6, 6))
    A = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]]) @ np.array([[1, sh], [0, 1]]) @ np.diag([sx, 1.0])
    Ai = np.linalg.inv(A)  # output (x, y) -> input
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    cx, cy = W / 2, H / 2
    X = Ai[0, 0] * (xx - cx) + Ai[0, 1] * (yy - cy) + cx
    Y = Ai[1, 0] * (xx - cx) + Ai[1, 1] * (yy - cy) + cy
    if rng.random() < 0.6:  # elastic: a smooth displacement field
        g = rng.randint(3, 5)
        amp = rng.uniform(0.02, 0.06) * max(h, w)
        nr = np.random.default_rng(rng.randint(0, 1 << 30))
        for V in (X, Y):
            f = nr.normal(0, 1, (g, g)).astype(np.float32)
            V += np.asarray(Image.fromarray(f, 'F').resize((W, H), Image.BICUBIC)) * amp
    a = ndimage.map_coordinates(a, [Y, X], order=1, mode='constant')
    if rng.random() < 0.35:  # broad nib: thin the strokes, then draw them with a slanted pen
        ink = a > 0.5
        dist = ndimage.distance_transform_edt(ink)
        if ink.any():
            half = np.percentile(dist[ink], 90)
            # the strokes' middle lines (ridges of the distance map), so thin strokes survive
            core = ink & (ndimage.maximum_filter(dist, 3) <= dist + 0.5) | (dist > half * rng.uniform(0.6, 0.9))
            L = max(3, int(half * 2 * rng.uniform(1.0, 1.8)))
            ang = np.radians(rng.uniform(25, 55))
            fp = np.zeros((L, L), bool)
            for t in np.linspace(-0.5, 0.5, 2 * L):
                fp[int(round((L - 1) / 2 - t * (L - 1) * np.sin(ang))), int(round((L - 1) / 2 + t * (L - 1) * np.cos(ang)))] = True
            nib = ndimage.binary_dilation(ndimage.binary_dilation(core), structure=fp)
            if 0.5 * ink.sum() < nib.sum() < 1.8 * ink.sum(): a = nib.astype(np.float32)
    m = Image.fromarray(np.clip(a * 255, 0, 255).astype(np.uint8))
    box = m.getbbox()
    return m.crop(box) if box else mask

def flourish(W, H, rng):
    """Swash lines and loops around and through the block (mask)."""
    im = Image.new('L', (W, H), 0)
    d = ImageDraw.Draw(im)
    width = max(2, int(min(W, H) * rng.uniform(0.012, 0.035)))
    for _ in range(rng.randint(2, 5)):
        cx, cy = rng.uniform(-0.2, 1.2) * W, rng.uniform(-0.2, 1.2) * H
        rx, ry = rng.uniform(0.2, 0.8) * W, rng.uniform(0.1, 0.6) * H
        a0 = rng.uniform(0, 360)
        d.arc([cx - rx, cy - ry, cx + rx, cy + ry], a0, a0 + rng.uniform(90, 300), fill=255, width=width)
    return im

def compose(mask, rng, fonts_text, ornaments):
    """Adds margin, a frame, a ground, ornaments, body text beside; returns an ink mask."""
    gw, gh = mask.size
    boxed = rng.random() < 0.55  # a square block, as most printed initials are cut
    if boxed:
        m = rng.uniform(0.08, 0.4)
        side = int(max(gw, gh) * (1 + 2 * m)) + 4
        W, H = side, int(side * rng.uniform(0.92, 1.1))
    else:
        m = rng.uniform(0.05, 0.45)
        W, H = int(gw * (1 + 2 * m)) + 4, int(gh * (1 + 2 * m)) + 4
    W, H = max(W, gw + 4), max(H, gh + 4)
    canvas = Image.new('L', (W, H), 0)
    jx, jy = max(1, (W - gw) // 4), max(1, (H - gh) // 4)
    ox = min(max(0, (W - gw) // 2 + rng.randint(-jx, jx)), W - gw)
    oy = min(max(0, (H - gh) // 2 + rng.randint(-jy, jy)), H - gh)
    r = rng.random()
    if r < 0.25:  # ground behind the letter, letter knocked out with a halo
        g = ground(W, H, rng)
        halo = mask.filter(ImageFilter.MaxFilter(rng.choice([3, 5, 7, 9])))
        hole = Image.new('L', (W, H), 0); hole.paste(halo, (ox, oy))
        canvas = Image.composite(Image.new('L', (W, H), 0), g, hole)
    elif r < 0.35 and ornaments:  # foliage: ornaments scattered behind the letter
        for _ in range(rng.randint(3, 9)):
            o = ornament_mask(rng, ornaments, max(10, int(min(W, H) * rng.uniform(0.15, 0.4))))
            if o is not None:
                canvas.paste(255, (rng.randint(-o.width // 3, W - o.width * 2 // 3), rng.randint(-o.height // 3, H - o.height * 2 // 3)), o)
        halo = mask.filter(ImageFilter.MaxFilter(rng.choice([5, 7, 9])))
        hole = Image.new('L', (W, H), 0); hole.paste(halo, (ox, oy))
        canvas = Image.composite(Image.new('L', (W, H), 0), canvas, hole)
    elif r < 0.45 and boxed:  # the block printed solid, the letter in white
        canvas = Image.new('L', (W, H), 255)
        canvas.paste(0, (ox, oy), mask)
        mask = None
    elif 0.45 <= r < 0.45 + FLOURISH:  # swash loops around the letter, knocked out around it
        canvas = flourish(W, H, rng)
        halo = mask.filter(ImageFilter.MaxFilter(rng.choice([5, 7, 9])))
        hole = Image.new('L', (W, H), 0); hole.paste(halo, (ox, oy))
        canvas = Image.composite(Image.new('L', (W, H), 0), canvas, hole)
    if mask is not None:
        canvas.paste(255, (ox, oy), mask)
    if rng.random() < (0.75 if boxed else 0.2):  # frame
        d = ImageDraw.Draw(canvas)
        t = rng.randint(1, max(1, W // 40))
        d.rectangle([1, 1, W - 2, H - 2], outline=255, width=t)
        if rng.random() < 0.4:
            g2 = t + rng.randint(2, 5)
            d.rectangle([g2, g2, W - 1 - g2, H - 1 - g2], outline=255, width=1)
    if rng.random() < 0.35 and fonts_text:  # drop cap with body text to the right
        size = max(8, int(H / rng.uniform(3.5, 7)))
        tw = int(W * rng.uniform(0.6, 2.0))
        tb = text_block(rng.choice(fonts_text), tw, H, rng, size)
        gap = int(size * rng.uniform(0.3, 1.0))
        big = Image.new('L', (W + tw + gap, H), 0)
        big.paste(canvas, (0, 0)); big.paste(tb, (W + gap, 0))
        canvas = big
        if rng.random() < 0.4:  # and the text runs on below it
            extra = int(H * rng.uniform(0.2, 0.6))
            below = text_block(rng.choice(fonts_text), canvas.width, extra, rng, size)
            big = Image.new('L', (canvas.width, H + extra), 0)
            big.paste(canvas, (0, 0)); big.paste(below, (0, H + gap // 2))
            canvas = big
    if rng.random() < 0.08 and ornaments:  # an ornament beside
        o = ornament_mask(rng, ornaments, max(12, H // 3))
        if o is not None:
            big = Image.new('L', (canvas.width + o.width + 4, canvas.height), 0)
            big.paste(canvas, (0, 0)); big.paste(o, (canvas.width + 4, rng.randint(0, max(0, canvas.height - o.height))))
            canvas = big
    return canvas

_NOTDEF = {}
# Share of letters drawn in an ornate form (stylize) and of blocks with swash
# loops (flourish): $MAGPIE_STYLIZE, $MAGPIE_FLOURISH (0 for the sets A and B
# of the shipped backbone's first passes).
STYLIZE = float(os.environ.get('MAGPIE_STYLIZE', '0'))
FLOURISH = float(os.environ.get('MAGPIE_FLOURISH', '0'))
# Initials fonts are drawn this many times as often as the others ($MAGPIE_INITIAL_WEIGHT).
INITIAL_WEIGHT = int(os.environ.get('MAGPIE_INITIAL_WEIGHT', '3'))
# Share of letters whose shape is changed (warp): $MAGPIE_WARP (0 before set G).
WARP = float(os.environ.get('MAGPIE_WARP', '0'))
# ... and of ornaments among the 'none' images: $MAGPIE_WARP_NONE (0 before set H).
WARP_NONE = float(os.environ.get('MAGPIE_WARP_NONE', '0'))
def is_notdef(f, g, size):
    """True if g is the font's missing-glyph box (fonts draw it for codes they lack)."""
    key = (f, size)
    if key not in _NOTDEF:
        try: _NOTDEF[key] = render_glyph(f, chr(0x10FFFD), size)
        except Exception: _NOTDEF[key] = None
    n = _NOTDEF[key]
    return n is not None and n.size == g.size and np.array_equal(np.asarray(n), np.asarray(g))

def ornament_mask(rng, ornaments, size):
    for _ in range(10):
        f = rng.choice(ornaments)
        ch = chr(rng.randint(33, 126))
        try:
            g = render_glyph(f, ch, size)
        except Exception:
            g = None
        if g is not None and g.width > 3 and g.height > 3 and not is_notdef(f, g, size): return g
    return None

def picture_mask(path, rng):
    """A picture printed as a book would: tone, woodcut, dither or engraved lines (ink mask)."""
    im = Image.open(path)
    im.load()
    if im.mode in ('RGBA', 'LA', 'P'):
        im = im.convert('RGBA')
        bg = Image.new('RGBA', im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    g = ImageOps.grayscale(im.convert('RGB'))
    w, h = g.size
    if rng.random() < 0.6:  # a crop of it
        cw, ch = int(w * rng.uniform(0.5, 1.0)), int(h * rng.uniform(0.5, 1.0))
        x0, y0 = rng.randint(0, w - cw), rng.randint(0, h - ch)
        g = g.crop((x0, y0, x0 + cw, y0 + ch))
    s = rng.randint(120, 360) / max(g.size)
    g = g.resize((max(16, int(g.width * s)), max(16, int(g.height * s))), Image.LANCZOS)
    g = ImageOps.autocontrast(g, cutoff=rng.uniform(0, 3))
    r = rng.random()
    if r < 0.3:  # woodcut: hard black and white
        t = rng.uniform(90, 170)
        m = Image.eval(g, lambda v: 255 if v < t else 0)
    elif r < 0.55:  # dither
        m = ImageOps.invert(g.convert('1', dither=Image.FLOYDSTEINBERG).convert('L'))
    elif r < 0.8:  # engraving: lines whose width follows the darkness
        a = 1 - np.asarray(g, np.float32) / 255
        step = rng.randint(3, 6)
        yy = (np.arange(g.height)[:, None] % step) / step
        xx = (np.arange(g.width)[None, :] % step) / step
        phase = yy if rng.random() < 0.6 else (yy + xx) % 1.0
        m = Image.fromarray(((np.abs(phase - 0.5) * 2 < a) * 255).astype(np.uint8))
    else:  # continuous tone
        m = ImageOps.invert(g)
    return m

def age(mask, rng):
    """Ink mask (L, 255 = ink) -> RGB scan of an old page."""
    a = np.asarray(mask, np.float32) / 255.0
    H, W = a.shape
    # ink spread / worn ink
    r = rng.random()
    if r < 0.3: a = np.asarray(mask.filter(ImageFilter.MaxFilter(3)), np.float32) / 255
    elif r < 0.5: a = np.asarray(mask.filter(ImageFilter.MinFilter(3)), np.float32) / 255
    # rough edges and worn ink: threshold a noisy, blurred mask
    if rng.random() < 0.6:
        blur = np.asarray(Image.fromarray((a * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5))), np.float32) / 255
        noise = np.random.default_rng(rng.randint(0, 1 << 30)).normal(0, rng.uniform(0.05, 0.25), (H, W))
        a = (blur + noise > rng.uniform(0.4, 0.6)).astype(np.float32)
    if rng.random() < 0.3:  # worn patches
        n = np.random.default_rng(rng.randint(0, 1 << 30)).random((max(2, H // 16), max(2, W // 16))).astype(np.float32)
        n = np.asarray(Image.fromarray((n * 255).astype(np.uint8)).resize((W, H), Image.BILINEAR), np.float32) / 255
        a = a * np.clip((n - rng.uniform(0.0, 0.3)) * 4, 0.3, 1)
    nr = np.random.default_rng(rng.randint(0, 1 << 30))
    # paper
    tone = rng.choice([(245, 238, 220), (235, 225, 200), (250, 248, 240), (225, 215, 190), (240, 240, 240), (215, 200, 170)])
    paper = np.ones((H, W, 3), np.float32) * np.array(tone, np.float32)
    lf = nr.random((max(2, H // 24), max(2, W // 24))).astype(np.float32)
    lf = np.asarray(Image.fromarray((lf * 255).astype(np.uint8)).resize((W, H), Image.BICUBIC), np.float32) / 255 - 0.5
    paper += lf[..., None] * rng.uniform(5, 30)
    paper += nr.normal(0, rng.uniform(1, 6), (H, W, 1))
    if rng.random() < 0.3:  # stains
        st = Image.new('L', (W, H), 0); d = ImageDraw.Draw(st)
        for _ in range(rng.randint(1, 4)):
            cx, cy, rr = rng.randint(0, W), rng.randint(0, H), rng.randint(max(3, min(W, H) // 10), max(4, min(W, H) // 2))
            d.ellipse([cx - rr, cy - rr, cx + rr, cy + rr], fill=rng.randint(20, 70))
        st = np.asarray(st.filter(ImageFilter.GaussianBlur(max(2, min(W, H) / 15))), np.float32) / 255
        paper -= st[..., None] * np.array([40, 60, 90], np.float32)
    if rng.random() < 0.35:  # show-through: mirrored, faint, blurred
        sh = np.asarray(ImageOps.mirror(mask).filter(ImageFilter.GaussianBlur(rng.uniform(1, 3))), np.float32) / 255
        sh = np.roll(sh, (rng.randint(-H // 4, H // 4), rng.randint(-W // 4, W // 4)), (0, 1))
        paper -= sh[..., None] * rng.uniform(15, 50)
    ink = np.array(rng.choice([(20, 18, 15), (35, 30, 25), (10, 10, 10), (50, 35, 25)]), np.float32)
    if rng.random() < 0.1: ink = np.array(rng.choice([(170, 30, 25), (150, 40, 30), (190, 50, 40)]), np.float32)
    dens = rng.uniform(0.75, 1.0)
    img = paper * (1 - a[..., None] * dens) + ink * a[..., None] * dens
    img = np.clip(img, 0, 255).astype(np.uint8)
    im = Image.fromarray(img, 'RGB')
    # rotation
    if rng.random() < 0.7:
        im = im.rotate(rng.uniform(-3, 3), resample=Image.BILINEAR, expand=False, fillcolor=tuple(int(v) for v in tone))
    # toning
    r = rng.random()
    if r < 0.3: im = ImageOps.grayscale(im).convert('RGB')
    elif r < 0.55:
        g = np.asarray(ImageOps.grayscale(im), np.float32) / 255
        im = Image.fromarray(np.clip(np.stack([g * 255, g * 230 + 10, g * 190 + 15], -1), 0, 255).astype(np.uint8))
    elif r < 0.68:
        g = np.asarray(ImageOps.grayscale(im), np.float32)
        t = np.percentile(g, 50) * rng.uniform(0.6, 0.9)
        im = Image.fromarray(np.where(g > t, 255, 0).astype(np.uint8)).convert('RGB')
    # scan blur and noise
    if rng.random() < 0.6: im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
    if rng.random() < 0.5:
        x = np.asarray(im, np.float32) + nr.normal(0, rng.uniform(2, 10), (im.height, im.width, 1))
        im = Image.fromarray(np.clip(x, 0, 255).astype(np.uint8))
    return im

def finish(im, rng):
    long = rng.randint(96, 400)
    s = long / max(im.size)
    im = im.resize((max(8, int(im.width * s)), max(8, int(im.height * s))), Image.LANCZOS)
    return im

def main():
    fonts = json.load(open(sys.argv[1]))
    out = sys.argv[2]
    per = int(sys.argv[3])
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    part, parts = (int(sys.argv[5]), int(sys.argv[6])) if len(sys.argv) > 6 else (0, 1)
    rng = random.Random(seed * 1000 + part)
    np.random.seed(seed * 1000 + part)
    os.makedirs(out, exist_ok=True)
    letter_fonts = [f for f in fonts if 'pmhg' not in f['path'] and 'linb' not in f['path']]
    text_fonts = [f['path'] for f in fonts if f['dir'] in SERIF_DIRS] or \
                 [f['path'] for f in fonts if not f['initial'] and f['dir'] != 'qualitype'][:80]
    orn_dir = os.environ['MAGPIE_FONT_ROOT']
    ornaments = []
    for sub in ('type1/public/fourier', 'type1/public/webomints', 'opentype/public/fourier'):
        p = os.path.join(orn_dir, sub)
        if os.path.isdir(p):
            for dp, _, fs in os.walk(p):
                ornaments += [os.path.join(dp, f) for f in fs if ('orn' in f.lower() or 'omints' in f.lower()) and f.endswith(('.pfb', '.otf'))]
    # Pictures for the 'none' class (printed as tone, woodcut, dither or
    # engraving): $MAGPIE_PICTURES, a file listing image paths (e.g. extracted
    # from Debian's gcompris-qt-data and gnome-backgrounds; none from the
    # packages the dev data's pictures came from).
    pictures = []
    if os.environ.get('MAGPIE_PICTURES'):
        pictures = [l.strip() for l in open(os.environ['MAGPIE_PICTURES']) if l.strip()]
    only_none = os.environ.get('MAGPIE_ONLY_NONE')  # N: render just N 'none' images
    rows = []
    jobs = []
    for fi, f in enumerate(letter_fonts):
        reps = per * (INITIAL_WEIGHT if f['initial'] else 1)
        for ch in LETTERS:
            if ch in MISSING.get(os.path.basename(f['path']), ''): continue
            for k in range(reps): jobs.append(('L', f['path'], ch))
    n_none = len(jobs) // 6
    if only_none:
        jobs, n_none = [], int(only_none)
    for k in range(n_none): jobs.append(('N', None, None))
    jobs = jobs[part::parts]
    for j, (kind, fp, ch) in enumerate(jobs):
        try:
            if kind == 'L':
                g = render_glyph(fp, ch, rng.randint(90, 220))
                if g is None or g.width < 4: continue
                if WARP > 0 and rng.random() < WARP:
                    g = warp(g, rng)
                if STYLIZE > 0 and rng.random() < STYLIZE:
                    st = stylize(g, rng, ornaments)
                    # keep it only if the letter survived (thin strokes can vanish)
                    if st.getbbox() and np.asarray(st, np.float32).sum() >= 0.4 * np.asarray(g, np.float32).sum(): g = st
                m = compose(g, rng, text_fonts, ornaments)
                label = ch
            else:
                r = rng.random()
                if pictures and r < 0.35:
                    g = picture_mask(rng.choice(pictures), rng)
                    m = compose(g, rng, [], []) if rng.random() < 0.5 else g
                elif r < 0.6 and ornaments:
                    g = ornament_mask(rng, ornaments, rng.randint(60, 200))
                    if g is None: continue
                    # warped too, so that a warped shape is no cue for a letter ($MAGPIE_WARP_NONE)
                    if WARP_NONE > 0 and rng.random() < WARP_NONE:
                        g = warp(g, rng)
                    if rng.random() < 0.4:  # a row or mirrored vignette
                        big = Image.new('L', (g.width * 2 + 6, g.height), 0); big.paste(g, (0, 0)); big.paste(ImageOps.mirror(g), (g.width + 6, 0)); g = big
                    m = compose(g, rng, [], [])
                else:
                    w, h = rng.randint(120, 400), rng.randint(60, 300)
                    m = text_block(rng.choice(text_fonts), w, h, rng, rng.randint(10, 26))
                label = 'none'
            if np.asarray(m).mean() < 2.0: continue  # blank: the font lacks these glyphs
            im = finish(age(m, rng), rng)
            name = 'syn_%d_%06d' % (part, j)
            if rng.random() < 0.93:
                name += '.jpg'; im.save(os.path.join(out, name), quality=rng.randint(35, 92))
            else:
                name += '.png'; im.save(os.path.join(out, name))
            rows.append((name, label, os.path.basename(fp) if fp else 'none'))
        except Exception as e:
            print('skip', fp, ch, e, file=sys.stderr)
    with open(os.path.join(out, 'labels-%d.csv' % part), 'w') as f:
        for r in rows: f.write('%s,%s,%s\n' % r)
    print(part, len(rows), 'images')

main()
