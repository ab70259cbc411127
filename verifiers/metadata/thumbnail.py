"""The embedded EXIF thumbnail against the main picture."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image, ImageOps

from postcheck.domain import MetadataFacts
from postcheck.verifiers.imaging import apply_orientation
from postcheck.verifiers.metadata.limits import (
    MAX_THUMBNAIL_SIDE,
    THUMBNAIL_DIFF_BITS,
    THUMBNAIL_FAMILIES,
    Unreadable,
    _reason,
)

# --- the thumbnail -----------------------------------------------------------------------------


def trim_bars(img: Image.Image, dark: int = 24, spread: int = 12) -> Image.Image:
    """Cut the uniform dark bars a camera adds when it letterboxes a thumbnail."""
    import numpy as np

    grey = np.asarray(img.convert("L"), dtype=np.int16)

    def bars(lines: Any) -> int:
        n = 0
        for line in lines:
            if line.max() > dark or line.max() - line.min() > spread:
                break
            n += 1
        return n

    top, bottom = bars(grey), bars(grey[::-1])
    left, right = bars(grey.T), bars(grey.T[::-1])
    w, h = img.size
    if top + bottom >= h - 4 or left + right >= w - 4:
        return img
    return img.crop((left, top, w - right, h - bottom))


def _letterbox(img: Image.Image, box: tuple[int, int]) -> Image.Image:
    small = img.copy()
    small.thumbnail(box)
    canvas = Image.new("RGB", box)
    canvas.paste(small, ((box[0] - small.size[0]) // 2, (box[1] - small.size[1]) // 2))
    return canvas


def thumbnail_distance(thumb: Image.Image, main: Image.Image) -> int:
    """pHash + dHash bits (of 128) between an EXIF thumbnail and its main image: the
    smallest of three readings (bars trimmed; main letterboxed; main cropped to fit)."""
    from postcheck.verifiers.families import families

    fams = [families()[name] for name in THUMBNAIL_FAMILIES]

    def dist(a: Image.Image, b: Image.Image) -> int:
        return sum(f.distance(f.code(a), f.code(b)) for f in fams)

    box = thumb.size
    return min(
        dist(trim_bars(thumb), main),
        dist(thumb, _letterbox(main, box)),
        dist(thumb, ImageOps.fit(main, box)),
    )


def _decode_thumbnail(raw: bytes) -> tuple[Image.Image, tuple[int, int]]:
    with Image.open(io.BytesIO(raw)) as img:
        if img.format != "JPEG":
            raise Unreadable(f"thumbnail is {img.format}, not JPEG")
        w, h = img.size
        if max(w, h) > MAX_THUMBNAIL_SIDE:
            raise Unreadable(f"thumbnail claims {w}x{h} pixels")
        img.draft("RGB", (256, 256))
        small = img.convert("RGB")
    small.thumbnail((256, 256))
    return small, (w, h)


def _compare_thumbnail(facts: MetadataFacts, raw: bytes, data: bytes, orientation: int | None):
    from postcheck.domain import Fingerprint
    from postcheck.verifiers import imaging, perceptual
    from postcheck.verifiers.families import families

    facts.thumbnail_size = len(raw)
    try:
        thumb, (facts.thumbnail_width, facts.thumbnail_height) = _decode_thumbnail(raw)
    except Exception as exc:
        facts.thumbnail_error = f"thumbnail could not be decoded ({_reason(exc)})"
        return
    facts.has_thumbnail = True
    thumb = apply_orientation(thumb, orientation)
    if imaging.detail(thumb) < perceptual.QUALITY_FLOOR:
        facts.thumbnail_error = "thumbnail too flat to compare (no detail)"
        return
    trimmed = trim_bars(thumb)
    facts.thumbnail_fingerprint = Fingerprint(
        hashes={name: families()[name].code(trimmed).hex() for name in THUMBNAIL_FAMILIES},
        quality=imaging.detail(trimmed),
    )
    try:
        main = imaging.open_for_hashing(data)
    except Exception as exc:
        facts.thumbnail_error = f"main image could not be decoded ({_reason(exc)})"
        return
    facts.thumbnail_distance = thumbnail_distance(thumb, main)
    facts.thumbnail_differs = facts.thumbnail_distance > THUMBNAIL_DIFF_BITS
