"""Flow `check-image`: one picture (a local file or an image URL) against the library."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from postcheck.domain import CheckReport, MediaRef, Verdict
from postcheck.errors import BadMedia, PostcheckError
from postcheck.flows.tasks import (
    analyse_image,
    download_media,
    image_failure,
    publish_report,
    record_check,
    with_retry_settings,
)
from postcheck.library import parse_first_seen
from postcheck.media import store_image_bytes
from postcheck.services import services


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def run_name() -> str:
    source = str(flow_run.parameters.get("source", ""))
    return f"check {source if is_url(source) else Path(source).name}"[:120]


def read_local(source: str, max_bytes: int) -> bytes:
    path = Path(source).expanduser()
    try:
        if not path.is_file():
            raise BadMedia(f"{source}: no such file")
        if path.stat().st_size > max_bytes:
            raise BadMedia(
                f"{path.name}: too large ({path.stat().st_size:,} bytes, limit {max_bytes:,})"
            )
        return path.read_bytes()
    except OSError as exc:
        raise BadMedia(f"{source}: cannot read ({exc.strerror or exc})") from None


@flow(name="check-image", flow_run_name=run_name)
def check_image(source: str, claimed_date: str | None = None) -> State:
    """Match one picture against the known library. With `claimed_date` (when the picture
    is said to have been taken or first published), an older known image makes it
    `recycled`."""
    started = datetime.now(UTC)
    svc = services()
    try:
        claimed = parse_first_seen(claimed_date)
    except ValueError as exc:
        return Failed(message=f"bad claimed date: {exc}")
    media = MediaRef(position=0, kind="photo", url=source)
    fingerprints, metadata = {}, {}
    try:
        if is_url(source):
            [download] = with_retry_settings(download_media)
            stored = download(media)
        else:
            stored = store_image_bytes(
                svc.media, read_local(source, svc.settings.max_image_bytes), svc.settings
            )
        image, fp, meta = analyse_image(stored, media, claimed, None)
        fingerprints[stored.sha256], metadata[stored.sha256] = fp, meta
    except PostcheckError as exc:
        image = image_failure(media, exc)
    report = CheckReport(
        url=source,
        verdict=image.verdict,
        reasons=image.reasons,
        images=[image],
        flow_run_id=str(flow_run.id) if flow_run.id else None,
        checked_at=datetime.now(UTC),
    )
    report.check_id = record_check(report, None, started, fingerprints, metadata)
    key = f"image-{image.media.sha256[:16]}" if image.media else "image-unreadable"
    publish_report(report, key)
    summary = f"{report.verdict.value}: {'; '.join(report.reasons)}"[:500]
    get_run_logger().info("%s", summary)
    if report.verdict is Verdict.ERROR:
        return Failed(message=summary, data=report)
    return Completed(message=summary, data=report)
