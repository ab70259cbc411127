"""Smooth, low-texture photos (sky, fog) under captions (issue 17): an overlay does not
sink the dense check, and unrelated smooth photos stay below both of its bars.

The smooth photos are synthesised: clouds of blurred noise at a few scales, with almost no
corners for ORB (about 100 keypoints on 640 x 480, none of them repeatable)."""

import random

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from postcheck.verifiers import dense

WORDS = ["STORM", "OVER", "THE", "HARBOUR", "TONIGHT", "NOBODY", "SAW", "THIS", "COMING"]
WORDS += ["LOOK", "AT", "THAT", "SKY", "ABOVE", "THE", "CITY"]


def clouds(seed: int, size=(640, 480), colour=(110, 150, 205), amp=(40, 34, 24)) -> Image.Image:
    """A cloudy sky: noise at 1/32 to 1/4 of the size, upsampled, summed and blurred."""
    w, h = size
    rng = np.random.default_rng(seed)
    field = np.zeros((h, w), np.float32)
    for div, weight in ((32, 1.0), (16, 0.6), (8, 0.35), (4, 0.2)):
        coarse = rng.normal(size=(h // div + 2, w // div + 2)).astype(np.float32)
        big = cv2.resize(coarse, (w + 2 * div, h + 2 * div), interpolation=cv2.INTER_CUBIC)
        field += weight * big[div : div + h, div : div + w]
    field = cv2.GaussianBlur(field, (0, 0), 2.0)
    field /= np.abs(field).max()
    rgb = np.array(colour, np.float32) + field[..., None] * np.array(amp, np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def meme(img: Image.Image, seed: int) -> Image.Image:
    """Impact-style text over the top and the bottom of the picture."""
    rng = random.Random(seed)
    out = img.copy()
    width, height = out.size
    draw = ImageDraw.Draw(out)
    size = round(height * 0.09)
    try:
        font = ImageFont.truetype("DejaVuSans-Bold.ttf", size)
    except OSError:
        font = ImageFont.load_default(size)
    for y in (height * 0.03, height * 0.85):
        text = " ".join(rng.sample(WORDS, 3))
        x = (width - draw.textlength(text, font=font)) / 2
        draw.text(
            (x, y), text, font=font, fill="white", stroke_width=size // 12, stroke_fill="black"
        )
    return out


def _grey(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2GRAY)


def test_a_captioned_sky_is_confirmed_by_the_strip_robust_ncc():
    """Meme text over the top and bottom sixth: the plain NCC falls under its bar, the NCC
    without the two worst strips does not."""
    sky = clouds(1)
    query = meme(sky, seed=1).resize((500, 375), Image.Resampling.LANCZOS)
    result = dense.compare(_grey(query), dense.thumb(_grey(sky)))
    assert result.ncc < dense.MIN_NCC, result
    assert result.strip_ncc >= dense.MIN_OVERLAY_NCC, result
    assert result.confirmed and result.overlaid


@pytest.mark.parametrize("overlay", [False, True])
def test_unrelated_skies_stay_below_both_bars(overlay):
    """Skies of the same kind (same colours, same scales of cloud) but different clouds,
    with and without text over them: far under the plain bar and the strip-robust bar."""
    for seed in range(1, 4):
        library = dense.thumb(_grey(clouds(seed)))
        for other in range(10, 16):
            picture = clouds(other)
            query = meme(picture, other) if overlay else picture
            result = dense.compare(_grey(query), library)
            assert not result.confirmed, (seed, other, result)
            assert result.ncc < dense.MIN_NCC - 0.3, (seed, other, result)
            assert result.strip_ncc < dense.MIN_OVERLAY_NCC - 0.3, (seed, other, result)
