"""orb.verify's matches through faiss + numpy are the ones the BFMatcher loop made (issue 17:
the same proof, faster). The BFMatcher version lives on here only, as the reference."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps

from postcheck.verifiers import orb

FIX = Path(__file__).parents[1] / "fixtures"
PHOTOS = sorted((FIX / "known").glob("*.jpg")) + sorted((FIX / "images").glob("*.jpg"))


def reference_matches(query: np.ndarray, library: np.ndarray) -> list[tuple[int, int]]:
    """The BFMatcher loop orb.verify had: knnMatch k=2, ratio test, one-to-one per library
    row (the closest query row, the first of equals), in dict insertion order."""
    best: dict[int, cv2.DMatch] = {}
    for pair in cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query, library, k=2):
        if len(pair) == 2 and pair[0].distance < orb.RATIO * pair[1].distance:
            t = pair[0].trainIdx
            if t not in best or pair[0].distance < best[t].distance:
                best[t] = pair[0]
    return [(m.queryIdx, m.trainIdx) for m in best.values()]


def reference_verify(query: orb.Features, library: orb.Features) -> orb.Verification:
    if len(query.des) < 8 or len(library.des) < 8:
        return orb.Verification(0, None)
    good = reference_matches(query.des, library.des)
    if len(good) < 6:
        return orb.Verification(0, None)
    src = np.float32([query.xy[q] for q, _ in good])
    dst = np.float32([library.xy[t] for _, t in good])
    transform, inliers = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=orb.REPROJECTION_PX,
        maxIters=2000,
        confidence=0.995,
    )
    if transform is None:
        return orb.Verification(0, None)
    return orb.Verification(int(inliers.ravel().astype(bool).sum()), transform)


def _passed(query: np.ndarray, library: np.ndarray) -> int:
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(query, library, k=2)
    return sum(p[0].distance < orb.RATIO * p[1].distance for p in pairs)


def _grey(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2GRAY)


def _edits(img: Image.Image) -> list[Image.Image]:
    w, h = img.size
    small = img.resize((w // 2, h // 2))
    return [
        img.crop((int(0.1 * w), int(0.05 * h), int(0.85 * w), int(0.9 * h))),
        ImageOps.mirror(img),
        img.rotate(5, expand=False),
        ImageOps.expand(small, border=(0, 60, 0, 0), fill="white"),
        img.crop((int(0.3 * w), int(0.3 * h), int(0.8 * w), int(0.8 * h))),
    ]


@pytest.fixture(scope="module")
def pictures() -> list[Image.Image]:
    out = []
    for path in PHOTOS:
        img = Image.open(path).convert("RGB")
        img.thumbnail((768, 768))
        out.append(img)
    return out


def _same(result: orb.Verification, reference: orb.Verification) -> None:
    assert result.inliers == reference.inliers
    if reference.transform is None:
        assert result.transform is None
    else:
        np.testing.assert_array_equal(result.transform, reference.transform)


def test_verify_gives_the_same_matches_and_proof_on_edited_copies(pictures):
    proven = 0
    for img in pictures:
        library = orb.features(_grey(img))
        for edited in _edits(img):
            query = orb.features(_grey(edited))
            rows = orb.ratio_matches(query.des, library.des)
            assert list(zip(*map(list, rows), strict=True)) == reference_matches(
                query.des, library.des
            )
            result, reference = orb.verify(query, library), reference_verify(query, library)
            _same(result, reference)
            proven += reference.inliers >= orb.MIN_INLIERS
    assert proven >= 3 * len(pictures)  # the copies were confirmed, not just refused alike


def test_verify_gives_the_same_answer_on_unrelated_pictures(pictures):
    feats = [orb.features(_grey(img)) for img in pictures]
    for i, query in enumerate(feats):
        for library in feats[i + 1 :]:
            rows = orb.ratio_matches(query.des, library.des)
            assert list(zip(*map(list, rows), strict=True)) == reference_matches(
                query.des, library.des
            )
            _same(orb.verify(query, library), reference_verify(query, library))


@pytest.mark.parametrize("seed", range(6))
def test_ties_in_distance_are_resolved_as_bfmatcher_did(seed):
    """Descriptors with few distinct bits, duplicated rows on both sides: equal distances
    everywhere (nearest and second nearest tied, several query rows tied for one library
    row), which is where a different kNN could disagree."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (40, 32), dtype=np.uint8)
    base[:, 4:] = 0  # only 32 bits vary: distances 0..32, many equal
    # rows 0-19 once (a unique nearest), rows 20-39 several times (nearest = second nearest)
    library = np.concatenate([base[:20], base[20 + rng.integers(0, 20, 280)]])
    library = library[rng.permutation(len(library))]
    query = base[rng.integers(0, 40, 250)].copy()
    flips = rng.integers(0, 32, (250, 2))
    for row, (a, b) in enumerate(flips):  # one or two bits off: near, not identical
        query[row, a // 8] ^= np.uint8(1 << (a % 8))
        if row % 3:
            query[row, b // 8] ^= np.uint8(1 << (b % 8))
    expected = reference_matches(query, library)
    assert len(expected) >= 6  # some pass the ratio test
    assert len(expected) < _passed(query, library)  # one-to-one dropped some
    rows = orb.ratio_matches(query, library)
    assert list(zip(*map(list, rows), strict=True)) == expected
