"""Harder reposts (issue 17): a composite's tiles are looked up on their own, and a smooth
photo that ORB cannot confirm is confirmed (or refused) by the dense check."""

import io
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from matching_library import exact_library
from PIL import Image, ImageFilter, ImageOps

from postcheck.domain import KnownImage, MatchEdit, Verdict
from postcheck.verifiers import dense, perceptual, regions
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex, match
from postcheck.verifiers.verdict import image_verdict

FIX = Path(__file__).parents[1] / "fixtures"
KNOWN = sorted((FIX / "known").glob("*.jpg"))
OTHERS = [FIX / "images" / n for n in ("b-camera.jpg", "x-coins.jpg", "x-motorcycle.jpg")]


def _rgb(path: Path, side: int = 600) -> Image.Image:
    img = Image.open(path).convert("RGB")
    img.thumbnail((side, side))
    return img


def _grid(pictures: list[Image.Image], rows: int, cols: int, cell, gutter=0, fit=False):
    """A collage: each picture cut to fill its cell (or fitted whole on white)."""
    cw, ch = cell
    out = Image.new(
        "RGB", (cols * cw + (cols + 1) * gutter, rows * ch + (rows + 1) * gutter), "white"
    )
    cells = []
    for k, pic in enumerate(pictures):
        r, c = divmod(k, cols)
        x, y = gutter + c * (cw + gutter), gutter + r * (ch + gutter)
        if fit:
            tile = pic.copy()
            tile.thumbnail((cw, ch))
            dx, dy = (cw - tile.width) // 2, (ch - tile.height) // 2
            out.paste(tile, (x + dx, y + dy))
            cells.append((x + dx, y + dy, x + dx + tile.width, y + dy + tile.height))
        else:
            out.paste(ImageOps.fit(pic, (cw, ch)), (x, y))
            cells.append((x, y, x + cw, y + ch))
    return out, cells


def _found(boxes: dict, cell, size) -> bool:
    tol = 0.03 * max(size)
    return any(max(abs(b[i] - cell[i]) for i in range(4)) <= tol for b in boxes.values())


@pytest.mark.parametrize(("rows", "cols", "gutter"), [(2, 2, 0), (2, 2, 10), (1, 2, 0), (2, 1, 8)])
def test_tiles_of_a_collage_are_found_by_their_seams_or_gutters(rows, cols, gutter):
    pictures = [_rgb(p) for p in (KNOWN + OTHERS)[: rows * cols]]
    collage, cells = _grid(pictures, rows, cols, (400, 300), gutter)
    boxes = regions.tiles(np.asarray(collage))
    assert all(_found(boxes, cell, collage.size) for cell in cells), (boxes, cells)


def _smooth(path: Path) -> Image.Image:
    """A smooth, low-texture photograph (as fog or a cloudy sky is): the fixture photo with
    its fine detail blurred away. ORB finds almost nothing on it."""
    return _rgb(path, 512).filter(ImageFilter.GaussianBlur(3))


def _grey(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img), cv2.COLOR_RGB2GRAY)


def test_dense_check_confirms_an_edited_copy_of_a_smooth_photo():
    original = _smooth(KNOWN[2])
    w, h = original.size
    # cut 10 % away, rotate by 4 degrees with the corners filled (reflected), shrink
    cut = np.asarray(original.crop((int(0.06 * w), int(0.04 * h), int(0.96 * w), int(0.94 * h))))
    turn = cv2.getRotationMatrix2D((cut.shape[1] / 2, cut.shape[0] / 2), 4, 1.0)
    edited = cv2.warpAffine(
        cut, turn, (cut.shape[1], cut.shape[0]), borderMode=cv2.BORDER_REFLECT_101
    )
    edited = cv2.resize(edited, (380, round(380 * cut.shape[0] / cut.shape[1])))
    result = dense.compare(cv2.cvtColor(edited, cv2.COLOR_RGB2GRAY), dense.thumb(_grey(original)))
    assert result.confirmed, result
    assert result.ncc > 0.95
    assert 3.5 < result.angle < 4.5
    assert 0.7 < result.overlap < 0.85  # about 90 % x 90 % of the original


def test_dense_check_refuses_an_unrelated_smooth_photo():
    library = dense.thumb(_grey(_smooth(KNOWN[2])))
    for other in (KNOWN[0], KNOWN[1], KNOWN[3], *OTHERS):
        result = dense.compare(_grey(_smooth(other)), library)
        assert not result.confirmed, (other.name, result)
        assert result.ncc < dense.MIN_NCC - 0.2


@pytest.fixture(scope="module")
def deep_family():
    """The deep-crop fallback family (off by default), in this process's registry."""
    from postcheck.verifiers.families import families
    from postcheck.verifiers.families.orbkp import OrbKP

    added = "orbkp" not in families()
    families()["orbkp"] = OrbKP()
    yield
    if added:
        families().pop("orbkp")


def _library():
    return exact_library(KNOWN)


@pytest.fixture(scope="module")
def library():
    return _library()


