"""What the file's own metadata (EXIF, XMP, C2PA) says, and where it contradicts the post.

Pure: bytes in, facts and findings out. Platforms strip most metadata, so absence is
stated as a fact, never as a red flag.

Findings (`metadata_findings`), each with the fields that prove it:

| code | red flag | when |
|---|---|---|
| metadata_absent | no | no EXIF and no XMP (and no C2PA) in the file |
| metadata_unreadable | no | the EXIF block is malformed or hostile (the reason says where) |
| metadata_present | no | what the file has, and what it does not |
| capture_before_post | yes | an EXIF date (original, digitised or modified) is older than the post by more than the margin |
| capture_after_post | no | the capture date is after the post: the camera clock (or the date) is wrong |
| capture_time | no | the capture date, when it does not contradict the post |
| dates_disagree | yes | DateTimeOriginal vs DateTimeDigitized differ by more than 2 minutes, DateTime (modified) is before either, or the GPS clock disagrees with the camera clock by more than 2 hours (16 h when the camera recorded no offset) |
| editing_software | yes | Software / ProcessingSoftware / XMP CreatorTool or history names an editor |
| software | no | software that is not an editor (camera firmware, a phone OS) |
| camera | no | make, model, serial, lens |
| gps_present | no | position with a map link for a person to judge, altitude, GPS time, datum |
| thumbnail_differs | yes | the embedded EXIF thumbnail shows another picture or framing |
| thumbnail_matches | no | the thumbnail shows the same picture |
| thumbnail_unreadable | no | the thumbnail is declared but broken or too flat to compare |
| declared_ai_generated | yes | XMP says IPTC DigitalSourceType trainedAlgorithmicMedia (or composite with it) |
| c2pa_* | see verifiers/provenance.py | Content Credentials |

Thumbnail threshold (THUMBNAIL_DIFF_BITS = 24, of the 128 bits of pHash + dHash). Measured
with `fixtures/metadata/make_metadata_fixtures.py --measure` on the 20 photographs that
scikit-image ships plus 10 half-frame crops of the larger ones (30 pictures): thumbnails made
as cameras do (160x120 letterboxed, 160x120 cropped or plain, 120x160, 96x72, 320x240;
JPEG quality 60-90) against the main image:
  same picture, any thumbnail style: max 9 bits (210 pairs);
  main brightened/contrasted/greyscaled after the thumbnail: max 8;
  main cropped 5% each side: 6-28 (median 17, 17% over); 15%: 26-55; mirrored: 33-83;
  a different picture: min 35, 1st percentile 37, median 56 (868 pairs);
  the two frames of scikit-image's stereo pair (same scene, two lenses): 20.
Three readings are compared and the smallest distance is kept, so that a camera's
letterboxing or cropping of the thumbnail is not mistaken for a different picture: the
thumbnail with uniform dark bars trimmed against the main image; the thumbnail against the
main image letterboxed into the thumbnail's box; and against the main image cropped to it.

Hostile EXIF: exifread follows offsets wherever they point, re-reads a sub-IFD as often as
it is referenced (an IFD with thousands of GPSInfo entries pointing back at itself makes it
parse millions of entries) and loops up to a tag's count. So the TIFF structure is walked
first (`check_exif_structure`): every IFD must lie inside the EXIF block (the APP1 segment,
PNG eXIf or WebP EXIF chunk, never the whole file), no IFD may be reached twice (loops and
shared IFDs), every value must lie inside the block (a count of 0xFFFFFFFF does not), and
the work exifread will do is budgeted. Only a block that passes is handed to exifread, so
the worst case is bounded by the block size (64 KB for JPEG) and the budgets below:
measured here, a block built to fill every budget takes ~170 ms, a rejected one < 1 ms,
while exifread 3.5.1 alone runs for more than 60 s on fixtures/metadata/hostile-gps-fanout.jpg
(and on hostile-huge-count.jpg with its default details=True). The XMP packet is read with
bounded regular expressions (no XML parser, so no entity expansion), at most 256 KB of it.
"""

from __future__ import annotations

import functools
import html
import io
import re
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import exifread
from PIL import Image, ImageOps

from postcheck import dates
from postcheck.domain import Finding, MetadataFacts, ProvenanceFacts
from postcheck.verifiers.imaging import apply_orientation

# Software names that mean a person edited the picture (case-insensitive substrings).
EDITORS = (
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "pixelmator",
    "affinity",
    "canva",
    "paint.net",
    "photopea",
    "facetune",
    "faceapp",
    "meitu",
    "luminar",
    "fotor",
    "photoscape",
    "krita",
    "inshot",
    "polarr",
    "vsco",
    "adobe firefly",
    "photo editor",
    "capture one",
    "darktable",
    "rawtherapee",
    "acdsee",
    "corel",
    "photodirector",
    "picasa",
    "photos editor",
)
IPTC_AI = ("trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia")

