"""pHash: DCT of a 32x32 grayscale copy, the 8x8 lowest frequencies against their median
(imagehash.phash). Survives recompression, resizing, mild colour changes."""

from __future__ import annotations

from typing import ClassVar

import imagehash
from PIL import Image

from postcheck.verifiers.families.base import HashFamily


class PHash(HashFamily):
    name: ClassVar[str] = "phash"
    bits: ClassVar[int] = 64
    # Unrelated photos sit around 32 (half the bits); copies after recompression and
    # resizing stay under 8. 10 is imagehash's customary cut-off for near duplicates.
    threshold: ClassVar[int] = 10

    def compute(self, image: Image.Image) -> bytes:
        return self.pack(imagehash.phash(image, hash_size=8).hash)
