"""Editors, AI source types, the limits on hostile files, and the error for them."""

from __future__ import annotations

import re
from datetime import timedelta

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


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())[:160]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
