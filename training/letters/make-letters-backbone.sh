#!/usr/bin/env bash
# Rebuilds resources/backbones/letters.mbb, the "letters" backbone: the general
# MobileNetV2 cut (build/backbones/mnv2-b10.mbb) with blocks 7-10 and a new
# 1x1 layer fine-tuned by Magpie's own deep mode on synthetic decorative
# initials rendered from texlive-fonts-extra (none of the fonts the dev data
# was made from; see fontpool.py) plus 'none' images (ornaments, body text).
#
#   training/letters/make-letters-backbone.sh [BUILD_DIR] [WORK_DIR]
#
# Needs: a built magpie-cli, python3 with numpy and PIL (python3-numpy,
# python3-pil), g++ and Qt 6 Core (for rccextract), and apt-get download access
# to Debian's texlive-fonts-extra (509 MB), gcompris-qt-data and
# gnome-backgrounds (77 MB; all unpacked only in WORK_DIR, never installed). Time on 2 CPU cores:
# about 3 minutes to render ~28,000 images, 3-4 minutes to import, then the
# deep passes (2 + 4 epochs: 16 + 27 minutes on 2 shared cores, each with a
# re-embedding of the synthetic set; minutes on a GPU).
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
rm -rf images && mkdir images
for part in 0 1; do python3 "$here/synth.py" fonts.json images "$per" 1 "$part" 2 & done
wait
rm -f letters.magpie*
"$cli" init letters.magpie
"$cli" -L letters.magpie --quiet import images
"$cli" -L letters.magpie category create letters --letters
{ echo file,value,class; cat images/labels-*.csv | awk -F, '{print $1",yes,"$2}'; } > answers.csv
"$cli" -L letters.magpie --quiet answer -c letters --csv answers.csv
# Two passes, as the shipped file was made: 2 epochs from the general
# backbone, then 4 more epochs starting from that result (each pass adds a
# linear 1x1 layer; two linear layers are one linear map with more room to
# train). Total 6 epochs.
"$cli" -L letters.magpie train -c letters --deep --epochs 2 --tune-from 7 --time-box 100000 --no-validate
first=$(ls -t letters.magpie-cache/models/*.mbb | head -1)
"$cli" -L letters.magpie train -c letters --backbone "$first" --deep --epochs "$epochs" --tune-from 7 --time-box 100000 --no-validate
newest=$(ls -t letters.magpie-cache/models/*.mbb | head -1)
cp "$newest" "$src/resources/backbones/letters.mbb"
echo "wrote $src/resources/backbones/letters.mbb (from $newest)"
# The prior head: the fast head that the last pass trained on the synthetic
# answers over the new backbone's features, with the backbone version it fits.
head=$(ls -t letters.magpie-cache/models/*.head | head -1)
version=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select backbone from model_versions order by id desc limit 1').fetchone()[0])" letters.magpie)
cp "$head" "$src/resources/backbones/letters.prior"
{
    echo "# Magpie prior head for letters.mbb: a logistic head over its features,"
    echo "# trained on the synthetic initials it was tuned on (training/letters)."
    echo "# A class set whose classes are all named here is blended with it (train --prior-weight)."
    echo "backbone $version"
    echo "classes A B C D E F G H I J K L M N O P Q R S T U V W X Y Z none"
} > "$src/resources/backbones/letters.prior.txt"
echo "wrote $src/resources/backbones/letters.prior (from $head, backbone $version)"
