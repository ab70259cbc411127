"""All database I/O. One transaction per recorded check: it lands whole or not at all."""

from __future__ import annotations

import copy
import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from sqlalchemy import Engine, create_engine, delete, event, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from postcheck.domain import (
    CheckReport,
    Fingerprint,
    KnownImage,
    MetadataFacts,
    PostRef,
    StoredMedia,
    Transition,
)
from postcheck.store.migrate import migrate
from postcheck.store.models import (
    CheckImageRow,
    CheckRow,
    KnownImageRow,
    LibraryStateRow,
    MediaHashRow,
    MediaRow,
    PostMediaRow,
    PostRow,
    TransitionRow,
    utcnow,
)

if TYPE_CHECKING:  # the matcher pulls in OpenCV: imported where entries are built
    from postcheck.verifiers.matcher import IndexEntry

P = ParamSpec("P")
R = TypeVar("R")

# PostgreSQL's "deadlock detected" and "serialization failure": the server rolled the whole
# transaction back, and running it again is the documented remedy.
_RETRYABLE_SQLSTATES = {"40P01", "40001"}
TRANSACTION_ATTEMPTS = 5


def _is_retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in _RETRYABLE_SQLSTATES


def retry_transaction(method: Callable[P, R]) -> Callable[P, R]:
    """Run a one-transaction store method again when the database aborted it to break a
    deadlock. Each attempt is a fresh transaction, so nothing half-written survives."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        for attempt in range(1, TRANSACTION_ATTEMPTS + 1):
            try:
                return method(*args, **kwargs)
            except DBAPIError as exc:
                if attempt == TRANSACTION_ATTEMPTS or not _is_retryable(exc):
                    raise
                time.sleep(random.uniform(0.01, 0.05) * 2**attempt)  # jitter breaks lockstep
        raise AssertionError("unreachable")

    return wrapper


@dataclass(frozen=True)
class WatchedPost:
    id: int
    uri: str
    url: str
    platform: str


def upsert_insert(dialect: str) -> Callable[..., Any] | None:
    """The dialect's INSERT with ON CONFLICT, imported for the dialect in use only (the
    PostgreSQL dialect's import costs a SQLite user's every command a few tenths)."""
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert

        return insert
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        return insert
    return None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # WAL lets readers work while a check is written
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def known_from_row(row: KnownImageRow) -> KnownImage:
    return _known(row, row.media.sha256 if row.media is not None else None)


def _known(row: KnownImageRow, sha256: str | None) -> KnownImage:
    return KnownImage(
        id=row.id,
        sha256=sha256,
        hash_only=row.media_id is None,
        list_name=row.list_name,
        list_line=row.list_line,
        source_url=row.source_url,
        first_seen=row.first_seen,
        caption=row.caption,
        credit=row.credit,
        origin=row.origin,
        post_uri=row.post_uri,
    )


def _media_files(node: Any) -> Iterator[dict[str, Any]]:
    """Every stored file (a StoredMedia: sha256, path, mime) in a report's JSON."""
    if isinstance(node, dict):
        if isinstance(node.get("path"), str) and "sha256" in node and "mime" in node:
            yield node
        for value in node.values():
            yield from _media_files(value)
    elif isinstance(node, list):
        for value in node:
            yield from _media_files(value)


def portable_paths(report: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The report's files named relative to the data folder (as stored: a data folder
    moved or restored from a backup still finds them). Files elsewhere keep their path."""
    root = data_dir.resolve()
    for media in _media_files(report):
        with suppress(ValueError):
            media["path"] = Path(media["path"]).resolve().relative_to(root).as_posix()
    return report


def located_paths(report: dict[str, Any], data_dir: Path) -> dict[str, Any]:
    """The report's files as paths in this data folder: a relative path (rows written
    since paths are stored relative) under it; an absolute one (older rows) as it is if
    the file is there. Otherwise (the folder moved since) by its place inside the data
    folder (media/ab/cd/<sha256>), matched from the end of the stored path."""
    for media in _media_files(report):
        stored = PurePath(media["path"])
        path = Path(stored) if stored.is_absolute() else data_dir / stored
        if not path.is_file():
            for k in range(min(len(stored.parts) - 1, 6), 0, -1):
                moved = data_dir.joinpath(*stored.parts[-k:])
                if moved.is_file():
                    path = moved
                    break
        media["path"] = str(path)
    return report


def _chunks(seq: list, size: int) -> Iterator[list]:
    for i in range(0, len(seq), size):
        yield seq[i : i + size]


# A row among a picture's codes that names the code set they were taken under (no hash
# family has this name: indexes skip it). `known rehash` re-hashes pictures without the
# current one.
CODESET = "codeset"


def _split_hashes(fp: Fingerprint) -> Iterator[tuple[str, str, bytes]]:
    """(family, variant, code) of a fingerprint's 'family@variant' hex codes, and the
    code set's row."""
    for name, value in fp.hashes.items():
        family, _, variant = name.partition("@")
        yield family, variant, bytes.fromhex(value)
    if fp.codeset:
        yield CODESET, "", fp.codeset.encode()


