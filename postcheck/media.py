"""Download media with limits and keep it content-addressed (sha256) in the data folder."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import warnings
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
from PIL import Image, ImageFile, UnidentifiedImageError
from pillow_heif import register_heif_opener

from postcheck import http
from postcheck.domain import StoredMedia
from postcheck.errors import BadMedia, FetchError, MediaUnavailable, TransientError
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
    head = path.read_bytes()[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return "an HTML page"
    if head.startswith((b"{", b"[")):
        return "JSON"
    if head[4:8] == b"ftyp":
        return "an MP4/HEIF container"
    return f"{len(head)}+ bytes of unknown type"


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
    what = f"media {short(url, 100)}"
    own = client is None
    client = client or http.client(settings)
    fd, tmp = store._tmp()
    try:
        with os.fdopen(fd, "wb") as fh, http.network_errors(what):
            sha = _stream(client, url, fh, settings, what)
        if expected_sha256 and sha != expected_sha256:
            raise FetchError(f"{what}: content does not match its CID (sha256 {sha[:12]}…)")
        try:
            return _keep_if_image(store, tmp, sha, settings)
        except BadMedia as exc:
            raise BadMedia(f"{what}: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if own:
            client.close()


def _stream(client: httpx.Client, url: str, fh, settings: Settings, what: str) -> str:
    deadline = time.monotonic() + settings.download_deadline
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in {"http", "https"}:
            raise FetchError(f"{what}: refused non-HTTP URL")
        with client.stream("GET", url, follow_redirects=False) as response:
            if response.is_redirect:
                url = urljoin(str(response.url), response.headers.get("location", ""))
                continue
            status = response.status_code
            if status in (403, 404, 410):
                raise MediaUnavailable(f"{what}: gone (HTTP {status})")
            http.check_status(response, what)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > settings.max_image_bytes:
                raise BadMedia(
                    f"{what}: too large ({int(declared):,} bytes, limit {settings.max_image_bytes:,})"
                )
            digest = hashlib.sha256()
            total = 0
            for chunk in response.iter_bytes():  # as it arrives: the deadline sees slow drips
                total += len(chunk)
                if total > settings.max_image_bytes:
                    raise BadMedia(f"{what}: too large (over {settings.max_image_bytes:,} bytes)")
                if time.monotonic() > deadline:
                    raise TransientError(
                        f"{what}: download exceeded {settings.download_deadline:.0f} s"
                    )
                digest.update(chunk)
                fh.write(chunk)
            return digest.hexdigest()
    raise FetchError(f"{what}: more than {MAX_REDIRECTS} redirects")