@pytest.mark.parametrize(
    "first_seen", [datetime(2010, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC)]
)
def test_a_tile_of_a_collage_is_named_and_reaches_the_verdict(library, first_seen):
    index, feats = library
    chelsea = next(i for i, p in enumerate(KNOWN, start=1) if "chelsea" in p.name)
    pictures = [_rgb(p) for p in (OTHERS[0], KNOWN[chelsea - 1], OTHERS[1], OTHERS[2])]
    collage, _ = _grid(pictures, 2, 2, (420, 320), gutter=12, fit=True)
    found = match(perceptual.query_print(collage), index, lambda e, v: feats[e.known_id])
    hit = next(m for m in found if m.is_match)
    assert hit.known.id == chelsea
    assert MatchEdit.COMPOSITE in hit.edits
    assert any("composite" in d for d in hit.details)
    hit = hit.model_copy(
        update={"known": KnownImage(id=chelsea, sha256=hit.known.sha256, first_seen=first_seen)}
    )
    verdict, reasons = image_verdict([hit], [], datetime(2024, 11, 14, tzinfo=UTC))
    assert verdict is (Verdict.RECYCLED if first_seen.year == 2010 else Verdict.ALTERED)
    assert "composite" in reasons[0]


@pytest.mark.parametrize(
    ("name", "pad", "fill"),
    [("chelsea", 0.12, "white"), ("coffee", 0.17, (90, 140, 60)), ("koksan", 0.2, "white")],
)
def test_a_photo_padded_to_a_square_is_padded_not_a_composite(library, name, pad, fill):
    """Padded to a square, a photo's own strong edge can read as a seam to regions.tiles,
    and its tile is what comes closest; with nothing but plain padding around that tile
    the post is padded, not one picture of a collage."""
    index, feats = library
    known = next(i for i, p in enumerate(KNOWN, start=1) if name in p.name)
    photo = _rgb(KNOWN[known - 1], 1080)
    width, height = photo.size
    side = round(max(width, height) * (1 + 2 * pad))
    post = Image.new("RGB", (side, side), fill)
    post.paste(photo, ((side - width) // 2, (side - height) // 2))
    buf = io.BytesIO()
    post.save(buf, "JPEG", quality=85)
    query = perceptual.query_print(buf.getvalue())
    hit = next(m for m in match(query, index, lambda e, v: feats[e.known_id]) if m.is_match)
    assert hit.known.id == known and "tile" in hit.stage  # found through the false cut
    assert MatchEdit.PADDED in hit.edits and MatchEdit.COMPOSITE not in hit.edits


@pytest.mark.parametrize(
    ("name", "box"),
    [
        ("astronaut", (0.05, 0.4, 0.55)),
        ("astronaut", (0.45, 0.45, 0.5)),
        ("koksan", (0.2, 0.2, 0.55)),
    ],
)
@pytest.mark.parametrize("mirrored", [False, True])
def test_a_deep_crop_is_found_by_the_keypoint_fallback_alone(deep_family, name, box, mirrored):
    """A crop keeping about half of each side: no whole-picture or window code comes near,
    the keypoint fallback (orbkp) brings the original, ORB confirms it; without the
    fallback's codes the same crop finds nothing. Mirrored, it is found through the
    mirror image's keypoints (ORB descriptors are not mirror-invariant)."""
    index, feats = _library()
    known = next(i for i, p in enumerate(KNOWN, start=1) if name in p.name)
    img = Image.open(KNOWN[known - 1]).convert("RGB")
    w, h = img.size
    fx, fy, keep = box
    crop = img.crop((int(fx * w), int(fy * h), int((fx + keep) * w), int((fy + keep) * h)))
    if mirrored:
        crop = ImageOps.mirror(crop)
    features = lambda e, v: feats[e.known_id]  # noqa: E731
    [hit] = [m for m in match(perceptual.query_print(crop), index, features) if m.is_match]
    assert hit.known.id == known and hit.stage.startswith("orbkp")
    assert MatchEdit.CROPPED in hit.edits and hit.distances["orb_inliers"] >= 20
    assert (MatchEdit.MIRRORED in hit.edits) == mirrored
    assert ("mirror image's keypoints" in hit.stage) == mirrored
    without = LibraryIndex(
        IndexEntry(e.known_id, e.sha256, {k: c for k, c in e.codes.items() if "orbkp" not in k})
        for e in index.entries
    )
    assert not any(m.is_match for m in match(perceptual.query_print(crop), without, features))


def test_the_keypoint_fallback_finds_nothing_for_unrelated_crops(deep_family):
    index, feats = _library()
    for path in OTHERS:
        img = _rgb(path)
        w, h = img.size
        for fx, fy in ((0.0, 0.0), (0.4, 0.4)):
            crop = img.crop((int(fx * w), int(fy * h), int((fx + 0.6) * w), int((fy + 0.6) * h)))
            query = perceptual.query_print(crop)
            assert query.deep_codes()  # it was looked up
            assert not any(m.is_match for m in match(query, index, lambda e, v: feats[e.known_id]))
