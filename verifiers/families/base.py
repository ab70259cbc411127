"""What a hash family is (after ThreatExchange's SignalType): how to hash an image, how to
compare two hashes under its own threshold, and the quality floor below which it refuses."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
from PIL import Image


class HashFamily(ABC):
    name: ClassVar[str]
    bits: ClassVar[int]
    # Distance at or under which two hashes of this family count as the same picture.
    threshold: ClassVar[int]
    # Below this image detail (verifiers.imaging.detail) the hash is degenerate.
    quality_floor: ClassVar[float] = 0.03

    @abstractmethod
    def compute(self, image: Image.Image) -> bytes:
        """Hash of an RGB image as big-endian packed bits, `bits // 8` bytes long."""

    def distance(self, a: bytes, b: bytes) -> int:
        return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).bit_count()

    @staticmethod
    def pack(bits: np.ndarray) -> bytes:
        return np.packbits(np.asarray(bits, dtype=bool).ravel()).tobytes()
