"""Pictures that are odd or hostile: decoded where the libraries can, refused clearly where not."""

import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from postcheck.errors import BadMedia
from postcheck.media import store_image_bytes
from postcheck.verifiers import perceptual
from postcheck.verifiers.families import families

FIX = Path(__file__).parents[1] / "fixtures"
PHOTO = Image.open(FIX / "known" / "coffee-2025.jpg").convert("RGB")
REFERENCE = perceptual.fingerprint(PHOTO)


def encode(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def phash_distance(fp) -> int:
    fam = families()["phash"]
    return fam.distance(bytes.fromhex(fp.hashes["phash"]), bytes.fromhex(REFERENCE.hashes["phash"]))


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("heic", lambda: encode(PHOTO, "HEIF", quality=80)),
        ("avif", lambda: encode(PHOTO, "AVIF", quality=70)),
        ("cmyk-jpeg", lambda: encode(PHOTO.convert("CMYK"), "JPEG", quality=90)),
        (
            "png-16-bit-grey",
            lambda: encode(
                Image.fromarray(np.asarray(PHOTO.convert("L"), dtype=np.uint16) * 257), "PNG"
            ),
        ),
        (
            "icc-profile",
            lambda: encode(
                PHOTO,
                "JPEG",
                icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
            ),
        ),
        ("webp", lambda: encode(PHOTO, "WEBP", quality=80)),
        ("tiff", lambda: encode(PHOTO, "TIFF")),
    ],
)
def test_decodable_formats_are_checked_like_any_photo(svc, name, data):
    stored = store_image_bytes(svc.media, data(), svc.settings)
    assert (stored.width, stored.height) == PHOTO.size
    fp = perceptual.fingerprint(stored.path)
    limit = 12 if name == "png-16-bit-grey" else 6  # grey loses the colour, not the picture
    assert phash_distance(fp) <= limit, name


def test_animated_gif_with_thousands_of_frames_uses_the_first(svc):
    small = PHOTO.resize((60, 40))
    frames = [small] + [Image.new("RGB", (60, 40), (i % 256, 0, 0)) for i in range(2999)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)
    t0 = time.perf_counter()
    stored = store_image_bytes(svc.media, data, svc.settings)
    fp = perceptual.fingerprint(stored.path)
    assert stored.format == "GIF" and fp.quality > 0.05
    assert time.perf_counter() - t0 < 30  # sanity: never walks every frame for nothing


def test_decompression_bomb_is_refused(svc):
    # 30000 x 30000 of one colour: 900 megapixels in a few hundred kilobytes.
    bomb = encode(Image.new("1", (30000, 30000)), "PNG")
    assert len(bomb) < 1_000_000
    with pytest.raises(BadMedia, match=r"too large|decompression bomb"):
        store_image_bytes(svc.media, bomb, svc.settings)
    assert not [p for p in svc.media.root.rglob("*") if p.is_file()]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: encode(PHOTO.resize((64, 64)), "ICO"), "unsupported image format ICO"),
        (lambda: b"%PDF-1.4\n" + b"0" * 400, "not an image"),
        (lambda: b"\x00\x00\x00\x18ftypmp42" + b"\0" * 200, "not an image (an MP4/HEIF container)"),
        (lambda: encode(PHOTO, "JPEG")[:-2000], "truncated"),
    ],
)
def test_refused_with_one_line(svc, data, message):
    with pytest.raises(BadMedia, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        store_image_bytes(svc.media, data(), svc.settings)
    assert "\n" not in str(info.value)
