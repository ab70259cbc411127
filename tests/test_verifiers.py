"""Pure verifiers on real photographs: hashes, matcher, metadata, verdict rules."""

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageOps

from postcheck.domain import Finding, KnownImage, Match, MatchEdit, Verdict
from postcheck.verifiers import perceptual
from postcheck.verifiers.families import families
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex
from postcheck.verifiers.matcher import match as find_matches
from postcheck.verifiers.metadata import metadata_findings, parse_exif_datetime, read_metadata
from postcheck.verifiers.verdict import SEVERITY, first_seen_bound, image_verdict, post_verdict

FIX = Path(__file__).parents[1] / "fixtures"
KNOWN = {p.stem: p for p in (FIX / "known").glob("*.jpg")}


def known(i, name, first_seen=None, **kw):
    return KnownImage(id=i, sha256=name.ljust(64, "0"), first_seen=first_seen, **kw)


@pytest.fixture(scope="module")
def library():
    """The fixture archive as an index, with each picture's ORB features for stage 2."""
    entries, feats = [], {}
    for i, (name, path) in enumerate(sorted(KNOWN.items()), start=1):
        view = perceptual.library_view(path)
        fp = perceptual.library_fingerprint(view)
        codes = {k: bytes.fromhex(h) for k, h in fp.hashes.items()}
        entries.append(
            IndexEntry(
                known_id=i,
                sha256=known(i, name).sha256,
                codes=codes,
                colourfulness=fp.colourfulness,
            )
        )
        feats[known(i, name).sha256] = view.features
    return LibraryIndex(entries), feats


def search(library, img, **kw):
    index, feats = library
    return find_matches(perceptual.query_print(img), index, lambda e, v: feats[e.sha256], **kw)


def best(library, img):
    return search(library, img)[0]


def test_families_are_discovered():
    assert {"phash", "dhash", "dct256", "bow1024"} <= set(families())
    for family in families().values():
        assert family.bits in (64, 256, 1024) and 0 < family.threshold < family.bits // 2


def test_library_keeps_regions_of_each_picture():
    fp = perceptual.fingerprint(KNOWN["koksan-2010"])
    assert {"phash", "dhash", "dct256", "bow1024", "dct256@win:tl90", "dct256@win:mid70"} <= set(
        fp.hashes
    )
    assert (
        len(bytes.fromhex(fp.hashes["dct256"])) == 32
        and len(bytes.fromhex(fp.hashes["bow1024"])) == 128
    )


def test_draft_decoding_keeps_the_hash(tmp_path):
    """Reduced-scale JPEG decoding gives (nearly) the same pHash as a full decode."""
    import imagehash

    path = tmp_path / "big.jpg"
    Image.open(KNOWN["koksan-2010"]).resize((2560, 1708)).save(path, quality=92)
    ours = bytes.fromhex(perceptual.fingerprint(path).hashes["phash"])
    full = families()["phash"].pack(imagehash.phash(Image.open(path).convert("RGB")).hash)
    assert families()["phash"].distance(ours, full) <= 2


