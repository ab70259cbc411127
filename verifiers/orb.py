"""Local features: ORB keypoints, a bag of visual words for the first stage, and the
geometric check (RANSAC) that confirms a candidate and says how the copy was edited.

The vocabulary (2048 binary words, their idf, a centre vector and a ±1 projection for a
1024-bit SimHash) is in data/orb_vocabulary.npz; it was trained on images that are not
photographs (icons, wallpapers, renders from Debian packages), so no benchmark photo
shaped it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources

import cv2
import faiss
import numpy as np
from threadpoolctl import threadpool_limits

# One picture per thread or process: the libraries' own thread pools only fight the import
# pool's workers (measured on 2 cores: 16 -> 31 images/s with BLAS held to one thread).
cv2.setNumThreads(1)
faiss.omp_set_num_threads(1)
threadpool_limits(1, user_api="blas")

ORB_SIDE = 512
N_FEATURES = 700
MIN_INLIERS = 20  # wrong pairs never reached 9 one-to-one inliers, true ones almost always 20+
RATIO = 0.8
REPROJECTION_PX = 6.0
_local = threading.local()


@dataclass
class Features:
    xy: np.ndarray  # (n, 2) float32, in the coordinates of the image they were taken from
    des: np.ndarray  # (n, 32) uint8
    shape: tuple[int, int]  # (height, width) of that image
    # A small grey copy of a library picture (dense.thumb), for the dense check of
    # candidates too smooth for keypoints; None on the query side.
    thumb: np.ndarray | None = None
    octave: np.ndarray | None = None  # (n,) the pyramid level each keypoint was found at
    # Each descriptor's 2 nearest visual words (distances, word ids), taken once
    # (nearest_words): the bag of words and the deep-crop codes both need them.
    words: tuple[np.ndarray, np.ndarray] | None = None


def _detector() -> cv2.ORB:
    # OpenCV objects are not thread-safe; Prefect runs tasks in threads.
    orb = getattr(_local, "orb", None)
    if orb is None:
        orb = _local.orb = cv2.ORB_create(
            nfeatures=N_FEATURES,
            scaleFactor=1.2,
            nlevels=8,
            edgeThreshold=15,
            patchSize=31,
            fastThreshold=10,
        )
    return orb


def features(
    gray: np.ndarray, side: int = ORB_SIDE, offset: tuple[float, float] = (0.0, 0.0)
) -> Features:
    """ORB on `gray` rescaled to max side `side` (small thumbnails are enlarged: ORB needs
    pixels); keypoints come back in `gray`'s coordinates (+ offset)."""
    height, width = gray.shape
    scale = side / max(height, width)
    if abs(scale - 1) > 0.02:
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        gray = cv2.resize(
            gray,
            (max(8, round(width * scale)), max(8, round(height * scale))),
            interpolation=interp,
        )
    keypoints, des = _detector().detectAndCompute(gray, None)
    if des is None:
        return Features(np.zeros((0, 2), np.float32), np.zeros((0, 32), np.uint8), (height, width))
    xy = np.array([k.pt for k in keypoints], np.float32) / scale + np.float32(offset)
    octave = np.array([k.octave for k in keypoints], np.int8)
    return Features(xy, des, (height, width), octave=octave)


class Vocabulary:
    def __init__(
        self, centers: np.ndarray, idf: np.ndarray, centre: np.ndarray, projection: np.ndarray
    ) -> None:
        self.centers = centers
        self.size = len(centers)
        self.index = faiss.IndexBinaryFlat(256)
        self.index.add(centers)
        self.idf = idf.astype(np.float32)
        self.centre = centre.astype(np.float32)
        self.projection = np.unpackbits(projection, axis=1).astype(np.float32) * 2 - 1

    def bow(self, des: np.ndarray, words: np.ndarray | None = None) -> np.ndarray:
        """Soft-assigned (2 nearest words), burst-damped, idf-weighted, unit-length."""
        histogram = np.zeros(self.size, np.float32)
        if len(des):
            if words is None:
                _, words = self.index.search(np.ascontiguousarray(des), 2)
            np.add.at(histogram, words[:, 0], 1.0)
            np.add.at(histogram, words[:, 1], 0.5)
        histogram = np.sqrt(histogram) * self.idf
        norm = np.linalg.norm(histogram)
        return histogram / norm if norm > 0 else histogram

    def simhash(self, des: np.ndarray, words: np.ndarray | None = None) -> bytes:
        """1024-bit SimHash of the centred bag of words: robust to crops and small rotations."""
        bag = self.bow(des, words)
        return np.packbits(((bag - self.centre) @ self.projection) > 0).tobytes()


