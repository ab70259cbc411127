"""Caption bars the trims do not take off (issue 17, mirrored and captioned copies): big type
stops trim_uniform at the bar's first line of text, so regions.bar_box finds the bar by its
edge with the photo; and a bar as dark as the photo (a black bar under a night sky) has no
edge at all, so the dense check also lays the whole query on the original at the
original's own shape, the photo at one end (matcher._bar_windows)."""

import random
from pathlib import Path

import cv2
import numpy as np
import pytest
from matching_library import exact_library
from PIL import Image, ImageDraw, ImageFont, ImageOps
from test_matching_lowtex import clouds, fog

from postcheck.domain import MatchEdit
from postcheck.verifiers import perceptual, regions
from postcheck.verifiers.matcher import Candidate, _bar_windows, _dense, _dense_edits, match

FIX = Path(__file__).parents[1] / "fixtures"
WORDS = ["BREAKING", "THEY", "SAID", "NOBODY", "WOULD", "EVER", "SEE", "THIS", "SHARE"]
WORDS += ["BEFORE", "IT", "IS", "DELETED"]


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def captioned(
    photo: Image.Image, side: str, colour, frac=0.22, seed=0, lines=2, words=6
) -> Image.Image:
    """`photo` with a bar of `frac` of its height added above or below, `lines` lines of
    big bold type on it (6 words a line: ink over half of some rows, as meme captions
    have)."""
    rng = random.Random(seed)
    width, height = photo.size
    bar = round(frac * height)
    post = Image.new("RGB", (width, height + bar), colour)
    post.paste(photo.convert("RGB"), (0, bar if side == "top" else 0))
    top = 0 if side == "top" else height
    ink = "black" if sum(colour) > 380 else "white"
    draw = ImageDraw.Draw(post)
    size = round(bar * 0.3)
    for line in range(lines):
        text = " ".join(rng.sample(WORDS, words))
        font = _font(size)
        while draw.textlength(text, font=font) > 0.96 * width and size > 8:
            size -= 1
            font = _font(size)
        x = (width - draw.textlength(text, font=font)) / 2
        y = top + bar * (0.14 + 0.44 * line)
        draw.text(
            (x, y), text, font=font, fill=ink, stroke_width=max(1, size // 10), stroke_fill=ink
        )
    return post


def night_sky(seed: int, size=(640, 480)) -> Image.Image:
    """A star field: black, a faint glow of nebula, a few hundred stars of every brightness
    (almost nothing for ORB to hold on to, and black to its edges)."""
    w, h = size
    rng = np.random.default_rng(seed)
    glow = np.asarray(clouds(seed + 100, size, colour=(0, 0, 0), amp=(40, 30, 50)), np.float32)
    sky = np.clip(glow, 0, None)
    stars = np.zeros((h, w), np.float32)
    for _ in range(350):
        x, y = rng.integers(0, w), rng.integers(0, h)
        stars[y, x] = rng.uniform(80, 255) * (3 if rng.random() < 0.03 else 1)
    stars = cv2.GaussianBlur(stars, (0, 0), 1.2) * 6
    sky = np.clip(sky + stars[..., None], 0, 255).astype(np.uint8)
    return Image.fromarray(sky)


def _photos():
    known = sorted((FIX / "known").glob("*.jpg"))
    return [Image.open(p).convert("RGB") for p in known[:2]] + [clouds(7)]


def _near(box, target, shape, tol=0.015):
    return max(abs(box[i] - target[i]) for i in range(4)) <= tol * max(shape[:2])


@pytest.mark.parametrize("side", ["top", "bottom"])
@pytest.mark.parametrize("colour", [(20, 40, 90), (255, 255, 255), (200, 30, 30)])
def test_a_bar_with_big_type_is_cut_off(side, colour):
    """The photo region without the bar is among the query's regions, within 1.5 %."""
    for k, photo in enumerate(_photos()):
        post = captioned(photo, side, colour, seed=k)
        rgb = np.asarray(post)
        boxes = regions.candidate_boxes(rgb)
        w, h = post.size
        bar = h - photo.size[1]
        target = (0, bar, w, h) if side == "top" else (0, 0, w, h - bar)
        assert "bar" in boxes and _near(boxes["bar"], target, rgb.shape), (k, boxes, target)


def test_big_type_stops_the_trims():
    """Why bar_box exists: on the same post the trims keep a good part of the bar."""
    photo = _photos()[0]
    post = captioned(photo, "bottom", (20, 40, 90))
    rgb = np.asarray(post)
    small, _ = regions.shrink(rgb, 256)
    kept = regions.trim_uniform(small, 0.5)[3] / small.shape[0]
    assert kept > photo.size[1] / post.size[1] + 0.03, kept


def test_no_bar_without_one():
    """Photos as they are, a plain border (padding, the trim's job), a flat sky meeting the
    edge, and a black bar on a night sky (no edge between them): no bar box."""
    cases = [np.asarray(p) for p in _photos()]
    bordered = ImageOps.expand(_photos()[0], border=40, fill="white")
    cases.append(np.asarray(bordered))
    flat_top = np.asarray(clouds(3)).copy()
    flat_top[:120] = flat_top[120]  # a clear sky along the top: a flat run, then clouds
    cases.append(flat_top)
    cases.append(np.asarray(captioned(night_sky(1), "bottom", (0, 0, 0))))
    for k, rgb in enumerate(cases):
        small, _ = regions.shrink(rgb, 256)
        assert regions.bar_box(small) is None, k


@pytest.fixture(scope="module")
def library():
    """A sky, a fog, a night sky, a fixture photo and a grey overcast (ids 1-5)."""
    overcast = clouds(13, colour=(120, 120, 120), amp=(20, 20, 20))
    pictures = [clouds(11), fog(12), night_sky(2), _photos()[0], overcast]
    return (*exact_library(pictures), pictures)


def _proven(found):
    return [m for m in found if m.is_match]


@pytest.mark.parametrize("colour", [(20, 40, 90), (255, 255, 255)])
@pytest.mark.parametrize(
    ("which", "side"), [(1, "bottom"), (2, "top"), (2, "bottom"), (4, "bottom")]
)
def test_a_mirrored_smooth_photo_under_a_big_caption_is_found_and_named(
    library, which, side, colour
):
    """Fog, a night sky, an overcast: no seam for regions.tiles, the trims stopped by the
    type; found through the bar box, certain, named mirrored and captioned."""
    index, feats, pictures = library
    post = ImageOps.mirror(captioned(pictures[which], side, colour, seed=which))
    query = perceptual.query_print(post.resize((500, round(500 * post.height / post.width))))
    found = _proven(match(query, index, lambda e, v: feats[e.known_id]))
    assert [m.known.id for m in found] == [which + 1], [(m.known.id, m.stage) for m in found]
    assert MatchEdit.MIRRORED in found[0].edits
    assert MatchEdit.OVERLAID in found[0].edits, found[0].details  # "caption bar ..."


def _black_bar_query(pictures, side):
    post = ImageOps.mirror(captioned(pictures[2], side, (0, 0, 0), frac=0.2, seed=3))
    return perceptual.query_print(post.resize((512, round(512 * post.height / post.width))))


@pytest.mark.parametrize("side", ["top", "bottom"])
def test_the_dense_check_lays_the_query_on_the_original_at_its_own_shape(library, side):
    """A black bar on a night sky: no region cuts it off, and stretched over the whole
    original the query does not align; with the original's shape at the photo's end, it
    does, mirrored, and the edits read off the alignment say a bar was added."""
    _, feats, pictures = library
    query = _black_bar_query(pictures, side)
    cand = Candidate(2, "dct256", "", "full", False, 70, 70 / 85)
    check, used = _dense(query, {"dct256": cand}, feats[3])
    assert check is not None and check.confirmed, check
    assert used.box == "full" and used.flip
    edits, details = _dense_edits(query, used, check, feats[3].thumb.shape[:2])
    assert MatchEdit.MIRRORED in edits and MatchEdit.OVERLAID in edits, details
    assert any("caption bar" in d for d in details), details


def test_bar_windows_only_where_the_rest_is_one_colour(library):
    """A taller crop of a photo (no bar: its end is photo) gets no bar windows; a bar at
    the bottom gets the photo-on-top window (and the top end, black sky, its own)."""
    _, feats, pictures = library
    shape = feats[4].thumb.shape[:2]
    photo = pictures[3]
    w, h = photo.size
    taller = perceptual.query_print(photo.crop((w // 4, 0, 3 * w // 4, h)))
    assert _bar_windows(taller, shape) == []
    post = captioned(photo, "bottom", (255, 255, 255))
    windows = _bar_windows(perceptual.query_print(post), shape)
    assert len(windows) == 1 and windows[0][:3] == (0.0, 0.0, 1.0), windows
    assert windows[0][3] == pytest.approx(post.height / h, rel=0.02)


@pytest.mark.parametrize(
    ("colour", "frac", "lines", "words"),
    [
        ((255, 255, 255), 0.08, 2, 6),
        ((20, 40, 90), 0.08, 2, 6),
        ((255, 255, 255), 0.14, 1, 2),
        ((20, 40, 90), 0.14, 1, 2),
        # bars so thin that the whole post is itself within DCT256's certain bar (44)
        ((20, 40, 90), 0.045, 1, 3),
        ((255, 255, 255), 0.05, 1, 6),
    ],
)
def test_a_caption_bar_found_through_its_box_is_named_a_caption_bar(
    library, colour, frac, lines, words
):
    """Found certain through the bar box, whose label ORB's transform would change: a bar
    of 8 % of the height lies inside the transform's margin (no edit named), and a bar
    with two words on it is nearly all one colour (read as padding); a bar of 5 % leaves
    the whole post certain too, which names no region's edit. The bar's label stays: a
    caption bar."""
    index, feats, pictures = library
    post = captioned(pictures[3], "top", colour, frac=frac, lines=lines, words=words)
    query = perceptual.query_print(post)
    assert "bar" in query.view.boxes
    found = _proven(match(query, index, lambda e, v: feats[e.known_id]))
    assert [m.known.id for m in found] == [4], [(m.known.id, m.stage) for m in found]
    assert found[0].edits == [MatchEdit.OVERLAID], (found[0].stage, found[0].details)
    assert "caption bar" in found[0].details[0]
