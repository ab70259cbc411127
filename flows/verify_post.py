"""Flow `verify-post`: post URL -> media -> fingerprints, matches, metadata -> verdict."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.context import TaskRunContext
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from postcheck.capture import recording
from postcheck.domain import (
    CheckReport,
    Fingerprint,
    ImageReport,
    MediaRef,
    MetadataFacts,
    Post,
    PostRef,
    Rematch,
    Verdict,
)
from postcheck.errors import BadURL, PostcheckError, failure_reason, failure_verdict
from postcheck.flows.tasks import (
    analyse_image,
    check_video,
    download_media,
    download_video_task,
    fetch_post,
    image_failure,
    image_report,
    learn_images,
    match_added,
    match_media,
    new_capture,
    publish_report,
    record_check,
    step,
    untagged_tasks,
    with_retry_settings,
)
from postcheck.report import artifact_key
from postcheck.services import services
from postcheck.sources import parse_post_url
from postcheck.verifiers.verdict import post_verdict, rank_matches


def run_name() -> str:
    url = flow_run.parameters.get("url", "")
    try:
        ref = parse_post_url(url)
    except BadURL:
        return "verify bad-url"
    who = f" @{ref.author}" if ref.author else ""
    return f"verify {ref.platform}{who} {ref.post_id}"


@flow(name="verify-post", flow_run_name=run_name)
def verify_post(url: str) -> State:
    """Check the pictures of one post and record the verdict with its evidence."""
    started = datetime.now(UTC)
    try:
        ref = parse_post_url(url)
    except BadURL as exc:
        return Failed(message=f"bad URL: {exc}")
    svc = services()
    run_id = str(flow_run.id) if flow_run.id else None
    # The platform's answers and every download, kept as evidence (postcheck.capture).
    with recording(svc.settings.data_dir, run_id, svc.media), untagged_tasks():
        return _verify(url, ref, started)


def _verify(url: str, ref: PostRef, started: datetime) -> State:
    (fetch,) = with_retry_settings(fetch_post)
    fetched: Post | Exception
    try:
        fetched = fetch(ref)
    except Exception as exc:  # a bug too must leave a recorded check, not a lost one
        if not isinstance(exc, PostcheckError):
            get_run_logger().error("fetching %s: internal error", url, exc_info=exc)
        fetched = exc
    report = check_fetched(url, ref, fetched, started)
    publish_report(report, report_key(ref, report))
    summary = f"{report.verdict.value}: {'; '.join(report.reasons)}"[:500]
    get_run_logger().info("%s", summary)
    if report.verdict is Verdict.ERROR:
        return Failed(message=summary, data=report)
    return Completed(message=summary, data=report)


def check_in_batch(
    url: str,
    ref: PostRef,
    fetched: Post | Exception,
    started: datetime,
    batch_capture: str | None,
    previous: CheckReport | None = None,
) -> CheckReport:
    """check_fetched for one post of a batch (bulk verify, recheck): its downloads go to a
    log of its own, recorded on the check with its batch's log (the platform's answer)."""
    svc = services()
    own = new_capture("check")
    with recording(svc.settings.data_dir, own, svc.media):
        captures = [c for c in (batch_capture, own) if c]
        return check_fetched(url, ref, fetched, started, previous, captures)


def report_key(ref: PostRef, report: CheckReport) -> str:
    return artifact_key(ref.platform, report.post.uri if report.post else ref.key)


def check_fetched(
    url: str,
    ref: PostRef,
    fetched: Post | Exception,
    started: datetime,
    previous: CheckReport | None = None,
    captures: list[str] | None = None,
) -> CheckReport:
    """Check a fetched post's pictures (or record why it could not be fetched) and record
    the check. With `previous` (the post's last good check, in a recheck), a picture that is
    the same file as then is neither downloaded nor hashed again: its stored fingerprint,
    metadata and matches are reused, and matched again only if the library changed since."""
    download, download_video = with_retry_settings(download_media, download_video_task)
    store = services().store
    library_version = store.library_version()
    post: Post | None = None
    images: list[ImageReport] = []
    fingerprints: dict[str, Fingerprint] = {}
    metadata: dict[str, MetadataFacts] = {}
    same_as: dict[int, ImageReport | None] = {}
    if isinstance(fetched, Exception):
        verdict, reasons = failure_verdict(fetched), [failure_reason(fetched, "fetching")]
    else:
        post = fetched
        earlier = {i.source_url: i for i in previous.images} if previous else {}
        # each picture's earlier report when it is the same file as then (checked once)
        same_as = {m.position: reusable(earlier.get(m.url), m) for m in post.media}
        fresh = [m for m in post.media if same_as[m.position] is None]
        # Inside a task (a bulk or recheck post) the downloads run in its thread: submitting
        # them to a pool its siblings fill would deadlock. A single verify submits them.
        nested = TaskRunContext.get() is not None
        downloads = {} if nested else {m.position: download.submit(m) for m in fresh}
        for media in post.media:
            try:
                same = same_as[media.position]
                if same is not None:
                    image = rematch(same, media, post, previous, library_version)
                    fp, meta = image.fingerprint, image.metadata
                else:
                    pending = downloads.get(media.position)
                    stored = pending.result() if pending else download(media)
                    image, fp, meta = analyse_image(stored, media, post.created_at, post.uri)
                fingerprints[image.media.sha256], metadata[image.media.sha256] = fp, meta
            except Exception as exc:  # one image failing never sinks the others
                if not isinstance(exc, PostcheckError):  # a bug: keep its traceback in the run log
                    get_run_logger().error(
                        "image %d: internal error", media.position + 1, exc_info=exc
                    )
                image = image_failure(media, exc)
            if media.video_url:  # a video or GIF: its frames, not only its poster
                image = check_video(image, media, post.created_at, post.uri, download_video)
            images.append(image)
        verdict = post_verdict([i.verdict for i in images])
        reasons = _post_reasons(images)

    report = CheckReport(
        url=url,
        post=post,
        verdict=verdict,
        reasons=reasons,
        images=images,
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        captures=captures or [],
        checked_at=datetime.now(UTC),
        library_version=library_version[0],
    )
    report.check_id = step(record_check, report, ref, started, fingerprints, metadata)
    if post is not None and services().settings.learn_from_verify:
        # A picture the same as at the last check was learned then: adding it again would
        # change nothing but the library's version (and so re-match every watched post).
        new = [i for i in images if not _still_known(i, same_as)]
        if new:
            step(learn_images, post, new)
    return report


def _still_known(image: ImageReport, same_as: dict[int, ImageReport | None]) -> bool:
    """An image reused from the last check whose file is still in the library."""
    if same_as.get(image.position) is None or image.media is None or image.video is not None:
        return False
    return services().store.known_id_for(image.media.sha256) is not None


def reusable(before: ImageReport | None, media: MediaRef) -> ImageReport | None:
    """The earlier check's report of this picture if it is the same file: same URL (which
    carries X's media key and Bluesky's blob CID), the digest the platform vouches for
    unchanged, and the file still in the media folder. Videos are always checked anew."""
    if before is None or before.media is None or before.fingerprint is None:
        return None
    if media.video_url or before.metadata is None:
        return None
    if media.expected_sha256 and media.expected_sha256 != before.media.sha256:
        return None
    if not Path(before.media.path).is_file():
        return None
    return before


def rematch(
    before: ImageReport,
    media: MediaRef,
    post: Post,
    previous: CheckReport | None,
    library_version: tuple[int, int],
) -> ImageReport:
    """An unchanged picture: its earlier matches stand while the library has not changed
    since that check. When it only grew (no removal since: `removed_version` is not past
    that check's version), the stored file is matched against the pictures added since
    and the earlier matches kept; otherwise against the whole library (no download)."""
    seen = previous.library_version if previous else None
    matches, note = before.matches, None
    if seen is None or seen != library_version[0]:
        added = None
        if seen is not None and library_version[1] <= seen:
            added = step(match_added, before.media, before.matches, seen)
        if added is None:
            matches = rank_matches(step(match_media, before.media), post.uri)
            note = Rematch(mode="full", since_version=seen or 0)
        else:
            merged, looked_at = added
            matches = rank_matches(merged, post.uri)
            note = Rematch(mode="added_since", since_version=seen, candidates=looked_at)
    image = image_report(
        before.media, media, before.fingerprint, matches, before.metadata, post.created_at, post.uri
    )
    image.rematch = note
    return image


def _post_reasons(images: list[ImageReport]) -> list[str]:
    if not images:
        return ["the post has no images to check"]
    worst = post_verdict([i.verdict for i in images])
    return [f"image {i.position + 1}: {r}" for i in images if i.verdict is worst for r in i.reasons]