@cache
def vocabulary() -> Vocabulary:
    data = resources.files("postcheck.verifiers").joinpath("data/orb_vocabulary.npz")
    with data.open("rb") as fh, np.load(fh) as z:
        return Vocabulary(z["centers"], z["idf"], z["centre"], z["projection"])


def nearest_words(feats: Features) -> tuple[np.ndarray, np.ndarray]:
    """(distances, word ids) of each descriptor's 2 nearest visual words, kept on `feats`."""
    if feats.words is None:
        dist, ids = vocabulary().index.search(np.ascontiguousarray(feats.des), 2)
        feats.words = (dist, ids)
    return feats.words


@dataclass
class Verification:
    inliers: int
    transform: np.ndarray | None  # 2x3 similarity, query coordinates -> library coordinates


def ratio_matches(query: np.ndarray, library: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(query rows, library rows) of the one-to-one ratio-test matches between two sets of
    descriptors: each query descriptor's nearest library descriptor, kept when it is
    closer than RATIO times the second nearest; of the query descriptors that chose the
    same library one, the closest (the first of equals). In the order a loop over the
    query rows would first meet each library row (RANSAC's sample depends on the order).

    Exact Hamming kNN in faiss (k=2). Ties cannot change the result: when the two nearest
    are equally far the ratio test refuses the pair whichever comes first, and otherwise
    the nearest is unique; the second is used only for its distance."""
    dist, rows = faiss.knn_hamming(np.ascontiguousarray(query), np.ascontiguousarray(library), 2)
    passed = np.flatnonzero(dist[:, 0] < RATIO * dist[:, 1])  # ascending query rows
    if not len(passed):
        return passed, passed
    train, near = rows[passed, 0], dist[passed, 0]
    # per library row: the closest query row, the first of equals (stable sort on distance)
    by_train = np.lexsort((passed, near, train))
    first = np.ones(len(by_train), bool)
    first[1:] = train[by_train[1:]] != train[by_train[:-1]]
    kept = by_train[first]  # one per library row, ascending library row
    # ... ordered by where each library row first appeared among the passing query rows
    _, appeared = np.unique(train, return_index=True)
    order = np.argsort(appeared, kind="stable")
    kept = kept[order]
    return passed[kept], train[kept]


def verify(query: Features, library: Features) -> Verification:
    """One-to-one ratio-test matches, then a RANSAC similarity transform. One-to-one matters:
    text on a caption or a shop sign otherwise piles many matches onto one keypoint."""
    if len(query.des) < 8 or len(library.des) < 8:
        return Verification(0, None)
    q_rows, l_rows = ratio_matches(query.des, library.des)
    if len(q_rows) < 6:
        return Verification(0, None)
    transform, inliers = cv2.estimateAffinePartial2D(
        np.ascontiguousarray(query.xy[q_rows], np.float32),
        np.ascontiguousarray(library.xy[l_rows], np.float32),
        method=cv2.RANSAC,
        ransacReprojThreshold=REPROJECTION_PX,
        maxIters=2000,
        confidence=0.995,
    )
    if transform is None:
        return Verification(0, None)
    return Verification(int(inliers.ravel().astype(bool).sum()), transform)


def rotation_degrees(transform: np.ndarray) -> float:
    return math.degrees(math.atan2(transform[1, 0], transform[0, 0]))


def clipped_area(polygon: np.ndarray, width: float, height: float) -> float:
    """Area of a convex polygon clipped to [0,width]x[0,height] (Sutherland-Hodgman)."""

    def clip(points, inside, cross):
        out = []
        for i in range(len(points)):
            a, b = points[i - 1], points[i]
            if inside(b):
                if not inside(a):
                    out.append(cross(a, b))
                out.append(b)
            elif inside(a):
                out.append(cross(a, b))
        return out

    def at_x(x0):
        return lambda a, b: (x0, a[1] + (b[1] - a[1]) * (x0 - a[0]) / ((b[0] - a[0]) or 1e-9))

    def at_y(y0):
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y0 - a[1]) / ((b[1] - a[1]) or 1e-9), y0)

    points = [tuple(p) for p in polygon]
    for inside, cross in (
        (lambda q: q[0] >= 0, at_x(0)),
        (lambda q: q[0] <= width, at_x(width)),
        (lambda q: q[1] >= 0, at_y(0)),
        (lambda q: q[1] <= height, at_y(height)),
    ):
        points = clip(points, inside, cross)
        if not points:
            return 0.0
    area = 0.0
    for i in range(len(points)):
        (x0, y0), (x1, y1) = points[i - 1], points[i]
        area += x0 * y1 - x1 * y0
    return abs(area) / 2
