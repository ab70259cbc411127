"""Findings -> one status with reasons, per image and per post (DESIGN.md, Verdicts)."""

from __future__ import annotations

from datetime import UTC, datetime, time

from postcheck.domain import TELLING_EDITS, Finding, KnownImage, Match, Verdict

# Post verdict = the most serious image verdict. Findings that say "do not trust this"
# come first; then "could not check" (an answer with a gap must not read as clean);
# benign outcomes last.
SEVERITY = [
    Verdict.RECYCLED,
    Verdict.ALTERED,
    Verdict.METADATA_CONFLICT,
    Verdict.ERROR,
    Verdict.UNAVAILABLE,
    Verdict.MATCHES_KNOWN,
    Verdict.NO_KNOWN_MATCH,
]


def first_seen_bound(known: KnownImage) -> datetime | None:
    """The latest moment the known image's first-seen date allows. A date given without a
    time (stored at midnight) could be any time that day, so take the day's end: we claim
    `recycled` only when the known image is certainly older than the post."""
    seen = known.first_seen
    if seen is None:
        return None
    if seen.tzinfo is None:
        seen = seen.replace(tzinfo=UTC)
    if seen.timetz().replace(tzinfo=None) == time(0, 0):
        return seen.replace(hour=23, minute=59, second=59)
    return seen


def hash_only_words(match: Match) -> str:
    """What a hash-only match rests on, in words: 'PDQ distance 12 to a hash from
    list.txt (line 4); no file could confirm it'."""
    known = match.known
    source = f"a hash from {known.list_name}" if known.list_name else "a hash-only entry"
    line = f" (line {known.list_line})" if known.list_line else ""
    distance = ", ".join(f"{k.upper()} distance {v}" for k, v in sorted(match.distances.items()))
    return f"{distance} to {source}{line}; no file could confirm it"


def too_flat_for_hash_only(hash_only_families: set[str], codes: dict[str, str]) -> list[str]:
    """Why no hash-only match can be claimed for a picture, when the library holds hash-only
    entries of a family the picture has no code of (under the family's quality floor)."""
    from postcheck.verifiers.families import families

    out = []
    for name in sorted(hash_only_families - codes.keys()):
        floor = getattr(families().get(name), "quality_floor", None)
        under = f" (its quality is under {floor})" if floor is not None else ""
        out.append(
            f"too flat a picture for {name.upper()}{under}: no hash-only match can be claimed"
        )
    return out


def _describe(match: Match) -> str:
    known = match.known
    if match.hash_only:
        where = f"{known.source_url}; " if known.source_url else ""
        caption = f' "{known.caption}"' if known.caption else ""
        return f"known image #{known.id}{caption} ({where}{hash_only_words(match)})"
    where = known.source_url or known.post_uri or f"known image #{known.id}"
    bits = ", ".join(f"{k} {v}" for k, v in sorted(match.distances.items()) if k != "orb_inliers")
    inliers = match.distances.get("orb_inliers")
    proof = f", {inliers} matching keypoints" if inliers and inliers >= 20 else ""
    words = match.details or [e.value for e in match.edits]
    edits = f"; {', '.join(words)}" if words else ""
    caption = f' "{known.caption}"' if known.caption else ""
    return f"known image #{known.id}{caption} ({where}; distance {bits}{proof}{edits})"


def own_copy(match: Match, post_uri: str | None) -> bool:
    """A picture learned from this very post: never evidence about it."""
    return bool(post_uri) and match.known.post_uri == post_uri


def rank_matches(matches: list[Match], post_uri: str | None) -> list[Match]:
    """Proven matches first, the post's own learned copies after the others, hash-only
    ones after those a file confirmed, then by score: the first match is one that can be
    evidence."""
    return sorted(
        matches, key=lambda m: (not m.is_match, own_copy(m, post_uri), m.hash_only, m.score)
    )


def judge_image(
    matches: list[Match],
    findings: list[Finding],
    post_created_at: datetime | None,
    post_uri: str | None = None,
) -> tuple[Verdict, list[str], Match | None]:
    """The verdict, its reasons, and the known picture it rests on (None when it rests
    on none: metadata alone, or nothing found). Reports show that picture."""
    real = [m for m in matches if m.is_match and not own_copy(m, post_uri)]
    # A known picture whose file confirmed the match decides; hash-only matches (no file
    # to confirm them, DESIGN "Verdicts") count only when nothing else matched.
    real = [m for m in real if not m.hash_only] or real
    if post_created_at is not None:
        older = [
            m
            for m in real
            if (bound := first_seen_bound(m.known)) is not None and bound < post_created_at
        ]
        if older:
            best = min(older, key=lambda m: m.score)
            seen = best.known.first_seen
            first = (
                f"matches {_describe(best)}, first seen {seen:%Y-%m-%d}, "
                f"before the post ({post_created_at:%Y-%m-%d})"
            )
            if best.hash_only:
                first += "; this rests on a hash alone"
            others = [f"also matches {_describe(m)}" for m in older if m is not best]
            return Verdict.RECYCLED, [first, *others[:3]], best
    telling = [m for m in real if set(m.edits) & TELLING_EDITS]
    if telling:
        best = min(telling, key=lambda m: m.score)
        return Verdict.ALTERED, [f"edited copy of {_describe(best)}"], best
    best = min(real, key=lambda m: m.score) if real else None
    red = [f for f in findings if f.red_flag]
    if red:  # the nearest original, whose metadata the file's was compared with
        return Verdict.METADATA_CONFLICT, [f.message for f in red], best
    if best is not None:
        return Verdict.MATCHES_KNOWN, [f"matches {_describe(best)}, not older than the post"], best
    return Verdict.NO_KNOWN_MATCH, ["nothing in the known library resembles it"], None


def image_verdict(
    matches: list[Match],
    findings: list[Finding],
    post_created_at: datetime | None,
    post_uri: str | None = None,
) -> tuple[Verdict, list[str]]:
    verdict, reasons, _ = judge_image(matches, findings, post_created_at, post_uri)
    return verdict, reasons


def post_verdict(image_verdicts: list[Verdict]) -> Verdict:
    if not image_verdicts:
        return Verdict.NO_KNOWN_MATCH
    return min(image_verdicts, key=SEVERITY.index)
