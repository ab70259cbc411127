"""Tables: posts, media (+ their hashes), known images, checks (+ per-image results).

Identity rules: a post is its `uri`, a media file its `sha256`; a check is a new row every
time, so history is kept and nothing is duplicated.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class PostRow(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uri: Mapped[str] = mapped_column(String(512), unique=True)
    platform: Mapped[str] = mapped_column(String(16), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    post_id: Mapped[str] = mapped_column(String(512))
    author_id: Mapped[str | None] = mapped_column(String(256))
    author_handle: Mapped[str | None] = mapped_column(String(256))
    author_name: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime | None]
    text: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="available")
    status_reason: Mapped[str | None] = mapped_column(String(512))
    watched: Mapped[bool] = mapped_column(Boolean, default=True)
    first_checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    checks: Mapped[list[CheckRow]] = relationship(back_populates="post")


class MediaRow(Base):
    __tablename__ = "media"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int]
    format: Mapped[str] = mapped_column(String(16))
    mime: Mapped[str] = mapped_column(String(64))
    width: Mapped[int]
    height: Mapped[int]
    detail: Mapped[float] = mapped_column(Float, default=0.0)
    colourfulness: Mapped[float] = mapped_column(Float, default=0.0)
    exif: Mapped[dict[str, Any] | None]
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    hashes: Mapped[list[MediaHashRow]] = relationship(
        back_populates="media", cascade="all, delete-orphan"
    )


class MediaHashRow(Base):
    """One hash of one media file. `variant` names a region or transform of the picture
    ('' = the whole picture), so a family can keep several hashes per image."""

    __tablename__ = "media_hashes"

    media_id: Mapped[int] = mapped_column(
        ForeignKey("media.id", ondelete="CASCADE"), primary_key=True
    )
    family: Mapped[str] = mapped_column(String(32), primary_key=True)
    variant: Mapped[str] = mapped_column(String(32), primary_key=True, default="")
    value: Mapped[bytes] = mapped_column(LargeBinary)

    media: Mapped[MediaRow] = relationship(back_populates="hashes")


class PostMediaRow(Base):
    """Which media a post showed, at which position, from which URL."""

    __tablename__ = "post_media"
    __table_args__ = (UniqueConstraint("post_id", "position", "media_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    source_url: Mapped[str] = mapped_column(String(2048))
    alt_text: Mapped[str | None] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)


class KnownImageRow(Base):
    """A picture whose provenance we know: where and when it was first seen."""

    __tablename__ = "known_images"
    __table_args__ = (UniqueConstraint("hash_family", "hash_code", name="uq_known_images_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for a hash-only entry (from a hash list: no file, one code of its own below).
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"), unique=True)
    source_url: Mapped[str | None] = mapped_column(String(2048))
    first_seen: Mapped[datetime | None] = mapped_column(index=True)
    caption: Mapped[str | None] = mapped_column(Text)
    credit: Mapped[str | None] = mapped_column(String(512))
    tags: Mapped[list[Any] | None]
    origin: Mapped[str] = mapped_column(String(16), default="import")
    post_uri: Mapped[str | None] = mapped_column(String(512), index=True)
    original_name: Mapped[str | None] = mapped_column(String(1024))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The library version of the transaction that added it: the on-disk index catches up
    # by it (versions become visible in order; ids may not on PostgreSQL).
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0", index=True)
    # A hash-only entry's code and the list line it was read from (0006).
    hash_family: Mapped[str | None] = mapped_column(String(32))
    hash_code: Mapped[bytes | None] = mapped_column(LargeBinary)
    list_name: Mapped[str | None] = mapped_column(String(1024))
    list_line: Mapped[int | None] = mapped_column(Integer)

    media: Mapped[MediaRow | None] = relationship()


class LibraryStateRow(Base):
    """One row whose `version` goes up whenever known images are added, merged or removed,
    in the same transaction. The update holds this row's lock until commit, so versions
    are handed out one writer at a time and a committed version V means every addition
    numbered V or less is committed too: the index catches up to V without gaps."""

    __tablename__ = "library_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    removed_version: Mapped[int] = mapped_column(Integer, default=0)


class CheckRow(Base):
    """One run of a check: the verdict, the reasons and the whole evidence."""

    __tablename__ = "checks"
    __table_args__ = (Index("ix_checks_post_started", "post_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    input_url: Mapped[str] = mapped_column(String(2048))
    flow_run_id: Mapped[str | None] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(default=utcnow)
    verdict: Mapped[str] = mapped_column(String(32), index=True)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    report: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The library version the media were matched against (None: not recorded, pre-0005).
    library_version: Mapped[int | None] = mapped_column(Integer, nullable=True)

    post: Mapped[PostRow | None] = relationship(back_populates="checks")
    images: Mapped[list[CheckImageRow]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="CheckImageRow.position"
    )


class TransitionRow(Base):
    """A change a recheck found: verdict, text, media, or the post's deletion, with the
    values before and after and the two checks that saw them."""

    __tablename__ = "transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("checks.id", ondelete="CASCADE"), index=True)
    previous_check_id: Mapped[int | None] = mapped_column(
        ForeignKey("checks.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CheckImageRow(Base):
    __tablename__ = "check_images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("checks.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id"))
    source_url: Mapped[str] = mapped_column(String(2048))
    verdict: Mapped[str] = mapped_column(String(32))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    best_known_id: Mapped[int | None] = mapped_column(
        ForeignKey("known_images.id", ondelete="SET NULL")
    )
    best_distance: Mapped[dict[str, Any] | None]

    check: Mapped[CheckRow] = relationship(back_populates="images")