@pytest.mark.parametrize(
    ("name", "edit"),
    [
        ("koksan-2010", lambda im: im.resize((im.width // 3, im.height // 3))),
        ("astronaut-2016", lambda im: _jpeg(im, 35)),
        ("coffee-2025", lambda im: ImageOps.grayscale(im).convert("RGB")),
        ("chelsea-2024", lambda im: im.crop((8, 6, im.width - 8, im.height - 6))),
    ],
)
def test_copies_match_their_original(library, name, edit):
    m = best(library, edit(Image.open(KNOWN[name]).convert("RGB")))
    assert m.is_match
    assert m.known.sha256.startswith(name)


def test_mirrored_copy_is_found_and_labelled(library):
    m = best(library, ImageOps.mirror(Image.open(KNOWN["chelsea-2024"]).convert("RGB")))
    assert m.is_match and MatchEdit.MIRRORED in m.edits


def test_grayscale_copy_is_labelled(library):
    m = best(library, ImageOps.grayscale(Image.open(KNOWN["coffee-2025"])).convert("RGB"))
    assert m.is_match and MatchEdit.GRAYSCALE in m.edits


def test_a_heavy_crop_is_found_and_labelled(library):
    img = Image.open(KNOWN["astronaut-2016"]).convert("RGB")
    w, h = img.size
    m = best(library, img.crop((int(w * 0.22), 0, w, int(h * 0.9))))  # keeps ~70%
    assert m.is_match and MatchEdit.CROPPED in m.edits


def test_a_screenshot_with_ui_is_found(library):
    photo = Image.open(KNOWN["koksan-2010"]).convert("RGB").resize((600, 400))
    screen = Image.new("RGB", (720, 1280), (245, 245, 245))
    screen.paste(photo, (60, 380))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((0, 0, 720, 90), fill=(30, 30, 30))
    draw.text(
        (40, 200), "Breaking: this happened today, share before it is deleted", fill=(0, 0, 0)
    )
    draw.text((40, 900), "12.3K likes   4,501 reposts", fill=(80, 80, 80))
    m = best(library, screen)
    assert m.is_match and m.known.sha256.startswith("koksan")
    assert {MatchEdit.SCREENSHOT, MatchEdit.PADDED, MatchEdit.OVERLAID} & set(m.edits)


def test_a_small_rotation_is_found_and_labelled(library):
    img = Image.open(KNOWN["koksan-2010"]).convert("RGB")
    m = best(library, img.rotate(4, resample=Image.Resampling.BICUBIC, expand=False))
    assert m.is_match and MatchEdit.ROTATED in m.edits


@pytest.mark.parametrize("name", ["x-motorcycle", "x-coins", "b-camera", "b-exif-hubble"])
def test_unrelated_photos_do_not_match(library, name):
    matches = search(library, FIX / "images" / f"{name}.jpg", k=4)
    assert matches and not any(m.is_match for m in matches)


def test_flat_picture_refuses_to_match(library):
    flat = Image.new("RGB", (300, 200), (120, 120, 120))
    q = perceptual.query_print(flat)
    assert q.quality < perceptual.QUALITY_FLOOR and q.codes == {}
    assert search(library, flat) == []


def test_empty_index():
    assert (
        find_matches(
            perceptual.query_print(KNOWN["coffee-2025"]), LibraryIndex(), lambda e, v: None
        )
        == []
    )


def _jpeg(img, quality):
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


# --- metadata ------------------------------------------------------------------------------------


def test_exif_facts_of_a_camera_file():
    facts = read_metadata((FIX / "images" / "b-exif-hubble.jpg").read_bytes())
    assert facts.present and facts.readable
    assert facts.capture_time_raw == "2015:07:04 21:37:05"
    assert facts.capture_time.utcoffset().total_seconds() == 3 * 3600
    assert (facts.camera_make, facts.camera_model) == ("Canon", "Canon EOS 5D Mark III")
    assert facts.software.startswith("Adobe Photoshop")
    assert facts.gps_lat == pytest.approx(50.45, abs=1e-4)
    assert facts.gps_lon == pytest.approx(30.52, abs=1e-3)


def test_findings_flag_old_capture_and_editor():
    facts = read_metadata((FIX / "images" / "b-exif-hubble.jpg").read_bytes())
    post_time = datetime(2024, 12, 15, 22, 10, tzinfo=UTC)
    findings = {f.code: f for f in metadata_findings(facts, post_time, 30)}
    assert findings["capture_before_post"].red_flag
    assert findings["capture_before_post"].fields["EXIF DateTimeOriginal"] == "2015:07:04 21:37:05"
    assert findings["editing_software"].red_flag
    assert not findings["gps_present"].red_flag
    assert "openstreetmap.org" in findings["gps_present"].message
    # The same picture posted the day it was taken: no conflict about the date.
    same_day = metadata_findings(facts, datetime(2015, 7, 5, tzinfo=UTC), 30)
    assert "capture_before_post" not in {f.code for f in same_day}


def test_absent_metadata_is_a_fact_not_a_flag():
    facts = read_metadata((FIX / "images" / "x-coins.jpg").read_bytes())
    [finding] = metadata_findings(facts, datetime.now(UTC), 30)
    assert finding.code == "metadata_absent" and not finding.red_flag


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08", b"not an image at all"],
)
def test_hostile_metadata_never_raises(data):
    facts = read_metadata(data)
    assert isinstance(facts.present, bool)


def test_exif_datetime_parsing():
    assert parse_exif_datetime("2015:07:04 21:37:05") == datetime(2015, 7, 4, 21, 37, 5)
    assert parse_exif_datetime("0000:00:00 00:00:00") is None
    assert parse_exif_datetime("garbage") is None
    assert (
        parse_exif_datetime("2015:07:04 21:37:05", "-05:00").utcoffset().total_seconds()
        == -5 * 3600
    )


# --- verdict rules -----------------------------------------------------------------------------

POST_TIME = datetime(2024, 11, 14, 17, 0, tzinfo=UTC)


def match(first_seen=None, edits=(), is_match=True, post_uri=None, score=0.05):
    return Match(
        known=known(7, "k", first_seen=first_seen, post_uri=post_uri, caption="old photo"),
        distances={"phash": 4, "dhash": 3},
        score=score,
        edits=list(edits),
        is_match=is_match,
    )


def test_recycled_when_known_is_older():
    verdict, reasons = image_verdict([match(datetime(2010, 10, 10, tzinfo=UTC))], [], POST_TIME)
    assert verdict is Verdict.RECYCLED
    assert "2010-10-10" in reasons[0] and "2024-11-14" in reasons[0]


def test_recycled_beats_altered_but_names_the_edit():
    verdict, reasons = image_verdict(
        [match(datetime(2010, 10, 10, tzinfo=UTC), [MatchEdit.MIRRORED])], [], POST_TIME
    )
    assert verdict is Verdict.RECYCLED and "mirrored" in reasons[0]


def test_altered_when_a_newer_known_was_edited():
    verdict, _ = image_verdict(
        [match(datetime(2024, 12, 1, tzinfo=UTC), [MatchEdit.MIRRORED])], [], POST_TIME
    )
    assert verdict is Verdict.ALTERED


def test_matches_known_when_not_older():
    verdict, _ = image_verdict(
        [match(datetime(2025, 1, 1, tzinfo=UTC), [MatchEdit.NEAR_COPY])], [], POST_TIME
    )
    assert verdict is Verdict.MATCHES_KNOWN
    verdict, _ = image_verdict([match(None)], [], POST_TIME)
    assert verdict is Verdict.MATCHES_KNOWN


def test_same_day_date_is_not_claimed_older():
    """A first-seen date without a time may be later the same day than the post."""
    verdict, _ = image_verdict([match(datetime(2024, 11, 14, tzinfo=UTC))], [], POST_TIME)
    assert verdict is Verdict.MATCHES_KNOWN
    assert first_seen_bound(known(1, "a", first_seen=datetime(2024, 11, 14, tzinfo=UTC))).hour == 23


def test_metadata_conflict_and_no_match():
    red = Finding(code="capture_before_post", message="captured 2015", red_flag=True)
    fact = Finding(code="gps_present", message="GPS")
    assert (
        image_verdict([match(is_match=False)], [red, fact], POST_TIME)[0]
        is Verdict.METADATA_CONFLICT
    )
    assert image_verdict([match(is_match=False)], [fact], POST_TIME)[0] is Verdict.NO_KNOWN_MATCH
    assert image_verdict([], [], POST_TIME)[0] is Verdict.NO_KNOWN_MATCH


def test_own_post_is_not_evidence_against_itself():
    m = match(datetime(2010, 1, 1, tzinfo=UTC), post_uri="x:1")
    assert image_verdict([m], [], POST_TIME, post_uri="x:1")[0] is Verdict.NO_KNOWN_MATCH


def test_post_verdict_takes_the_most_serious():
    assert post_verdict([Verdict.NO_KNOWN_MATCH, Verdict.RECYCLED]) is Verdict.RECYCLED
    assert post_verdict([Verdict.NO_KNOWN_MATCH, Verdict.ERROR]) is Verdict.ERROR
    assert post_verdict([Verdict.MATCHES_KNOWN, Verdict.UNAVAILABLE]) is Verdict.UNAVAILABLE
    assert post_verdict([]) is Verdict.NO_KNOWN_MATCH
    assert set(SEVERITY) == set(Verdict)


def test_merge_matches_keeps_every_proven_one_and_the_nearest_others():
    """A recheck's "added since" search merged with the earlier matches: every proven
    match of either (the later one wins for the same picture), then the nearest others
    up to k, as the matcher itself returns them."""
    from postcheck.domain import KnownImage, Match
    from postcheck.verifiers.matcher import merge_matches

    def m(known_id: int, score: float, proven: bool) -> Match:
        known = KnownImage(id=known_id, sha256=f"{known_id:064d}")
        return Match(known=known, distances={}, score=score, is_match=proven)

    kept = [m(1, 0.2, True), m(2, 0.7, False), m(3, 0.8, False)]
    found = [m(4, 0.1, True), m(2, 0.6, False), m(5, 0.9, False)]
    merged = merge_matches(kept, found, k=3)
    assert [(x.known.id, x.score) for x in merged] == [(4, 0.1), (1, 0.2), (2, 0.6)]
    assert [x.known.id for x in merge_matches(kept, [], k=3)] == [1, 2, 3]


def _phash_cases():
    """Every fixture photo that opens, as it is, mirrored, cropped and turned; and the
    degenerate pictures (flat, symmetric) whose codes rest on rounding noise."""
    import numpy as np

    for path in sorted(FIX.rglob("*.jpg")):
        try:
            with Image.open(path) as im:
                im.load()
                im = im.copy()
        except OSError:
            continue  # the truncated hostile fixtures
        yield path.name, im
        yield f"{path.name} mirrored", ImageOps.mirror(im)
        yield f"{path.name} crop", im.crop((0, 0, im.width // 2, im.height // 2))
        yield f"{path.name} turned", im.rotate(90, expand=True)
    yield "flat", Image.new("RGB", (100, 80), (120, 30, 200))
    halves = np.zeros((64, 64), np.uint8)
    halves[:, :32] = 255
    yield "halves", Image.fromarray(halves)
    yield "ramp", Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (64, 1)))


def test_phash_codes_are_imagehash_codes_bit_for_bit():
    """The pHash family computes its DCT without SciPy; every code must be the one
    imagehash.phash gave, so the codes stored in every library stay valid."""
    import imagehash

    phash = families()["phash"]
    cases = list(_phash_cases())
    assert len(cases) > 60
    for name, image in cases:
        assert phash.code(image) == phash.pack(imagehash.phash(image, hash_size=8).hash), name


def test_phash_of_a_photo_needs_no_scipy():
    import subprocess
    import sys

    probe = (
        "import sys; from PIL import Image;"
        "from postcheck.verifiers.families.phash import PHash;"
        f"PHash().code(Image.open({str(KNOWN['koksan-2010'])!r}));"
        "print('scipy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
