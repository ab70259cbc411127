"""The known-image library: add pictures with their provenance, one by one or a whole
archive at once (hashing in parallel across cores; re-running skips what is in)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from postcheck.dates import parse_datetime
from postcheck.domain import Fingerprint, KnownImage, MetadataFacts, StoredMedia
from postcheck.errors import BadMedia
from postcheck.hash_lists import SIGNAL_TYPE, ParsedList, parse_hash_list
from postcheck.localfiles import blocks, not_regular, open_regular, read_capped
from postcheck.media import MediaStore, store_image_bytes, store_video_file
from postcheck.services import Services
from postcheck.settings import Settings
from postcheck.store.store import NewHashOnly, NewKnown
from postcheck.verifiers import perceptual, video
from postcheck.verifiers.families import codeset, families
from postcheck.verifiers.imaging import WORK_SIDE
from postcheck.verifiers.metadata import read_metadata
from postcheck.workers import process_pool

IMAGE_SUFFIXES = {
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".webp",
    ".gif",
    ".bmp",
    ".tif",
    ".tiff",
    ".heic",
    ".heif",
    ".avif",
}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ts", ".flv"}
MAX_MANIFEST_BYTES = 256 * 1024 * 1024
MANIFEST_FIELDS = ("path", "source_url", "first_seen", "caption", "credit", "tags")


def parse_first_seen(value: str | date | datetime | None) -> datetime | None:
    """A known image's first-seen date (postcheck.dates: within range, aware)."""
    return parse_datetime(value, "first seen")


@dataclass
class Provenance:
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None
    credit: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass
class Prepared:
    """What a worker learns about one file: everything but the database write."""

    path: Path
    sha256: str | None = None
    stored: StoredMedia | None = None
    fingerprint: Fingerprint | None = None
    metadata: MetadataFacts | None = None
    error: str | None = None


@dataclass
class ImportReport:
    added: int = 0
    merged: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    known_ids: list[int] = field(default_factory=list)

    @property
    def summary(self) -> str:
        return (
            f"{self.added} added, {self.merged} merged into existing entries, "
            f"{self.skipped} already in, {len(self.failed)} failed"
        )


# --- manifests ---------------------------------------------------------------------------------


class ManifestRow(BaseModel):
    """One row of a manifest, validated on its own: a bad row is reported, not fatal."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    path: str = Field(min_length=1)
    source_url: str | None = None
    first_seen: datetime | None = None
    caption: str | None = None
    credit: str | None = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("source_url", "caption", "credit", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("first_seen", mode="before")
    @classmethod
    def _date(cls, value: Any) -> datetime | None:
        if not isinstance(value, str | date | None):
            raise ValueError(f"not a date: {value!r} (use YYYY-MM-DD or an ISO timestamp)")
        return parse_first_seen(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if value is None or value == "":
            return []
        if isinstance(value, str):  # CSV: 'a;b;c'
            return [t.strip() for t in value.split(";") if t.strip()]
        return value


def row_errors(exc: ValidationError) -> str:
    """A row's validation errors on one line: 'field: what is wrong; …'."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "row"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "missing"
        parts.append(f"{field}: {message}")
    return " ".join("; ".join(parts).split())


def read_manifest(manifest: Path) -> tuple[dict[Path, Provenance], list[tuple[str, str]]]:
    """Provenance by resolved file path, from CSV (header path,source_url,first_seen,caption,
    credit,tags with tags ';'-separated) or JSON (a list of objects with those keys, tags
    a list or a ';'-separated string). Each row is validated on its own (ManifestRow):
    bad rows come back as (where, why), 'why' naming the field, and do not stop the
    others."""
    manifest = Path(manifest)
    base = manifest.parent
    rows: Iterable[Any]
    try:
        text = read_capped(manifest, MAX_MANIFEST_BYTES).decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, BadMedia) as exc:
        raise ValueError(f"cannot read manifest {manifest}: {exc}") from None
    if manifest.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(
                f"manifest {manifest.name} is not valid JSON ({exc.msg}, line {exc.lineno})"
            ) from None
        if not isinstance(data, list):
            raise ValueError(f"manifest {manifest.name} must be a JSON list of objects")
        rows = data
    else:
        reader = csv.DictReader(text.splitlines())
        if not reader.fieldnames or "path" not in reader.fieldnames:
            raise ValueError(
                f"manifest {manifest.name} needs a header with a 'path' column ({', '.join(MANIFEST_FIELDS)})"
            )
        # Values past the header's columns come under the key None: not ours to read.
        rows = [{k: v for k, v in r.items() if k is not None} for r in reader]
    out: dict[Path, Provenance] = {}
    bad: list[tuple[str, str]] = []
    for i, raw in enumerate(rows, start=2 if manifest.suffix.lower() != ".json" else 1):
        where = f"{manifest.name}:{i}"
        if not isinstance(raw, dict):
            bad.append((where, f"row is not an object ({type(raw).__name__})"))
            continue
        try:
            row = ManifestRow.model_validate(raw)
        except ValidationError as exc:
            bad.append((where, row_errors(exc)))
            continue
        out[(base / row.path).resolve()] = Provenance(
            source_url=row.source_url,
            first_seen=row.first_seen,
            caption=row.caption,
            credit=row.credit,
            tags=row.tags,
        )
    return out, bad


