#!/usr/bin/env bash
# Rebuilds resources/backbones/letters.mbb, the "letters" backbone: the general
# MobileNetV2 cut (build/backbones/mnv2-b10.mbb) with blocks 7-10 and new
# linear 1x1 layers fine-tuned by Magpie's own deep mode on synthetic decorative
# initials rendered from texlive-fonts-extra (none of the fonts the dev data
# was made from; see fontpool.py) plus 'none' images (ornaments, body text,
# pictures), and its prior head (letters.prior, letters.prior.txt).
# (The shipped file's sets A and B were rendered before synth.py drew pictures;
# only the 2,337 extra 'none' images of the last pass had them.)
#
#   training/letters/make-letters-backbone.sh [BUILD_DIR] [WORK_DIR]
#
# Needs: a built magpie-cli, python3 with numpy and PIL (python3-numpy,
# python3-pil), g++ and Qt 6 Core (for rccextract), and apt-get download access
# to Debian's texlive-fonts-extra (509 MB), gcompris-qt-data and
# gnome-backgrounds (77 MB; all unpacked only in WORK_DIR, never installed). Time on 2 CPU cores:
# about 3 + 7 minutes to render ~28,000 + ~41,500 images, a minute to import,
# then the deep passes (2 + 4 epochs on set A: 16 + 27 minutes; 10 + 4 epochs
# on set B: 69 + 29 minutes; 6 on set C and 6 on set D: 25 + 26 minutes, each
# after 7 minutes of rendering; 5 on set E, 39,048 images from 1,055 fonts: 33
# minutes after 11 of rendering; each with a re-embedding of its set; minutes
# on a GPU). Set E also needs the 185 fonts-* packages of font-packages.txt
# (188 MB, apt-get download, unpacked in WORK_DIR only). The last step (pass 8,
# the prior head only: 13 minutes to render set I, 5 to embed it, 1 to train)
# fetches 1,700 Google Fonts families from the npm registry (44 MB kept).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-$src/build}
work=${2:-/tmp/magpie-letters}
cli=$build/app/magpie-cli
per=${MAGPIE_LETTERS_PER:-2}          # images per font and letter (x3 for initials fonts)
epochs=${MAGPIE_LETTERS_EPOCHS:-4}   # of the second pass
mkdir -p "$work"
cd "$work"
if [ ! -d fonts ]; then
    apt-get download texlive-fonts-extra
    dpkg -x texlive-fonts-extra_*.deb fonts
