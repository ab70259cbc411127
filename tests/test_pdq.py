"""PDQ: the reference code and quality on fixture photographs, robust to recompression,
nothing kept for a flat picture (quality under the floor), and found by the index."""

import io
from pathlib import Path

import numpy as np
from PIL import Image

from postcheck.verifiers.families import families
from postcheck.verifiers.families.pdq import QUALITY_FLOOR, pdq
from postcheck.verifiers.perceptual import fingerprint

FIX = Path(__file__).parents[1] / "fixtures" / "known"


def _rgb(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"))


def test_pdq_code_and_quality_of_a_photograph():
    code, quality = pdq(_rgb(Image.open(FIX / "koksan-2010.jpg")))
    # the reference implementation's hash of the file as decoded by Pillow
    assert code.hex() == "8792786c87937064bf1bc0e43f1fc0e03f1cc2e33da4c2537cec821b2ce4f376"
    assert quality == 100


def test_pdq_survives_recompression_and_separates_photos():
    family = families()["pdq"]
    original = Image.open(FIX / "koksan-2010.jpg").convert("RGB")
    buf = io.BytesIO()
    original.resize((320, 213)).save(buf, "JPEG", quality=60)
    a = pdq(_rgb(original))[0]
    assert family.distance(a, pdq(_rgb(Image.open(buf)))[0]) <= family.threshold
    other = pdq(_rgb(Image.open(FIX / "coffee-2025.jpg")))[0]
    assert family.distance(a, other) > family.threshold


def test_a_flat_picture_is_under_the_quality_floor_and_gets_no_pdq_code():
    flat = Image.new("RGB", (200, 200), (120, 120, 120))
    assert pdq(_rgb(flat))[1] < QUALITY_FLOOR
    assert not any(k.startswith("pdq") for k in fingerprint(flat).hashes)
    assert "pdq" in fingerprint(FIX / "koksan-2010.jpg").hashes
