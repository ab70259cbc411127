"""The known-image library: add pictures with their provenance."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from postcheck.domain import KnownImage
from postcheck.errors import BadMedia
from postcheck.media import store_image_bytes
from postcheck.services import Services
from postcheck.verifiers import perceptual
from postcheck.verifiers.metadata import read_metadata


def parse_first_seen(value: str | date | datetime | None) -> datetime | None:
    """'2010-10-10' or an ISO timestamp -> aware UTC datetime (a bare date is midnight UTC;
    the verdict rules read it as 'some time that day')."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date: {text!r} (use YYYY-MM-DD or an ISO timestamp)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def add_known_file(
    svc: Services,
    path: Path,
    *,
    source_url: str | None = None,
    first_seen: datetime | None = None,
    caption: str | None = None,
    credit: str | None = None,
    tags: list[str] | None = None,
) -> tuple[KnownImage, bool]:
    """Validate, store, fingerprint and record one known image. BadMedia if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise BadMedia(f"{path}: no such file")
    size = path.stat().st_size
    if size > svc.settings.max_image_bytes:
        raise BadMedia(
            f"{path}: too large ({size:,} bytes, limit {svc.settings.max_image_bytes:,})"
        )
    data = path.read_bytes()
    try:
        stored = store_image_bytes(svc.media, data, svc.settings)
    except BadMedia as exc:
        raise BadMedia(f"{path.name}: {exc}") from None
    fp = perceptual.fingerprint(stored.path)
    return svc.store.add_known(
        stored,
        fp,
        read_metadata(data),
        source_url=source_url,
        first_seen=first_seen,
        caption=caption,
        credit=credit,
        tags=tags,
        original_name=path.name,
    )
