"""ORBKP: a few of a known picture's own ORB descriptors (256 bits each), for deep crops.

A crop keeping 50-60 % of each side (a third of the picture) shares no whole-picture or
window code with its original, and too few visual words for the bag of words to come
near; but the keypoints inside it are the original's keypoints (ORB confirms nearly every
such crop with 20+ inliers once the original is a candidate: benchmarks/robustness.py).
So each known picture keeps KEEP descriptors spread over it (a GRID x GRID grid, taken in
turn from each cell, the most distinctive first: farthest from the nearest visual word,
so the commonest corner shapes do not fill the index).

This family is a *fallback*: it lives in its own table and is looked up only when the
other families found no proven match and the query has MIN_KEYPOINTS keypoints or more, so
a whole-picture match pays nothing for it. A query looks up its QUERY_KEEP most
distinctive descriptors; a known picture is a candidate when MIN_VOTES of them or more are
within the threshold of its codes, and ORB verification must then confirm it (this family
is never certain on its own).

Measured in README ("How it matches"; `robustness.py --without orbkp` leaves it out).
"""

from __future__ import annotations

from collections import defaultdict
from typing import ClassVar

import numpy as np

from postcheck.verifiers.families.base import HashFamily, QueryCode
from postcheck.verifiers.orb import Features, nearest_words

KEEP = 32  # library codes per picture (at most): 1 KB (16 kept: 24 of 40 crops found, not 34)
GRID = 4  # cells per side the kept descriptors are spread over
QUERY_KEEP = 200  # descriptors a query looks up (its most distinctive)
# ...and of its mirror image: ORB descriptors are not mirror-invariant, so a mirrored deep
# crop (or a mirrored, captioned copy no whole-picture code meets) votes only through the
# mirrored picture's keypoints. Fewer than QUERY_KEEP: a lookup's cost grows with its codes.
MIRROR_KEEP = 100
# Query keypoints from this pyramid level up first: a deep crop is enlarged to the working
# size (a 60 % crop 1.67 times, ~2.8 levels of 1.2), so the original's keypoints show in
# the query's coarser levels (of 239 crop60 queries, 221 had 2+ of their original's codes
# among the 200 taken so, 211 taking the most distinctive alone; all 700 keypoints: 228).
MIN_QUERY_OCTAVE = 2
MIN_KEYPOINTS = 40  # fewer keypoints: a smooth picture, left to the dense check
# Library keypoints from the finer pyramid levels first: a crop is enlarged to the query's
# working size, so the original's coarsest levels have no counterpart in it (65 of 80
# crop60 queries got their votes so, 62 with every level alike).
MAX_OCTAVE = 3


def distinctiveness(feats: Features) -> np.ndarray:
    """Hamming distance of each descriptor to its nearest visual word (the search the bag
    of words made already)."""
    return nearest_words(feats)[0][:, 0].astype(np.float32)


def spread(feats: Features, keep: int) -> list[int]:
    """Rows of `keep` descriptors, taken in turn from each grid cell, the finer levels'
    and most distinctive first: every part of the picture is covered, whatever part a
    crop keeps."""
    height, width = feats.shape
    score = distinctiveness(feats)
    if feats.octave is not None:
        score = score + 1000.0 * (feats.octave <= MAX_OCTAVE)
    cx = np.minimum(GRID - 1, (feats.xy[:, 0] * GRID / max(1, width)).astype(int))
    cy = np.minimum(GRID - 1, (feats.xy[:, 1] * GRID / max(1, height)).astype(int))
    cells: dict[int, list[int]] = defaultdict(list)
    for i in np.argsort(-score, kind="stable"):
        cells[int(cy[i] * GRID + cx[i])].append(int(i))
    out: list[int] = []
    depth = 0
    while len(out) < keep and any(len(rows) > depth for rows in cells.values()):
        out += [rows[depth] for _, rows in sorted(cells.items()) if len(rows) > depth]
        depth += 1
    return out[:keep]


class OrbKP(HashFamily):
    name: ClassVar[str] = "orbkp"
    bits: ClassVar[int] = 256
    # Measured on 80 originals and 2,106 unrelated queries (robustness.py): at 40 bits and
    # 2 votes, 85 % of crop60 queries find their original; 1.5 % of unrelated queries get a
    # candidate, which ORB then refuses.
    threshold: ClassVar[int] = 40
    revision: ClassVar[int] = 2  # 2: the kept descriptors packed into one value
    codes_per_value: ClassVar[int] = KEEP
    fallback: ClassVar[bool] = True
    min_votes: ClassVar[int] = 2
    # 200 lookups a query: a flat table is too slow past a few thousand pictures.
    ivf_min_codes: ClassVar[int | None] = 200_000
    # 32 codes a picture: at 10^6 pictures 32 million, so lists of ~2,000 codes rather
    # than the 4,096-list cap's ~8,000, and 16 probed for each of a lookup's 300 codes:
    # 82 ms of CPU, 47-50 of the 53 crops the exact search finds (200 codes at 64 probed:
    # 211 ms and 51; benchmarks/deep_index_scale.py; README, "The known library at scale").
    ivf_max_lists: ClassVar[int] = 16384
    ivf_nprobe: ClassVar[int | None] = 16

    def library_codes(self, view) -> dict[str, bytes]:
        """The kept descriptors packed into one value: one stored row a picture rather than
        KEEP (at a million pictures, 32 million rows a rebuild would read one by one)."""
        feats = view.features
        if len(feats.des) < MIN_KEYPOINTS:
            return {}
        return {"": np.ascontiguousarray(feats.des[spread(feats, KEEP)]).tobytes()}

    def query_codes(self, view) -> list[QueryCode]:
        """The query's most distinctive descriptors (coarser levels first) as it is, then
        of its mirror image (QueryCode.flip): votes are counted per orientation."""
        out: list[QueryCode] = []
        for flip, keep in ((False, QUERY_KEEP), (True, MIRROR_KEEP)):
            feats = view.features.get(("full", flip))
            if feats is None or len(feats.des) < MIN_KEYPOINTS:
                continue
            score = distinctiveness(feats)
            if feats.octave is not None:
                score = score + 1000.0 * (feats.octave >= MIN_QUERY_OCTAVE)
            order = np.argsort(-score, kind="stable")[:keep]
            out += [QueryCode("full", flip, feats.des[i].tobytes()) for i in order]
        return out
