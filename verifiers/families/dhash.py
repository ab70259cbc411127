"""dHash: signs of horizontal gradients on a 9x8 grayscale copy (imagehash.dhash).
Independent enough of pHash that requiring both cuts false matches."""

from __future__ import annotations

from typing import ClassVar

import imagehash
from PIL import Image

from postcheck.verifiers.families.base import HashFamily


class DHash(HashFamily):
    name: ClassVar[str] = "dhash"
    bits: ClassVar[int] = 64
    # Gradients flip more easily than DCT signs under recompression, so a wider cut-off.
    threshold: ClassVar[int] = 14

    def compute(self, image: Image.Image) -> bytes:
        return self.pack(imagehash.dhash(image, hash_size=8).hash)