def image_files(
    folder: Path,
    refused: list[tuple[str, str]] | None = None,
    *,
    outside: list[Path] | None = None,
    other: list[Path] | None = None,
) -> list[Path]:
    """Image and video files under a folder (by suffix), sorted, hidden files skipped.
    Only regular files (links followed): a FIFO, a device or a link to one named *.jpg
    is left out, and said so in `refused` as (path, why). With `outside`, a link that
    leads out of the folder is left out and listed there; with `other`, the files that
    are not images or videos by name are listed there."""
    found = []
    top = folder.resolve()
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = Path(root) / name
            if Path(name).suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                if other is not None:
                    other.append(path)
                continue
            if outside is not None and not path.resolve().is_relative_to(top):
                outside.append(path)
                continue
            why = not_regular(path)
            if why is None:
                found.append(path.resolve())
            elif refused is not None:
                refused.append((str(path), why))
    return found


def byte_cap(path: Path, settings: Settings) -> int:
    video = path.suffix.lower() in VIDEO_SUFFIXES
    return settings.max_video_bytes if video else settings.max_image_bytes


# --- work done in worker processes (no database, no Prefect) ----------------------------------


def sha256_file(path: Path, max_bytes: int) -> str:
    """sha256 of a regular file of at most `max_bytes` (BadMedia otherwise)."""
    digest = hashlib.sha256()
    with open_regular(path) as fh:
        for block in blocks(fh, max_bytes):
            digest.update(block)
    return digest.hexdigest()


def _sha_job(path: Path, max_bytes: int) -> tuple[Path, str | None, str | None]:
    try:
        return path, sha256_file(path, max_bytes), None
    except BadMedia as exc:
        return path, None, str(exc)
    except OSError as exc:
        return path, None, f"cannot read ({exc.strerror or exc})"


def prepare_file(path: Path, media_root: str, settings: Settings) -> Prepared:
    """Validate, store (content-addressed), fingerprint and read the metadata of one file:
    a picture, or a video (indexed as its frames)."""
    try:
        if path.suffix.lower() in VIDEO_SUFFIXES:
            return prepare_video(path, MediaStore(Path(media_root)), settings)
        data = read_capped(path, settings.max_image_bytes)
        stored = store_image_bytes(MediaStore(Path(media_root)), data, settings)
        return Prepared(
            path,
            sha256=stored.sha256,
            stored=stored,
            fingerprint=perceptual.fingerprint(stored.path),
            metadata=read_metadata(data),
        )
    except BadMedia as exc:
        return Prepared(path, error=str(exc))
    except OSError as exc:
        return Prepared(path, error=f"cannot read ({exc.strerror or exc})")
    except Exception as exc:  # a decoder bug on one file must not stop an archive import
        return Prepared(path, error=f"could not hash ({type(exc).__name__}: {str(exc)[:80]})")


def prepare_video(path: Path, store: MediaStore, settings: Settings) -> Prepared:
    """A known video: its file in the store, and the codes of its frames (sampled densely,
    every keyframe and scene change and at least every 0.5 s), each code's variant naming
    the frame's time ('t12.50', 't12.50/win:tl90')."""
    stored = store_video_file(store, path, settings)
    return Prepared(
        path,
        sha256=stored.sha256,
        stored=stored,
        fingerprint=video_fingerprint(stored.path, settings),
    )


