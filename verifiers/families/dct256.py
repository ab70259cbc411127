"""DCT256: a 256-bit pHash (64x64 grey, 16x16 low frequencies against their median).

Library pictures keep the whole picture, the border-trimmed one, and 14 sub-windows of
the trimmed one (corners at 90% and 80%, 85% strips, centre crops), so a repost cropped by
up to a quarter still meets one of them, and up to 6 centre cuts of the untrimmed picture
to the cell shapes of collages and grids (regions.centre_windows: 1:2 to 2:1, those
keeping under 90 % of a side), so a collage's tile, the photo cut to fill its cell, meets
one too. Queries are hashed on every photo region (whole, trimmed, without
caption bars, the photo inside a screenshot) and mirrored.

Measured on 40 originals and 83 unrelated photos (benchmarks/robustness.py): unrelated
pairs never came closer than 86 bits; 85 is the candidate cut (about 5 false candidates
per query at a million pictures, by a normal fit of unrelated distances, all then refused by
verification); 44 and under is accepted without verification.
"""

from __future__ import annotations

from typing import ClassVar

import cv2
import numpy as np

from postcheck.verifiers.families.base import HashFamily, QueryCode
from postcheck.verifiers.regions import WINDOWS, area_fraction, centre_windows, crop, window


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    m = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    m[0] /= np.sqrt(2)
    return m.astype(np.float32)


_M = _dct_matrix(64)[:16]


def dct256(gray: np.ndarray) -> bytes:
    g = gray.astype(np.float32)
    interp = cv2.INTER_AREA if min(g.shape) >= 64 else cv2.INTER_LINEAR
    coefficients = (_M @ cv2.resize(g, (64, 64), interpolation=interp) @ _M.T).ravel()
    return np.packbits(coefficients > np.median(coefficients)).tobytes()


class DCT256(HashFamily):
    name: ClassVar[str] = "dct256"
    bits: ClassVar[int] = 256
    threshold: ClassVar[int] = 85
    fast_threshold: ClassVar[int | None] = 44
    # 2: the centre cuts (issue 17); 3: the centre cuts of the untrimmed picture
    revision: ClassVar[int] = 3

    def library_codes(self, view) -> dict[str, bytes]:
        codes = {"": dct256(view.gray)}
        trimmed = crop(view.gray, view.trim_box)
        if area_fraction(view.trim_box, view.gray.shape) < 0.98:
            codes["trim"] = dct256(trimmed)
        for name, fractions in WINDOWS.items():
            codes[name] = dct256(window(trimmed, fractions))
        # The centre cuts from the picture as it is, not trimmed: a collage app cuts the
        # file it is given, and the trim eats much of a smooth original (a sky, fog).
        for name, fractions in centre_windows(*view.gray.shape[:2]).items():
            codes[name] = dct256(window(view.gray, fractions))
        return codes

    def query_codes(self, view) -> list[QueryCode]:
        out = []
        for box_name, box in view.boxes.items():
            region = crop(view.gray, box)
            out.append(QueryCode(box_name, False, dct256(region)))
            out.append(QueryCode(box_name, True, dct256(np.ascontiguousarray(region[:, ::-1]))))
        return out
