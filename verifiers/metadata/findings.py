"""Findings: facts and red flags, each with the fields that prove it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from postcheck.domain import Finding, MetadataFacts
from postcheck.verifiers.metadata.limits import (
    DATE_TOLERANCE,
    EDITORS,
    GPS_TOLERANCE,
    IPTC_AI,
    NAIVE_SLACK,
    THUMBNAIL_DIFF_BITS,
    THUMBNAIL_FAMILIES,
)

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