# --- limits (see the module docstring) -----------------------------------------------------------
MAX_IFDS = 64  # every IFD exifread would parse, sub-IFDs included
MAX_ENTRIES = 1000  # entries in one IFD (cameras write < 100)
MAX_TOTAL_ENTRIES = 4000
MAX_VALUES = 50_000  # numeric values exifread would unpack, all tags together
MAX_ASCII_BYTES = 1 << 20  # text bytes exifread would read, all tags together
MAX_SEGMENTS = 10_000  # JPEG segments / PNG and WebP chunks looked at
MAX_XMP_BYTES = 256 * 1024
MAX_HISTORY = 100
MAX_THUMBNAIL_SIDE = 1024  # EXIF thumbnails are 160x120; IFD1 previews stay within 64 KB

THUMBNAIL_DIFF_BITS = 24
THUMBNAIL_FAMILIES = ("phash", "dhash")
DATE_TOLERANCE = timedelta(minutes=2)
GPS_TOLERANCE = timedelta(hours=2)
NAIVE_SLACK = timedelta(hours=14)  # a date without offset may be any time zone's clock

_EXIF_DATE = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")
_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
# Tags exifread skips with details=False, so their values are never read.
_SKIPPED_TAGS = frozenset({0x02BC, 0x927C, 0x9286})
_EXIF_POINTER, _GPS_POINTER, _INTEROP_POINTER = 0x8769, 0x8825, 0xA005
_XMP_JPEG = b"http://ns.adobe.com/xap/1.0/\x00"


class Unreadable(ValueError):
    """The EXIF structure is malformed or hostile; str() says where."""


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


# --- walking the TIFF structure before exifread does ---------------------------------------------


@dataclass
class ExifLayout:
    """What the walk learnt: the IFDs exifread will read, and the thumbnail's place."""

    endian: str
    ifds: list[tuple[str, int]] = field(default_factory=list)
    entries: int = 0
    values: int = 0
    ascii_bytes: int = 0
    orientation: int | None = None
    thumbnail: tuple[int, int] | None = None  # offset, length inside the block
    thumbnail_error: str | None = None
    thumbnail_compression: int | None = None
    xmp: bytes | None = None  # TIFF tag 0x02BC (XMLPacket)


def check_exif_structure(block: bytes) -> ExifLayout:
    """Walk IFD0's chain, the Exif, GPS and Interop IFDs the way exifread will, and refuse
    (Unreadable) anything that would make it read outside the block, loop, or do
    unbounded work."""
    if len(block) < 8:
        raise Unreadable(f"EXIF block truncated ({len(block)} bytes, no TIFF header)")
    order = block[:2]
    if order not in (b"II", b"MM"):
        raise Unreadable("EXIF block has no TIFF byte-order mark")
    end = "<" if order == b"II" else ">"
    (magic, first) = struct.unpack_from(end + "HI", block, 2)
    if magic != 42:
        raise Unreadable(f"EXIF block has TIFF magic {magic}, not 42")
    layout = ExifLayout(endian=end)
    visited: dict[int, str] = {}
    size = len(block)

    def read_ifd(offset: int, name: str, *, chain: bool) -> list[tuple[int, int, int, int, int]]:
        where = f"{name} at offset {offset}"
        if offset in visited:
            raise Unreadable(f"IFD loop: {where} is {visited[offset]} again")
        if len(visited) >= MAX_IFDS:
            raise Unreadable(f"too many IFDs (more than {MAX_IFDS})")
        if offset < 8 or offset + 2 > size:
            raise Unreadable(f"{where} lies outside the {size}-byte EXIF block")
        visited[offset] = name
        layout.ifds.append((name, offset))
        (count,) = struct.unpack_from(end + "H", block, offset)
        if count > MAX_ENTRIES:
            raise Unreadable(f"{where} claims {count} entries (limit {MAX_ENTRIES})")
        table_end = offset + 2 + 12 * count + (4 if chain else 0)
        if table_end > size:
            raise Unreadable(
                f"truncated IFD: {where} claims {count} entries, the block ends at {size}"
            )
        layout.entries += count
        if layout.entries > MAX_TOTAL_ENTRIES:
            raise Unreadable(f"too many IFD entries (more than {MAX_TOTAL_ENTRIES})")
        out = []
        for i in range(count):
            entry = offset + 2 + 12 * i
            tag, kind, n = struct.unpack_from(end + "HHI", block, entry)
            (value,) = struct.unpack_from(end + "I", block, entry + 8)
            out.append((tag, kind, n, value, entry + 8))
            if tag in _SKIPPED_TAGS:
                xmp_ok = name == "IFD0" and kind in (1, 7) and 4 < n <= MAX_XMP_BYTES
                if tag == 0x02BC and xmp_ok and value + n <= size:
                    layout.xmp = block[value : value + n]
                continue
            unit = _TYPE_SIZE.get(kind)
            if unit is None:  # exifread skips unknown field types
                continue
            nbytes = n * unit
            if nbytes > 4 and (value < 8 or value + nbytes > size):
                raise Unreadable(
                    f"tag 0x{tag:04X} in {name} claims {n} values ({nbytes} bytes) at "
                    f"offset {value}, past the end of the {size}-byte EXIF block"
                )
            if kind == 2:
                layout.ascii_bytes += nbytes
            elif n < 1000:
                layout.values += n
            if layout.values > MAX_VALUES or layout.ascii_bytes > MAX_ASCII_BYTES:
                raise Unreadable("EXIF block asks for too much work (value budget exceeded)")
        return out

    def pointer(tag: int, kind: int, n: int, value: int, name: str) -> int:
        if kind not in (4, 13) or n != 1:
            raise Unreadable(f"IFD pointer 0x{tag:04X} in {name} has type {kind}, count {n}")
        return value

    def sub_ifds(entries: list, name: str, *, exif_pointer: bool) -> None:
        for tag, kind, n, value, _ in entries:
            # exifread follows these pointers whatever their value, 0 included.
            if tag == _GPS_POINTER:
                read_ifd(pointer(tag, kind, n, value, name), "GPS IFD", chain=False)
            elif tag == _INTEROP_POINTER:
                read_ifd(pointer(tag, kind, n, value, name), "Interop IFD", chain=False)
            elif tag == _EXIF_POINTER and exif_pointer:
                target = pointer(tag, kind, n, value, name)
                exif_entries = read_ifd(target, "Exif IFD", chain=False)
                sub_ifds(exif_entries, "Exif IFD", exif_pointer=False)

    offset, index = first, 0
    while offset:
        name = f"IFD{index}"
        entries = read_ifd(offset, name, chain=True)
        (nxt,) = struct.unpack_from(end + "I", block, offset + 2 + 12 * len(entries))
        for tag, kind, n, value, at in entries:
            if index == 0 and tag == 0x0112 and kind == 3 and n == 1:
                layout.orientation = struct.unpack_from(end + "H", block, at)[0]
            if index == 1 and tag in (0x0201, 0x0202, 0x0103) and kind in (3, 4) and n == 1:
                v = value if kind == 4 else struct.unpack_from(end + "H", block, at)[0]
                if tag == 0x0103:
                    layout.thumbnail_compression = v
                else:
                    start, length = layout.thumbnail or (0, 0)
                    layout.thumbnail = (v, length) if tag == 0x0201 else (start, v)
        sub_ifds(entries, name, exif_pointer=index == 0)
        offset, index = nxt, index + 1
    if layout.thumbnail is not None:
        start, length = layout.thumbnail
        if not start or not length:
            layout.thumbnail_error = "thumbnail offset or length missing in IFD1"
            layout.thumbnail = None
        elif start < 8 or start + length > size:
            layout.thumbnail_error = (
                f"thumbnail pointer runs past the end of the EXIF block (offset {start}, "
                f"length {length}, block {size} bytes)"
            )
            layout.thumbnail = None
    return layout


