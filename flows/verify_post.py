"""Flow `verify-post`: post URL -> media -> fingerprints, matches, metadata -> verdict.

The flow only orchestrates; each network call is its own task (the unit of retry).
"""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.tasks import exponential_backoff

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
    Verdict,
)
from postcheck.errors import (
    BadURL,
    MediaUnavailable,
    PostcheckError,
    PostUnavailable,
    TransientError,
)
from postcheck.media import download_image
from postcheck.report import artifact_key, markdown_report, match_rows
from postcheck.services import services
from postcheck.sources import parse_post_url, source_for
from postcheck.verifiers import perceptual
from postcheck.verifiers.matcher import LibraryIndex
from postcheck.verifiers.metadata import metadata_findings, read_metadata
from postcheck.verifiers.verdict import image_verdict, post_verdict


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


@task(name="fetch-post", task_run_name="fetch {ref.key}", **NETWORK_TASK)
def fetch_post(ref: PostRef) -> Post:
    return source_for(ref, services().settings).fetch(ref)


@task(name="download-media", task_run_name="download image {media.position}", **NETWORK_TASK)
def download_media(media: MediaRef) -> StoredMedia:
    svc = services()
    try:
        return download_image(
            media.url, svc.settings, svc.media, expected_sha256=media.expected_sha256
        )
    except (MediaUnavailable, PostcheckError) as first:
        if isinstance(first, TransientError) or not media.fallback_urls:
            raise
        # The original (e.g. a PDS blob) failed for good: the platform's CDN copy still
        # lets us check the picture.
        for url in media.fallback_urls:
            try:
                return download_image(url, svc.settings, svc.media)
            except MediaUnavailable:
                continue
        raise


@task(name="hash-media")
def hash_media(stored: StoredMedia) -> Fingerprint:
    return perceptual.fingerprint(stored.path)


@task(name="match-media")
def match_media(fp: Fingerprint, sha256: str) -> list[Match]:
    index = LibraryIndex(services().store.index_entries())
    return index.search(fp, k=3, sha256=sha256)


@task(name="read-metadata")
def read_media_metadata(stored: StoredMedia) -> MetadataFacts:
    return read_metadata(services().media.read(stored.sha256))


@task(name="record-check")
def record_check(
    report: CheckReport,
    ref: PostRef,
    started_at: datetime,
    fingerprints: dict[str, Fingerprint],
    metadata: dict[str, MetadataFacts],
) -> int:
    return services().store.record_check(report, ref, started_at, fingerprints, metadata)


@task(name="publish-report")
def publish_report(report: CheckReport, ref: PostRef) -> None:
    key = artifact_key(report.post.uri if report.post else ref)
    create_markdown_artifact(
        markdown=markdown_report(report, services().media),
        key=key,
        description=f"{report.verdict.value}: {report.url}",
    )
    rows = match_rows(report)
    if rows:
        create_table_artifact(table=rows, key=f"{key}-matches", description="Nearest known images")


def run_name() -> str:
    url = flow_run.parameters.get("url", "")
    try:
        ref = parse_post_url(url)
    except BadURL:
        return "verify bad-url"
    who = f"@{ref.author}" if ref.author else ""
    return f"verify {ref.platform.value} {who} {ref.post_id}".replace("  ", " ")


def _image_error(media: MediaRef, exc: BaseException) -> ImageReport:
    verdict = Verdict.UNAVAILABLE if isinstance(exc, MediaUnavailable) else Verdict.ERROR
    message = (
        str(exc) if isinstance(exc, PostcheckError) else f"internal error: {type(exc).__name__}"
    )
    return ImageReport(
        position=media.position,
        kind=media.kind,
        source_url=media.url,
        alt_text=media.alt_text,
        verdict=verdict,
        reasons=[message],
    )


@flow(name="verify-post", flow_run_name=run_name, log_prints=False)
def verify_post(url: str) -> State:
    """Check the pictures of one post and record the verdict with its evidence."""
    logger = get_run_logger()
    started = datetime.now(UTC)
    run_id = str(flow_run.id) if flow_run.id else None
    try:
        ref = parse_post_url(url)
    except BadURL as exc:
        return Failed(message=f"bad URL: {exc}")

    settings = services().settings
    retry = dict(
        retries=settings.fetch_retries,
        retry_delay_seconds=exponential_backoff(backoff_factor=settings.retry_backoff_seconds),
    )
    fetch, download = fetch_post.with_options(**retry), download_media.with_options(**retry)
    post: Post | None = None
    images: list[ImageReport] = []
    fingerprints: dict[str, Fingerprint] = {}
    metadata: dict[str, MetadataFacts] = {}
    try:
        post = fetch(ref)
    except PostUnavailable as exc:
        verdict, reasons = Verdict.UNAVAILABLE, [str(exc)]
    except PostcheckError as exc:
        verdict, reasons = Verdict.ERROR, [str(exc)]
    else:
        downloads = [download.submit(m) for m in post.media]
        for media, future in zip(post.media, downloads, strict=True):
            try:
                stored = future.result()
                fp = hash_media(stored)
                matches = match_media(fp, stored.sha256)
                meta = read_media_metadata(stored)
            except Exception as exc:  # one image failing never sinks the others
                images.append(_image_error(media, exc))
                continue
            fingerprints[stored.sha256], metadata[stored.sha256] = fp, meta
            findings: list[Finding] = metadata_findings(
                meta, post.created_at, settings.capture_date_margin_days
            )
            verdict_i, reasons_i = image_verdict(matches, findings, post.created_at, post.uri)
            images.append(
                ImageReport(
                    position=media.position,
                    kind=media.kind,
                    source_url=media.url,
                    alt_text=media.alt_text,
                    media=stored,
                    fingerprint=fp,
                    matches=matches,
                    metadata=meta,
                    findings=findings,
                    verdict=verdict_i,
                    reasons=reasons_i,
                )
            )
        verdict = post_verdict([i.verdict for i in images])
        reasons = _post_reasons(post, images)

    report = CheckReport(
        url=url,
        post=post,
        verdict=verdict,
        reasons=reasons,
        images=images,
        flow_run_id=run_id,
        checked_at=datetime.now(UTC),
    )
    report.check_id = record_check(report, ref, started, fingerprints, metadata)
    publish_report(report, ref)
    summary = f"{verdict.value}: {'; '.join(reasons)}"[:500]
    logger.info("%s", summary)
    if verdict is Verdict.ERROR:
        return Failed(message=summary, data=report)
    return Completed(message=summary, data=report)


def _post_reasons(post: Post, images: list[ImageReport]) -> list[str]:
    if not images:
        return ["the post has no images to check"]
    worst = post_verdict([i.verdict for i in images])
    return [f"image {i.position + 1}: {r}" for i in images if i.verdict is worst for r in i.reasons]
