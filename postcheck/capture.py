"""The HTTP exchanges behind a check, kept as evidence.

`http.transport()` wraps every connection in `CapturingTransport`; while code runs inside
`recording(data, log id, media)`, each exchange (request and response, headers and raw
body) is appended to that log, `<data>/exchanges/<log id>.jsonl`, one JSON line per
exchange. A single verify-post logs under its flow run id; in a batched run (bulk verify,
recheck) each batch request and each post's check have their own log, named on the check
(`CheckReport.captures`).
Prefect's task runners copy the context into their threads, so downloads submitted as
tasks are recorded under the flow run that submitted them; no platform knows about it.

Bodies are streamed to disk as they pass (never held whole in memory) and kept by sha256
in `<data>/exchanges/bodies/`. A body that is also a media file (a picture or video as
downloaded) is kept once: when the recording ends, copies whose bytes are in the
MediaStore are dropped and the log refers to the media file by its sha256.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:  # media imports http, which imports this module
    from postcheck.media import MediaStore

_current: ContextVar[Recorder | None] = ContextVar("postcheck_capture", default=None)


def exchanges_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "exchanges"


class Recorder:
    """One flow run's exchange log and the bodies it has not found in the MediaStore."""

    def __init__(self, data_dir: Path, run_id: str, media: MediaStore) -> None:
        root = exchanges_dir(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        from postcheck.media import MediaStore

        self.log = root / f"{run_id}.jsonl"
        self.bodies = MediaStore(root / "bodies")
        self.media = media
        self._lock = threading.Lock()
        self._seq = 0

    def write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            with self.log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def keep_body(self, tmp: str, sha256: str) -> None:
        if self.media.path_for(sha256).exists():
            os.unlink(tmp)  # already a media file: refer to it
        else:
            self.bodies._commit(tmp, sha256)

    def compact(self) -> None:
        """Drop body copies the check's downloads have since stored as media."""
        for entry in read_log(self.log):
            sha = entry.get("response", {}).get("body_sha256")
            if sha and self.media.path_for(sha).exists():
                self.bodies.path_for(sha).unlink(missing_ok=True)


@contextmanager
def recording(data_dir: Path, run_id: str | None, media: MediaStore) -> Iterator[Recorder | None]:
    """Record every exchange made in this context (and the tasks it submits)."""
    if not run_id:
        yield None
        return
    recorder = Recorder(data_dir, run_id, media)
    token = _current.set(recorder)
    try:
        yield recorder
    finally:
        _current.reset(token)
        recorder.compact()


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def body_path(data_dir: Path, media: MediaStore, sha256: str) -> Path | None:
    """Where a recorded body's bytes are: the media file, or the exchanges' own copy."""
    from postcheck.media import MediaStore

    for store in (media, MediaStore(exchanges_dir(data_dir) / "bodies")):
        path = store.path_for(sha256)
        if path.exists():
            return path
    return None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _headers(headers: httpx.Headers) -> list[list[str]]:
    return [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers.raw]


class _TeeStream(httpx.SyncByteStream):
    """Passes the response's raw bytes on while writing them to a body file and hashing
    them; on close, the exchange goes into the log (complete or not: a download stopped
    at a size cap is recorded as what it was)."""

    def __init__(self, inner: httpx.SyncByteStream, recorder: Recorder, entry: dict) -> None:
        self.inner, self.recorder, self.entry = inner, recorder, entry
        fd, self.tmp = recorder.bodies._tmp()
        self.fh = os.fdopen(fd, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.complete = False
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.fh.write(chunk)
            self.digest.update(chunk)
            self.size += len(chunk)
            yield chunk
        self.complete = True

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.inner.close()
        finally:
            self.fh.close()
            sha = self.digest.hexdigest()
            self.recorder.keep_body(self.tmp, sha)
            self.entry["response"].update(
                body_sha256=sha, body_size=self.size, body_complete=self.complete
            )
            self.recorder.write(self.entry)


class CapturingTransport(httpx.BaseTransport):
    """Sends through `inner`; records the exchange when a recording is active."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        recorder = _current.get()
        if recorder is None:
            return self.inner.handle_request(request)
        body = request.read()  # requests we make are small (API calls, GETs)
        entry: dict[str, Any] = {
            "date": _now(),
            "request": {
                "method": request.method,
                "url": str(request.url),
                "target": request.url.raw_path.decode("ascii"),
                "headers": _headers(request.headers),
                "body_b64": base64.b64encode(body).decode("ascii"),
            },
        }
        try:
            response = self.inner.handle_request(request)
        except Exception as exc:  # no answer: that is evidence too
            entry["error"] = f"{type(exc).__name__}: {exc}"[:500]
            recorder.write(entry)
            raise
        version = response.extensions.get("http_version", b"HTTP/1.1")
        reason = response.extensions.get("reason_phrase", b"")
        entry["response"] = {
            "status": response.status_code,
            "reason": reason.decode("latin-1") if isinstance(reason, bytes) else str(reason),
            "http_version": version.decode("ascii") if isinstance(version, bytes) else version,
            "headers": _headers(response.headers),
        }
        stream = response.stream
        assert isinstance(stream, httpx.SyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_TeeStream(stream, recorder, entry),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.inner.close()
