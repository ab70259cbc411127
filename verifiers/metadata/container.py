"""Finding the EXIF block and the XMP packet in a JPEG, PNG or WebP container."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from postcheck.verifiers.metadata.limits import _XMP_JPEG, MAX_SEGMENTS, MAX_XMP_BYTES

# --- finding the metadata in the container ----------------------------------------------------


@dataclass
class Located:
    container: str | None = None
    exif: bytes | None = None
    xmp: bytes | None = None
    notes: list[str] = field(default_factory=list)


def _strip_exif_header(block: bytes) -> bytes:
    if block.startswith(b"Exif\x00"):
        block = block[5:]
        if block[:1] in (b"\x00", b"\xff"):
            block = block[1:]
    return block


def _locate_jpeg(data: bytes, out: Located) -> None:
    pos, seen = 2, 0
    while pos + 4 <= len(data) and seen < MAX_SEGMENTS:
        seen += 1
        if data[pos] != 0xFF:
            out.notes.append(f"JPEG segment structure broken at byte {pos}")
            return
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: metadata comes before
            return
        (length,) = struct.unpack_from(">H", data, pos + 2)
        if length < 2 or pos + 2 + length > len(data):
            out.notes.append(f"JPEG segment 0xFF{marker:02X} at byte {pos} runs past the end")
            return
        payload = data[pos + 4 : pos + 2 + length]
        if marker == 0xE1:
            if out.exif is None and payload.startswith(b"Exif\x00"):
                out.exif = _strip_exif_header(payload)
            elif out.xmp is None and payload.startswith(_XMP_JPEG):
                out.xmp = payload[len(_XMP_JPEG) :]
        pos += 2 + length
    if seen >= MAX_SEGMENTS:
        out.notes.append(f"stopped after {MAX_SEGMENTS} JPEG segments")


def _locate_png(data: bytes, out: Located) -> None:
    pos, seen = 8, 0
    while pos + 12 <= len(data) and seen < MAX_SEGMENTS:
        seen += 1
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            out.notes.append(f"PNG chunk {kind!r} runs past the end")
            return
        if kind == b"eXIf" and out.exif is None:
            out.exif = _strip_exif_header(body)
        elif kind == b"iTXt" and out.xmp is None and body.startswith(b"XML:com.adobe.xmp\x00"):
            rest = body[len(b"XML:com.adobe.xmp\x00") :]
            compressed = rest[:1] == b"\x01"
            # compression flag, method, language\0, translated keyword\0, text
            parts = rest[2:].split(b"\x00", 2)
            if len(parts) == 3:
                text = parts[2]
                if compressed:
                    try:
                        text = zlib.decompressobj().decompress(text, MAX_XMP_BYTES)
                    except zlib.error:
                        text = b""
                out.xmp = text
        elif kind == b"IEND":
            return
        pos += 12 + length
    if seen >= MAX_SEGMENTS:
        out.notes.append(f"stopped after {MAX_SEGMENTS} PNG chunks")


def _locate_webp(data: bytes, out: Located) -> None:
    pos, seen = 12, 0
    while pos + 8 <= len(data) and seen < MAX_SEGMENTS:
        seen += 1
        kind, length = struct.unpack_from("<4sI", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length:
            out.notes.append(f"WebP chunk {kind!r} runs past the end")
            return
        if kind == b"EXIF" and out.exif is None:
            out.exif = _strip_exif_header(body)
        elif kind == b"XMP " and out.xmp is None:
            out.xmp = body
        pos += 8 + length + (length & 1)
    if seen >= MAX_SEGMENTS:
        out.notes.append(f"stopped after {MAX_SEGMENTS} WebP chunks")


def locate_metadata(data: bytes) -> Located:
    """The EXIF (TIFF) block and XMP packet of a JPEG, PNG, WebP or TIFF file."""
    out = Located()
    if data.startswith(b"\xff\xd8"):
        out.container = "JPEG"
        _locate_jpeg(data, out)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        out.container = "PNG"
        _locate_png(data, out)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        out.container = "WEBP"
        _locate_webp(data, out)
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        out.container = "TIFF"
        out.exif = data
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        out.container = "GIF"
    elif data[:2] == b"BM":
        out.container = "BMP"
    if out.xmp is not None:
        out.xmp = out.xmp[:MAX_XMP_BYTES]
    return out
