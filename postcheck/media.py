"""Download media with limits and keep it content-addressed (sha256) in the data folder."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from PIL import Image, ImageFile, UnidentifiedImageError
from pillow_heif import register_heif_opener

from postcheck import http
from postcheck.domain import StoredMedia
from postcheck.errors import BadMedia, FetchError, MediaUnavailable, TransientError
from postcheck.localfiles import blocks, open_regular, read_head
from postcheck.settings import Settings
from postcheck.urls import short

# HEIC/HEIF (iPhone photos) through pillow-heif; AVIF is Pillow's own.
register_heif_opener()

# Formats we hash. Pillow opens more (ICO, PSD, PDF…), which we refuse by name.
IMAGE_MIME = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "MPO": "image/jpeg",
    "BMP": "image/bmp",
    "TIFF": "image/tiff",
    "HEIF": "image/heic",
    "AVIF": "image/avif",
}


def set_pillow_limits(max_pixels: int) -> None:
    """Pillow's own bomb guard at our limit: it raises DecompressionBombError beyond twice
    the limit during any open, ours refuses anything beyond the limit itself."""
    Image.MAX_IMAGE_PIXELS = max_pixels
    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is an error, never half a picture


MAX_REDIRECTS = 5


class MediaStore:
    """Files named by the sha256 of their bytes, under <data>/media/ab/cd/<sha256>."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def file_of(self, sha256: str | None) -> Path | None:
        """The stored file with these bytes, if we have it (a hash-only known entry has
        no sha256: None)."""
        if not sha256:
            return None
        path = self.path_for(sha256)
        return path if path.exists() else None

    def _tmp(self) -> tuple[int, str]:
        self.root.mkdir(parents=True, exist_ok=True)
        return tempfile.mkstemp(prefix=".part-", dir=self.root)

    def _commit(self, tmp: str, sha256: str) -> Path:
        final = self.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        # Same content, same name: a concurrent writer of the same bytes is harmless.
        os.replace(tmp, final)
        return final

    def read(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def put(self, data: bytes) -> str:
        """Keep `data` as it is (no inspection); its sha256."""
        sha256 = hashlib.sha256(data).hexdigest()
        fd, tmp = self._tmp()
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            self._commit(tmp, sha256)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return sha256


def inspect_image(path: Path | str, max_pixels: int) -> tuple[str, int, int]:
    """Format, width, height of an image file, after decoding it at reduced size to prove
    the bytes are a whole image. BadMedia with a one-line reason otherwise."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise BadMedia("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                fmt = img.format or "unknown"
                width, height = img.size
                if fmt not in IMAGE_MIME:
                    raise BadMedia(f"unsupported image format {fmt}")
                if width * height > max_pixels:
                    raise BadMedia(
                        f"image too large: {width}x{height} pixels (limit {max_pixels:,})"
                    )
                img.draft("RGB", (512, 512))
                img.load()
    except BadMedia:
        raise
    except UnidentifiedImageError:
        raise BadMedia(f"not an image ({_sniff(path)})") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadMedia("image refused as a decompression bomb (too many pixels)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadMedia(f"corrupt or truncated image ({short(str(exc), 80)})") from None
    return fmt, width, height


def _sniff(path: Path) -> str:
    """What a file that is not an image seems to be, for the message."""
    raw = read_head(path, 512)
    head = raw.lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head or b"<head" in head:
        return "an HTML page"
    if b"<svg" in head:
        return "an SVG drawing"
    if head.startswith(b"%pdf"):
        return "a PDF document"
    if head.startswith(b"<?xml"):
        return "an XML document"
    if head.startswith((b"{", b"[")):
        return "JSON"
    if raw[4:8] == b"ftyp":
        return "an MP4/HEIF container"
    return f"{len(raw)}+ bytes of unknown type" if len(raw) < 512 else "bytes of unknown type"


def check_local_media(path: Path, settings: Settings, *, as_video: bool) -> None:
    """Refuse, before any check starts, a local file that is not a picture or video we
    can check: BadMedia with a one-line reason (the CLI's bad input, exit 2)."""
    if path.stat().st_size == 0:
        raise BadMedia("empty file (0 bytes)")
    if as_video:
        from postcheck.verifiers import video

        video.probe(
            path, max_duration=settings.max_video_seconds, max_pixels=settings.max_image_pixels
        )
        return
    try:
        Image.open(path).close()  # the header only: is it a picture at all?
    except UnidentifiedImageError:
        raise BadMedia(f"not an image or video ({_sniff(path)})") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        pass  # a picture, damaged or too large: inspect_image says how
    inspect_image(path, settings.max_image_pixels)


def stored_media(store: MediaStore, sha256: str, path: Path, settings: Settings) -> StoredMedia:
    fmt, width, height = inspect_image(path, settings.max_image_pixels)
    return StoredMedia(
        sha256=sha256,
        path=str(store.path_for(sha256)),
        size=path.stat().st_size,
        format=fmt,
        mime=IMAGE_MIME[fmt],
        width=width,
        height=height,
    )


def _keep_if_image(store: MediaStore, tmp: str, sha256: str, settings: Settings) -> StoredMedia:
    """Inspect the staged file; only an acceptable image enters the store."""
    stored = stored_media(store, sha256, Path(tmp), settings)
    store._commit(tmp, sha256)
    return stored


def store_image_bytes(store: MediaStore, data: bytes, settings: Settings) -> StoredMedia:
    """Keep `data` content-addressed if it is an acceptable image; BadMedia otherwise."""
    if len(data) > settings.max_image_bytes:
        raise BadMedia(f"too large ({len(data):,} bytes, limit {settings.max_image_bytes:,})")
    fd, tmp = store._tmp()
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return _keep_if_image(store, tmp, hashlib.sha256(data).hexdigest(), settings)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class _Sink:
    """Where downloaded bytes go: one file, one digest, one byte cap and one deadline for
    everything written (an HLS video's segments share them)."""

    def __init__(self, fh, max_bytes: int, deadline_s: float, what: str) -> None:
        self.fh, self.max_bytes, self.what = fh, max_bytes, what
        self.deadline_s = deadline_s
        self.deadline = time.monotonic() + deadline_s
        self.digest = hashlib.sha256()
        self.total = 0

    def write(self, chunk: bytes) -> None:
        self.total += len(chunk)
        if self.total > self.max_bytes:
            raise BadMedia(f"{self.what}: too large (over {self.max_bytes:,} bytes)")
        if time.monotonic() > self.deadline:
            raise TransientError(f"{self.what}: download exceeded {self.deadline_s:.0f} s")
        self.digest.update(chunk)
        self.fh.write(chunk)


def download_image(
    url: str,
    settings: Settings,
    store: MediaStore,
    *,
    expected_sha256: str | None = None,
    client: httpx.Client | None = None,
) -> StoredMedia:
    """Stream `url` into the store under the byte cap and deadline; the bytes must be an
    image. MediaUnavailable on 403/404/410, TransientError on timeouts/5xx/429, BadMedia
    when the bytes are not an acceptable image, FetchError otherwise."""
    return _download(
        url,
        settings,
        store,
        what=f"media {short(url, 100)}",
        max_bytes=settings.max_image_bytes,
        keep=_keep_if_image,
        expected_sha256=expected_sha256,
        client=client,
    )


def _download(
    url: str,
    settings: Settings,
    store: MediaStore,
    *,
    what: str,
    max_bytes: int,
    keep: Callable[[MediaStore, str, str, Settings], StoredMedia],
    expected_sha256: str | None,
    client: httpx.Client | None,
    hls: bool = False,
) -> StoredMedia:
    """Stream into a staged file under the cap and deadline; `keep` decides whether the
    bytes enter the store (it raises BadMedia when they may not)."""
    own = client is None
    client = client or http.client(settings)
    fd, tmp = store._tmp()
    try:
        with os.fdopen(fd, "wb") as fh, http.network_errors(what):
            sink = _Sink(fh, max_bytes, settings.download_deadline, what)
            if hls:
                _stream_hls(client, url, sink, what)
            else:
                _stream(client, url, sink, what)
        sha = sink.digest.hexdigest()
        if expected_sha256 and sha != expected_sha256:
            raise FetchError(f"{what}: content does not match its CID (sha256 {sha[:12]}…)")
        try:
            return keep(store, tmp, sha, settings)
        except BadMedia as exc:
            raise BadMedia(f"{what}: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if own:
            client.close()


def _open_stream(client: httpx.Client, url: str, what: str):
    """GET with redirects followed by hand (each hop passes the address guard); the caller
    closes the response."""
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in {"http", "https"}:
            raise FetchError(f"{what}: refused non-HTTP URL")
        response = client.send(
            client.build_request("GET", url), stream=True, follow_redirects=False
        )
        if response.is_redirect:
            response.close()
            url = urljoin(str(response.url), response.headers.get("location", ""))
            continue
        status = response.status_code
        if status in (403, 404, 410):
            response.close()
            raise MediaUnavailable(f"{what}: gone (HTTP {status})")
        try:
            http.check_status(response, what)
        except Exception:
            response.close()
            raise
        return response
    raise FetchError(f"{what}: more than {MAX_REDIRECTS} redirects")


def _stream(client: httpx.Client, url: str, sink: _Sink, what: str) -> None:
    response = _open_stream(client, url, what)
    try:
        declared = response.headers.get("content-length")
        if (
            declared
            and declared.isascii()
            and declared.isdigit()
            and int(declared) > sink.max_bytes - sink.total
        ):
            raise BadMedia(f"{what}: too large ({int(declared):,} bytes, limit {sink.max_bytes:,})")
        for chunk in response.iter_bytes():  # as it arrives: the deadline sees slow drips
            sink.write(chunk)
    finally:
        response.close()


MAX_PLAYLIST_BYTES = 1024 * 1024
HLS_MIN_SHORT_SIDE = 240


def _playlist(client: httpx.Client, url: str, what: str) -> tuple[str, list[str]]:
    response = _open_stream(client, url, what)
    try:
        body = b""
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > MAX_PLAYLIST_BYTES:
                raise BadMedia(f"{what}: playlist too large")
        final = str(response.url)
    finally:
        response.close()
    lines = [line.strip() for line in body.decode("utf-8", "replace").splitlines() if line.strip()]
    if not lines or lines[0] != "#EXTM3U":
        raise BadMedia(f"{what}: not an HLS playlist")
    return final, lines


def _stream_hls(client: httpx.Client, url: str, sink: _Sink, what: str) -> None:
    """An HLS video as one file: the variant with the smallest picture that is still big
    enough to hash, its init section (fMP4) and its segments in order."""
    url, lines = _playlist(client, url, what)
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        variants = []
        for i, line in enumerate(lines[:-1]):
            if line.startswith("#EXT-X-STREAM-INF"):
                res = re.search(r"RESOLUTION=([0-9]+)x([0-9]+)", line)
                rate = re.search(r"BANDWIDTH=([0-9]+)", line)
                short_side = min(int(res.group(1)), int(res.group(2))) if res else 0
                variants.append(
                    (short_side, int(rate.group(1)) if rate else 0, urljoin(url, lines[i + 1]))
                )
        variants.sort()
        enough = [v for v in variants if v[0] >= HLS_MIN_SHORT_SIDE] or variants[-1:]
        if not enough:
            raise BadMedia(f"{what}: HLS playlist lists no variant")
        url, lines = _playlist(client, enough[0][2], what)
    if any(line.startswith("#EXT-X-KEY") and "METHOD=NONE" not in line for line in lines):
        raise BadMedia(f"{what}: encrypted HLS is not supported")
    for line in lines:
        if line.startswith("#EXT-X-MAP"):
            init = re.search(r'URI="([^"]+)"', line)
            if init:
                _stream(client, urljoin(url, init.group(1)), sink, what)
        elif not line.startswith("#"):
            _stream(client, urljoin(url, line), sink, what)


def video_stored(store: MediaStore, tmp: str, sha256: str, settings: Settings) -> StoredMedia:
    """Probe the staged file; only a video within the caps enters the store."""
    from postcheck.verifiers import video

    info = video.probe(
        tmp, max_duration=settings.max_video_seconds, max_pixels=settings.max_image_pixels
    )
    stored = StoredMedia(
        sha256=sha256,
        path=str(store.path_for(sha256)),
        size=Path(tmp).stat().st_size,
        format=info.container.upper(),
        mime=VIDEO_MIME.get(info.container, "video/mp4"),
        width=info.width,
        height=info.height,
    )
    store._commit(tmp, sha256)
    return stored


def store_video_file(store: MediaStore, path: Path, settings: Settings) -> StoredMedia:
    """Copy a local video into the store (a regular file only, streamed under the byte cap)."""
    fd, tmp = store._tmp()
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, open_regular(path) as src:
            for block in blocks(src, settings.max_video_bytes):
                digest.update(block)
                out.write(block)
        return video_stored(store, tmp, digest.hexdigest(), settings)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def is_playlist_url(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".m3u8")


def download_video(
    url: str,
    settings: Settings,
    store: MediaStore,
    *,
    expected_sha256: str | None = None,
    client: httpx.Client | None = None,
) -> StoredMedia:
    """Stream a video (an MP4 or an HLS playlist's segments) into the store under the
    video byte cap and deadline; it must probe as a video within the caps."""
    return _download(
        url,
        settings,
        store,
        what=f"video {short(url, 100)}",
        max_bytes=settings.max_video_bytes,
        keep=video_stored,
        expected_sha256=expected_sha256,
        client=client,
        hls=is_playlist_url(url),
    )


VIDEO_MIME = {
    "mp4": "video/mp4",
    "webm": "video/webm",
    "matroska": "video/x-matroska",
    "mpegts": "video/mp2t",
    "avi": "video/x-msvideo",
    "flv": "video/x-flv",
    "mpeg": "video/mpeg",
    "ogg": "video/ogg",
}
