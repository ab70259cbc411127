"""pHash (imagehash.phash): DCT of a 32x32 grey copy, 8x8 low frequencies against their
median. 64 bits of the whole picture and of its mirror; a cheap first look."""

from __future__ import annotations

from typing import ClassVar

import imagehash

from postcheck.verifiers.families.base import WholePictureFamily


class PHash(WholePictureFamily):
    name: ClassVar[str] = "phash"
    bits: ClassVar[int] = 64
    # Unrelated photos sit around 32 bits apart; imagehash's customary near-duplicate cut.
    threshold: ClassVar[int] = 10

    def code(self, image) -> bytes:
        return self.pack(imagehash.phash(image, hash_size=8).hash)
