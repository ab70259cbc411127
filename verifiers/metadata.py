"""What the file's own metadata (EXIF) says, and where it contradicts the post.

Platforms strip most metadata, so absence is stated as a fact, never as a red flag.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import exifread

from postcheck.domain import Finding, MetadataFacts

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
)
_EXIF_DATE = re.compile(r"^\s*(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


def _text(tags: dict[str, Any], key: str) -> str | None:
    tag = tags.get(key)
    if tag is None:
        return None
    value = str(tag.printable if hasattr(tag, "printable") else tag).strip().strip("\x00").strip()
    return value or None


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
    if offset and (m := _OFFSET.match(offset)):
        sign = -1 if m.group(1) == "-" else 1
        delta = timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))
        value = value.replace(tzinfo=timezone(sign * delta))
    return value


def _ratio(value: Any) -> float:
    num = getattr(value, "num", None)
    den = getattr(value, "den", None)
    if num is not None and den:
        return num / den
    return float(value)


def _gps(tags: dict[str, Any], key: str, ref_key: str) -> float | None:
    tag = tags.get(key)
    if tag is None or not getattr(tag, "values", None) or len(tag.values) < 3:
        return None
    try:
        d, m, s = (_ratio(v) for v in tag.values[:3])
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = d + m / 60 + s / 3600
    ref = (_text(tags, ref_key) or "").upper()
    if ref in {"S", "W"}:
        value = -value
    return round(value, 6)


def read_metadata(data: bytes) -> MetadataFacts:
    """EXIF facts of an image file; unreadable metadata is reported, never raised."""
    try:
        tags = exifread.process_file(io.BytesIO(data), details=False, strict=False)
    except Exception as exc:  # exifread raises many kinds on hostile input
        return MetadataFacts(
            present=False, readable=False, error=f"unreadable EXIF ({type(exc).__name__})"
        )
    if not tags:
        return MetadataFacts(present=False)
    capture_raw = _text(tags, "EXIF DateTimeOriginal")
    capture_offset = _text(tags, "EXIF OffsetTimeOriginal")
    alt = None
    alt_tag = tags.get("GPS GPSAltitude")
    if alt_tag is not None and getattr(alt_tag, "values", None):
        try:
            alt = round(_ratio(alt_tag.values[0]), 1)
            if (_text(tags, "GPS GPSAltitudeRef") or "0") in {"1", "Below Sea Level"}:
                alt = -alt
        except (TypeError, ValueError, ZeroDivisionError):
            alt = None
    fields = {
        k: _text(tags, k) or ""
        for k in sorted(tags)
        if k != "JPEGThumbnail" and not k.startswith(("MakerNote", "EXIF MakerNote"))
    }
    return MetadataFacts(
        present=True,
        capture_time=parse_exif_datetime(capture_raw, capture_offset),
        capture_time_raw=capture_raw,
        digitized_time_raw=_text(tags, "EXIF DateTimeDigitized"),
        modified_time_raw=_text(tags, "Image DateTime"),
        camera_make=_text(tags, "Image Make"),
        camera_model=_text(tags, "Image Model"),
        camera_serial=_text(tags, "EXIF BodySerialNumber")
        or _text(tags, "Image CameraSerialNumber"),
        lens=_text(tags, "EXIF LensModel"),
        software=_text(tags, "Image Software"),
        gps_lat=_gps(tags, "GPS GPSLatitude", "GPS GPSLatitudeRef"),
        gps_lon=_gps(tags, "GPS GPSLongitude", "GPS GPSLongitudeRef"),
        gps_alt=alt,
        orientation=_text(tags, "Image Orientation"),
        has_thumbnail="JPEGThumbnail" in tags,
        fields={k: v[:200] for k, v in list(fields.items())[:200]},
    )


def metadata_findings(
    facts: MetadataFacts, post_created_at: datetime | None, margin_days: int
) -> list[Finding]:
    """Facts worth showing, and red flags where the metadata contradicts the post."""
    if not facts.readable:
        return [Finding(code="metadata_unreadable", message=facts.error or "unreadable metadata")]
    if not facts.present:
        return [
            Finding(
                code="metadata_absent",
                message="no EXIF metadata (platforms usually strip it)",
            )
        ]
    out: list[Finding] = []
    capture = facts.capture_time
    if capture is not None and post_created_at is not None:
        # A naive capture time is the camera's local time: allow a day either way.
        compare = capture if capture.tzinfo else capture.replace(tzinfo=UTC)
        slack = timedelta(days=margin_days) + (
            timedelta(hours=14) if capture.tzinfo is None else timedelta()
        )
        if compare < post_created_at - slack:
            age = (post_created_at - compare).days
            out.append(
                Finding(
                    code="capture_before_post",
                    message=(
                        f"captured {facts.capture_time_raw}, {age} days before the post "
                        f"(margin {margin_days} days)"
                    ),
                    red_flag=True,
                    fields={
                        "EXIF DateTimeOriginal": facts.capture_time_raw,
                        "post created_at": post_created_at.isoformat(),
                    },
                )
            )
    if facts.software:
        editor = any(name in facts.software.lower() for name in EDITORS)
        out.append(
            Finding(
                code="editing_software" if editor else "software",
                message=(
                    f"edited with {facts.software}" if editor else f"software: {facts.software}"
                ),
                red_flag=editor,
                fields={"Image Software": facts.software},
            )
        )
    if facts.camera_make or facts.camera_model:
        camera = " ".join(x for x in (facts.camera_make, facts.camera_model) if x)
        out.append(
            Finding(
                code="camera",
                message=f"camera: {camera}",
                fields={"Image Make": facts.camera_make, "Image Model": facts.camera_model},
            )
        )
    if facts.gps_lat is not None and facts.gps_lon is not None:
        out.append(
            Finding(
                code="gps_present",
                message=(
                    f"GPS position {facts.gps_lat:.5f}, {facts.gps_lon:.5f}: "
                    f"https://www.openstreetmap.org/?mlat={facts.gps_lat}&mlon={facts.gps_lon}#map=15/{facts.gps_lat}/{facts.gps_lon}"
                ),
                fields={"lat": facts.gps_lat, "lon": facts.gps_lon, "alt": facts.gps_alt},
            )
        )
    if capture is not None and not any(f.code == "capture_before_post" for f in out):
        out.append(Finding(code="capture_time", message=f"captured {facts.capture_time_raw}"))
    return out
