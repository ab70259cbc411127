"""Downloads with limits, over real HTTP from the fixture server."""

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image

from postcheck.errors import BadMedia, FetchError, MediaUnavailable, TransientError
from postcheck.fixtures.server import HTML_NOT_IMAGE, Fault
from postcheck.media import download_image, inspect_image, store_image_bytes
from postcheck.settings import reload_settings

FIXTURES = Path(__file__).parents[1] / "fixtures"
JPEG = (FIXTURES / "images" / "x-coins.jpg").read_bytes()


def serve(server, name, body, ctype="image/jpeg"):
    server.world.files[name] = (body, ctype)
    return f"{server.base_url}/files/{name}"


def test_download_is_content_addressed(env, server, svc):
    url = serve(server, "a.jpg", JPEG)
    stored = download_image(url, svc.settings, svc.media)
    sha = hashlib.sha256(JPEG).hexdigest()
    assert stored.sha256 == sha
    assert Path(stored.path) == svc.media.path_for(sha)
    assert Path(stored.path).read_bytes() == JPEG
    assert (stored.format, stored.width, stored.height) == ("JPEG", 384, 303)
    # Same bytes again: same file, nothing new.
    again = download_image(url, svc.settings, svc.media)
    assert again.path == stored.path
    assert sum(1 for p in svc.media.root.rglob("*") if p.is_file()) == 1


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (HTML_NOT_IMAGE, "image/jpeg", "not an image (an HTML page)"),
        (b"", "image/jpeg", "empty file"),
        (JPEG[: len(JPEG) // 2], "image/jpeg", "truncated"),
        (b'{"error": 1}', "image/png", "not an image (JSON)"),
    ],
)
def test_bytes_must_be_an_image(env, server, svc, body, ctype, message):
    url = serve(server, "bad", body, ctype)
    with pytest.raises(BadMedia, match=message.replace("(", r"\(").replace(")", r"\)")):
        download_image(url, svc.settings, svc.media)
    assert not any(
        p.is_file() and not p.name.startswith(".part") for p in svc.media.root.rglob("*")
    )
    assert not list(svc.media.root.rglob(".part-*"))


def test_byte_cap_on_declared_and_streamed_size(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_MAX_IMAGE_BYTES", "10000")
    settings = reload_settings()
    from postcheck.media import MediaStore

    store = MediaStore(settings.media_dir)
    url = serve(server, "big.jpg", JPEG)
    with pytest.raises(BadMedia, match="too large"):
        download_image(url, settings, store)
    assert not list(store.root.rglob(".part-*"))


def test_pixel_bomb_is_refused(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_MAX_IMAGE_PIXELS", "50000")
    settings = reload_settings()
    from postcheck.media import MediaStore

    with pytest.raises(BadMedia, match="too large: 384x303 pixels"):
        download_image(serve(server, "px.jpg", JPEG), settings, MediaStore(settings.media_dir))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (404, MediaUnavailable),
        (410, MediaUnavailable),
        (403, MediaUnavailable),
        (500, TransientError),
        (429, TransientError),
        (400, FetchError),
    ],
)
def test_status_codes(env, server, svc, status, kind):
    server.fault("/files/x.jpg", Fault(status=status))
    with pytest.raises(kind, match=str(status)):
        download_image(serve(server, "x.jpg", JPEG), svc.settings, svc.media)


def test_redirects_are_followed_but_bounded(env, server, svc):
    target = serve(server, "r.jpg", JPEG)
    stored = download_image(
        f"{server.base_url}/redirect?hops=3&to={target}", svc.settings, svc.media
    )
    assert stored.size == len(JPEG)
    with pytest.raises(FetchError, match="redirects"):
        download_image(f"{server.base_url}/redirect?hops=9&to={target}", svc.settings, svc.media)


def test_slow_drip_hits_the_deadline(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_DOWNLOAD_DEADLINE", "0.5")
    settings = reload_settings()
    from postcheck.media import MediaStore

    server.fault("/files/slow.jpg", Fault(status=200, body=JPEG[:400], drip=0.01))
    with pytest.raises(TransientError, match="exceeded"):
        download_image(serve(server, "slow.jpg", JPEG), settings, MediaStore(settings.media_dir))


def test_cid_mismatch_is_refused(env, server, svc):
    with pytest.raises(FetchError, match="does not match its CID"):
        download_image(
            serve(server, "c.jpg", JPEG), svc.settings, svc.media, expected_sha256="0" * 64
        )


def test_connection_refused_is_transient(env, monkeypatch):
    from postcheck.services import reset_services, services

    # Allowed (the guard would refuse it first otherwise), and nothing listens there.
    monkeypatch.setenv("POSTCHECK_ALLOWED_NETWORKS", '["127.0.0.1:9"]')
    reset_services()
    svc = services()
    with pytest.raises(TransientError, match="network error"):
        download_image("http://127.0.0.1:9/x.jpg", svc.settings, svc.media)


def test_store_image_bytes_and_formats(env, svc):
    for fmt in ("PNG", "WEBP", "GIF"):
        buf = io.BytesIO()
        Image.open(io.BytesIO(JPEG)).save(buf, fmt)
        stored = store_image_bytes(svc.media, buf.getvalue(), svc.settings)
        assert stored.format == fmt
    with pytest.raises(BadMedia, match="not an image"):
        store_image_bytes(svc.media, b"GIF89a" + b"\0" * 10 + b"garbage", svc.settings)


def test_inspect_tiny_and_odd_modes(tmp_path):
    for mode in ("CMYK", "I;16", "LA", "P"):
        path = tmp_path / f"img-{mode.replace(';', '')}.png"
        Image.new(mode, (40, 30)).save(path, "TIFF" if mode == "CMYK" else "PNG")
        assert inspect_image(path, 10**8)[1:] == (40, 30)