def video_fingerprint(path: str | Path, settings: Settings) -> Fingerprint:
    hashes: dict[str, str] = {}
    qualities, colours = [], []
    with video.sample_frames(
        path,
        max_duration=settings.max_video_seconds,
        max_side=WORK_SIDE,
        min_interval=0.5,
        max_frames=settings.known_video_max_frames,
        max_pixels=settings.max_image_pixels,
    ) as frames:
        for frame in frames:
            fp = perceptual.fingerprint(frame.image)
            qualities.append(fp.quality)
            colours.append(fp.colourfulness)
            for key, code in fp.hashes.items():
                family, _, variant = key.partition("@")
                if families()[family].fallback:
                    continue  # a deep crop of one frame: not worth a video's index rows
                hashes[f"{family}@t{frame.t:.2f}" + (f"/{variant}" if variant else "")] = code
        info = frames.info
    if not hashes:
        raise BadMedia("no frame with enough detail to index")
    return Fingerprint(
        hashes=hashes,
        quality=max(qualities, default=0.0),
        colourfulness=sum(colours) / len(colours) if colours else 0.0,
        width=info.width if info else None,
        height=info.height if info else None,
        codeset=codeset(),
    )


# --- the library ---------------------------------------------------------------------------------


IMPORT_BATCH = 256  # pictures written per transaction (and appended to the index at once)


def new_known(prepared: Prepared, prov: Provenance) -> NewKnown:
    assert prepared.stored is not None and prepared.fingerprint is not None
    return NewKnown(
        prepared.stored,
        prepared.fingerprint,
        prepared.metadata,
        source_url=prov.source_url,
        first_seen=prov.first_seen,
        caption=prov.caption,
        credit=prov.credit,
        tags=list(prov.tags),
        original_name=prepared.path.name,
    )


def add_prepared_many(
    svc: Services, batch: list[tuple[Prepared, Provenance]]
) -> list[tuple[KnownImage, bool]]:
    """Write prepared pictures in one transaction, then append them to the index."""
    results = svc.store.add_known_many([new_known(p, prov) for p, prov in batch])
    svc.library.added()
    return results


def add_prepared(svc: Services, prepared: Prepared, prov: Provenance) -> tuple[KnownImage, bool]:
    [result] = add_prepared_many(svc, [(prepared, prov)])
    return result


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
    """Validate, store, fingerprint and record one known picture or video. BadMedia if it
    is neither."""
    path = Path(path)
    why = not_regular(path)
    if why is not None:
        raise BadMedia(f"{path}: no such file" if not path.exists() else f"{path}: {why}")
    prepared = prepare_file(path, str(svc.media.root), svc.settings)
    if prepared.error:
        raise BadMedia(f"{path.name}: {prepared.error}")
    prov = Provenance(source_url, first_seen, caption, credit, list(tags or []))
    return add_prepared(svc, prepared, prov)


ProgressFn = Callable[[int, int, str], None]  # (done, total, what)


