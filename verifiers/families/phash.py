"""pHash (imagehash.phash): DCT of a 32x32 grey copy, 8x8 low frequencies against their
median. 64 bits of the whole picture and of its mirror; a cheap first look."""

from __future__ import annotations

from typing import ClassVar

import imagehash
from PIL import ImageOps

from postcheck.verifiers.families.base import HashFamily, QueryCode


class PHash(HashFamily):
    name: ClassVar[str] = "phash"
    bits: ClassVar[int] = 64
    # Unrelated photos sit around 32 bits apart; imagehash's customary near-duplicate cut.
    threshold: ClassVar[int] = 10

    def code(self, image) -> bytes:
        return self.pack(imagehash.phash(image, hash_size=8).hash)

    def library_codes(self, view) -> dict[str, bytes]:
        return {"": self.code(view.image)}

    def query_codes(self, view) -> list[QueryCode]:
        return [
            QueryCode("full", False, self.code(view.image)),
            QueryCode("full", True, self.code(ImageOps.mirror(view.image))),
        ]
