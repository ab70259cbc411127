"""Prefect tasks shared by the flows. A network call is its own task: the unit of retry."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from prefect import task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.sync import rate_limit
from prefect.context import TagsContext, TaskRunContext
from prefect.tasks import exponential_backoff

from postcheck.capture import recording
from postcheck.domain import (
    CheckReport,
    Finding,
    Fingerprint,
    ImageReport,
    Match,
    MediaRef,
    MetadataFacts,
    Post,
    PostRef,
    StoredMedia,
    VideoEvidence,
)
from postcheck.errors import (
    BadMedia,
    FetchError,
    MediaUnavailable,
    PostcheckError,
    TransientError,
    failure_reason,
    failure_verdict,
)
from postcheck.library import video_fingerprint
from postcheck.media import download_image, download_video
from postcheck.report import markdown_report, match_rows
from postcheck.services import services
from postcheck.sources import fetch_post as fetch_from_platform
from postcheck.sources import platform_named
from postcheck.verifiers import imaging, perceptual, video
from postcheck.verifiers.matcher import merge_matches
from postcheck.verifiers.metadata import metadata_findings, read_metadata
from postcheck.verifiers.metadata_compare import compare_with_known
from postcheck.verifiers.place import ClaimedPlace, place_findings
from postcheck.verifiers.verdict import (
    judge_image,
    own_copy,
    post_verdict,
    rank_matches,
    too_flat_for_hash_only,
)
from postcheck.verifiers.video_match import FrameResult, gather

Fetched = Post | Exception


@contextmanager
def untagged_tasks() -> Iterator[None]:
    """Task runs started inside carry no tags from the caller's `tags(...)` (the CLI tags
    its flow run by platform, "bulk", "recheck"). Prefect asks the server for a tag's
    concurrency slots before every tagged task run, one request at a time through one
    client thread, limit or no limit: measured, 40 % of a recheck's task time."""
    with TagsContext(current_tags=set()):
        yield


def step(fn, *args):
    """Run a local step (hashing, matching, the store): as a task run of its own when the
    flow calls it (one post's check, where a person reads each step in the UI), as a plain
    call inside a task (a post of a batch), where a task run per step would cost Prefect's
    bookkeeping several times per post. Network calls stay tasks: they are the unit of retry."""
    if TaskRunContext.get() is not None:
        return fn.fn(*args)
    return fn(*args)


def retry_if_transient(task, task_run, state) -> bool:
    """Retry only what a retry can cure (timeouts, 5xx, 429); a deleted post stays deleted."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False


NETWORK_TASK = dict(
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
)


def new_capture(kind: str) -> str:
    """A fresh exchange-log id for one batch request or one post's check in a batch."""
    return f"{kind}-{uuid.uuid4().hex}"


def with_retry_settings(*tasks):
    """The tasks with the retry count and backoff of the current settings."""
    settings = services().settings
    options = dict(
        retries=settings.fetch_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_backoff_seconds),
    )
    return [t.with_options(**options) for t in tasks]


def honour_retry_after(exc: TransientError) -> None:
    """A 429 that says when to come back: wait that long (then Prefect's backoff adds its
    own delay) if it is soon; if it is far off, a retry now cannot help, so stop."""
    wait = exc.retry_after
    if wait is None:
        return
    limit = services().settings.max_retry_after_seconds
    if wait > limit:
        raise FetchError(
            f"{exc} — not retrying: the limit resets in {wait:.0f} s (over {limit:.0f} s)"
        ) from None
    time.sleep(wait)


@task(name="fetch-post", task_run_name="fetch {ref.key}", **NETWORK_TASK)
def fetch_post(ref: PostRef) -> Post:
    try:
        return fetch_from_platform(ref, services().settings)
    except TransientError as exc:
        honour_retry_after(exc)
        raise


# The most requests one fetch-batch task makes (each under its rate-limit slot).
REQUESTS_PER_TASK = 25


