"""Decode images for hashing: only as much as hashing needs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# Hashes work on 32x32 or smaller; decoding at >= 256 px keeps every family's input exact
# enough while JPEG draft mode skips most of the work on large photos.
HASH_DECODE_SIZE = 256


def open_for_hashing(source: Path | str | bytes, size: int = HASH_DECODE_SIZE) -> Image.Image:
    """RGB image, upright (EXIF orientation applied), decoded at reduced scale when the
    format allows (JPEG DCT scaling via draft mode)."""
    fh = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with fh, Image.open(fh) as img:
        img.draft("RGB", (size, size))
        orientation = img.getexif().get(0x0112) if hasattr(img, "getexif") else None
        if getattr(img, "is_animated", False):
            img.seek(0)
        frame = to_rgb(img)
    if orientation and orientation != 1:
        frame.info["exif"] = b""
        frame = apply_orientation(frame, orientation)
    return frame


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB for any mode. 16- and 32-bit pictures are scaled down, not clipped: a plain
    convert() turns every value above 255 white."""
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if img.mode == "F":
            top = max(float(arr.max(initial=0)), 1e-9)
        grey = np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, "L").convert("RGB")
    return img.convert("RGB")


def apply_orientation(img: Image.Image, orientation: int | None) -> Image.Image:
    """Turn a picture upright as its EXIF Orientation (1-8) says."""
    ops = {
        2: [Image.Transpose.FLIP_LEFT_RIGHT],
        3: [Image.Transpose.ROTATE_180],
        4: [Image.Transpose.FLIP_TOP_BOTTOM],
        5: [Image.Transpose.TRANSPOSE],
        6: [Image.Transpose.ROTATE_270],
        7: [Image.Transpose.TRANSVERSE],
        8: [Image.Transpose.ROTATE_90],
    }.get(orientation or 1, [])
    for op in ops:
        img = img.transpose(op)
    return img


def mirrored(img: Image.Image) -> Image.Image:
    return ImageOps.mirror(img)


def detail(img: Image.Image) -> float:
    """0..1: how much structure the picture has. Flat or nearly flat images give
    degenerate hashes that 'match' each other, so families refuse below a floor."""
    small = np.asarray(img.convert("L").resize((32, 32), Image.Resampling.BILINEAR), dtype=float)
    return float(min(1.0, small.std() / 64.0))


def colourfulness(img: Image.Image) -> float:
    """Hasler–Süsstrunk colourfulness on a small copy; ~0 for grayscale pictures."""
    rgb = np.asarray(img.resize((64, 64), Image.Resampling.BILINEAR), dtype=float)
    rg = rgb[..., 0] - rgb[..., 1]
    yb = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