# --- reading values --------------------------------------------------------------------------


def _text(tags: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        tag = tags.get(key)
        if tag is None:
            continue
        value = tag.printable if hasattr(tag, "printable") else tag
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        value = str(value).strip().strip("\x00").strip()
        if value:
            return value
    return None


def parse_exif_datetime(raw: str | None, offset: str | None = None) -> datetime | None:
    """EXIF 'YYYY:MM:DD HH:MM:SS' (+ optional '+02:00' offset) -> datetime; naive
    (local time of the camera) when no offset was recorded."""
    if not raw:
        return None
    match = _EXIF_DATE.match(raw)
    if not match:
        return None
    try:
        value = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    if not dates.in_range(value):  # a clock at year 1 or 9999 says nothing about when
        return None
    if offset and (m := _OFFSET.match(offset)):
        sign = -1 if m.group(1) == "-" else 1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        if delta < timedelta(hours=24):
            value = value.replace(tzinfo=timezone(sign * delta))
    return value


def _ratio(value: Any) -> float:
    num = getattr(value, "num", None)
    den = getattr(value, "den", None)
    if num is not None and den is not None:
        return num / den
    return float(value)


def _gps(tags: dict[str, Any], key: str, ref_key: str, limit: float) -> float | None:
    tag = tags.get(key)
    values = getattr(tag, "values", None)
    if not isinstance(values, list) or len(values) < 3:
        return None
    try:
        d, m, s = (_ratio(v) for v in values[:3])
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    value = d + m / 60 + s / 3600
    if not 0 <= value <= limit:
        return None
    ref = (_text(tags, ref_key) or "").upper()
    if ref.startswith(("S", "W")):
        value = -value
    return round(value, 6)


def _gps_altitude(tags: dict[str, Any]) -> float | None:
    values = getattr(tags.get("GPS GPSAltitude"), "values", None)
    if not isinstance(values, list) or not values:
        return None
    try:
        alt = round(_ratio(values[0]), 1)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    ref = getattr(tags.get("GPS GPSAltitudeRef"), "values", None)
    if isinstance(ref, list) and ref and ref[0] == 1:
        alt = -alt
    return alt


def _gps_time(tags: dict[str, Any]) -> tuple[datetime | None, str | None]:
    date = _text(tags, "GPS GPSDate")
    values = getattr(tags.get("GPS GPSTimeStamp"), "values", None)
    clock = None
    if isinstance(values, list) and len(values) >= 3:
        try:
            h, m, s = (_ratio(v) for v in values[:3])
            clock = (int(h), int(m), s)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            clock = None
    raw = " ".join(
        x for x in (date, clock and f"{clock[0]:02d}:{clock[1]:02d}:{clock[2]:06.3f}") if x
    )
    if not date or clock is None:
        return None, raw or None
    match = re.match(r"^\s*(\d{4})[:-](\d{2})[:-](\d{2})", date)
    if not match:
        return None, raw
    try:
        day = datetime(*(int(g) for g in match.groups()), tzinfo=UTC)
        when = day + timedelta(hours=clock[0], minutes=clock[1], seconds=clock[2])
    except (ValueError, OverflowError):
        return None, raw
    return (when if dates.in_range(when) else None), raw


# --- XMP (a bounded text scan: no XML parser, no entity expansion) ---------------------------------


@functools.cache
def _xmp_patterns(name: str) -> tuple[re.Pattern[str], ...]:
    # Every repetition is bounded: an unbounded `[^>]*` after each of thousands of
    # unclosed `<name ` openings makes the scan quadratic (50 s on a 256 KB packet).
    return (
        re.compile(rf"{name}\s{{0,16}}=\s{{0,16}}\"([^\"<]{{0,1000}})\""),
        re.compile(rf"{name}\s{{0,16}}=\s{{0,16}}'([^'<]{{0,1000}})'"),
        re.compile(
            rf"<{name}(?:\s[^<>]{{0,1000}})?>\s{{0,64}}"
            rf"(?:<rdf:(?:Alt|Seq|Bag)>\s{{0,64}}<rdf:li[^<>]{{0,200}}>)?([^<]{{0,1000}})<"
        ),
    )


def _xmp_value(xmp: str, *names: str) -> str | None:
    for name in names:
        for pattern in _xmp_patterns(name):
            m = pattern.search(xmp)
            if m and m.group(1).strip():
                return html.unescape(m.group(1).strip())[:500]
    return None


def _xmp_history(xmp: str) -> list[dict[str, str]]:
    start = xmp.find("xmpMM:History")
    if start < 0:
        return []
    stop = xmp.find("</xmpMM:History>", start)
    region = xmp[start : stop if stop > 0 else len(xmp)]
    events: list[dict[str, str]] = []
    for chunk in region.split("<rdf:li")[1 : MAX_HISTORY + 1]:
        close = chunk.find("</rdf:li>")
        chunk = chunk if close < 0 else chunk[:close]
        event = {"source": "XMP xmpMM:History"}
        for key in ("action", "softwareAgent", "when", "changed"):
            value = _xmp_value(chunk, f"stEvt:{key}")
            if value:
                event["software" if key == "softwareAgent" else key] = value
        if len(event) > 1:
            events.append(event)
    return events


def read_xmp(packet: bytes) -> dict[str, Any]:
    xmp = packet[:MAX_XMP_BYTES].decode("utf-8", "replace")
    return {
        "CreatorTool": _xmp_value(xmp, "xmp:CreatorTool", "xap:CreatorTool"),
        "CreateDate": _xmp_value(xmp, "xmp:CreateDate", "xap:CreateDate"),
        "ModifyDate": _xmp_value(xmp, "xmp:ModifyDate", "xap:ModifyDate"),
        "DateCreated": _xmp_value(xmp, "photoshop:DateCreated"),
        "DateTimeOriginal": _xmp_value(xmp, "exif:DateTimeOriginal"),
        "DigitalSourceType": _xmp_value(
            xmp, "Iptc4xmpExt:DigitalSourceType", "iptcExt:DigitalSourceType"
        ),
        "history": _xmp_history(xmp),
    }


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


# --- reading a file ----------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_provenance(data: bytes, trust_anchors: str | None) -> ProvenanceFacts | None:
    from postcheck.verifiers.provenance import read_provenance

    try:
        return read_provenance(data, trust_anchors=trust_anchors)
    except Exception as exc:  # read_provenance never raises; this is belt and braces
        return ProvenanceFacts(readable=False, error=f"C2PA not read ({_reason(exc)})")


def read_metadata(
    data: bytes,
    *,
    c2pa: bool = True,
    compare_thumbnail: bool = True,
    trust_anchors: str | None = None,
) -> MetadataFacts:
    """EXIF, XMP and C2PA facts of an image file; unreadable metadata is reported, never
    raised. `c2pa=False` skips Content Credentials; `compare_thumbnail=False` skips
    decoding the thumbnail and the main image."""
    provenance = _read_provenance(data, trust_anchors) if c2pa else None
    try:
        facts = _read(data, compare_thumbnail)
    except Exception as exc:  # anything the walk did not foresee is still only a fact
        facts = MetadataFacts(readable=False, error=f"unreadable metadata ({_reason(exc)})")
    facts.provenance = provenance
    return facts


def _read(data: bytes, compare_thumbnail: bool) -> MetadataFacts:
    located = locate_metadata(data)
    xmp = None
    if located.xmp:
        try:
            xmp = read_xmp(located.xmp)
        except Exception:  # a garbled packet is skipped, EXIF still counts
            xmp = None
    facts = MetadataFacts(container=located.container)
    if located.exif is None and located.notes:
        return MetadataFacts(
            readable=False,
            container=located.container,
            error=f"unreadable metadata: {'; '.join(located.notes)}",
        )
    layout = None
    tags: dict[str, Any] = {}
    if located.exif:
        try:
            layout = check_exif_structure(located.exif)
        except Unreadable as exc:
            return MetadataFacts(
                present=True,
                readable=False,
                exif_present=True,
                container=located.container,
                error=f"unreadable EXIF: {exc}",
            )
        try:
            tags = exifread.process_file(
                io.BytesIO(located.exif), details=False, strict=False, extract_thumbnail=False
            )
        except Exception as exc:  # exifread raises many kinds on odd input
            return MetadataFacts(
                present=True,
                readable=False,
                exif_present=True,
                container=located.container,
                error=f"unreadable EXIF ({_reason(exc)})",
            )
        if xmp is None and layout.xmp:
            try:
                xmp = read_xmp(layout.xmp)
            except Exception:
                xmp = None
    facts.exif_present = bool(tags)
    facts.xmp_present = xmp is not None
    facts.present = facts.exif_present or facts.xmp_present
    if not facts.present:
        return facts
    _fill_exif(facts, tags)
    _fill_xmp(facts, xmp or {})
    facts.fields = _fields(tags, xmp or {})
    if layout is not None:
        facts.thumbnail_error = layout.thumbnail_error
        if layout.thumbnail is not None:
            start, length = layout.thumbnail
            raw = located.exif[start : start + length]  # type: ignore[index]
            if compare_thumbnail:
                _compare_thumbnail(facts, raw, data, layout.orientation)
            else:
                facts.has_thumbnail, facts.thumbnail_size = True, len(raw)
        elif layout.thumbnail_compression == 1:
            facts.thumbnail_error = "uncompressed TIFF thumbnail (not compared)"
    return facts


def _fill_exif(facts: MetadataFacts, tags: dict[str, Any]) -> None:
    if not tags:
        return
    facts.capture_time_raw = _text(tags, "EXIF DateTimeOriginal", "Image DateTimeOriginal")
    facts.capture_offset = _text(tags, "EXIF OffsetTimeOriginal")
    facts.capture_subsec = _text(tags, "EXIF SubSecTimeOriginal")
    facts.capture_time = parse_exif_datetime(facts.capture_time_raw, facts.capture_offset)
    facts.digitized_time_raw = _text(tags, "EXIF DateTimeDigitized")
    facts.digitized_offset = _text(tags, "EXIF OffsetTimeDigitized")
    facts.digitized_time = parse_exif_datetime(facts.digitized_time_raw, facts.digitized_offset)
    facts.modified_time_raw = _text(tags, "Image DateTime")
    facts.modified_offset = _text(tags, "EXIF OffsetTime")
    facts.modified_time = parse_exif_datetime(facts.modified_time_raw, facts.modified_offset)
    facts.camera_make = _text(tags, "Image Make")
    facts.camera_model = _text(tags, "Image Model")
    facts.camera_serial = _text(
        tags, "EXIF BodySerialNumber", "Image BodySerialNumber", "Image CameraSerialNumber"
    )
    facts.camera_owner = _text(tags, "EXIF CameraOwnerName", "Image CameraOwnerName")
    facts.lens = _text(tags, "EXIF LensModel", "Image LensModel")
    facts.lens_make = _text(tags, "EXIF LensMake")
    facts.lens_serial = _text(tags, "EXIF LensSerialNumber")
    facts.software = _text(tags, "Image Software")
    history = facts.processing_history
    for key, source in (
        ("Image Software", "EXIF Software"),
        ("Image Tag 0x000B", "EXIF ProcessingSoftware"),
        ("Image HostComputer", "EXIF HostComputer"),
        ("Image ImageHistory", "EXIF ImageHistory"),
        ("EXIF ImageHistory", "EXIF ImageHistory"),
    ):
        if value := _text(tags, key):
            history.append({"source": source, "software": value[:500]})
    facts.gps_lat = _gps(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef", 90)
    facts.gps_lon = _gps(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef", 180)
    if facts.gps_lat is None or facts.gps_lon is None:
        facts.gps_lat = facts.gps_lon = None
    facts.gps_alt = _gps_altitude(tags)
    facts.gps_time, facts.gps_time_raw = _gps_time(tags)
    facts.gps_datum = _text(tags, "GPS GPSMapDatum")
    facts.orientation = _text(tags, "Image Orientation")


def _fill_xmp(facts: MetadataFacts, xmp: dict[str, Any]) -> None:
    if not xmp:
        return
    if xmp.get("CreatorTool"):
        facts.processing_history.append(
            {"source": "XMP CreatorTool", "software": xmp["CreatorTool"]}
        )
    facts.processing_history.extend(xmp.get("history") or [])
    facts.digital_source_type = xmp.get("DigitalSourceType")


def _fields(tags: dict[str, Any], xmp: dict[str, Any]) -> dict[str, str]:
    fields = {
        k: (_text(tags, k) or "")[:200]
        for k in sorted(tags)
        if k not in ("JPEGThumbnail", "TIFFThumbnail")
        and not k.startswith(("MakerNote", "EXIF MakerNote"))
    }
    for key, value in xmp.items():
        if value and isinstance(value, str):
            fields[f"XMP {key}"] = value[:200]
    return dict(list(fields.items())[:200])


# --- findings ----------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def span(delta: timedelta) -> str:
    """A gap between two times, in the unit a reader takes in at once."""
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86400:
        return f"{int(seconds // 86400)} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    if seconds >= 120:
        return f"{int(seconds // 60)} minutes"
    return f"{int(seconds)} seconds"


def _gap(a: datetime, b: datetime) -> timedelta:
    """b - a; wall clocks when either is naive (both are the same camera's clock)."""
    if a.tzinfo is None or b.tzinfo is None:
        return b.replace(tzinfo=None) - a.replace(tzinfo=None)
    return b - a


def _map_link(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"


def _date_findings(
    facts: MetadataFacts, post_created_at: datetime | None, margin_days: int
) -> list[Finding]:
    out: list[Finding] = []
    dates = [
        ("EXIF DateTimeOriginal", facts.capture_time, facts.capture_time_raw),
        ("EXIF DateTimeDigitized", facts.digitized_time, facts.digitized_time_raw),
        ("Image DateTime", facts.modified_time, facts.modified_time_raw),
    ]
    if post_created_at is not None:
        post = _utc(post_created_at)
        margin = timedelta(days=margin_days)
        older = []
        for rank, (key, value, raw) in enumerate(dates):
            if value is None:
                continue
            slack = margin + (NAIVE_SLACK if value.tzinfo is None else timedelta())
            # Differences, never `post - slack`: a date near year 1 or 9999 cannot overflow.
            if post - _utc(value) > slack:
                older.append((_utc(value), rank, key, raw))
        if older:  # the earliest date; DateTimeOriginal when several say the same
            when, _, key, raw = min(older)
            what = "captured" if key == "EXIF DateTimeOriginal" else f"dated ({key})"
            out.append(
                Finding(
                    code="capture_before_post",
                    message=(
                        f"{what} {raw}, {(post - when).days} days before the post "
                        f"(margin {margin_days} days)"
                    ),
                    red_flag=True,
                    fields={
                        key: raw,
                        **({"offset": facts.capture_offset} if facts.capture_offset else {}),
                        "post created_at": post_created_at.isoformat(),
                    },
                )
            )
        elif facts.capture_time is not None:
            capture = facts.capture_time
            slack = timedelta(days=1) + (NAIVE_SLACK if capture.tzinfo is None else timedelta())
            if _utc(capture) - post > slack:
                out.append(
                    Finding(
                        code="capture_after_post",
                        message=(
                            f"captured {facts.capture_time_raw}, after the post was made: the "
                            f"camera clock or the date is wrong, so EXIF dates prove little here"
                        ),
                        fields={
                            "EXIF DateTimeOriginal": facts.capture_time_raw,
                            "post created_at": post_created_at.isoformat(),
                        },
                    )
                )
    if facts.capture_time is not None and not out:
        out.append(
            Finding(
                code="capture_time",
                message=f"captured {facts.capture_time_raw}"
                + (f" {facts.capture_offset}" if facts.capture_offset else ""),
                fields={"EXIF DateTimeOriginal": facts.capture_time_raw},
            )
        )
    out.extend(_disagreements(facts))
    return out


def _disagreements(facts: MetadataFacts) -> list[Finding]:
    out: list[Finding] = []
    orig, digi, mod = facts.capture_time, facts.digitized_time, facts.modified_time

    def finding(message: str, **fields: Any) -> Finding:
        return Finding(code="dates_disagree", message=message, red_flag=True, fields=fields)

    if orig and digi and abs(_gap(orig, digi)) > DATE_TOLERANCE:
        out.append(
            finding(
                f"DateTimeOriginal {facts.capture_time_raw} and DateTimeDigitized "
                f"{facts.digitized_time_raw} differ by {span(_gap(orig, digi))}: a camera "
                "writes both at the shutter, so one was changed (or this is a scan)",
                **{
                    "EXIF DateTimeOriginal": facts.capture_time_raw,
                    "EXIF OffsetTimeOriginal": facts.capture_offset,
                    "EXIF DateTimeDigitized": facts.digitized_time_raw,
                    "EXIF OffsetTimeDigitized": facts.digitized_offset,
                },
            )
        )
    for key, value, raw in (
        ("EXIF DateTimeOriginal", orig, facts.capture_time_raw),
        ("EXIF DateTimeDigitized", digi, facts.digitized_time_raw),
    ):
        if value and mod and _gap(value, mod) < -DATE_TOLERANCE:
            out.append(
                finding(
                    f"last modified {facts.modified_time_raw} ({span(_gap(value, mod))}) "
                    f"before {key.split()[-1]} {raw}: a file cannot change before it was made",
                    **{key: raw, "Image DateTime": facts.modified_time_raw},
                )
            )
            break
    camera = orig or digi
    if camera is not None and facts.gps_time is not None:
        tolerance = GPS_TOLERANCE + (NAIVE_SLACK if camera.tzinfo is None else timedelta())
        gap = facts.gps_time - _utc(camera)
        if abs(gap) > tolerance:
            out.append(
                finding(
                    f"the GPS clock ({facts.gps_time_raw} UTC) and the camera clock "
                    f"({facts.capture_time_raw or facts.digitized_time_raw}) differ by "
                    f"{span(gap)}, more than time zones and a stale fix explain",
                    **{
                        "GPS GPSDate+GPSTimeStamp": facts.gps_time_raw,
                        "EXIF DateTimeOriginal": facts.capture_time_raw,
                        "EXIF OffsetTimeOriginal": facts.capture_offset,
                    },
                )
            )
    return out


def _software_findings(facts: MetadataFacts) -> list[Finding]:
    entries = list(facts.processing_history)
    if not entries:
        return []
    editors = [e for e in entries if any(n in e.get("software", "").lower() for n in EDITORS)]
    if editors:
        names = sorted({e["software"] for e in editors})
        return [
            Finding(
                code="editing_software",
                message="edited with " + "; ".join(names),
                red_flag=True,
                source="xmp" if all(e["source"].startswith("XMP") for e in editors) else "exif",
                fields={
                    "Image Software": facts.software,
                    "history": editors[:20],
                },
            )
        ]
    names = sorted({e["software"] for e in entries if e.get("software")})
    if not names:
        return []
    return [
        Finding(
            code="software",
            message="software: " + "; ".join(names),
            fields={"Image Software": facts.software, "history": entries[:20]},
        )
    ]


def _camera_finding(facts: MetadataFacts) -> list[Finding]:
    if not (facts.camera_make or facts.camera_model or facts.camera_serial or facts.lens):
        return []
    make, model = facts.camera_make or "", facts.camera_model or ""
    camera = model if make and model.lower().startswith(make.lower()) else f"{make} {model}"
    camera = camera.strip() or "unknown"
    parts = [f"camera: {camera}"]
    if facts.camera_serial:
        parts.append(f"serial {facts.camera_serial}")
    if facts.lens:
        parts.append(
            f"lens {facts.lens}" + (f" ({facts.lens_serial})" if facts.lens_serial else "")
        )
    if facts.camera_owner:
        parts.append(f"owner {facts.camera_owner}")
    return [
        Finding(
            code="camera",
            message=", ".join(parts),
            fields={
                "Image Make": facts.camera_make,
                "Image Model": facts.camera_model,
                "EXIF BodySerialNumber": facts.camera_serial,
                "EXIF LensModel": facts.lens,
                "EXIF LensSerialNumber": facts.lens_serial,
                "EXIF CameraOwnerName": facts.camera_owner,
            },
        )
    ]


def _gps_finding(facts: MetadataFacts) -> list[Finding]:
    if facts.gps_lat is None or facts.gps_lon is None:
        return []
    extra = []
    if facts.gps_alt is not None:
        extra.append(f"altitude {facts.gps_alt:g} m")
    if facts.gps_time_raw:
        extra.append(f"GPS time {facts.gps_time_raw} UTC")
    if facts.gps_datum:
        extra.append(f"datum {facts.gps_datum}")
    return [
        Finding(
            code="gps_present",
            message=(
                f"GPS position {facts.gps_lat:.5f}, {facts.gps_lon:.5f}"
                + (f" ({', '.join(extra)})" if extra else "")
                + f": {_map_link(facts.gps_lat, facts.gps_lon)}"
            ),
            fields={
                "lat": facts.gps_lat,
                "lon": facts.gps_lon,
                "alt": facts.gps_alt,
                "gps_time": facts.gps_time_raw,
                "datum": facts.gps_datum,
                "map": _map_link(facts.gps_lat, facts.gps_lon),
            },
        )
    ]


def _thumbnail_findings(facts: MetadataFacts) -> list[Finding]:
    fields = {
        "thumbnail_bytes": facts.thumbnail_size,
        "thumbnail_size": (
            f"{facts.thumbnail_width}x{facts.thumbnail_height}" if facts.thumbnail_width else None
        ),
    }
    if facts.thumbnail_differs is not None and facts.thumbnail_distance is not None:
        fields |= {
            "distance_bits": facts.thumbnail_distance,
            "threshold_bits": THUMBNAIL_DIFF_BITS,
            "families": list(THUMBNAIL_FAMILIES),
            "thumbnail_hashes": (
                facts.thumbnail_fingerprint.hashes if facts.thumbnail_fingerprint else {}
            ),
        }
        if facts.thumbnail_differs:
            return [
                Finding(
                    code="thumbnail_differs",
                    message=(
                        "the embedded EXIF thumbnail shows a different picture (or framing) "
                        f"from the main image: {facts.thumbnail_distance} of 128 bits differ "
                        f"(pHash+dHash; the same picture stays within {THUMBNAIL_DIFF_BITS})"
                    ),
                    red_flag=True,
                    source="thumbnail",
                    fields=fields,
                )
            ]
        return [
            Finding(
                code="thumbnail_matches",
                message=(
                    f"the embedded EXIF thumbnail shows the same picture "
                    f"({facts.thumbnail_distance} of 128 bits differ)"
                ),
                source="thumbnail",
                fields=fields,
            )
        ]
    if facts.thumbnail_error:
        return [
            Finding(
                code="thumbnail_unreadable",
                message=f"EXIF thumbnail not compared: {facts.thumbnail_error}",
                source="thumbnail",
                fields=fields | {"error": facts.thumbnail_error},
            )
        ]
    return []


def _summary(facts: MetadataFacts) -> Finding:
    groups = {
        "capture date": facts.capture_time_raw,
        "digitised date": facts.digitized_time_raw,
        "modified date": facts.modified_time_raw,
        "time zone offset": facts.capture_offset or facts.digitized_offset or facts.modified_offset,
        "camera": facts.camera_make or facts.camera_model,
        "serial number": facts.camera_serial,
        "lens": facts.lens,
        "software": facts.processing_history,
        "GPS": facts.gps_lat,
        "thumbnail": facts.has_thumbnail or facts.thumbnail_error,
    }
    has = [k for k, v in groups.items() if v not in (None, [], False, "")]
    lacks = [k for k in groups if k not in has]
    kinds = [k for k, ok in (("EXIF", facts.exif_present), ("XMP", facts.xmp_present)) if ok]
    prov = facts.provenance
    c2pa = (
        "C2PA present"
        if prov is not None and prov.present
        else "no C2PA"
        if prov is not None
        else "C2PA not checked"
    )
    return Finding(
        code="metadata_present",
        message=(
            f"{' and '.join(kinds)} present ({c2pa}): "
            f"{', '.join(has) or 'nothing useful'}; not in the file: {', '.join(lacks) or 'nothing'}"
        ),
        source="exif" if facts.exif_present else "xmp",
        fields={"present": has, "absent": lacks, "container": facts.container},
    )


def _provenance(facts: MetadataFacts) -> list[Finding]:
    prov = facts.provenance
    if prov is None or not prov.present:
        return []
    from postcheck.verifiers.provenance import provenance_findings

    return provenance_findings(prov)


def metadata_findings(
    facts: MetadataFacts, post_created_at: datetime | None, margin_days: int
) -> list[Finding]:
    """Facts worth showing, and red flags where the metadata contradicts the post."""
    if not facts.readable:
        return [
            Finding(
                code="metadata_unreadable",
                message=facts.error or "unreadable metadata",
                fields={"error": facts.error, "container": facts.container},
            ),
            *_provenance(facts),
        ]
    if not facts.present:
        prov = facts.provenance
        none = "no EXIF or XMP metadata" + (
            " and no C2PA Content Credentials" if prov is not None and not prov.present else ""
        )
        return [
            Finding(
                code="metadata_absent",
                message=f"{none} (platforms usually strip it)",
                fields={"container": facts.container},
            ),
            *_provenance(facts),
        ]
    out = [_summary(facts)]
    out += _date_findings(facts, post_created_at, margin_days)
    out += _software_findings(facts)
    out += _camera_finding(facts)
    out += _gps_finding(facts)
    out += _thumbnail_findings(facts)
    if facts.digital_source_type and facts.digital_source_type.rstrip("/").endswith(IPTC_AI):
        out.append(
            Finding(
                code="declared_ai_generated",
                message=(
                    "the file's XMP declares the picture AI-generated "
                    f"(IPTC DigitalSourceType {facts.digital_source_type.rsplit('/', 1)[-1]})"
                ),
                red_flag=True,
                source="xmp",
                fields={"Iptc4xmpExt:DigitalSourceType": facts.digital_source_type},
            )
        )
    out += _provenance(facts)
    return out


__all__ = [
    "EDITORS",
    "THUMBNAIL_DIFF_BITS",
    "ExifLayout",
    "Located",
    "Unreadable",
    "check_exif_structure",
    "locate_metadata",
    "metadata_findings",
    "parse_exif_datetime",
    "read_metadata",
    "read_xmp",
    "thumbnail_distance",
    "trim_bars",
]
