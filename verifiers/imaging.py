"""Decode images for hashing: only as much as hashing needs."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

# The working copy every hash family starts from: big enough for ORB keypoints and the
# 64x64 DCT of a sub-window, small enough that JPEG draft mode skips most of the decode.
WORK_SIDE = 512


def request_draft(img: Image.Image, max_side: int) -> None:
    """Ask JPEG for DCT-scaled decoding. Pillow keeps BOTH requested sides as minimums, so
    ask for the aspect-correct box a little under the target: a 4032x3024 photo then
    decodes at 1/8 (504x378) instead of 1/4."""
    width, height = img.size
    k = 0.75 * max_side / max(width, height, 1)
    if k < 1:
        img.draft("RGB", (max(1, int(width * k)), max(1, int(height * k))))


def open_for_hashing(source: Path | str | bytes, max_side: int = WORK_SIDE) -> Image.Image:
    """RGB image, upright (EXIF orientation applied), decoded at reduced scale when the
    format allows, then shrunk to at most `max_side`."""
    fh = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with fh, Image.open(fh) as img:
        request_draft(img, max_side)
        orientation = img.getexif().get(0x0112) if hasattr(img, "getexif") else None
        if getattr(img, "is_animated", False):
            img.seek(0)
        frame = to_rgb(img)
    if orientation and orientation != 1:
        frame.info["exif"] = b""
        frame = apply_orientation(frame, orientation)
    return fit(frame, max_side)


def fit(img: Image.Image, max_side: int) -> Image.Image:
    width, height = img.size
    scale = max_side / max(width, height)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        img = img.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return img


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


def data_uri(img: Image.Image, side: int = 160, quality: int = 70) -> str:
    """A small JPEG of the picture as a data: URI (reports embed these as thumbnails)."""
    small = to_rgb(img)
    small.thumbnail((side, side))
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
