"""Reports of a check: markdown (with thumbnails as data: URIs), table rows, JSON."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

from postcheck import safe_markdown as md
from postcheck.domain import (
    CheckReport,
    ImageReport,
    Post,
    RecheckOutcome,
    Verdict,
    VideoEvidence,
)
from postcheck.errors import BadMedia
from postcheck.media import MediaStore
from postcheck.sources import platform_named
from postcheck.sources.base import slug
from postcheck.urls import is_web_url
from postcheck.verifiers import video
from postcheck.verifiers.imaging import data_uri
from postcheck.verifiers.verdict import hash_only_words
from postcheck.verifiers.video_match import clock

if TYPE_CHECKING:
    from postcheck.articles import ArticleReport

THUMB_SIDE = 160  # px; keeps a report with a few images far below Prefect Cloud's 5 MiB

VERDICT_ICON = {
    Verdict.RECYCLED: "🔴",
    Verdict.ALTERED: "🟠",
    Verdict.METADATA_CONFLICT: "🟠",
    Verdict.MATCHES_KNOWN: "🔵",
    Verdict.NO_KNOWN_MATCH: "🟢",
    Verdict.UNAVAILABLE: "⚫",
    Verdict.ERROR: "⚠️",
}


def artifact_key(platform: str, key_or_uri: str) -> str:
    """Prefect artifact keys allow only [a-z0-9-]: 'post-' and the platform's slug of the
    post ('post-x-<id>', 'post-bluesky-<did>-<rkey>', …)."""
    return f"post-{slug(platform_named(platform).artifact_slug(key_or_uri))}"[:200]


def post_facts(post: Post) -> list[str]:
    """What the platform says about the post beyond author, time and text, one line each:
    an edit, where it was forwarded from, what it replies to."""
    lines = []
    if post.edited_at is not None:
        lines.append(f"Edited: {post.edited_at:%Y-%m-%d %H:%M UTC}")
    if post.edit_of:
        lines.append(f"Earlier versions: {', '.join(post.edit_of)}")
    for name, value in post.facts.items():
        lines.append(f"{name.replace('_', ' ').capitalize()}: {value}")
    return lines


def thumbnail_data_uri(
    path: Path | str, side: int = THUMB_SIDE, at: float | None = None
) -> str | None:
    """A picture file (or the frame at `at` seconds of a video file) as a small data: URI."""
    try:
        if at is not None:
            frame = video.frame_at(path, at, max_side=side * 2)
            return data_uri(frame, side) if frame is not None else None
        with Image.open(path) as img:
            img.draft("RGB", (side * 2, side * 2))
            return data_uri(img, side)
    except (OSError, ValueError, BadMedia):
        return None


# Every user-supplied string goes through md.text, every URL through md.link.


def _img(uri: str | None, alt: str) -> str:
    return md.img(uri, alt, THUMB_SIDE)


def markdown_report(report: CheckReport, media: MediaStore) -> str:
    post = report.post
    lines = [f"# {VERDICT_ICON[report.verdict]} {report.verdict.value}", ""]
    if post is not None:
        who = f"@{post.author_handle}" if post.author_handle else post.author_id or "?"
        name = f"{md.text(post.author_name)} " if post.author_name else ""
        quoted = "\n> ".join(md.text(line) for line in post.text.splitlines())
        lines += [
            f"**Post:** {md.link(post.url)}  ",
            f"**Author:** {name}({md.text(who)})  ",
            f"**Created:** {post.created_at:%Y-%m-%d %H:%M UTC}  ",
            f"**Fetched via:** {md.text(post.fetched_via)}" + ("  " if post_facts(post) else ""),
            *[f"**{md.text(line)}**  " for line in post_facts(post)],
            "",
            "> " + quoted if post.text else "> (no text)",
            "",
        ]
    else:
        lines += [f"**Input:** {md.link(report.url)}", ""]
    lines += ["**Why:** " + "; ".join(md.text(r) for r in report.reasons), ""]
    for image in report.images:
        lines += _image_section(image, media, post.uri if post else None)
    lines += [
        f"_Checked {report.checked_at:%Y-%m-%d %H:%M:%S UTC}"
        + (f", check #{report.check_id}" if report.check_id else "")
        + "._"
    ]
    return "\n".join(lines)


def _image_section(image: ImageReport, media: MediaStore, post_uri: str | None) -> list[str]:
    out = [
        f"## Image {image.position + 1}: {VERDICT_ICON[image.verdict]} {image.verdict.value}",
        "",
    ]
    out += [f"- {md.text(r)}" for r in image.reasons]
    if image.alt_text:
        out.append(f"- alt text: {md.text(image.alt_text)}")
    out.append(f"- source: {md.link(image.source_url)}")
    out.append(_search_line(image))
    if image.media:
        m = image.media
        out.append(
            f"- file: {m.format} {m.width}×{m.height}, {m.size:,} bytes, sha256 `{m.sha256[:16]}…`"
        )
    out.append("")
    post_thumb = thumbnail_data_uri(image.media.path) if image.media else None
    best = image.evidence  # the picture the verdict rests on, never the post's own copy
    if best is not None:
        known_path = media.file_of(best.known.sha256)
        known_thumb = thumbnail_data_uri(known_path) if known_path else None
        seen = f"{best.known.first_seen:%Y-%m-%d}" if best.known.first_seen else "date unknown"
        out += [
            "| in the post | known image |",
            "|---|---|",
            f"| {_img(post_thumb, 'post image')} | "
            f"{'hash only: no file' if best.hash_only else _img(known_thumb, 'known image')} |",
            f"| {image.media.width if image.media else '?'}×{image.media.height if image.media else '?'} "
            f"| #{best.known.id}, first seen {seen} |",
            "",
        ]
    elif post_thumb:
        out += [_img(post_thumb, "post image"), ""]
    if image.matches:
        out += [
            "| known | first seen | source | distances | edits | match |",
            "|---|---|---|---|---|---|",
        ]
        for m in image.matches:
            seen = f"{m.known.first_seen:%Y-%m-%d}" if m.known.first_seen else "—"
            dist = ", ".join(f"{k} {v}" for k, v in sorted(m.distances.items()))
            edits = md.text(", ".join(m.details or [e.value for e in m.edits])) or "—"
            src = md.link(m.known.source_url or m.known.post_uri)
            proven = "yes" if m.is_match else "no"
            if m.is_match and m.hash_only:
                proven = f"hash only: {md.text(hash_only_words(m))}"
            if m.is_match and post_uri and m.known.post_uri == post_uri:
                proven = "yes (learned from this post: not evidence)"
            out.append(
                f"| #{m.known.id} {md.text(m.known.caption or '')} | {seen} | {src} | {dist} | {edits} | {proven} |"
            )
        out.append("")
    if image.video is not None:
        out += _video_section(image.video, media)
    if image.findings:
        out += ["**Metadata:** " + "; ".join(md.text(f.message) for f in image.findings), ""]
    return out


def _search_line(image: ImageReport) -> str:
    """The reverse-search links (all https, the picture's URL percent-encoded), or why none."""
    found = image.reverse_search
    if not found.links:
        return f"- reverse search: {md.text(found.note or 'no public URL')}"
    return "- reverse search: " + " · ".join(md.link(x.url, x.service) for x in found.links)


def _video_section(video: VideoEvidence, media: MediaStore) -> list[str]:
    """The video: what was examined, and for each match a strip of the post's matching
    keyframes (with their times) beside the known picture or the known video's frame."""
    out = [
        f"**Video:** {video.duration:.1f} s, {video.width}×{video.height}, {video.fps:g} fps; "
        f"{video.frames_examined} frames examined (keyframes, scene changes, every few seconds)"
        + (f"; {md.text(video.note)}" if video.note else ""),
        "",
    ]
    for match in video.matches:
        known = match.known
        what = "known video" if match.known_is_video else "known picture"
        out.append(
            f"- {what} #{known.id} {md.text(known.caption or '')}: "
            + "; ".join(md.text(d) for d in match.details)
        )
        strip = [
            f"{_img(f.thumbnail, f'frame at {f.t:.1f} s')}<br/>{clock(f.t)}"
            for f in match.frames
            if f.thumbnail
        ]
        path = media.file_of(known.sha256)
        at = match.frames[0].known_t if match.known_is_video and match.frames else None
        known_thumb = thumbnail_data_uri(path, at=at) if path else None
        label = f"known, at {clock(at)}" if at is not None else "known"
        out += [
            "",
            "| " + " | ".join(["post's video"] * len(strip) + [label]) + " |",
            "|" + "---|" * (len(strip) + 1),
            "| " + " | ".join([*strip, _img(known_thumb, "known")]) + " |",
            "",
        ]
    return out


def match_rows(report: CheckReport) -> list[dict[str, object]]:
    """One row per (image, candidate known image), for a Prefect table artifact."""
    rows: list[dict[str, object]] = []
    for image in report.images:
        if not image.matches:
            rows.append(
                {
                    "image": image.position + 1,
                    "verdict": image.verdict.value,
                    "known": "",
                    "first_seen": "",
                    "distances": "",
                    "edits": "",
                    "how": "",
                    "match": False,
                }
            )
        for m in image.matches:
            rows.append(
                {
                    "image": image.position + 1,
                    "verdict": image.verdict.value,
                    # The Prefect UI renders a table's string cells as markdown too.
                    "known": f"#{m.known.id} {md.text(m.known.caption or '')}".strip(),
                    "first_seen": f"{m.known.first_seen:%Y-%m-%d}" if m.known.first_seen else "",
                    "distances": ", ".join(f"{k} {v}" for k, v in sorted(m.distances.items())),
                    "edits": md.text(", ".join(m.details or [e.value for e in m.edits])),
                    "how": md.text(m.stage or ""),
                    "match": m.is_match,
                }
            )
    return rows


def article_markdown(article: ArticleReport, media: MediaStore) -> str:
    """One report for an article: each embedded post, its verdict, thumbnails, and where
    the embed's claims and the platform disagree."""
    lines = [f"# Article: {md.link(article.source)}", "", f"**{md.text(article.message)}**", ""]
    for i, result in enumerate(article.posts, start=1):
        claim = result.claim
        icon = VERDICT_ICON[result.verdict] if result.verdict else "❔"
        label = result.verdict.value if result.verdict else result.status
        lines += [f"## {i}. {icon} {label}", ""]
        who = f"@{claim.author_handle}" if claim.author_handle else "?"
        name = f"{md.text(claim.author_name)} " if claim.author_name else ""
        lines.append(
            f"- embed ({md.text(claim.form)}): {name}({md.text(who)}), "
            f"{md.text(claim.date_text or 'no date')}"
        )
        if claim.text:
            lines.append(f"- embed text: {md.text(claim.text[:280])}")
        if result.url:
            lines.append(f"- post: {md.link(result.url)}")
        for mismatch in result.mismatches:
            lines.append(f"- ⚠️ **{md.text(mismatch)}**")
        for reason in result.reasons[:5]:
            lines.append(f"- {md.text(reason)}")
        report = result.report
        if report is not None:
            for image in report.images:
                if image.media is None:
                    continue
                best = image.evidence
                known_thumb = None
                if best is not None:
                    path = media.file_of(best.known.sha256)
                    known_thumb = thumbnail_data_uri(path) if path else None
                row = _img(thumbnail_data_uri(image.media.path), "post image")
                if known_thumb:
                    row += " " + _img(known_thumb, "known image")
                lines += ["", row]
        lines.append("")
    lines.append(f"_Checked {article.checked_at:%Y-%m-%d %H:%M:%S UTC}._")
    return "\n".join(lines)


def recheck_markdown(
    outcomes: list[RecheckOutcome], run_url: Callable[[str | None], str | None] = lambda _: None
) -> str:
    """The recheck's summary: how many posts, which changed and how (with their runs),
    which could not be fetched."""
    changed = [o for o in outcomes if o.transitions]
    failed = [o for o in outcomes if o.failed]
    lines = [
        "# Nightly recheck",
        "",
        f"**{len(outcomes)}** posts checked · **{len(changed)}** changed · "
        f"**{len(failed)}** could not be fetched (tried again next run) · "
        f"**{len(outcomes) - len(changed) - len(failed)}** unchanged",
        "",
    ]
    if changed:
        lines += ["## Changes", "", "| post | change | run |", "|---|---|---|"]
        for o in changed:
            link = run_url(o.flow_run_id)
            run = md.link(link, "run") if link else md.text(o.flow_run_id or "")
            for t in o.transitions:
                lines.append(
                    f"| {md.link(o.url)} | **{md.text(t.kind)}**: {md.text(t.message)} | {run} |"
                )
        lines.append("")
    if failed:
        lines += ["## Not fetched", ""]
        lines += [f"- {md.link(o.url)}: {md.text(o.message)}" for o in failed] + [""]
    return "\n".join(lines)


def bulk_markdown(
    reports: list[CheckReport], title: str = "Bulk verify", noun: str = "posts"
) -> str:
    """The summary of a bulk verify or check: counts per verdict, then one line per item,
    its verdict and first reason. A local file is named by its file name only: the
    artifact is read by others in the UI and the user's folders are not theirs to see."""
    counts: dict[str, int] = {}
    for r in reports:
        counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
    lines = [
        f"# {md.text(title)}",
        "",
        f"**{len(reports)}** {noun} · "
        + " · ".join(f"{v}: **{n}**" for v, n in sorted(counts.items())),
        "",
        f"| {noun.rstrip('s')} | verdict | why |",
        "|---|---|---|",
    ]
    for r in reports:
        why = md.text((r.reasons[0] if r.reasons else "")[:200])
        item = md.link(r.url) if is_web_url(r.url) else md.text(Path(r.url).name)
        lines.append(f"| {item} | **{r.verdict.value}** | {why} |")
    return "\n".join(lines) + "\n"


def ingest_markdown(folder: str, summary: str, failed: list[tuple[str, str]]) -> str:
    """The import report: the summary, and the files skipped with why."""
    rows = "\n".join(f"| {md.text(what)} | {md.text(why)} |" for what, why in failed[:200])
    table = f"| file | why skipped |\n|---|---|\n{rows}\n" if rows else ""
    return f"# Import of {md.text(folder)}\n\n{md.text(summary)}\n\n{table}"
