"""The query side of the dense check: each region's small grey copy is made once per query,
not once per candidate, and comparing it gives what comparing the region gave."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from matching_library import exact_library
from PIL import Image, ImageFilter

from postcheck.verifiers import dense, perceptual
from postcheck.verifiers.matcher import match

FIX = Path(__file__).parents[1] / "fixtures"
KNOWN = sorted((FIX / "known").glob("*.jpg"))


def _smooth(path: Path) -> Image.Image:
    """As fog is: too few corners for ORB to decide (a handful of inliers at most)."""
    img = Image.open(path).convert("RGB")
    img.thumbnail((512, 512))
    return img.filter(ImageFilter.GaussianBlur(8))


def _edited(img: Image.Image) -> Image.Image:
    """Cut 10 % away and turn 4 degrees (corners reflected): hashes near, no certainty."""
    w, h = img.size
    cut = np.asarray(img.crop((int(0.06 * w), int(0.04 * h), int(0.96 * w), int(0.94 * h))))
    turn = cv2.getRotationMatrix2D((cut.shape[1] / 2, cut.shape[0] / 2), 4, 1.0)
    out = cv2.warpAffine(cut, turn, cut.shape[1::-1], borderMode=cv2.BORDER_REFLECT_101)
    return Image.fromarray(out).resize((380, round(380 * out.shape[0] / out.shape[1])))


@pytest.fixture(scope="module")
def smooth_library():
    """The same smooth photo under three known ids (three candidates the dense check
    meets with the same query regions) and the other fixture photos, smoothed."""
    pictures = [_smooth(KNOWN[2])] * 3 + [_smooth(p) for p in KNOWN if p != KNOWN[2]]
    return exact_library(pictures)


def _uncached_thumb(view: perceptual.QueryView, box: str, flip: bool) -> np.ndarray:
    """What the matcher handed the dense check before: the region itself."""
    x0, y0, x1, y1 = view.boxes[box]
    region = view.gray[y0:y1, x0:x1]
    return np.ascontiguousarray(region[:, ::-1]) if flip else region


def test_a_region_thumb_is_made_once_per_query(smooth_library, monkeypatch):
    index, feats = smooth_library
    made, compared = [], []
    thumb, compare = dense.thumb, dense.compare

    def counted_thumb(gray, side=dense.THUMB_SIDE):
        if max(gray.shape[:2]) > side:  # a region shrunk (a thumb given again stays as it is)
            made.append(gray.shape)
        return thumb(gray, side)

    def counted_compare(*args, **kwargs):
        compared.append(args[0].shape)
        return compare(*args, **kwargs)

    monkeypatch.setattr(dense, "thumb", counted_thumb)
    monkeypatch.setattr(dense, "compare", counted_compare)
    query = perceptual.query_print(_edited(_smooth(KNOWN[2])))
    found = match(query, index, lambda e, v: feats[e.known_id], k=3)
    assert len(compared) >= 3, "the dense check met several candidates"
    assert len(made) == len(query.view.thumbs) < len(compared)
    assert {m.known.id for m in found if m.is_match} == {1, 2, 3}
    assert all("dense check" in m.stage for m in found if m.is_match)
    # a second look at the same query makes none
    match(query, index, lambda e, v: feats[e.known_id], k=3)
    assert len(made) == len(query.view.thumbs)


def test_matching_with_the_thumbs_gives_what_the_regions_gave(smooth_library, monkeypatch):
    index, feats = smooth_library
    queries = [
        _edited(_smooth(KNOWN[2])),
        _edited(_smooth(KNOWN[1])).transpose(Image.FLIP_LEFT_RIGHT),
    ]
    for img in queries:
        query = perceptual.query_print(img)
        view = query.view
        for box in view.boxes:
            for flip in (False, True):
                for lib in feats.values():
                    a = dense.compare(view.thumb(box, flip), lib.thumb, (0.1, 0.0, 1.0, 0.9))
                    b = dense.compare(_uncached_thumb(view, box, flip), lib.thumb, (0.1, 0, 1, 0.9))
                    assert (a.ncc, a.overlap) == (b.ncc, b.overlap)
                    if b.transform is not None:
                        np.testing.assert_array_equal(a.transform, b.transform)
        cached = match(query, index, lambda e, v: feats[e.known_id], k=3)
        monkeypatch.setattr(perceptual.QueryView, "thumb", _uncached_thumb)
        before = match(perceptual.query_print(img), index, lambda e, v: feats[e.known_id], k=3)
        monkeypatch.undo()
        assert [(m.known.id, m.is_match, m.stage, m.edits) for m in cached] == [
            (m.known.id, m.is_match, m.stage, m.edits) for m in before
        ]
