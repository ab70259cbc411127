"""Reading a file: every part above into one MetadataFacts."""

from __future__ import annotations

import io
from typing import Any

import exifread

from postcheck.domain import MetadataFacts, ProvenanceFacts
from postcheck.verifiers.metadata.container import locate_metadata
from postcheck.verifiers.metadata.limits import Unreadable, _reason
from postcheck.verifiers.metadata.thumbnail import _compare_thumbnail
from postcheck.verifiers.metadata.tiff import check_exif_structure
from postcheck.verifiers.metadata.values import (
    _gps,
    _gps_altitude,
    _gps_time,
    _text,
    parse_exif_datetime,
)
from postcheck.verifiers.metadata.xmp import read_xmp

# --- reading a file ----------------------------------------------------------------------------


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
