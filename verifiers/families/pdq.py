"""PDQ (Meta's ThreatExchange hash, through the `pdqhash` bindings of the reference C++):
256 bits from a DCT of the picture's luminance, the hash other trust-and-safety teams'
hash banks hold. Of the whole picture and of its mirror."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pdqhash
from PIL import ImageOps

from postcheck.verifiers.families.base import QueryCode, WholePictureFamily

# PDQ's own quality score (0..100): under 50 the picture is too flat for its hash to mean
# anything (ThreatExchange's recommendation), so no code is kept and no PDQ match claimed.
QUALITY_FLOOR = 50


def pdq(rgb: np.ndarray) -> tuple[bytes, int]:
    """(256-bit code, quality 0..100) of an RGB array."""
    bits, quality = pdqhash.compute(np.ascontiguousarray(rgb, dtype=np.uint8))
    return np.packbits(bits.astype(bool)).tobytes(), int(quality)


class PDQ(WholePictureFamily):
    name: ClassVar[str] = "pdq"
    bits: ClassVar[int] = 256
    # ThreatExchange's PDQ match threshold.
    threshold: ClassVar[int] = 31
    quality_floor: ClassVar[int] = QUALITY_FLOOR

    def code(self, image) -> bytes | None:
        code, quality = pdq(np.asarray(image.convert("RGB")))
        return code if quality >= QUALITY_FLOOR else None

    def library_codes(self, view) -> dict[str, bytes]:
        code = self.code(view.image)
        return {"": code} if code is not None else {}

    def query_codes(self, view) -> list[QueryCode]:
        code = self.code(view.image)
        if code is None:
            return []
        mirrored = self.code(ImageOps.mirror(view.image))
        return [QueryCode("full", False, code)] + (
            [QueryCode("full", True, mirrored)] if mirrored is not None else []
        )
