"""A post's picture against the known original it matched: the metadata, field by field.

Pure: two MetadataFacts in, findings out (source "known-original"). The perceptual match
already says the two files show the same picture; this says whether their metadata tells
the same story. Same camera serial and same capture time are strong evidence that the post
carries (a copy of) the original file; a different camera, a different capture time or a
position kilometres away on the same picture mean one of the two files had its metadata
rewritten, which is a red flag.

| code | red flag | when |
|---|---|---|
| same_camera_serial | no | both name the same camera body serial |
| camera_serial_differs | yes | both name a serial, and they differ |
| same_camera | no | same make and model (no serial on one side) |
| camera_differs | yes | both name a make/model, and they differ |
| lens_differs | yes | both name a lens (model or serial), and they differ |
| same_capture_time | no | same DateTimeOriginal to the second (and sub-second when both have it) |
| capture_time_close | no | within CLOSE_CAPTURE (another frame of a burst, or sub-second rounding) |
| capture_time_differs | yes | further apart than that |
| same_gps / gps_close | no | positions within 100 m / 1 km |
| gps_differs | yes | positions more than 1 km apart |
| gps_only_in_post / gps_only_in_known | no | one side has a position |
| edited_since_original | no | the post's copy names software the original does not |
| known_original_metadata | no | the post's copy has no metadata; what the original says |
| post_metadata_only | no | the original has no metadata; the post's copy does |
| no_metadata_to_compare | no | neither has any |
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from postcheck.domain import Finding, MetadataFacts
from postcheck.verifiers.metadata import span

CLOSE_CAPTURE = timedelta(seconds=2)
SAME_PLACE_KM = 0.1
NEAR_PLACE_KM = 1.0
SOURCE = "known-original"


def _norm(value: str | None) -> str:
    return " ".join((value or "").lower().split())


def _has(facts: MetadataFacts) -> bool:
    return facts.readable and facts.present


def _gap(a: datetime, b: datetime) -> timedelta:
    if a.tzinfo is None or b.tzinfo is None:
        return b.replace(tzinfo=None) - a.replace(tzinfo=None)
    return b - a


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


def _camera(facts: MetadataFacts) -> str:
    make, model = facts.camera_make or "", facts.camera_model or ""
    if make and model.lower().startswith(make.lower()):
        return model
    return f"{make} {model}".strip()


def _finding(code: str, message: str, red: bool = False, **fields: object) -> Finding:
    return Finding(code=code, message=message, red_flag=red, source=SOURCE, fields=fields)


def _summary(facts: MetadataFacts) -> str:
    parts = []
    if facts.capture_time_raw:
        offset = f" {facts.capture_offset}" if facts.capture_offset else ""
        parts.append(f"captured {facts.capture_time_raw}{offset}")
    if camera := _camera(facts):
        parts.append(camera)
    if facts.camera_serial:
        parts.append(f"serial {facts.camera_serial}")
    if facts.gps_lat is not None and facts.gps_lon is not None:
        parts.append(f"GPS {facts.gps_lat:.5f}, {facts.gps_lon:.5f}")
    if facts.software:
        parts.append(f"software {facts.software}")
    return "; ".join(parts) or "no telling fields"


def _key_fields(facts: MetadataFacts) -> dict[str, object]:
    return {
        "capture_time": facts.capture_time_raw,
        "capture_offset": facts.capture_offset,
        "camera_make": facts.camera_make,
        "camera_model": facts.camera_model,
        "camera_serial": facts.camera_serial,
        "lens": facts.lens,
        "gps": [facts.gps_lat, facts.gps_lon] if facts.gps_lat is not None else None,
        "software": facts.software,
    }


def _camera_findings(post: MetadataFacts, known: MetadataFacts) -> list[Finding]:
    out: list[Finding] = []
    ps, ks = _norm(post.camera_serial), _norm(known.camera_serial)
    if ps and ks:
        if ps == ks:
            out.append(
                _finding(
                    "same_camera_serial",
                    f"same camera body as the known original: {_camera(post)} serial "
                    f"{post.camera_serial}",
                    post=post.camera_serial,
                    known=known.camera_serial,
                )
            )
        else:
            out.append(
                _finding(
                    "camera_serial_differs",
                    f"camera serial {post.camera_serial} in the post's copy, "
                    f"{known.camera_serial} in the known original of the same picture",
                    red=True,
                    post=post.camera_serial,
                    known=known.camera_serial,
                )
            )
    pc, kc = _norm(_camera(post)), _norm(_camera(known))
    if pc and kc:
        if pc != kc:
            out.append(
                _finding(
                    "camera_differs",
                    f"camera {_camera(post)} in the post's copy, {_camera(known)} in the "
                    "known original of the same picture",
                    red=True,
                    post={"make": post.camera_make, "model": post.camera_model},
                    known={"make": known.camera_make, "model": known.camera_model},
                )
            )
        elif not out:
            out.append(
                _finding(
                    "same_camera",
                    f"same camera model as the known original: {_camera(post)}",
                    post=_camera(post),
                    known=_camera(known),
                )
            )
    for label, a, b in (
        ("lens", post.lens, known.lens),
        ("lens serial", post.lens_serial, known.lens_serial),
    ):
        if _norm(a) and _norm(b) and _norm(a) != _norm(b):
            out.append(
                _finding(
                    "lens_differs",
                    f"{label} {a} in the post's copy, {b} in the known original",
                    red=True,
                    field=label,
                    post=a,
                    known=b,
                )
            )
            break
    return out


def _time_findings(post: MetadataFacts, known: MetadataFacts) -> list[Finding]:
    if post.capture_time is None or known.capture_time is None:
        return []
    gap = _gap(known.capture_time, post.capture_time)
    fields = {
        "post": post.capture_time_raw,
        "post_offset": post.capture_offset,
        "post_subsec": post.capture_subsec,
        "known": known.capture_time_raw,
        "known_offset": known.capture_offset,
        "known_subsec": known.capture_subsec,
        "difference_seconds": gap.total_seconds(),
    }
    subsec_differs = (
        post.capture_subsec is not None
        and known.capture_subsec is not None
        and post.capture_subsec.strip() != known.capture_subsec.strip()
    )
    if gap == timedelta() and not subsec_differs:
        return [
            _finding(
                "same_capture_time",
                f"same capture time as the known original: {post.capture_time_raw}"
                + (f" {post.capture_offset}" if post.capture_offset else ""),
                **fields,
            )
        ]
    if abs(gap) <= CLOSE_CAPTURE:
        return [
            _finding(
                "capture_time_close",
                f"captured {post.capture_time_raw}, within {CLOSE_CAPTURE.seconds} s of the "
                f"known original ({known.capture_time_raw}): another frame of the same burst?",
                **fields,
            )
        ]
    return [
        _finding(
            "capture_time_differs",
            f"the post's copy says captured {post.capture_time_raw}"
            f"{' ' + post.capture_offset if post.capture_offset else ''}, the known original "
            f"{known.capture_time_raw}"
            f"{' ' + known.capture_offset if known.capture_offset else ''}: "
            f"{span(gap)} apart on the same picture",
            red=True,
            **fields,
        )
    ]


def _gps_findings(post: MetadataFacts, known: MetadataFacts) -> list[Finding]:
    p = (post.gps_lat, post.gps_lon) if post.gps_lat is not None else None
    k = (known.gps_lat, known.gps_lon) if known.gps_lat is not None else None
    if p and k and None not in p and None not in k:
        km = distance_km(p[0], p[1], k[0], k[1])  # type: ignore[arg-type]
        fields = {"post": list(p), "known": list(k), "distance_km": round(km, 3)}
        if km <= SAME_PLACE_KM:
            return [_finding("same_gps", "same GPS position as the known original", **fields)]
        if km <= NEAR_PLACE_KM:
            return [
                _finding(
                    "gps_close",
                    f"GPS position {km * 1000:.0f} m from the known original's",
                    **fields,
                )
            ]
        return [
            _finding(
                "gps_differs",
                f"GPS position {km:.1f} km from the known original's, on the same picture",
                red=True,
                **fields,
            )
        ]
    if p and None not in p:
        return [
            _finding(
                "gps_only_in_post",
                "the post's copy has a GPS position the known original does not",
                post=list(p),
            )
        ]
    if k and None not in k:
        return [
            _finding(
                "gps_only_in_known",
                "the known original has a GPS position; the post's copy does not",
                known=list(k),
            )
        ]
    return []


def _software_findings(post: MetadataFacts, known: MetadataFacts) -> list[Finding]:
    known_names = {_norm(e.get("software")) for e in known.processing_history}
    # The camera itself may appear as the software agent of the 'created' event.
    known_names |= {_norm(known.software), _norm(known.camera_model), _norm(_camera(known))}
    added = [
        e
        for e in post.processing_history
        if _norm(e.get("software")) and _norm(e.get("software")) not in known_names
    ]
    if not added:
        return []
    names = sorted({e["software"] for e in added})
    return [
        _finding(
            "edited_since_original",
            "the post's copy was written by software the known original does not name: "
            + "; ".join(names),
            post=added[:20],
            known=known.processing_history[:20],
        )
    ]


def compare_with_known(post: MetadataFacts, known: MetadataFacts) -> list[Finding]:
    """Field-by-field findings for a post's picture against its matched known original."""
    if not _has(post) and not _has(known):
        return [
            _finding(
                "no_metadata_to_compare",
                "neither the post's copy nor the known original carries readable metadata",
                post_error=post.error,
                known_error=known.error,
            )
        ]
    if not _has(post):
        why = post.error or "stripped, as platforms do"
        return [
            _finding(
                "known_original_metadata",
                f"the post's copy has no metadata ({why}); the known original: {_summary(known)}",
                known=_key_fields(known),
            )
        ]
    if not _has(known):
        return [
            _finding(
                "post_metadata_only",
                f"the known original has no metadata; the post's copy: {_summary(post)}",
                post=_key_fields(post),
            )
        ]
    return [
        *_camera_findings(post, known),
        *_time_findings(post, known),
        *_gps_findings(post, known),
        *_software_findings(post, known),
    ]
