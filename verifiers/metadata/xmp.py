"""XMP: a bounded text scan (no XML parser, no entity expansion)."""

from __future__ import annotations

import functools
import html
import re
from typing import Any

from postcheck.verifiers.metadata.limits import MAX_HISTORY, MAX_XMP_BYTES

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
