"""Flow `check-image`: one picture (a local file or an image URL) against the library."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from prefect import flow, get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from postcheck.dates import parse_datetime
from postcheck.domain import CheckReport, ImageReport, MediaRef, StoredMedia, Verdict
from postcheck.errors import BadMedia, PostcheckError
from postcheck.flows.tasks import (
    analyse_image,
    check_video,
    download_media,
    download_video_task,
    image_failure,
    publish_report,
    record_check,
    step,
    untagged_tasks,
    with_retry_settings,
)
from postcheck.library import VIDEO_SUFFIXES
from postcheck.localfiles import read_capped, read_head
from postcheck.media import store_image_bytes, store_video_file
from postcheck.services import services
from postcheck.verifiers.place import ClaimedPlace, parse_claimed_place


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def run_name() -> str:
    source = str(flow_run.parameters.get("source", ""))
    return f"check {source if is_url(source) else Path(source).name}"[:120]


AUDIO_SUFFIXES = {".m4a", ".mp3", ".aac", ".wav", ".ogg", ".opus"}  # refused as videos, clearly
_IMAGE_BRANDS = (b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis")


def is_video(source: str) -> bool:
    """By its name, or for a local file by its first bytes (an MP4 named .jpg)."""
    path = urlsplit(source).path if is_url(source) else source
    if Path(path).suffix.lower() in VIDEO_SUFFIXES | AUDIO_SUFFIXES or path.lower().endswith(
        ".m3u8"
    ):
        return True
    if is_url(source):
        return False
    head = read_head(Path(source).expanduser(), 12)
    mp4 = head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS
    return mp4 or head.startswith(b"\x1a\x45\xdf\xa3")  # MP4/MOV, Matroska/WebM


def local_video(source: str) -> StoredMedia:
    svc = services()
    path = Path(source).expanduser()
    if not path.exists():
        raise BadMedia(f"{source}: no such file")
    try:
        return store_video_file(svc.media, path, svc.settings)
    except BadMedia as exc:
        raise BadMedia(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise BadMedia(f"{source}: cannot read ({exc.strerror or exc})") from None


def read_local(source: str, max_bytes: int) -> bytes:
    path = Path(source).expanduser()
    try:
        if not path.exists():
            raise BadMedia(f"{source}: no such file")
        return read_capped(path, max_bytes)
    except BadMedia as exc:
        raise BadMedia(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise BadMedia(f"{source}: cannot read ({exc.strerror or exc})") from None


def check_source(
    source: str,
    claimed: datetime | None,
    place: ClaimedPlace | None,
    started: datetime | None = None,
) -> CheckReport:
    """Check one picture or video (a file or a URL), record the check and publish its
    report: the body of `check-image`, and of each item of `check-images`."""
    started = started or datetime.now(UTC)
    svc = services()
    fingerprints, metadata = {}, {}
    if is_video(source):
        media = MediaRef(position=0, kind="video", url=source, video_url=source)
        base = ImageReport(
            position=0, kind="video", source_url=source, verdict=Verdict.NO_KNOWN_MATCH
        )
        [download_video] = with_retry_settings(download_video_task)
        fetch = download_video if is_url(source) else lambda m: local_video(source)
        image = check_video(base, media, claimed, None, fetch)
    else:
        media = MediaRef(position=0, kind="photo", url=source)
        try:
            if is_url(source):
                [download] = with_retry_settings(download_media)
                stored = download(media)
            else:
                stored = store_image_bytes(
                    svc.media, read_local(source, svc.settings.max_image_bytes), svc.settings
                )
            image, fp, meta = analyse_image(stored, media, claimed, None, place)
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
    # Task runs of their own in `check-image`; plain steps inside an item of `check-images`.
    report.check_id = step(record_check, report, None, started, fingerprints, metadata)
    checked = image.media or (image.video.media if image.video else None)
    key = f"image-{checked.sha256[:16]}" if checked else "image-unreadable"
    step(publish_report, report, key)
    return report


def parse_claims(
    claimed_date: str | None, claimed_place: str | None
) -> tuple[datetime | None, ClaimedPlace | None]:
    """The claimed date and place as values; ValueError with the user's message."""
    try:
        claimed = parse_datetime(claimed_date, "claimed date")
    except ValueError as exc:
        raise ValueError(f"bad claimed date: {exc}") from None
    try:
        place = parse_claimed_place(claimed_place)
    except ValueError as exc:
        raise ValueError(f"bad {exc}") from None
    return claimed, place


@flow(name="check-image", flow_run_name=run_name)
def check_image(
    source: str, claimed_date: str | None = None, claimed_place: str | None = None
) -> State:
    """Match one picture or video (a file, or a URL) against the known library. With
    `claimed_date` (when the picture is said to have been taken or first published), an
    older known image makes it `recycled`; with `claimed_place` ("LAT,LON[,KM]"), a GPS
    position in the file farther away than KM (default 50) is a metadata conflict."""
    started = datetime.now(UTC)
    try:
        claimed, place = parse_claims(claimed_date, claimed_place)
    except ValueError as exc:
        return Failed(message=str(exc))
    with untagged_tasks():
        report = check_source(source, claimed, place, started)
    summary = f"{report.verdict.value}: {'; '.join(report.reasons)}"[:500]
    get_run_logger().info("%s", summary)
    if report.verdict is Verdict.ERROR:
        return Failed(message=summary, data=report)
    return Completed(message=summary, data=report)