def rate_limit_slots(platform: str) -> int:
    """The slots of a platform's rate limit: what a burst of requests may take at once
    (`ensure_rate_limits` creates the limit with this many, decaying at its rate)."""
    return max(1, int(platform_named(platform).requests_per_second(services().settings) * 2))


def requests_per_task(platform: str, requests: int, workers: int = 4) -> int:
    """How many of a platform's requests one fetch-batch task makes: up to
    REQUESTS_PER_TASK, never more than the limit's slots (the burst they take together),
    and few enough that the flow's workers share the requests."""
    share = -(-requests // max(1, workers))
    return max(1, min(REQUESTS_PER_TASK, rate_limit_slots(platform), share))


def _last_attempt() -> bool:
    ctx = TaskRunContext.get()
    return ctx is None or ctx.task_run.run_count > ctx.task.retries


@task(
    name="fetch-batch",
    task_run_name="fetch {platform} ×{count}",
    cache_policy=NO_CACHE,
    **NETWORK_TASK,
)
def fetch_batch(
    platform: str, refs: list[PostRef], count: int, capture: str | None = None
) -> list[Fetched]:
    """Posts of one or more requests of the platform's batch size (at most its limit's
    slots): the rate-limit slots of all of them taken in one acquisition
    (`occupy=requests`, one round trip to the Prefect server), one result per ref. A
    request that failed transiently as a whole raises, so that Prefect retries the task
    (the retry asks again for all its posts); on the last attempt its posts record the
    error and the others their posts. `capture`: the exchange log its answers go to."""
    source = platform_named(platform)
    svc = services()
    size = max(1, source.batch_limit(svc.settings))
    requests = [refs[i : i + size] for i in range(0, len(refs), size)]
    slots = rate_limit_slots(platform)
    results: list[Fetched] = []
    failed: TransientError | None = None
    with recording(svc.settings.data_dir, capture, svc.media):
        for j in range(0, len(requests), slots):
            group = requests[j : j + slots]
            rate_limit(source.rate_limit_name, occupy=len(group), strict=True)
            for request in group:
                answer = source.fetch_many(request, svc.settings)
                if answer and all(isinstance(r, TransientError) for r in answer):
                    failed = failed or answer[0]
                results.extend(answer)
    if failed is not None and not _last_attempt():
        honour_retry_after(failed)
        raise failed
    return results


@task(name="download-media", task_run_name="download image {media.position}", **NETWORK_TASK)
def download_media(media: MediaRef) -> StoredMedia:
    svc = services()
    try:
        return download_image(
            media.url, svc.settings, svc.media, expected_sha256=media.expected_sha256
        )
    except PostcheckError as first:
        if isinstance(first, TransientError):
            honour_retry_after(first)
            raise
        if not media.fallback_urls:
            raise
        # The original (e.g. a PDS blob) failed for good: the platform's CDN copy still
        # lets us check the picture.
        for url in media.fallback_urls:
            try:
                return download_image(url, svc.settings, svc.media)
            except MediaUnavailable:
                continue
        raise


@task(name="download-video", task_run_name="download video {media.position}", **NETWORK_TASK)
def download_video_task(media: MediaRef) -> StoredMedia:
    svc = services()
    urls = [media.video_url, *media.video_fallback_urls]
    last: PostcheckError | None = None
    for i, url in enumerate(urls):
        try:
            expected = media.video_expected_sha256 if i == 0 else None
            return download_video(url, svc.settings, svc.media, expected_sha256=expected)
        except TransientError as exc:
            honour_retry_after(exc)
            raise
        except PostcheckError as exc:  # the original failed for good: try the next rendition
            last = exc
    raise last or BadMedia("no video URL")


@task(name="analyse-video", task_run_name="match the frames of video {media.position}")
def analyse_video(stored: StoredMedia, media: MediaRef) -> tuple[VideoEvidence, list[Match]]:
    """Sample the video's frames (keyframes, scene changes, every few seconds) and match
    each one against the library; gather the matches per known picture or video."""
    svc = services()
    settings = svc.settings
    results: list[FrameResult] = []
    with video.sample_frames(
        stored.path,
        max_duration=settings.max_video_seconds,
        min_interval=settings.video_min_interval,
        max_frames=settings.video_max_frames,
        max_pixels=settings.max_image_pixels,
    ) as frames:
        for frame in frames:
            found = [m for m in svc.library.search(frame.image, k=1) if m.is_match]
            thumb = imaging.data_uri(frame.image, 120) if found else None
            results.append(FrameResult(frame.t, found, thumb))
        info, note = frames.info, frames.note
    evidence, matches = gather(results, info, len(results), note)
    evidence.media = stored
    return evidence, matches


def check_video(
    image: ImageReport, media: MediaRef, created_at: datetime | None, post_uri: str | None, download
) -> ImageReport:
    """Add what the video itself shows to its poster's report: frames matched against the
    library, the verdict taken over the poster's and the frames' matches together."""
    try:
        stored = download(media)
        video_evidence, frame_matches = analyse_video(stored, media)
    except PostcheckError as exc:
        failed = failure_verdict(exc)
        return image.model_copy(
            update={
                "verdict": post_verdict([image.verdict, failed]),
                "reasons": [*image.reasons, f"video: {exc}"],
            }
        )
    seen = {m.known.id for m in frame_matches}
    matches = frame_matches + [m for m in image.matches if m.known.id not in seen or not m.is_match]
    matches = rank_matches(matches, post_uri)
    verdict, reasons, evidence = judge_image(matches, image.findings, created_at, post_uri)
    if image.media is None:  # the poster could not be had: say so beside the video's verdict
        verdict = post_verdict([verdict, image.verdict])
        reasons = [*reasons, *image.reasons]
    return image.model_copy(
        update={
            "video": video_evidence,
            "matches": matches,
            "verdict": verdict,
            "reasons": reasons,
            "evidence_id": evidence.known.id if evidence else None,
        }
    )


@task(name="hash-media")
def hash_media(stored: StoredMedia) -> Fingerprint:
    return perceptual.fingerprint(stored.path)


@task(name="match-media")
def match_media(stored: StoredMedia) -> list[Match]:
    return services().library.search(stored.path, sha256=stored.sha256, k=3)


@task(name="match-added")
def match_added(
    stored: StoredMedia, kept: list[Match], since_version: int
) -> tuple[list[Match], int] | None:
    """An unchanged picture against only the known pictures added since its last check
    (library version `since_version`), merged with that check's matches (their provenance
    read again); with how many were looked at. None when too many were added."""
    library = services().library
    found = library.search_added(stored.path, since_version, sha256=stored.sha256, k=3)
    if found is None:
        return None
    new, looked_at = found
    return merge_matches(library.current(kept), new, k=3), looked_at


@task(name="read-metadata")
def read_media_metadata(stored: StoredMedia) -> MetadataFacts:
    return read_metadata(services().media.read(stored.sha256))


def analyse_image(
    stored: StoredMedia,
    media: MediaRef,
    created_at: datetime | None,
    post_uri: str | None,
    claimed_place: ClaimedPlace | None = None,
) -> tuple[ImageReport, Fingerprint, MetadataFacts]:
    """Fingerprint, match and read one stored picture, and judge it."""
    fp = step(hash_media, stored)
    # The post's own learned copies last: they are never evidence about it.
    matches = rank_matches(step(match_media, stored), post_uri)
    meta = step(read_media_metadata, stored)
    return (
        image_report(stored, media, fp, matches, meta, created_at, post_uri, claimed_place),
        fp,
        meta,
    )


def image_report(
    stored: StoredMedia,
    media: MediaRef,
    fp: Fingerprint,
    matches: list[Match],
    meta: MetadataFacts,
    created_at: datetime | None,
    post_uri: str | None,
    claimed_place: ClaimedPlace | None = None,
) -> ImageReport:
    """One picture's report from its fingerprint, matches and metadata."""
    findings = metadata_findings(meta, created_at, services().settings.capture_date_margin_days)
    findings += compare_with_matched_original(meta, matches, post_uri)
    findings += place_findings(meta, claimed_place)
    verdict, reasons, evidence = judge_image(matches, findings, created_at, post_uri)
    if fp.width:  # a picture we hashed: say when hash-only entries could not be compared
        reasons += too_flat_for_hash_only(services().store.hash_only_families(), fp.hashes)
    if media.note:  # what the platform gave instead (a video's thumbnail only, say)
        reasons = [*reasons, media.note]
    return ImageReport(
        position=media.position,
        kind=media.kind,
        source_url=media.url,
        alt_text=media.alt_text,
        media=stored,
        fingerprint=fp,
        matches=matches,
        metadata=meta,
        findings=findings,
        verdict=verdict,
        reasons=reasons,
        evidence_id=evidence.known.id if evidence else None,
    )


def compare_with_matched_original(
    meta: MetadataFacts, matches: list[Match], post_uri: str | None
) -> list[Finding]:
    """Field by field against the metadata the best-matching known image had at import
    (same camera serial, same capture time…)."""
    best = next((m for m in matches if m.is_match and not own_copy(m, post_uri)), None)
    if best is None:
        return []
    if best.known.sha256 is None:  # a hash-only entry: no file, so no metadata to compare
        return []
    known = services().store.media_metadata([best.known.sha256]).get(best.known.sha256)
    return compare_with_known(meta, known) if known is not None else []


def image_failure(media: MediaRef, exc: BaseException) -> ImageReport:
    """The recorded status of a picture that could not be checked."""
    verdict, message = failure_verdict(exc), failure_reason(exc)
    return ImageReport(
        position=media.position,
        kind=media.kind,
        source_url=media.url,
        alt_text=media.alt_text,
        verdict=verdict,
        reasons=[message, *([media.note] if media.note else [])],
    )


@task(name="record-check")
def record_check(
    report: CheckReport,
    ref: PostRef | None,
    started_at: datetime,
    fingerprints: dict[str, Fingerprint],
    metadata: dict[str, MetadataFacts],
) -> int:
    return services().store.record_check(report, ref, started_at, fingerprints, metadata)


@task(name="learn-images")
def learn_images(post: Post, images: list[ImageReport]) -> int:
    """Every picture and video a post showed enters the library with the post as its
    provenance, so a later post reusing it is caught as `recycled` pointing at this one."""
    svc = services()
    learned = 0
    for image in images:
        known = []
        if image.media is not None and image.fingerprint is not None:
            known.append((image.media, image.fingerprint, image.metadata))
        if image.video is not None and image.video.media is not None:
            try:  # a known video is indexed frame by frame, more densely than it was checked
                fp = video_fingerprint(image.video.media.path, svc.settings)
                known.append((image.video.media, fp, None))
            except BadMedia:
                pass
        for stored, fp, meta in known:
            _, created = svc.store.add_known(
                stored,
                fp,
                meta,
                source_url=post.url,
                first_seen=post.created_at,
                origin="learned",
                post_uri=post.uri,
            )
            learned += created
    if learned:
        svc.library.added()  # into the index now: the next check anywhere finds it
    return learned


@task(name="publish-report")
def publish_report(report: CheckReport, key: str) -> None:
    create_markdown_artifact(
        markdown=markdown_report(report, services().media),
        key=key,
        description=f"{report.verdict.value}: {report.url}",
    )
    rows = match_rows(report)
    if rows:
        create_table_artifact(table=rows, key=f"{key}-matches", description="Nearest known images")