def _has_codeset(codeset: str) -> Any:
    """A known picture's codes were taken under `codeset` (its code set row says so)."""
    return (
        select(MediaHashRow.media_id)
        .where(
            MediaHashRow.media_id == KnownImageRow.media_id,
            MediaHashRow.family == CODESET,
            MediaHashRow.value == codeset.encode(),
        )
        .exists()
    )


@dataclass
class NewKnown:
    """One picture for add_known_many: its file, codes, metadata and provenance."""

    stored: StoredMedia
    fingerprint: Fingerprint
    metadata: MetadataFacts | None = None
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None
    credit: str | None = None
    tags: list[str] = field(default_factory=list)
    origin: str = "import"
    post_uri: str | None = None
    original_name: str | None = None

    def values(self, media_id: int, seq: int, now: datetime) -> dict[str, Any]:
        return {
            "media_id": media_id,
            "source_url": self.source_url,
            "first_seen": self.first_seen,
            "caption": self.caption,
            "credit": self.credit,
            "tags": sorted(set(self.tags)),
            "origin": self.origin,
            "post_uri": self.post_uri,
            "original_name": self.original_name,
            "added_at": now,
            "seq": seq,
        }


@dataclass
class NewHashOnly:
    """One line of a hash list: a code of a picture we have no file for, and provenance."""

    family: str
    code: bytes
    list_name: str
    list_line: int
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None


