"""Perceptual fingerprints: every hash family on the picture and on its mirror image."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from postcheck.domain import Fingerprint
from postcheck.verifiers import imaging
from postcheck.verifiers.families import families


def fingerprint_image(image: Image.Image) -> Fingerprint:
    flipped = imaging.mirrored(image)
    hashes: dict[str, str] = {}
    for name, family in families().items():
        hashes[name] = family.compute(image).hex()
        # The mirror's hash lets a flipped repost match without a second library entry.
        hashes[f"{name}@mirror"] = family.compute(flipped).hex()
    return Fingerprint(
        hashes=hashes,
        quality=imaging.detail(image),
        colourfulness=imaging.colourfulness(image),
    )


def fingerprint(source: Path | str | bytes) -> Fingerprint:
    return fingerprint_image(imaging.open_for_hashing(source))
