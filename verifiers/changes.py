"""What changed about a post between its previous check and this one (pure)."""

from __future__ import annotations

from postcheck.domain import CheckReport, Transition, Verdict


def failed_fetch(report: CheckReport) -> bool:
    """The check could not see the post as it is (a timeout, a 5xx, a failed download):
    it says nothing about change and is retried next time."""
    return report.verdict is Verdict.ERROR


def _media(report: CheckReport) -> list[dict[str, object]]:
    return [
        {"position": i.position, "sha256": i.media.sha256 if i.media else None, "url": i.source_url}
        for i in report.images
    ]


def _same_media(before: list[dict[str, object]], after: list[dict[str, object]]) -> bool:
    """Same pictures in the same places. A picture we could not download on one side is
    compared by its URL only, so a missing file alone is not a change of media."""
    if len(before) != len(after):
        return False
    for b, a in zip(before, after, strict=True):
        if b["sha256"] and a["sha256"]:
            if b["sha256"] != a["sha256"]:
                return False
        elif b["url"] != a["url"]:
            return False
    return True


def compare_checks(before: CheckReport | None, after: CheckReport) -> list[Transition]:
    """Transitions from `before` (the last check that saw the post or its absence) to
    `after`. None when there is no baseline yet or when `after` failed to fetch."""
    if before is None or failed_fetch(after):
        return []
    out: list[Transition] = []
    was, now = before.post, after.post
    if was is not None and now is None:
        return [
            Transition(
                kind="deleted",
                message=f"post no longer available: {'; '.join(after.reasons)}",
                before={"text": was.text, "verdict": before.verdict.value},
                after={"reasons": after.reasons, "verdict": after.verdict.value},
            )
        ]
    if was is None and now is not None:
        out.append(
            Transition(
                kind="restored",
                message="post available again",
                before={"reasons": before.reasons},
                after={"text": now.text},
            )
        )
    if was is not None and now is not None:
        if was.text != now.text:
            out.append(
                Transition(
                    kind="text_edited",
                    message="text changed",
                    before={"text": was.text},
                    after={"text": now.text},
                )
            )
        media_before, media_after = _media(before), _media(after)
        if not _same_media(media_before, media_after):
            out.append(
                Transition(
                    kind="media_changed",
                    message=f"pictures changed ({len(media_before)} → {len(media_after)})",
                    before={"media": media_before},
                    after={"media": media_after},
                )
            )
    if before.verdict != after.verdict and now is not None:
        out.append(
            Transition(
                kind="verdict_changed",
                message=f"verdict {before.verdict.value} → {after.verdict.value}: {'; '.join(after.reasons)}",
                before={"verdict": before.verdict.value, "reasons": before.reasons},
                after={"verdict": after.verdict.value, "reasons": after.reasons},
            )
        )
    return out
