"""Reading EXIF values: dates, ratios, GPS."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from postcheck import dates
from postcheck.verifiers.metadata.limits import _EXIF_DATE, _OFFSET

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