def import_folder(
    svc: Services,
    folder: Path,
    manifest: Path | None = None,
    *,
    workers: int | None = None,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import every image under `folder` (and every file the manifest names), with the
    manifest's provenance. Files already in the library are skipped unless the manifest
    brings provenance to merge; exact duplicates merge keeping the earliest first-seen."""
    folder = Path(folder)
    report = ImportReport()
    provenance: dict[Path, Provenance] = {}
    if manifest is not None:
        provenance, bad = read_manifest(Path(manifest))
        report.failed.extend(bad)
    files = image_files(folder, report.failed) if folder.is_dir() else []
    listed = set(files)
    for path in provenance:
        if path not in listed:
            why = not_regular(path)
            if why is None:
                files.append(path)
            elif not path.exists():
                report.failed.append((str(path), "listed in the manifest but not found"))
            elif str(path) not in {where for where, _ in report.failed}:
                report.failed.append((str(path), why))
    total = len(files)
    workers = max(1, min(workers or os.cpu_count() or 1, total or 1))
    done = 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress:
            progress(done, total, what)

    if not files:
        return report
    with process_pool(workers) as pool:  # its workers end with us, even on kill -9
        caps = [byte_cap(path, svc.settings) for path in files]
        shas = list(pool.map(_sha_job, files, caps, chunksize=16))
        known_shas = svc.store.known_shas([s for _, s, _ in shas if s])
        todo: list[Path] = []
        for path, sha, error in shas:
            if error:
                report.failed.append((str(path), error))
                tick(path.name)
            elif sha in known_shas:
                # Already in: no need to hash again, only the manifest's provenance to merge.
                prov = provenance.get(path)
                changed = prov is not None and svc.store.merge_provenance(sha, **vars(prov))
                if changed:
                    report.merged += 1
                else:
                    report.skipped += 1
                tick(path.name)
            else:
                todo.append(path)
        root = str(svc.media.root)
        jobs = pool.map(
            prepare_file, todo, [root] * len(todo), [svc.settings] * len(todo), chunksize=4
        )
        batch: list[tuple[Prepared, Provenance]] = []

        def write() -> None:
            # Not yet in; the same bytes twice in one import merge on the second.
            for known, created in add_prepared_many(svc, batch) if batch else []:
                report.known_ids.append(known.id)
                if created:
                    report.added += 1
                else:
                    report.merged += 1
            batch.clear()

        for prepared in jobs:
            if prepared.error:
                report.failed.append((str(prepared.path), prepared.error))
            else:
                batch.append((prepared, provenance.get(prepared.path, Provenance())))
                if len(batch) >= IMPORT_BATCH:
                    write()
            tick(prepared.path.name)
        write()
    return report


def import_hash_list(
    svc: Services, text: str, name: str, fmt: str | None = None
) -> tuple[ParsedList, int]:
    """A hash list's PDQ lines as hash-only known entries (`known import-hashes`): the
    parsed list (its bad lines with their reasons) and how many entries were new. They
    reach the index like any addition: by the library version the store hands out."""
    parsed = parse_hash_list(text, fmt)
    added = svc.store.add_hash_only_many(
        [
            NewHashOnly(
                SIGNAL_TYPE,
                e.code,
                name,
                e.line,
                source_url=e.source_url,
                first_seen=e.first_seen,
                caption=e.caption,
            )
            for e in parsed.entries
        ]
    )
    return parsed, added


# --- re-hashing the library ----------------------------------------------------------------------


REHASH_BATCH = 64  # pictures re-hashed per transaction: an interrupted run loses at most this


@dataclass
class RehashReport:
    rehashed: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (known #id, why)

    @property
    def summary(self) -> str:
        text = f"{self.rehashed} re-hashed"
        return text + (f", {len(self.failed)} failed" if self.failed else "")


def _rehash_job(
    path: str, is_video: bool, settings: Settings
) -> tuple[str, Fingerprint | None, str | None]:
    """The codes of one stored file under today's code set (a worker process)."""
    try:
        if is_video:
            return path, video_fingerprint(path, settings), None
        return path, perceptual.fingerprint(path), None
    except BadMedia as exc:
        return path, None, str(exc)
    except OSError as exc:
        return path, None, f"cannot read ({exc.strerror or exc})"
    except Exception as exc:  # one bad file must not stop the library's re-hash
        return path, None, f"could not hash ({type(exc).__name__}: {str(exc)[:80]})"


def rehash_known(
    svc: Services,
    *,
    everything: bool = False,
    workers: int | None = None,
    batch: int = REHASH_BATCH,
    progress: ProgressFn | None = None,
) -> RehashReport:
    """Hash the stored files of the known pictures whose codes were taken under an older
    code set (a family or window added since), or of all of them, and replace their codes,
    a batch per transaction. Re-running resumes: a re-hashed picture carries the current
    code set. The caller rebuilds the index after it (`known rehash` does)."""
    current = codeset()
    if everything:
        svc.store.forget_codesets()
    total = svc.store.count_stale_known(current)
    report = RehashReport()
    if not total:
        return report
    after = 0
    done = 0
    workers = max(1, min(workers or os.cpu_count() or 1, total))
    with process_pool(workers) as pool:
        while rows := svc.store.stale_known(current, after, batch):
            after = rows[-1][0]
            paths: dict[str, tuple[int, str, bool]] = {}
            for known_id, sha, mime in rows:
                path = svc.media.file_of(sha)
                if path is None:
                    report.failed.append((f"#{known_id}", "its file is not in the media store"))
                else:
                    paths[str(path)] = (known_id, sha, mime.startswith("video/"))
            results = pool.map(
                _rehash_job,
                list(paths),
                [video for _, _, video in paths.values()],
                [svc.settings] * len(paths),
                chunksize=4,
            )
            fresh: dict[str, Fingerprint] = {}
            for path, fp, error in results:
                known_id, sha, _ = paths[path]
                if fp is None:
                    report.failed.append((f"#{known_id}", error or "no codes"))
                else:
                    fresh[sha] = fp
            report.rehashed += svc.store.replace_codes(fresh)
            done += len(rows)
            if progress:
                progress(done, total, f"#{after}")
    return report
