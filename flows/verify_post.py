"""Flow `verify-post`: post URL -> media -> fingerprints, matches, metadata -> verdict."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from postcheck.capture import recording
from postcheck.domain import (
    CheckReport,
    Fingerprint,
    ImageReport,
    MetadataFacts,
    Post,
    PostRef,
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
    learn_images,
    publish_report,
    record_check,
    with_retry_settings,
)
from postcheck.report import artifact_key
from postcheck.services import services
from postcheck.sources import parse_post_url
from postcheck.verifiers.verdict import post_verdict


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
    with recording(svc.settings.data_dir, run_id, svc.media):
        return _verify(url, ref, started)


def _verify(url: str, ref: PostRef, started: datetime) -> State:
    fetch, download, download_video = with_retry_settings(
        fetch_post, download_media, download_video_task
    )

    post: Post | None = None
    images: list[ImageReport] = []
    fingerprints: dict[str, Fingerprint] = {}
    metadata: dict[str, MetadataFacts] = {}
    try:
        post = fetch(ref)
    except Exception as exc:  # a bug too must leave a recorded check, not a lost one
        if not isinstance(exc, PostcheckError):
            get_run_logger().error("fetching %s: internal error", url, exc_info=exc)
        verdict, reasons = failure_verdict(exc), [failure_reason(exc, "fetching")]
    else:
        downloads = [download.submit(m) for m in post.media]
        for media, future in zip(post.media, downloads, strict=True):
            try:
                image, fp, meta = analyse_image(future.result(), media, post.created_at, post.uri)
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
        checked_at=datetime.now(UTC),
    )
    report.check_id = record_check(report, ref, started, fingerprints, metadata)
    if post is not None and services().settings.learn_from_verify:
        learn_images(post, images)
    publish_report(report, artifact_key(ref.platform, post.uri if post else ref.key))
    summary = f"{verdict.value}: {'; '.join(reasons)}"[:500]
    get_run_logger().info("%s", summary)
    if verdict is Verdict.ERROR:
        return Failed(message=summary, data=report)
    return Completed(message=summary, data=report)


def _post_reasons(images: list[ImageReport]) -> list[str]:
    if not images:
        return ["the post has no images to check"]
    worst = post_verdict([i.verdict for i in images])
    return [f"image {i.position + 1}: {r}" for i in images if i.verdict is worst for r in i.reasons]
