"""What a hash family is (after ThreatExchange's SignalType): how it hashes a picture, how two
hashes compare under its own threshold, and which codes it keeps per library picture and
tries per query. The matcher finds families in this package without edits elsewhere."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from PIL import Image, ImageOps

if TYPE_CHECKING:
    from postcheck.verifiers.perceptual import LibraryView, QueryView


@dataclass(frozen=True)
class QueryCode:
    box: str  # which region of the query ('full', 'trim', 'band', 'content', …)
    flip: bool  # hashed as its mirror image
    code: bytes


class HashFamily(ABC):
    name: ClassVar[str]
    bits: ClassVar[int]
    # At or under this distance a library code is a candidate for the second stage.
    threshold: ClassVar[int]
    # At or under this distance the match is certain without geometric verification.
    fast_threshold: ClassVar[int | None] = None
    # Raised whenever library_codes changes what it keeps (a new window, a new cut): known
    # pictures hashed under an older revision are re-hashed by `postcheck known rehash`.
    revision: ClassVar[int] = 1
    # A fallback family is looked up only when the others found no proven match (deep
    # crops): its codes are not in a query's first lookup, and a library picture is its
    # candidate only when `min_votes` of the query's codes come within the threshold.
    fallback: ClassVar[bool] = False
    min_votes: ClassVar[int] = 1
    # From how many codes the on-disk index keeps this family in an IVF index, if sooner
    # than the setting (index_ivf_min_codes) says.
    ivf_min_codes: ClassVar[int | None] = None
    # A family with many codes a picture may pack them into one stored value (one row in
    # the store, not one per code): at most this many, split by `split`.
    codes_per_value: ClassVar[int] = 1
    # The IVF's shape when it is one: at most this many lists (about 4 sqrt(n) below it),
    # and how many a search probes (None: the index's setting, POSTCHECK_INDEX_NPROBE).
    ivf_max_lists: ClassVar[int] = 4096
    ivf_nprobe: ClassVar[int | None] = None
    # Off: the registry leaves it out unless a benchmark or test adds it (families.add).
    enabled: ClassVar[bool] = True

    @abstractmethod
    def library_codes(self, view: LibraryView) -> dict[str, bytes]:
        """Codes to keep for a library picture, by variant ('' is the whole picture)."""

    @abstractmethod
    def query_codes(self, view: QueryView) -> list[QueryCode]:
        """Codes to look up for a query picture."""

    def split(self, value: bytes) -> list[bytes]:
        """The codes one stored value holds (up to `codes_per_value` of this family's size,
        end to end); a value of another size, from another version, holds none."""
        width = self.bits // 8
        if not value or len(value) % width or len(value) > width * self.codes_per_value:
            return []
        return [value[i : i + width] for i in range(0, len(value), width)]

    def distance(self, a: bytes, b: bytes) -> int:
        return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()

    @staticmethod
    def pack(bits: np.ndarray) -> bytes:
        return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes()


class WholePictureFamily(HashFamily):
    """A family with one small code of the whole picture, looked up as it is and mirrored."""

    @abstractmethod
    def code(self, image: Image.Image) -> bytes:
        """The code of a PIL image."""

    def library_codes(self, view: LibraryView) -> dict[str, bytes]:
        return {"": self.code(view.image)}

    def query_codes(self, view: QueryView) -> list[QueryCode]:
        return [
            QueryCode("full", False, self.code(view.image)),
            QueryCode("full", True, self.code(ImageOps.mirror(view.image))),
        ]
