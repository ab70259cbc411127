"""pHash (imagehash.phash): DCT of a 32x32 grey copy, 8x8 low frequencies against their
median. 64 bits of the whole picture and of its mirror; a cheap first look.

The codes are imagehash's, bit for bit (stored codes stay valid), computed without SciPy:
imagehash takes `scipy.fftpack.dct` of the whole 32x32 block, and importing SciPy costs
every fresh process a few tenths of a second. The 8x8 corner of that unnormalised DCT-II
is two small matrix products in float64. Where a coefficient lies so near the median that
the two computations' rounding could disagree (flat or symmetric pictures, whose many
zero coefficients are rounding noise), imagehash itself is asked, so the code is the same
in every case (tests/test_verifiers.py compares both over the fixture images)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from PIL import Image

from postcheck.verifiers.families.base import WholePictureFamily

HASH_SIZE = 8
SIDE = HASH_SIZE * 4  # imagehash's highfreq_factor 4
# Coefficients closer to the median than this fraction of the largest one: ambiguous.
AMBIGUOUS = 1e-9


def _dct_rows(n: int, k: int) -> np.ndarray:
    """The first k rows of scipy.fftpack's DCT-II (norm=None): 2·cos(π·k·(2i+1)/(2n))."""
    i = np.arange(n)[None, :]
    return 2.0 * np.cos(np.pi * np.arange(k)[:, None] * (2 * i + 1) / (2 * n))


_D = _dct_rows(SIDE, HASH_SIZE)


def phash_bits(image: Image.Image) -> np.ndarray:
    """imagehash.phash(image, hash_size=8).hash: an 8x8 array of booleans."""
    small = image.convert("L").resize((SIDE, SIDE), Image.Resampling.LANCZOS)
    pixels = np.asarray(small, dtype=np.float64)
    low = _D @ pixels @ _D.T
    median = np.median(low)
    if np.abs(low - median).min() <= AMBIGUOUS * max(float(np.abs(low).max()), 1.0):
        import imagehash  # its SciPy DCT decides, as it did when the stored codes were made

        return imagehash.phash(image, hash_size=HASH_SIZE).hash
    return low > median


class PHash(WholePictureFamily):
    name: ClassVar[str] = "phash"
    bits: ClassVar[int] = 64
    # Unrelated photos sit around 32 bits apart; imagehash's customary near-duplicate cut.
    threshold: ClassVar[int] = 10

    def code(self, image) -> bytes:
        return self.pack(phash_bits(image))
