"""ORBKEY: a few of the library picture's own ORB descriptors (256 bits each), kept as codes.

A deep crop (60 % of each side, a third of the picture) or a collage's tile shares no
whole-picture or window code with its original, and too few visual words for the bag of
words to come near; but the keypoints inside it are the original's keypoints. Each library
picture keeps at most KEEP descriptors, spread over it (a 4 x 4 grid, the most
distinctive of each cell: farthest from its nearest visual word, so the commonest corner
shapes, text and edges, do not fill the index); a query looks its own most distinctive
descriptors up, as they are and mirrored. One descriptor within the threshold makes a
candidate, which ORB verification (20+ one-to-one inliers) must then confirm: this family
is never certain on its own.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from postcheck.verifiers.families.base import HashFamily, QueryCode
from postcheck.verifiers.orb import Features, vocabulary

KEEP = 16  # library codes per picture (at most)
GRID = 4  # cells per side the kept descriptors are spread over
QUERY_KEEP = 160  # descriptors a query looks up, per orientation
MIN_KEYPOINTS = 40  # fewer keypoints: a smooth picture, left to the other families


def _distinctiveness(des: np.ndarray) -> np.ndarray:
    """Hamming distance of each descriptor to its nearest visual word."""
    dist, _ = vocabulary().index.search(np.ascontiguousarray(des), 1)
    return dist[:, 0].astype(np.float32)


def _spread(feats: Features, keep: int) -> list[int]:
    """Rows of the most distinctive descriptors, the best of each grid cell first."""
    height, width = feats.shape
    score = _distinctiveness(feats.des)
    cx = np.minimum(GRID - 1, (feats.xy[:, 0] * GRID / max(1, width)).astype(int))
    cy = np.minimum(GRID - 1, (feats.xy[:, 1] * GRID / max(1, height)).astype(int))
    cell = cy * GRID + cx
    order = np.argsort(-score, kind="stable")
    firsts, rest, seen = [], [], set()
    for i in order:
        (rest if cell[i] in seen else firsts).append(int(i))
        seen.add(cell[i])
    return (firsts + rest)[:keep]


class OrbKey(HashFamily):
    name: ClassVar[str] = "orbkey"
    bits: ClassVar[int] = 256
    threshold: ClassVar[int] = 40

    def library_codes(self, view) -> dict[str, bytes]:
        feats = view.features
        if len(feats.des) < MIN_KEYPOINTS:
            return {}
        return {f"k{n}": feats.des[i].tobytes() for n, i in enumerate(_spread(feats, KEEP))}

    def query_codes(self, view) -> list[QueryCode]:
        out = []
        for flip in (False, True):
            feats = view.features.get(("full", flip))
            if feats is None or len(feats.des) < MIN_KEYPOINTS:
                continue
            score = _distinctiveness(feats.des)
            for i in np.argsort(-score, kind="stable")[:QUERY_KEEP]:
                out.append(QueryCode("full", flip, feats.des[i].tobytes()))
        return out
