"""What a video's sampled frames matched, gathered per known picture or video (pure).

Every sampled frame went through the image matcher, so a known photo shown for two
seconds inside a new video is found with all its edits. A known video matches when at
least VIDEO_MATCH_MIN_FRAMES frames agree on one time offset (align_matches): a re-encoded,
trimmed, cropped or mirrored re-upload, and where it sits in both videos.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from postcheck.domain import FrameMatch, Match, MatchEdit, VideoEvidence, VideoMatch
from postcheck.verifiers.video import VIDEO_MATCH_MIN_FRAMES, VideoInfo, align_matches

MAX_THUMBNAILS = 4  # per known picture, for the report's strip of keyframes


@dataclass
class FrameResult:
    t: float
    matches: list[Match]
    thumbnail: str | None = None  # data: URI, made only for frames that matched


def clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}:{secs:04.1f}"


def gather(
    frames: Iterable[FrameResult], info: VideoInfo, examined: int, note: str | None
) -> tuple[VideoEvidence, list[Match]]:
    """The evidence of one video, and one Match per known picture or video it contains
    (for the verdict rules, which treat them like a photo's matches)."""
    by_known: dict[int, list[tuple[FrameResult, Match]]] = {}
    for frame in frames:
        for match in frame.matches:
            if match.is_match:
                by_known.setdefault(match.known.id, []).append((frame, match))
    found: list[VideoMatch] = []
    verdict_matches: list[Match] = []
    for hits in by_known.values():
        known = hits[0][1].known
        is_video = any(m.known_time is not None for _, m in hits)
        span = (min(f.t for f, _ in hits), max(f.t for f, _ in hits))
        known_span = offset = None
        if is_video:
            alignment = align_matches(
                [(f.t, m.known_time) for f, m in hits if m.known_time is not None]
            )
            if alignment is None or alignment.count < min(VIDEO_MATCH_MIN_FRAMES, examined):
                continue  # one stray frame does not make a re-upload
            offset, known_span, span = alignment.offset, alignment.known_span, alignment.query_span
            hits = [(f, m) for f, m in hits if span[0] <= f.t <= span[1]]
        edits = _edits([m for _, m in hits])
        best = min((m for _, m in hits), key=lambda m: m.score)
        details = [_where(span, len(hits), known_span), *best.details]
        frame_matches = [
            FrameMatch(
                t=round(f.t, 2),
                known_t=m.known_time,
                distances=m.distances,
                thumbnail=f.thumbnail if i < MAX_THUMBNAILS else None,
            )
            for i, (f, m) in enumerate(hits)
        ]
        found.append(
            VideoMatch(
                known=known,
                known_is_video=is_video,
                frames=frame_matches,
                span=span,
                known_span=known_span,
                offset=offset,
                edits=edits,
                details=details,
            )
        )
        verdict_matches.append(
            best.model_copy(
                update={
                    "edits": edits,
                    "details": details,
                    "stage": f"{len(hits)} frame(s) of the post's video; best: {best.stage}",
                }
            )
        )
    evidence = VideoEvidence(
        duration=round(info.duration, 2),
        width=info.width,
        height=info.height,
        fps=round(info.fps, 2),
        frames_examined=examined,
        note=note,
        matches=found,
    )
    return evidence, verdict_matches


def _edits(matches: list[Match]) -> list[MatchEdit]:
    """Edits seen on at least half the matching frames (one odd frame is not the video's)."""
    counts = Counter(e for m in matches for e in m.edits)
    kept = [e for e, n in counts.items() if 2 * n >= len(matches)]
    if len(kept) > 1 and MatchEdit.NEAR_COPY in kept:
        kept.remove(MatchEdit.NEAR_COPY)
    return sorted(kept, key=lambda e: e.value)


def _where(span: tuple[float, float], frames: int, known_span: tuple[float, float] | None) -> str:
    text = f"in the post's video at {clock(span[0])}–{clock(span[1])} ({frames} frame{'s' if frames != 1 else ''})"
    if known_span is not None:
        text += f", = {clock(known_span[0])}–{clock(known_span[1])} of the known video"
    return text