fi
export MAGPIE_FONT_ROOT=$work/fonts/usr/share/texlive/texmf-dist/fonts
python3 "$here/fontpool.py" "$MAGPIE_FONT_ROOT" fonts.json
# Pictures for the 'none' class: GCompris's and GNOME's (neither package was
# used for the dev data), printed by synth.py as woodcut, dither, engraving or tone.
if [ ! -f pictures.txt ]; then
    apt-get download gcompris-qt-data gnome-backgrounds
    for d in gcompris-qt-data_*.deb gnome-backgrounds_*.deb; do dpkg -x "$d" pics-deb; done
    g++ -O1 -fPIC "$here/rccextract.cpp" -o rccextract $(pkg-config --cflags --libs Qt6Core)
    mkdir -p pictures
    ./rccextract pictures pics-deb/usr/share/gcompris-qt/rcc/*.rcc
    cp pics-deb/usr/share/backgrounds/gnome/*.webp pictures/ 2>/dev/null || true
    python3 -c "
import os, sys
from PIL import Image
ok = []
for f in sorted(os.listdir('pictures')):
    try:
        if min(Image.open('pictures/' + f).size) >= 64: ok.append(os.path.abspath('pictures/' + f))
    except Exception: pass
open('pictures.txt', 'w').write('\\n'.join(ok) + '\\n')
print(len(ok), 'pictures')"
fi
export MAGPIE_PICTURES=$work/pictures.txt
# render SET PER SEED: synthetic initials (and 'none' images) into SET/
render() {
    rm -rf "$1" && mkdir "$1"
    for part in 0 1; do python3 "$here/synth.py" "${FONTS:-fonts.json}" "$1" "$2" "$3" "$part" 2 & done
    wait
}
# library LIB SET...: a library of the sets, every image answered with its class
library() {
    local lib=$1; shift
    rm -rf "$lib" "$lib"-*
    "$cli" init "$lib"
    "$cli" -L "$lib" category create letters --letters --backbone library
    for set in "$@"; do
        "$cli" -L "$lib" --quiet import "$set"
        { echo file,value,class; cat "$set"/labels-*.csv | awk -F, '{print $1",yes,"$2}'; } > answers.csv
        "$cli" -L "$lib" --quiet answer -c letters --csv answers.csv
    done
}
newest() { ls -t "$1"-cache/models/*."$2" | head -1; }
# As the shipped file was made: 2 epochs from the general backbone, 4 more from
# that result (set A: 2 images per font and letter), then 10 more on a fresh
# set B (3 per font and letter, seed 2). Each pass adds a linear 1x1 layer;
# stacked linear layers are one linear map with more room to train.
render images "$per" 1
library letters.magpie images
"$cli" -L letters.magpie train -c letters --deep --epochs 2 --tune-from 7 --time-box 100000 --no-validate
first=$(newest letters.magpie mbb)
"$cli" -L letters.magpie train -c letters --backbone "$first" --deep --epochs "$epochs" --tune-from 7 --time-box 100000 --no-validate
second=$(newest letters.magpie mbb)
render images-b 3 2
library letters-b.magpie images-b
"$cli" -L letters-b.magpie train -c letters --backbone "$second" --deep --epochs 10 --tune-from 7 --time-box 100000 --no-validate
third=$(newest letters-b.magpie mbb)
# 2,400 more 'none' images (a third of them pictures), then 4 more epochs on
# set B with them; the fast head that pass trains on all of it is the prior.
export MAGPIE_ONLY_NONE=2400
render nones 1 11
unset MAGPIE_ONLY_NONE
for f in nones/syn_*; do mv "$f" "nones/n_${f#nones/}"; done
sed -i 's/^syn_/n_syn_/' nones/labels-*.csv
"$cli" -L letters-b.magpie --quiet import nones
{ echo file,value,class; cat nones/labels-*.csv | awk -F, '{print $1",yes,"$2}'; } > answers.csv
"$cli" -L letters-b.magpie --quiet answer -c letters --csv answers.csv
"$cli" -L letters-b.magpie train -c letters --backbone "$third" --deep --epochs 4 --tune-from 7 --time-box 100000 --no-validate
fourth=$(newest letters-b.magpie mbb)
# Fifth and sixth passes: fresh sets C and D in which half the letters are drawn in ornate forms
# (outlined, inlined, pattern- or foliage-filled, shadowed), 12 % of blocks get
# swash loops, initials fonts 5x as often, pictures among the 'none' images;
# 6 epochs each. The sixth pass's fast head is the prior.
MAGPIE_STYLIZE=0.5 MAGPIE_FLOURISH=0.12 MAGPIE_INITIAL_WEIGHT=5 render images-c 2 5
library letters-c.magpie images-c
"$cli" -L letters-c.magpie train -c letters --backbone "$fourth" --deep --epochs 6 --tune-from 7 --time-box 100000 --no-validate
fifth=$(newest letters-c.magpie mbb)
# Sixth pass: the same on a fresh set D (seed 6), 6 epochs from the fifth.
MAGPIE_STYLIZE=0.5 MAGPIE_FLOURISH=0.12 MAGPIE_INITIAL_WEIGHT=5 render images-d 2 6
library letters-d.magpie images-d
"$cli" -L letters-d.magpie train -c letters --backbone "$fifth" --deep --epochs 6 --tune-from 7 --time-box 100000 --no-validate
sixth=$(newest letters-d.magpie mbb)
# Pass 7 (session 6): 627 more fonts from Debian's fonts-* packages
# (font-packages.txt; unpacked here, never installed), 1 image per font and
# letter (period hands and initials fonts 4), 5 epochs from the sixth.
if [ ! -d pkgfonts ]; then
    mkdir -p pkgdebs
    (cd pkgdebs && apt-get download $(grep -v '^#' "$here/font-packages.txt"))
    for d in pkgdebs/*.deb; do dpkg -x "$d" pkgfonts; done
fi
python3 "$here/fontpool.py" "$MAGPIE_FONT_ROOT" fonts-e.json "$work/pkgfonts"
FONTS=fonts-e.json MAGPIE_STYLIZE=0.5 MAGPIE_FLOURISH=0.12 MAGPIE_INITIAL_WEIGHT=4 render images-e 1 7
library letters-e.magpie images-e
"$cli" -L letters-e.magpie train -c letters --backbone "$sixth" --deep --epochs 5 --tune-from 7 --time-box 100000 --no-validate
newest=$(newest letters-e.magpie mbb)
cp "$newest" "$src/resources/backbones/letters.mbb"
echo "wrote $src/resources/backbones/letters.mbb (from $newest)"
# The prior head: the fast head that the last pass trained on the synthetic
# answers over the new backbone's features, with the backbone version it fits.
head=$(newest letters-e.magpie head)
version=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select backbone from model_versions order by id desc limit 1').fetchone()[0])" letters-e.magpie)
cp "$head" "$src/resources/backbones/letters.prior"
{
    echo "# Magpie prior head for letters.mbb: a logistic head over its features,"
    echo "# trained on the synthetic initials of its last pass (training/letters)."
    echo "# A class set whose classes are all named here is blended with it (train --prior-weight)."
    echo "backbone $version"
    echo "classes A B C D E F G H I J K L M N O P Q R S T U V W X Y Z none"
} > "$src/resources/backbones/letters.prior.txt"
echo "wrote $src/resources/backbones/letters.prior (from $head, backbone $version)"
# Pass 8 (session 9): the prior head only; the backbone stays. Set I: 1,264
# Google Fonts families from npm's @fontsource packages (npmfonts.py, pinned in
# npm-fonts.txt: every display, serif, handwriting and period face, a third of
# the plain sans ones) plus a third of set E's fonts, 1 image per font and
# letter, seed 12 (59,570 images). A deep pass on it did not beat the sixth
# (docs/training.md, v10), but a fast head trained on its images over the
# shipped features, averaged with set E's head, reads more unseen fonts right.
if [ ! -d npmfonts ]; then
    python3 "$here/npmfonts.py" fetch "$here/npm-fonts.txt" npmfonts
fi
python3 "$here/npmfonts.py" pool "$here/npm-fonts.txt" npmfonts fonts-npm.json "$work/pkgfonts"
python3 - <<'PY'
import json, random
rng = random.Random(11)
old = json.load(open('fonts-e.json')); new = json.load(open('fonts-npm.json'))
sans = [f for f in new if f['dir'] == 'npm:sans-serif' and not f['initial']]
keep = set(f['path'] for f in rng.sample(sans, len(sans) // 3))
pool = [f for f in new if f['dir'] != 'npm:sans-serif' or f['initial'] or f['path'] in keep] + rng.sample(old, len(old) // 3)
json.dump(pool, open('fonts-i.json', 'w'), indent=0)
PY
FONTS=fonts-i.json MAGPIE_STYLIZE=0.5 MAGPIE_FLOURISH=0.12 MAGPIE_INITIAL_WEIGHT=4 render images-i 1 12
library letters-i.magpie images-i
"$cli" -L letters-i.magpie backbone letters
"$cli" -L letters-i.magpie train -c letters --fast --prior-weight 0 --no-validate
python3 "$here/averageheads.py" "$src/resources/backbones/letters.prior" "$(newest letters-i.magpie head)" averaged.prior
cp averaged.prior "$src/resources/backbones/letters.prior"
echo "wrote $src/resources/backbones/letters.prior (set E's head averaged with set I's)"
