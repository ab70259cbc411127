"""Smooth, low-texture photos (sky, fog) in composites and under captions (issue 17): a
smooth tile is not trimmed away, a thin gutter is, an overlay does not sink the dense
check, the dense check tries the mirrored region, and unrelated smooth photos stay below
both of its bars.

The smooth photos are synthesised: clouds of blurred noise at a few scales, with almost no
corners for ORB (about 100 keypoints on 640 x 480, none of them repeatable)."""

import io
import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from matching_library import exact_library
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from postcheck.domain import MatchEdit
from postcheck.verifiers import dense, perceptual, regions
from postcheck.verifiers.families.dct256 import DCT256, dct256
from postcheck.verifiers.matcher import Candidate, _dense, match

FIX = Path(__file__).parents[1] / "fixtures"
OTHERS = [FIX / "images" / n for n in ("b-camera.jpg", "x-coins.jpg", "x-motorcycle.jpg")]
WORDS = ["STORM", "OVER", "THE", "HARBOUR", "TONIGHT", "NOBODY", "SAW", "THIS", "COMING"]
WORDS += ["LOOK", "AT", "THAT", "SKY", "ABOVE", "THE", "CITY"]


def clouds(seed: int, size=(640, 480), colour=(110, 150, 205), amp=(40, 34, 24)) -> Image.Image:
    """A cloudy sky: noise at 1/32 to 1/4 of the size, upsampled, summed and blurred."""
    w, h = size
    rng = np.random.default_rng(seed)
    field = np.zeros((h, w), np.float32)
    for div, weight in ((32, 1.0), (16, 0.6), (8, 0.35), (4, 0.2)):
        coarse = rng.normal(size=(h // div + 2, w // div + 2)).astype(np.float32)
        big = cv2.resize(coarse, (w + 2 * div, h + 2 * div), interpolation=cv2.INTER_CUBIC)
        field += weight * big[div : div + h, div : div + w]
    field = cv2.GaussianBlur(field, (0, 0), 2.0)
    field /= np.abs(field).max()
    rgb = np.array(colour, np.float32) + field[..., None] * np.array(amp, np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def fog(seed: int, size=(640, 480)) -> Image.Image:
    """Fog: the same clouds, pale and faint (a few grey levels either way)."""
    return clouds(seed, size, colour=(206, 210, 214), amp=(12, 12, 12))


def meme(img: Image.Image, seed: int) -> Image.Image:
    """Impact-style text over the top and the bottom of the picture."""
    rng = random.Random(seed)
    out = img.copy()
    width, height = out.size
    draw = ImageDraw.Draw(out)
    size = round(height * 0.09)
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        font = ImageFont.load_default(size)
    for y in (height * 0.03, height * 0.85):
        text = " ".join(rng.sample(WORDS, 3))
        x = (width - draw.textlength(text, font=font)) / 2
        draw.text(
            (x, y), text, font=font, fill="white", stroke_width=size // 12, stroke_fill="black"
        )
    return out


def _grey(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2GRAY)


def _collage(pictures: list[Image.Image], cell=(420, 320), gutter=12, background="white"):
    """A 2 x 2 collage, each picture cut to fill its cell, gutters and a border between
    and around them."""
    cw, ch = cell
    out = Image.new("RGB", (2 * cw + 3 * gutter, 2 * ch + 3 * gutter), background)
    cells = []
    for k, pic in enumerate(pictures):
        r, c = divmod(k, 2)
        x, y = gutter + c * (cw + gutter), gutter + r * (ch + gutter)
        out.paste(ImageOps.fit(pic.convert("RGB"), cell), (x, y))
        cells.append((x, y, x + cw, y + ch))
    return out, cells


@pytest.fixture(scope="module")
def library():
    """Three skies and a fog as the known pictures (ids 1-4)."""
    pictures = [clouds(1), clouds(2), clouds(3), fog(4)]
    return (*exact_library(pictures), pictures)


def _proven(found):
    return [m for m in found if m.is_match]


def test_a_fog_tile_is_not_trimmed_away():
    """The trim takes a faint fog for a plain margin; the tile stays, untrimmed."""
    others = [Image.open(p) for p in OTHERS]
    collage, cells = _collage([others[0], fog(4), others[1], others[2]])
    boxes = regions.tiles(np.asarray(collage))
    tol = 0.03 * max(collage.size)
    assert any(max(abs(b[i] - cells[1][i]) for i in range(4)) <= tol for b in boxes.values()), (
        boxes,
        cells[1],
    )


@pytest.mark.parametrize(
    ("name", "smooth", "slot", "gutter_colour"),
    [("chelsea", False, 0, "black"), ("coffee", True, 3, "white")],
)
def test_a_thin_gutter_is_trimmed_off_a_tile(name, smooth, slot, gutter_colour):
    """Gutters of 5 px on 860 px are one line on the 256 px copy the tiles are found on,
    and the tile's trim leaves a band of one line: the tight trim takes it, and the tile's
    code comes within DCT256's certain bar of the original's."""
    known = next(p for p in (FIX / "known").glob("*.jpg") if name in p.name)
    picture = Image.open(known).convert("RGB")
    picture.thumbnail((600, 600))
    if smooth:
        picture = picture.resize((512, round(512 * picture.height / picture.width)))
        picture = picture.filter(ImageFilter.GaussianBlur(3))
    family = DCT256()
    library = family.library_codes(perceptual.library_view(picture)).values()
    pictures = [Image.open(p) for p in OTHERS]
    pictures.insert(slot, picture)
    collage, _ = _collage(pictures, gutter=5, background=gutter_colour)
    buf = io.BytesIO()
    collage.save(buf, "JPEG", quality=85)
    view = perceptual.query_view(buf.getvalue())
    distance = {
        name: min(family.distance(dct256(regions.crop(view.gray, box)), c) for c in library)
        for name, box in view.boxes.items()
        if name.startswith("tile")
    }
    closest = min(distance, key=distance.get)
    assert distance[closest] <= family.fast_threshold, distance
    assert closest.endswith("t")


def test_a_fog_photo_in_a_collage_with_gutters_is_found_through_its_tile(library):
    index, feats, _ = library
    others = [Image.open(p) for p in OTHERS]
    collage, _ = _collage([others[0], others[1], fog(4), others[2]])
    found = _proven(match(perceptual.query_print(collage), index, lambda e, v: feats[e.known_id]))
    assert [m.known.id for m in found] == [4], [(m.known.id, m.stage) for m in found]
    assert MatchEdit.COMPOSITE in found[0].edits


def test_a_captioned_sky_is_confirmed_by_the_strip_robust_ncc():
    """Meme text over the top and bottom sixth: the plain NCC falls under its bar, the NCC
    without the two worst strips does not."""
    sky = clouds(1)
    query = meme(sky, seed=1).resize((500, 375), Image.Resampling.LANCZOS)
    result = dense.compare(_grey(query), dense.thumb(_grey(sky)))
    assert result.ncc < dense.MIN_NCC, result
    assert result.strip_ncc >= dense.MIN_OVERLAY_NCC, result
    assert result.confirmed and result.overlaid


@pytest.mark.parametrize("overlay", [False, True])
def test_unrelated_skies_stay_below_both_bars(overlay):
    """Skies of the same kind (same colours, same scales of cloud) but different clouds,
    with and without text over them: far under the plain bar and the strip-robust bar."""
    for seed in range(1, 4):
        library = dense.thumb(_grey(clouds(seed)))
        for other in range(10, 16):
            picture = clouds(other)
            query = meme(picture, other) if overlay else picture
            result = dense.compare(_grey(query), library)
            assert not result.confirmed, (seed, other, result)
            assert result.ncc < dense.MIN_NCC - 0.3, (seed, other, result)
            assert result.strip_ncc < dense.MIN_OVERLAY_NCC - 0.3, (seed, other, result)


def test_the_dense_check_tries_the_mirrored_region(library):
    """A smooth photo's codes hardly tell a mirrored copy from the picture itself: the
    candidate came from the query as it is, the photo is mirrored, and the dense check
    finds it by trying the region mirrored."""
    index, feats, pictures = library
    query = perceptual.query_print(ImageOps.mirror(pictures[1]).resize((560, 420)))
    cand = Candidate(1, "dct256", "", "full", False, 60, 60 / 85)
    check, used = _dense(query, {"dct256": cand}, feats[2])
    assert check is not None and check.confirmed, check
    assert used.flip and used.box == "full"
    # and the match says so
    found = _proven(match(query, index, lambda e, v: feats[e.known_id]))
    assert found and found[0].known.id == 2
    assert MatchEdit.MIRRORED in found[0].edits


def test_a_smooth_photo_cut_to_fill_a_cell_meets_an_untrimmed_centre_cut(library):
    """The trim eats most of a faint fog; the centre cuts are taken from the picture as it
    is (a collage app cuts the file it is given), so the fog cut to a square cell comes
    within DCT256's certain bar of the library's square cut."""
    index, feats, pictures = library
    picture = pictures[3]
    w, h = picture.size
    square = picture.crop(((w - h) // 2, 0, (w + h) // 2, h)).resize((300, 300))
    found = _proven(match(perceptual.query_print(square), index, lambda e, v: feats[e.known_id]))
    assert [m.known.id for m in found] == [4], [(m.known.id, m.stage) for m in found]
    assert "ctr:1" in found[0].stage and "certain" in found[0].stage, found[0].stage


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize(("sky", "bar"), [(0, (20, 40, 90)), (1, (255, 255, 255))])
def test_a_caption_bar_cut_off_as_a_tile_is_named_a_caption_not_a_composite(
    library, sky, bar, flip
):
    """regions.tiles cuts a caption bar (30 % of the height) off at its edge, and the sky
    above it is found through that 'tile': the post is a captioned photo, not one
    picture of a collage, whichever step (the certain code, ORB) names the edit."""
    index, feats, pictures = library
    photo = pictures[sky]
    width, height = photo.size
    post = Image.new("RGB", (width, height + round(0.3 * height)), bar)
    post.paste(photo, (0, 0))
    ink = "black" if bar == (255, 255, 255) else "white"
    ImageDraw.Draw(post).text(
        (20, height + 40),
        "STORM OVER THE HARBOUR TONIGHT",
        fill=ink,
        font=ImageFont.load_default(28),
    )
    if flip:
        post = ImageOps.mirror(post)
    query = perceptual.query_print(post)
    assert any(b.startswith("tile") for b in query.view.boxes)  # the bar's edge is a seam
    found = _proven(match(query, index, lambda e, v: feats[e.known_id]))
    assert [m.known.id for m in found] == [sky + 1], [(m.known.id, m.stage) for m in found]
    assert MatchEdit.OVERLAID in found[0].edits and MatchEdit.COMPOSITE not in found[0].edits
    assert (MatchEdit.MIRRORED in found[0].edits) == flip