class Store:
    def __init__(self, url: str, data_dir: Path | None = None) -> None:
        """`data_dir`: the data folder whose files the checks' reports name (stored
        relative to it); without it, paths are stored and read as they are."""
        self.url = url
        self.data_dir = Path(data_dir) if data_dir is not None else None
        self.engine = make_engine(url)
        migrate(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    # --- helpers -----------------------------------------------------------------------

    def _insert_ignore(
        self, session: Session, model: type, values: dict[str, Any], keys: list[str]
    ) -> bool:
        """INSERT … ON CONFLICT DO NOTHING, so concurrent writers of the same row agree.
        True when this call inserted the row."""
        dialect = session.get_bind().dialect.name
        insert = upsert_insert(dialect)
        if insert is None:  # other backends: look first (races are then the backend's)
            clause = [getattr(model, k) == values[k] for k in keys]
            if session.scalar(select(model).where(*clause)) is not None:
                return False
            session.add(model(**values))
            session.flush()
            return True
        key = next(iter(model.__table__.primary_key.columns))
        stmt = (
            insert(model)
            .values(**values)
            .on_conflict_do_nothing(index_elements=keys)
            .returning(key)
        )
        # RETURNING yields the row only when it was inserted (rowcount is unreliable here).
        return session.execute(stmt).first() is not None

    def _media_id(
        self,
        session: Session,
        stored: StoredMedia,
        fp: Fingerprint | None,
        meta: MetadataFacts | None,
    ) -> int:
        self._insert_ignore(
            session,
            MediaRow,
            {
                "sha256": stored.sha256,
                "size": stored.size,
                "format": stored.format,
                "mime": stored.mime,
                "width": stored.width,
                "height": stored.height,
                "detail": fp.quality if fp else 0.0,
                "colourfulness": fp.colourfulness if fp else 0.0,
                "exif": meta.model_dump(mode="json") if meta else None,
                "added_at": utcnow(),
            },
            ["sha256"],
        )
        media_id = session.scalar(select(MediaRow.id).where(MediaRow.sha256 == stored.sha256))
        if fp is not None:  # one executemany for all its codes, not a statement per code
            rows = [
                {"media_id": media_id, "family": family, "variant": variant, "value": value}
                for family, variant, value in _split_hashes(fp)
            ]
            self._insert_all(session, MediaHashRow, rows, ["media_id", "family", "variant"])
        return media_id

    # --- known images ------------------------------------------------------------------

    @retry_transaction
    def add_known(
        self,
        stored: StoredMedia,
        fp: Fingerprint,
        meta: MetadataFacts | None = None,
        *,
        source_url: str | None = None,
        first_seen: datetime | None = None,
        caption: str | None = None,
        credit: str | None = None,
        tags: list[str] | None = None,
        origin: str = "import",
        post_uri: str | None = None,
        original_name: str | None = None,
    ) -> tuple[KnownImage, bool]:
        """Add a known image; the same bytes twice merge into one entry that keeps the
        earliest first-seen date (and its source). Returns (entry, created)."""
        item = NewKnown(
            stored,
            fp,
            meta,
            source_url=source_url,
            first_seen=first_seen,
            caption=caption,
            credit=credit,
            tags=list(tags or []),
            origin=origin,
            post_uri=post_uri,
            original_name=original_name,
        )
        [result] = self.add_known_many([item])
        return result

    @retry_transaction
    def add_known_many(self, items: list[NewKnown]) -> list[tuple[KnownImage, bool]]:
        """Add many known images in one transaction (the bulk path of imports): rows are
        written by executemany, a few statements per batch rather than per picture. The
        same bytes already known (or twice in the batch) merge as add_known does.
        Returns (entry, created) per item, in order."""
        if not items:
            return []
        with self.session() as session:
            # The version first: its row lock orders this transaction's additions after
            # every earlier writer's (see LibraryStateRow).
            seq = self._bump_library(session)
            media_ids = self._bulk_media(session, items)
            existing = {
                row.media_id: row
                for chunk in _chunks(sorted(set(media_ids.values())), 500)
                for row in session.scalars(
                    select(KnownImageRow).where(KnownImageRow.media_id.in_(chunk))
                )
            }
            now = utcnow()
            fresh: dict[int, dict[str, Any]] = {}
            merges: list[tuple[int, dict[str, Any]]] = []
            for item in items:
                media_id = media_ids[item.stored.sha256]
                values = item.values(media_id, seq, now)
                if media_id in existing or media_id in fresh:
                    merges.append((media_id, values))
                else:
                    fresh[media_id] = values
            if fresh:
                self._insert_all(session, KnownImageRow, list(fresh.values()), ["media_id"])
                for chunk in _chunks(list(fresh), 500):
                    for row in session.scalars(
                        select(KnownImageRow).where(KnownImageRow.media_id.in_(chunk))
                    ):
                        existing[row.media_id] = row
                        if row.seq != seq:  # another writer's row won the insert: merge
                            merges.append((row.media_id, fresh.pop(row.media_id)))
            for media_id, values in merges:
                self._merge_known(existing[media_id], values)
            session.flush()
            shas = {media_id: sha for sha, media_id in media_ids.items()}
            out: list[tuple[KnownImage, bool]] = []
            for item in items:
                media_id = media_ids[item.stored.sha256]
                created = fresh.pop(media_id, None) is not None  # the first of its bytes
                out.append((_known(existing[media_id], shas[media_id]), created))
            return out

    def _bulk_media(self, session: Session, items: list[NewKnown]) -> dict[str, int]:
        """Media rows and their hashes for a batch, by executemany; sha256 -> media id."""
        by_sha = {item.stored.sha256: item for item in sorted(items, key=lambda i: i.stored.sha256)}
        now = utcnow()
        self._insert_all(
            session,
            MediaRow,
            [
                {
                    "sha256": sha,
                    "size": it.stored.size,
                    "format": it.stored.format,
                    "mime": it.stored.mime,
                    "width": it.stored.width,
                    "height": it.stored.height,
                    "detail": it.fingerprint.quality if it.fingerprint else 0.0,
                    "colourfulness": it.fingerprint.colourfulness if it.fingerprint else 0.0,
                    "exif": it.metadata.model_dump(mode="json") if it.metadata else None,
                    "added_at": now,
                }
                for sha, it in by_sha.items()
            ],
            ["sha256"],
        )
        ids: dict[str, int] = {}
        for chunk in _chunks(list(by_sha), 500):
            ids.update(
                session.execute(
                    select(MediaRow.sha256, MediaRow.id).where(MediaRow.sha256.in_(chunk))
                ).all()
            )
        hashes = [
            {"media_id": ids[sha], "family": family, "variant": variant, "value": value}
            for sha, it in by_sha.items()
            if it.fingerprint is not None
            for family, variant, value in _split_hashes(it.fingerprint)
        ]
        self._insert_all(session, MediaHashRow, hashes, ["media_id", "family", "variant"])
        return ids

    def _insert_all(
        self, session: Session, model: type, rows: list[dict[str, Any]], keys: list[str]
    ) -> None:
        """INSERT … ON CONFLICT DO NOTHING for many rows at once (executemany)."""
        if not rows:
            return
        dialect = session.get_bind().dialect.name
        insert = upsert_insert(dialect)
        if insert is None:
            for row in rows:
                self._insert_ignore(session, model, row, keys)
            return
        # Core on the table, not the ORM's bulk path: several times faster per row.
        stmt = insert(model.__table__).on_conflict_do_nothing(index_elements=keys)
        conn = session.connection()
        for chunk in _chunks(rows, 5000):
            conn.execute(stmt, chunk)

    def add_hash_only_many(self, items: list[NewHashOnly]) -> int:
        """Hash-only known entries, one per new (family, code); a code already in the
        library (imported before, twice in this list, or a known picture's own) adds
        nothing. How many were new."""
        with self.session() as session:
            wanted: dict[tuple[str, bytes], NewHashOnly] = {}
            for item in items:
                wanted.setdefault((item.family, item.code), item)
            for family in {f for f, _ in wanted}:
                codes = [c for f, c in wanted if f == family]
                for chunk in _chunks(codes, 500):
                    for code in session.scalars(
                        select(KnownImageRow.hash_code).where(
                            KnownImageRow.hash_family == family,
                            KnownImageRow.hash_code.in_(chunk),
                        )
                    ):
                        wanted.pop((family, code), None)
                    for code in session.scalars(  # a known picture's file has this code
                        select(MediaHashRow.value)
                        .join(KnownImageRow, KnownImageRow.media_id == MediaHashRow.media_id)
                        .where(
                            MediaHashRow.family == family,
                            MediaHashRow.variant == "",
                            MediaHashRow.value.in_(chunk),
                        )
                    ):
                        wanted.pop((family, code), None)
            if not wanted:
                return 0
            seq, now = self._bump_library(session), utcnow()
            rows = [
                {
                    "media_id": None,
                    "hash_family": it.family,
                    "hash_code": it.code,
                    "list_name": it.list_name,
                    "list_line": it.list_line,
                    "source_url": it.source_url,
                    "first_seen": it.first_seen,
                    "caption": it.caption,
                    "tags": [],
                    "origin": "hash_list",
                    "added_at": now,
                    "seq": seq,
                }
                for it in wanted.values()
            ]
            self._insert_all(session, KnownImageRow, rows, ["hash_family", "hash_code"])
            return len(rows)

    @staticmethod
    def _bump_library(session: Session, removed: bool = False) -> int:
        """Raise the library version (taking its row lock until commit); the new version."""
        values: dict[str, Any] = {"version": LibraryStateRow.version + 1}
        if removed:
            values["removed_version"] = LibraryStateRow.version + 1
        return session.execute(
            update(LibraryStateRow)
            .where(LibraryStateRow.id == 1)
            .values(**values)
            .returning(LibraryStateRow.version)
        ).scalar_one()

    def library_version(self) -> tuple[int, int]:
        """(version, removed_version): the first changes on every addition or removal,
        the second only on removals (an in-memory index must then be rebuilt)."""
        with self.session() as session:
            row = session.get(LibraryStateRow, 1)
            return (row.version, row.removed_version) if row else (0, 0)

    def known_shas(self, shas: list[str]) -> set[str]:
        """Which of these sha256 digests are already known images."""
        found: set[str] = set()
        with self.session() as session:
            for i in range(0, len(shas), 500):
                found.update(
                    session.scalars(
                        select(MediaRow.sha256)
                        .join(KnownImageRow, KnownImageRow.media_id == MediaRow.id)
                        .where(MediaRow.sha256.in_(shas[i : i + 500]))
                    )
                )
        return found

    def merge_provenance(
        self,
        sha256: str,
        *,
        source_url: str | None = None,
        first_seen: datetime | None = None,
        caption: str | None = None,
        credit: str | None = None,
        tags: list[str] | None = None,
    ) -> bool:
        """Merge provenance into the known image with these bytes; True if it changed."""
        with self.session() as session:
            row = session.scalar(
                select(KnownImageRow).join(MediaRow).where(MediaRow.sha256 == sha256)
            )
            if row is None:
                return False
            before = known_from_row(row).model_dump(), list(row.tags or [])
            self._merge_known(
                row,
                {
                    "source_url": source_url,
                    "first_seen": first_seen,
                    "caption": caption,
                    "credit": credit,
                    "tags": tags or [],
                    "origin": "import",
                    "post_uri": None,
                    "original_name": None,
                },
            )
            return (known_from_row(row).model_dump(), list(row.tags or [])) != before

    @staticmethod
    def _merge_known(row: KnownImageRow, new: dict[str, Any]) -> None:
        earlier = new["first_seen"] is not None and (
            row.first_seen is None or new["first_seen"] < row.first_seen
        )
        if earlier:  # the earliest sighting is the provenance that counts: where and when
            for key in ("first_seen", "source_url", "origin", "post_uri"):
                setattr(row, key, new[key])
            for key in ("caption", "credit"):
                if new[key] is not None:
                    setattr(row, key, new[key])
        for key in ("source_url", "caption", "credit", "original_name"):
            if getattr(row, key) is None and new[key] is not None:
                setattr(row, key, new[key])
        if new["tags"]:
            row.tags = sorted(set(row.tags or []) | set(new["tags"]))

    def stale_known(
        self, codeset: str, after_id: int = 0, limit: int = 256
    ) -> list[tuple[int, str, str]]:
        """(known id, sha256, mime) of the known pictures with a file whose codes were not
        taken under `codeset` (added before a family or a window existed), oldest first
        from after_id on: what `known rehash` hashes again, a batch at a time."""
        with self.session() as session:
            rows = session.execute(
                select(KnownImageRow.id, MediaRow.sha256, MediaRow.mime)
                .join(MediaRow, KnownImageRow.media_id == MediaRow.id)
                .where(KnownImageRow.id > after_id, ~_has_codeset(codeset))
                .order_by(KnownImageRow.id)
                .limit(limit)
            )
            return [(i, sha, mime) for i, sha, mime in rows]

    def count_stale_known(self, codeset: str) -> int:
        with self.session() as session:
            return (
                session.scalar(
                    select(func.count(KnownImageRow.id)).where(
                        KnownImageRow.media_id.is_not(None), ~_has_codeset(codeset)
                    )
                )
                or 0
            )

    def forget_codesets(self) -> int:
        """Mark every known picture's codes as taken under no code set (`rehash --all`:
        everything is then stale, and an interrupted run resumes where it stopped)."""
        known_media = select(KnownImageRow.media_id).where(KnownImageRow.media_id.is_not(None))
        with self.session() as session:
            result = session.execute(
                delete(MediaHashRow).where(
                    MediaHashRow.family == CODESET, MediaHashRow.media_id.in_(known_media)
                )
            )
            return result.rowcount or 0

    @retry_transaction
    def replace_codes(self, fingerprints: dict[str, Fingerprint]) -> int:
        """Replace the codes of these files (by sha256) with new ones, in one transaction,
        and raise the library version as a removal does: old codes are gone, so indexes
        in memory are rebuilt and the on-disk one until its next rebuild filters them out
        on reading candidates back. Returns how many files were updated."""
        if not fingerprints:
            return 0
        with self.session() as session:
            ids = dict(
                session.execute(
                    select(MediaRow.sha256, MediaRow.id).where(
                        MediaRow.sha256.in_(list(fingerprints))
                    )
                ).all()
            )
            if not ids:
                return 0
            self._bump_library(session, removed=True)
            session.execute(delete(MediaHashRow).where(MediaHashRow.media_id.in_(ids.values())))
            for sha, media_id in ids.items():
                fp = fingerprints[sha]
                session.execute(
                    update(MediaRow)
                    .where(MediaRow.id == media_id)
                    .values(detail=fp.quality, colourfulness=fp.colourfulness)
                )
            rows = [
                {"media_id": media_id, "family": family, "variant": variant, "value": value}
                for sha, media_id in ids.items()
                for family, variant, value in _split_hashes(fingerprints[sha])
            ]
            self._insert_all(session, MediaHashRow, rows, ["media_id", "family", "variant"])
            return len(ids)

    def list_known(self, limit: int = 100, offset: int = 0) -> list[KnownImage]:
        with self.session() as session:
            rows = session.scalars(
                select(KnownImageRow).order_by(KnownImageRow.id).limit(limit).offset(offset)
            )
            return [known_from_row(r) for r in rows]

    def known_with_code(self, family: str) -> list[tuple[KnownImage, bytes | None]]:
        """Every known image, oldest first, with its whole-picture code of `family` (None
        when it has none: under the family's quality floor, or hashed before the family
        existed and not reindexed since). What hash lists are exported from."""
        code = (
            select(MediaHashRow.value)
            .where(
                MediaHashRow.media_id == KnownImageRow.media_id,
                MediaHashRow.family == family,
                MediaHashRow.variant == "",
            )
            .scalar_subquery()
        )
        with self.session() as session:
            rows = session.execute(select(KnownImageRow, code).order_by(KnownImageRow.id))
            return [
                (
                    known_from_row(row),
                    row.hash_code if row.hash_family == family and row.media_id is None else value,
                )
                for row, value in rows
            ]

    def get_known(self, known_id: int) -> KnownImage | None:
        with self.session() as session:
            row = session.get(KnownImageRow, known_id)
            return known_from_row(row) if row else None

    def remove_known(self, known_id: int) -> bool:
        with self.session() as session:
            row = session.get(KnownImageRow, known_id)
            if row is None:
                return False
            session.delete(row)
            self._bump_library(session, removed=True)
            return True

    def media_metadata(self, shas: list[str]) -> dict[str, MetadataFacts]:
        """The metadata read from these files when they were stored (known images keep
        theirs from import, so a match can be compared field by field)."""
        if not shas:
            return {}
        with self.session() as session:
            rows = session.execute(
                select(MediaRow.sha256, MediaRow.exif).where(MediaRow.sha256.in_(shas))
            )
            return {sha: MetadataFacts.model_validate(exif) for sha, exif in rows if exif}

    def known_by_ids(self, ids: list[int]) -> dict[int, KnownImage]:
        """Current provenance of these known images (the index holds only hashes)."""
        if not ids:
            return {}
        with self.session() as session:
            rows = session.scalars(select(KnownImageRow).where(KnownImageRow.id.in_(ids)))
            return {r.id: known_from_row(r) for r in rows}

    def hash_only_families(self) -> set[str]:
        """The hash families of the library's hash-only entries (none: an empty set)."""
        with self.session() as session:
            return set(
                session.scalars(
                    select(KnownImageRow.hash_family)
                    .where(KnownImageRow.media_id.is_(None))
                    .distinct()
                )
            )

    def count_known(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count(KnownImageRow.id))) or 0

    def index_entries(self, after_id: int = 0) -> list[IndexEntry]:
        """Known images (id > after_id) with all their codes, for an in-memory index."""
        return list(self._entries(KnownImageRow.id > after_id).values())

    def index_entries_for(self, ids: Iterable[int]) -> dict[int, IndexEntry]:
        """These known images with all their codes (the few a search's candidates name);
        removed ones are simply absent."""
        out: dict[int, IndexEntry] = {}
        for chunk in _chunks(sorted(set(ids)), 500):
            out.update(self._entries(KnownImageRow.id.in_(chunk)))
        return out

    def _entries(self, where: Any) -> dict[int, IndexEntry]:
        with self.session() as session:
            rows = session.execute(
                select(
                    KnownImageRow.id,
                    MediaRow.sha256,
                    MediaRow.colourfulness,
                    MediaHashRow.family,
                    MediaHashRow.variant,
                    MediaHashRow.value,
                )
                .join(MediaRow, KnownImageRow.media_id == MediaRow.id)
                .join(MediaHashRow, MediaHashRow.media_id == MediaRow.id)
                .where(where)
                .order_by(KnownImageRow.id)
            )
            from postcheck.verifiers.matcher import IndexEntry

            entries: dict[int, IndexEntry] = {}
            for known_id, sha, colour, family, variant, value in rows:
                entry = entries.get(known_id)
                if entry is None:
                    entry = entries[known_id] = IndexEntry(known_id, sha, {}, colour)
                entry.codes[f"{family}@{variant}" if variant else family] = value
            hash_only = session.execute(
                select(KnownImageRow.id, KnownImageRow.hash_family, KnownImageRow.hash_code)
                .where(where, KnownImageRow.media_id.is_(None))
                .order_by(KnownImageRow.id)
            )
            for known_id, family, value in hash_only:
                entries[known_id] = IndexEntry(known_id, None, {family: value}, hash_only=True)
            return dict(sorted(entries.items()))

    def index_entries_added(self, after_seq: int, limit: int) -> dict[int, IndexEntry] | None:
        """Known images added after library version `after_seq`, with all their codes (a
        recheck's "added since" search), or None when more than `limit` were: the whole
        index is then the cheaper search."""
        since = KnownImageRow.seq > after_seq
        with self.session() as session:
            added = session.scalar(select(func.count(KnownImageRow.id)).where(since)) or 0
        if added > limit:
            return None
        return self._entries(since) if added else {}

    def index_codes(
        self, after_seq: int, upto_seq: int, batch: int = 100_000
    ) -> Iterator[list[tuple[int, str, bytes]]]:
        """(known id, family, code) of every code of the known images added in versions
        after_seq < seq <= upto_seq, in batches, streamed: what the on-disk index is built
        and caught up from."""
        stmt = (
            select(KnownImageRow.id, MediaHashRow.family, MediaHashRow.value)
            .join(MediaHashRow, MediaHashRow.media_id == KnownImageRow.media_id)
            .where(KnownImageRow.seq > after_seq, KnownImageRow.seq <= upto_seq)
            .execution_options(yield_per=batch)
        )
        hash_only = (
            select(KnownImageRow.id, KnownImageRow.hash_family, KnownImageRow.hash_code)
            .where(
                KnownImageRow.media_id.is_(None),
                KnownImageRow.seq > after_seq,
                KnownImageRow.seq <= upto_seq,
            )
            .execution_options(yield_per=batch)
        )
        with self.engine.connect() as conn:
            for query in (stmt, hash_only):
                result = conn.execute(query)
                while rows := result.fetchmany(batch):
                    yield [tuple(r) for r in rows]

    def known_id_for(self, sha256: str) -> int | None:
        """The known image with these bytes, if any."""
        with self.session() as session:
            return session.scalar(
                select(KnownImageRow.id)
                .join(MediaRow, KnownImageRow.media_id == MediaRow.id)
                .where(MediaRow.sha256 == sha256)
            )

    # --- posts and checks ----------------------------------------------------------------

    def find_post(
        self, session: Session, ref: PostRef | None, uri: str | None = None
    ) -> PostRow | None:
        if uri:
            row = session.scalar(select(PostRow).where(PostRow.uri == uri))
            if row is not None:
                return row
        if ref is None:
            return None
        row = session.scalar(select(PostRow).where(PostRow.uri == ref.key))
        if row is not None or not ref.author:
            return row
        # The URL names the post through something the fetch resolves (a Bluesky handle):
        # the same post id by that author, whether the URL gave their id or their name.
        author = ref.author
        return session.scalar(
            select(PostRow).where(
                PostRow.platform == ref.platform,
                PostRow.post_id == ref.post_id,
                (PostRow.author_id == author) | (PostRow.author_handle == author),
            )
        )

    @retry_transaction
    def record_check(
        self,
        report: CheckReport,
        ref: PostRef | None,
        started_at: datetime,
        fingerprints: dict[str, Fingerprint] | None = None,
        metadata: dict[str, MetadataFacts] | None = None,
    ) -> int:
        """Write the post, its media and the check in one transaction; returns the check id."""
        fingerprints = fingerprints or {}
        metadata = metadata or {}
        now = utcnow()
        with self.session() as session:
            media_ids = self._media_ids_in_order(session, report, fingerprints, metadata)
            post_row = self._upsert_post(session, report, ref, now)
            check = CheckRow(
                post_id=post_row.id if post_row else None,
                input_url=report.url,
                flow_run_id=report.flow_run_id,
                started_at=started_at,
                finished_at=now,
                verdict=report.verdict.value,
                reasons=report.reasons,
                report={},
                library_version=report.library_version,
            )
            session.add(check)
            session.flush()
            for image in report.images:
                media_id = None
                if image.media is not None:
                    media_id = media_ids[image.media.sha256]
                    if post_row is not None:
                        self._link_media(session, post_row.id, media_id, image, now)
                if image.video is not None and image.video.media is not None:
                    video_id = media_ids[image.video.media.sha256]
                    if post_row is not None:
                        self._link_media(session, post_row.id, video_id, image, now, kind="video")
                    media_id = media_id or video_id
                best = next((m for m in image.matches if m.is_match), None)
                session.add(
                    CheckImageRow(
                        check_id=check.id,
                        position=image.position,
                        media_id=media_id,
                        source_url=image.source_url,
                        verdict=image.verdict.value,
                        reasons=image.reasons,
                        best_known_id=best.known.id if best else None,
                        best_distance=best.distances if best else None,
                    )
                )
            report.check_id = check.id
            check.report = self._stored_report(report)
            return check.id

    def _stored_report(self, report: CheckReport) -> dict[str, Any]:
        stored = report.model_dump(mode="json")
        return portable_paths(stored, self.data_dir) if self.data_dir is not None else stored

    def report_of(self, row: CheckRow) -> CheckReport:
        """A recorded check's report, its files located in this data folder."""
        data = row.report
        if self.data_dir is not None:
            data = located_paths(copy.deepcopy(data), self.data_dir)
        return CheckReport.model_validate(data)

    def _media_ids_in_order(
        self,
        session: Session,
        report: CheckReport,
        fingerprints: dict[str, Fingerprint],
        metadata: dict[str, MetadataFacts],
    ) -> dict[str, int]:
        """Insert the check's media rows first and in sha256 order. Two checks that share
        pictures then take their row locks in the same order, so neither can wait on the
        other in a cycle (PostgreSQL would abort one of them as a deadlock)."""
        files: dict[str, StoredMedia] = {}
        for image in report.images:
            if image.media is not None:
                files[image.media.sha256] = image.media
            if image.video is not None and image.video.media is not None:
                files.setdefault(image.video.media.sha256, image.video.media)
        return {
            sha: self._media_id(session, files[sha], fingerprints.get(sha), metadata.get(sha))
            for sha in sorted(files)
        }

    def _upsert_post(
        self, session: Session, report: CheckReport, ref: PostRef, now: datetime
    ) -> PostRow | None:
        post = report.post
        row = self.find_post(session, ref, post.uri if post else None)
        if post is None:
            if row is not None and report.verdict.value == "unavailable":
                row.status = "unavailable"
                row.status_reason = "; ".join(report.reasons)[:512]
                row.last_checked_at = now
            return row
        if row is None:
            self._insert_ignore(
                session,
                PostRow,
                {
                    "uri": post.uri,
                    "platform": post.platform,
                    "url": post.url,
                    "post_id": post.post_id,
                    "created_at": post.created_at,
                    "first_checked_at": now,
                    "last_checked_at": now,
                    "status": "available",
                    "watched": True,
                },
                ["uri"],
            )
            row = session.scalar(select(PostRow).where(PostRow.uri == post.uri))
        row.url = post.url
        row.author_id = post.author_id
        row.author_handle = post.author_handle
        row.author_name = post.author_name
        row.created_at = post.created_at
        row.text = post.text
        row.status = "available"
        row.status_reason = None
        row.last_checked_at = now
        return row

    def _link_media(
        self,
        session: Session,
        post_id: int,
        media_id: int,
        image: Any,
        now: datetime,
        kind: str | None = None,
    ) -> None:
        self._insert_ignore(
            session,
            PostMediaRow,
            {
                "post_id": post_id,
                "media_id": media_id,
                "position": image.position,
                "kind": kind or image.kind,
                "source_url": image.source_url,
                "alt_text": image.alt_text,
                "first_seen_at": now,
                "last_seen_at": now,
            },
            ["post_id", "position", "media_id"],
        )
        session.execute(
            update(PostMediaRow)
            .where(
                PostMediaRow.post_id == post_id,
                PostMediaRow.media_id == media_id,
                PostMediaRow.position == image.position,
            )
            .values(last_seen_at=now)
        )

    def history(self, uri: str) -> list[CheckRow]:
        with self.session() as session:
            post = session.scalar(select(PostRow).where(PostRow.uri == uri))
            if post is None:
                return []
            return list(
                session.scalars(
                    select(CheckRow).where(CheckRow.post_id == post.id).order_by(CheckRow.id.desc())
                )
            )

    def get_check(self, check_id: int) -> CheckRow | None:
        with self.session() as session:
            return session.get(CheckRow, check_id)

    # --- watching and rechecks -----------------------------------------------------------

    def watched_posts(
        self, platform: str | None = None, limit: int | None = None
    ) -> list[WatchedPost]:
        """Posts the nightly recheck visits: every verified post unless unwatched."""
        with self.session() as session:
            query = select(PostRow).where(PostRow.watched.is_(True)).order_by(PostRow.id)
            if platform:
                query = query.where(PostRow.platform == platform)
            if limit:
                query = query.limit(limit)
            return [WatchedPost(r.id, r.uri, r.url, r.platform) for r in session.scalars(query)]

    def set_watched(self, ref: PostRef, watched: bool) -> bool:
        """Watch or unwatch a post already checked; False if we never saw it."""
        with self.session() as session:
            row = self.find_post(session, ref)
            if row is None:
                return False
            row.watched = watched
            return True

    def baseline_check(self, post_id: int) -> tuple[int, CheckReport] | None:
        """The latest check of a post that saw it (or its absence): failed checks say
        nothing about change."""
        with self.session() as session:
            row = session.scalar(
                select(CheckRow)
                .where(CheckRow.post_id == post_id, CheckRow.verdict != "error")
                .order_by(CheckRow.id.desc())
                .limit(1)
            )
            return (row.id, self.report_of(row)) if row else None

    def record_transitions(
        self,
        post_id: int,
        check_id: int,
        previous_check_id: int | None,
        transitions: list[Transition],
    ) -> None:
        with self.session() as session:
            for t in transitions:
                session.add(
                    TransitionRow(
                        post_id=post_id,
                        check_id=check_id,
                        previous_check_id=previous_check_id,
                        kind=t.kind,
                        before=t.before,
                        after=t.after,
                    )
                )

    def transitions(self, uri: str) -> list[TransitionRow]:
        with self.session() as session:
            return list(
                session.scalars(
                    select(TransitionRow)
                    .join(PostRow, TransitionRow.post_id == PostRow.id)
                    .where(PostRow.uri == uri)
                    .order_by(TransitionRow.id.desc())
                )
            )

    def post_uri_for(self, ref: PostRef) -> str | None:
        with self.session() as session:
            row = self.find_post(session, ref)
            return row.uri if row else None

    def counts(self) -> dict[str, int]:
        with self.session() as session:
            return {
                table.__tablename__: session.scalar(select(func.count()).select_from(table)) or 0
                for table in (
                    PostRow,
                    MediaRow,
                    PostMediaRow,
                    KnownImageRow,
                    CheckRow,
                    CheckImageRow,
                )
            }
