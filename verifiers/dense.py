"""Dense confirmation: is the query's region the library picture, pixel for pixel?

ORB needs corners; a smooth photo (fog, sky, sea, a soft close-up) has almost none, so its
edited copies could not be confirmed even when every hash put them near. Here the query
region that found the candidate is laid over the library picture (the region and the
library window that met give the first guess: scale and offset), ECC
(cv2.findTransformECC, affine) refines the alignment on small grey copies, and the
overlapping pixels are compared by normalised cross-correlation of their band-passed
detail (a difference of Gaussians): two unrelated skies share smooth gradients, not the
shape of their clouds. The bars (MIN_NCC, MIN_OVERLAP) were set on unrelated photos; see
README, "How it matches".
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

THUMB_SIDE = 160  # the library picture's grey copy kept for this check (max side, px)
MIN_NCC = 0.70  # band-passed correlation after alignment (unrelated pairs: see README)
MIN_OVERLAP = 0.35  # of the library picture covered by the aligned query region
# Overlaid queries (a caption, a text bar, a watermark over part of the photo): the
# overlap is cut into STRIPS horizontal strips, the DROPPED worst are left
# out and the correlation is taken over the rest. Leaving strips out also raises unrelated
# pairs, so it confirms only at its own, stricter bar (README, "How it matches").
STRIPS = 6
DROPPED = 2
MIN_OVERLAY_NCC = 0.80
_ECC_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 60, 1e-5)


@dataclass
class DenseResult:
    ncc: float  # -1..1; -1 when alignment failed
    overlap: float  # 0..1 of the library picture
    transform: np.ndarray | None  # 2x3: query region (thumb px) -> library thumb px
    strip_ncc: float = -1.0  # the NCC without the overlap's DROPPED worst strips

    @property
    def angle(self) -> float:
        """Rotation of the affine transform, degrees (its closest rotation, so a change of
        aspect does not read as a turn)."""
        if self.transform is None:
            return 0.0
        a = self.transform
        return float(np.degrees(np.arctan2(a[1, 0] - a[0, 1], a[0, 0] + a[1, 1])))

    @property
    def overlaid(self) -> bool:
        """Confirmed only once the worst strips are left out (an overlay on the photo)."""
        return self.ncc < MIN_NCC and self.strip_ncc >= MIN_OVERLAY_NCC

    @property
    def confirmed(self) -> bool:
        return self.overlap >= MIN_OVERLAP and (
            self.ncc >= MIN_NCC or self.strip_ncc >= MIN_OVERLAY_NCC
        )


def thumb(gray: np.ndarray, side: int = THUMB_SIDE) -> np.ndarray:
    """The small grey copy both sides of the check work on (uint8)."""
    height, width = gray.shape[:2]
    scale = min(1.0, side / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA)


def _band(img: np.ndarray) -> np.ndarray:
    """Detail between 1 and 4 px at thumb scale: what a photo's own texture is made of."""
    f = img.astype(np.float32)
    return cv2.GaussianBlur(f, (0, 0), 1.0) - cv2.GaussianBlur(f, (0, 0), 4.0)


def _ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    x, y = a[mask], b[mask]
    if len(x) < 200:
        return -1.0
    x = x - x.mean()
    y = y - y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    return float((x * y).sum() / denom) if denom > 1e-6 else -1.0


def strip_ncc(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> float:
    """The NCC over the overlap without its DROPPED worst strips: the overlap's bounding box
    is cut into STRIPS horizontal strips (text runs across a picture, so captions, meme
    text, a bar's remnant and most watermarks lie in one or two of them, whichever way the
    picture is turned), each strip's own NCC is taken, and the NCC is taken again over the
    pixels of the others (a strip too small to judge counts as worst)."""
    rows = np.nonzero(mask.any(axis=1))[0]
    if mask.sum() < 200:
        return -1.0
    edges = np.linspace(int(rows[0]), int(rows[-1]) + 1, STRIPS + 1).round().astype(int)
    strips = []
    for s0, s1 in itertools.pairwise(edges):
        part = np.zeros_like(mask)
        part[s0:s1] = mask[s0:s1]
        strips.append((_ncc(a, b, part), part))
    kept = np.zeros_like(mask)
    for _, part in sorted(strips, key=lambda item: item[0])[DROPPED:]:
        kept |= part
    return _ncc(a, b, kept)


def compare(
    region: np.ndarray,
    library: np.ndarray,
    window: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> DenseResult:
    """`region`: the query region (grey, any size, already mirrored if the match was);
    `library`: the library picture's thumb; `window`: where in the library picture (as
    fractions) the region is thought to lie."""
    lh, lw = library.shape[:2]
    q = thumb(region, THUMB_SIDE)
    qh, qw = q.shape[:2]
    x0, y0, x1, y1 = window
    # first guess: the query region's corners on the window's corners
    guess = np.float32([[(x1 - x0) * lw / qw, 0, x0 * lw], [0, (y1 - y0) * lh / qh, y0 * lh]])
    # ECC wants library -> query (it warps the query onto the library's grid)
    warp = cv2.invertAffineTransform(guess).astype(np.float32)
    lib_f = cv2.GaussianBlur(library.astype(np.float32), (0, 0), 1.0)
    q_f = cv2.GaussianBlur(q.astype(np.float32), (0, 0), 1.0)
    try:
        _, warp = cv2.findTransformECC(lib_f, q_f, warp, cv2.MOTION_AFFINE, _ECC_CRITERIA, None, 5)
    except cv2.error:
        return DenseResult(-1.0, 0.0, None)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    aligned = cv2.warpAffine(_band(q), warp, (lw, lh), flags=flags)
    # pixels of the library picture the query region covers (shrunk: edges are blurred)
    valid = cv2.warpAffine(np.ones((qh, qw), np.uint8), warp, (lw, lh), flags=flags)
    valid = cv2.erode(valid, np.ones((5, 5), np.uint8)).astype(bool)
    overlap = float(valid.mean())
    # a sane similarity only: no squeeze, no fold (ECC may wander on flat pictures)
    a = warp[:, :2]
    sx, sy = float(np.hypot(*a[:, 0])), float(np.hypot(*a[:, 1]))
    if np.linalg.det(a) <= 0 or not 0.8 < sx / max(sy, 1e-9) < 1.25:
        return DenseResult(-1.0, overlap, None)
    detail = _band(library)
    ncc = _ncc(aligned, detail, valid)
    return DenseResult(
        ncc, overlap, cv2.invertAffineTransform(warp), strip_ncc(aligned, detail, valid)
    )
