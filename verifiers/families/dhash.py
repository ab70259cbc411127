"""dHash (imagehash.dhash): signs of horizontal gradients on a 9x8 grey copy. 64 bits of the
whole picture and of its mirror."""

from __future__ import annotations

from typing import ClassVar

import imagehash

from postcheck.verifiers.families.base import WholePictureFamily


class DHash(WholePictureFamily):
    name: ClassVar[str] = "dhash"
    bits: ClassVar[int] = 64
    # Gradients flip more easily than DCT signs under recompression: a wider cut.
    threshold: ClassVar[int] = 14

    def code(self, image) -> bytes:
        return self.pack(imagehash.dhash(image, hash_size=8).hash)
