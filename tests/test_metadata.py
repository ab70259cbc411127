"""Metadata verifiers on real files: EXIF with dates, GPS, software, thumbnails; XMP; C2PA
Content Credentials; known-original comparison; hostile EXIF.

The fixture files are written by fixtures/metadata/make_metadata_fixtures.py from
scikit-image's photographs (piexif for EXIF with thumbnails, c2pa-python for the manifests).
"""

from __future__ import annotations

import io
import random
import struct
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from postcheck.domain import MetadataFacts, Verdict
from postcheck.verifiers import imaging, metadata
from postcheck.verifiers.metadata import (
    THUMBNAIL_DIFF_BITS,
    check_exif_structure,
    locate_metadata,
    metadata_findings,
    read_metadata,
    thumbnail_distance,
)
from postcheck.verifiers.metadata_compare import compare_with_known, distance_km
from postcheck.verifiers.provenance import provenance_findings, read_provenance
from postcheck.verifiers.verdict import image_verdict

FIX = Path(__file__).parents[1] / "fixtures"
META = FIX / "metadata"
POST_TIME = datetime(2024, 11, 14, 10, 0, tzinfo=UTC)
MARGIN = 30


def data(name: str) -> bytes:
    return (META / name).read_bytes()


def facts(name: str, **kw) -> MetadataFacts:
    return read_metadata(data(name), **kw)


def codes(findings) -> dict:
    return {f.code: f for f in findings}


def red(findings) -> set[str]:
    return {f.code for f in findings if f.red_flag}


# --- what a camera file says ---------------------------------------------------------------------


def test_camera_file_facts():
    m = facts("camera-original.jpg")
    assert m.present and m.readable and m.exif_present and m.container == "JPEG"
    assert m.capture_time_raw == "2019:05:18 12:41:27"
    assert m.capture_offset == "+03:00" and m.capture_subsec == "42"
    assert m.capture_time == datetime(2019, 5, 18, 12, 41, 27, tzinfo=timezone(timedelta(hours=3)))
    assert m.digitized_time == m.capture_time and m.digitized_offset == "+03:00"
    assert m.modified_time_raw == "2019:05:18 12:41:27" and m.modified_offset == "+03:00"
    assert (m.camera_make, m.camera_model) == ("Canon", "Canon EOS 5D Mark IV")
    assert m.camera_serial == "032021001234"
    assert (m.lens_make, m.lens, m.lens_serial) == (
        "Canon",
        "EF24-70mm f/2.8L II USM",
        "0000b1c2d3",
    )
    assert m.software == "Firmware Version 1.1.2"
    assert m.gps_lat == pytest.approx(50 + 27 / 60 + 18.036 / 3600, abs=1e-6)
    assert m.gps_lon == pytest.approx(30 + 31 / 60 + 24.24 / 3600, abs=1e-6)
    assert m.gps_alt == pytest.approx(179.3)
    assert m.gps_time == datetime(2019, 5, 18, 9, 41, 25, tzinfo=UTC)
    assert m.gps_datum == "WGS-84"
    assert m.orientation == "Horizontal (normal)"
    assert m.has_thumbnail and (m.thumbnail_width, m.thumbnail_height) == (160, 120)
    assert m.thumbnail_differs is False
    assert m.fields["EXIF BodySerialNumber"] == "032021001234"
    assert "JPEGThumbnail" not in m.fields


def test_json_round_trip_keeps_every_fact():
    """The store keeps MetadataFacts as JSON; reading it back must give the same facts."""
    m = facts("c2pa-signed.jpg")
    again = MetadataFacts.model_validate(m.model_dump(mode="json"))
    assert again == m
    assert again.provenance is not None and again.provenance.signer == "postcheck Test Signer"


def test_old_capture_is_a_red_flag_with_the_fields_that_prove_it():
    m = facts("camera-original.jpg")
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    old = found["capture_before_post"]
    assert old.red_flag
    assert old.fields["EXIF DateTimeOriginal"] == "2019:05:18 12:41:27"
    assert old.fields["offset"] == "+03:00"
    assert old.fields["post created_at"] == POST_TIME.isoformat()
    # Posted the day after it was taken: the date is a fact, not a conflict.
    soon = codes(metadata_findings(m, datetime(2019, 5, 19, tzinfo=UTC), MARGIN))
    assert "capture_before_post" not in soon and not soon["capture_time"].red_flag
    # The margin is the caller's: 2007 days is within a 3000-day margin.
    assert "capture_before_post" not in codes(metadata_findings(m, POST_TIME, 3000))


def test_capture_after_the_post_is_stated_not_flagged():
    m = MetadataFacts(
        present=True,
        capture_time=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        capture_time_raw="2025:03:01 12:00:00",
    )
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    assert not found["capture_after_post"].red_flag
    assert "capture_before_post" not in found


def test_summary_says_what_was_there_and_what_was_not():
    summary = codes(metadata_findings(facts("thumbnail-mismatch.jpg"), POST_TIME, MARGIN))[
        "metadata_present"
    ]
    assert not summary.red_flag
    assert "camera" in summary.fields["present"] and "thumbnail" in summary.fields["present"]
    assert {"serial number", "GPS"} <= set(summary.fields["absent"])
    assert "no C2PA" in summary.message


def test_camera_firmware_is_software_not_editing():
    found = codes(metadata_findings(facts("camera-original.jpg"), POST_TIME, MARGIN))
    assert "editing_software" not in found
    assert not found["software"].red_flag and "Firmware" in found["software"].message
    camera = found["camera"]
    assert not camera.red_flag
    assert camera.fields["EXIF BodySerialNumber"] == "032021001234"
    assert "serial 032021001234" in camera.message and "lens EF24-70mm" in camera.message


def test_editing_software_from_exif_and_xmp_history():
    m = facts("edited-photoshop.jpg")
    assert m.xmp_present and m.software == "Adobe Photoshop 25.3 (Windows)"
    sources = [e["source"] for e in m.processing_history]
    assert sources[0] == "EXIF Software"
    assert "XMP CreatorTool" in sources
    history = [e for e in m.processing_history if e["source"] == "XMP xmpMM:History"]
    # One event written as attributes, one as elements: both are read.
    assert [e["action"] for e in history] == ["created", "saved"]
    assert history[1]["software"] == "Adobe Photoshop 25.3 (Windows)"
    assert history[1]["when"] == "2024-11-13T18:02:11+02:00"
    assert m.fields["XMP CreateDate"] == "2019-05-18T12:41:27.42+03:00"
    edit = codes(metadata_findings(m, POST_TIME, MARGIN))["editing_software"]
    assert edit.red_flag and "Adobe Photoshop 25.3" in edit.message
    assert edit.fields["Image Software"] == "Adobe Photoshop 25.3 (Windows)"


def test_xmp_alone_can_name_the_editor_and_an_ai_source():
    xmp = (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmp:CreatorTool="GIMP 2.10" '
        b'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
        b'trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
    )
    plain = data("no-exif.jpg")
    app1 = b"http://ns.adobe.com/xap/1.0/\x00" + xmp
    jpeg = plain[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + plain[2:]
    m = read_metadata(jpeg)
    assert m.present and m.xmp_present and not m.exif_present
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    assert found["editing_software"].red_flag and found["editing_software"].source == "xmp"
    assert found["declared_ai_generated"].red_flag
    assert "trainedAlgorithmicMedia" in found["declared_ai_generated"].message


def test_hostile_xmp_packets_give_nothing_and_never_raise():
    for packet in (
        b"<xmp:CreatorTool " * 15000,
        b"<xmpMM:History>" + b"<rdf:li " * 30000,
        b'xmp:CreatorTool="' * 15000,
        "<xmp:CreatorTool>\udcff</xmp:CreatorTool>".encode("utf-8", "surrogatepass"),
    ):
        found = metadata.read_xmp(packet)
        assert found["history"] == []
        assert found["DigitalSourceType"] is None


# --- GPS ---------------------------------------------------------------------------------------


def test_gps_is_a_fact_with_a_map_link():
    gps = codes(metadata_findings(facts("camera-original.jpg"), POST_TIME, MARGIN))["gps_present"]
    assert not gps.red_flag
    assert "https://www.openstreetmap.org/?mlat=50.45501&mlon=30.5234" in gps.message
    assert gps.fields["alt"] == pytest.approx(179.3)
    assert gps.fields["gps_time"].startswith("2019:05:18 09:41:25")
    assert gps.fields["datum"] == "WGS-84"


# --- dates that disagree ----------------------------------------------------------------------


def test_dates_that_disagree_are_red_flags():
    m = facts("dates-disagree.jpg")
    findings = metadata_findings(m, POST_TIME, MARGIN)
    disagree = [f for f in findings if f.code == "dates_disagree"]
    assert len(disagree) == 3 and all(f.red_flag for f in disagree)
    messages = " | ".join(f.message for f in disagree)
    assert "DateTimeOriginal 2024:11:13 09:12:00 and DateTimeDigitized 2019:05:18" in messages
    assert "last modified 2019:05:18 12:41:27" in messages
    assert "GPS clock" in messages
    first = disagree[0].fields
    assert first["EXIF DateTimeOriginal"] == "2024:11:13 09:12:00"
    assert first["EXIF DateTimeDigitized"] == "2019:05:18 12:41:27"
    # The rewritten DateTimeOriginal is recent, but the other dates still prove the age.
    old = codes(findings)["capture_before_post"]
    assert old.red_flag and old.fields["EXIF DateTimeDigitized"] == "2019:05:18 12:41:27"


def test_consistent_dates_do_not_disagree():
    for name in ("camera-original.jpg", "edited-photoshop.jpg", "thumbnail-mismatch.jpg"):
        assert "dates_disagree" not in codes(metadata_findings(facts(name), POST_TIME, MARGIN))


def _dated(camera: datetime, gps: datetime) -> MetadataFacts:
    return MetadataFacts(
        present=True,
        capture_time=camera,
        capture_time_raw=camera.strftime("%Y:%m:%d %H:%M:%S"),
        gps_time=gps,
        gps_time_raw=gps.strftime("%Y:%m:%d %H:%M:%S"),
    )


def test_gps_clock_against_camera_clock():
    gps = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    kyiv = timezone(timedelta(hours=3))

    def disagree(camera: datetime) -> bool:
        found = metadata_findings(_dated(camera, gps), None, MARGIN)
        return "dates_disagree" in codes(found)

    # A camera clock with its offset: the same instant, or a fix an hour old, agree.
    assert not disagree(datetime(2024, 5, 1, 15, 0, tzinfo=kyiv))
    assert not disagree(datetime(2024, 5, 1, 16, 0, tzinfo=kyiv))
    assert disagree(datetime(2024, 5, 1, 18, 30, tzinfo=kyiv))
    # Without an offset the camera could be in any time zone: 10 hours is not a conflict.
    assert not disagree(datetime(2024, 5, 1, 22, 0))
    assert disagree(datetime(2024, 5, 3, 12, 0))


# --- the embedded thumbnail -----------------------------------------------------------------------


def test_thumbnail_that_shows_another_picture_is_a_red_flag():
    m = facts("thumbnail-mismatch.jpg")
    assert m.has_thumbnail and m.thumbnail_differs is True
    assert m.thumbnail_distance > THUMBNAIL_DIFF_BITS
    assert m.thumbnail_fingerprint is not None and "phash" in m.thumbnail_fingerprint.hashes
    finding = codes(metadata_findings(m, POST_TIME, MARGIN))["thumbnail_differs"]
    assert finding.red_flag and finding.source == "thumbnail"
    assert finding.fields["distance_bits"] == m.thumbnail_distance
    assert finding.fields["threshold_bits"] == THUMBNAIL_DIFF_BITS
    assert "thumbnail_differs" in red(metadata_findings(m, None, MARGIN))


def test_thumbnail_of_the_same_picture_matches():
    for name in ("camera-original.jpg", "edited-photoshop.jpg"):
        m = facts(name)
        assert m.thumbnail_differs is False and m.thumbnail_distance <= THUMBNAIL_DIFF_BITS
        found = codes(metadata_findings(m, POST_TIME, MARGIN))
        assert "thumbnail_differs" not in found and not found["thumbnail_matches"].red_flag


def _thumb(img: Image.Image, box=(160, 120), letterbox=True) -> Image.Image:
    small = img.copy()
    small.thumbnail(box)
    if letterbox:
        canvas = Image.new("RGB", box)
        canvas.paste(small, ((box[0] - small.size[0]) // 2, (box[1] - small.size[1]) // 2))
        small = canvas
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=75)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def test_thumbnail_threshold_on_real_photographs():
    """Thumbnails as cameras make them (letterboxed or not, portrait box) stay within the
    threshold of their own photo and beyond it for every other photo."""
    photos = {
        p.stem: imaging.open_for_hashing(p.read_bytes())
        for p in sorted([*(FIX / "known").glob("*.jpg"), *(FIX / "images").glob("*.jpg")])
        if not p.stem.startswith("x-seed")  # a crop of koksan-2010: the same picture
    }
    assert len(photos) >= 10
    for name, img in photos.items():
        for box, letterbox in (((160, 120), True), ((160, 120), False), ((120, 160), True)):
            assert thumbnail_distance(_thumb(img, box, letterbox), img) <= THUMBNAIL_DIFF_BITS, name
    same_picture = {frozenset(p) for p in [("chelsea-2024", "x-chelsea-mirrored")]}
    for a, b in [(a, b) for a in photos for b in photos if a != b]:
        if frozenset((a, b)) in same_picture or {a, b} == {"astronaut-2016", "x-video-poster"}:
            continue
        if {a, b} == {"coffee-2025", "b-coffee"}:
            continue
        assert thumbnail_distance(_thumb(photos[a]), photos[b]) > THUMBNAIL_DIFF_BITS, (a, b)


def test_thumbnail_of_a_rotated_photo_is_compared_upright():
    """Orientation 6: pixels and thumbnail are stored sideways; both are turned upright
    before they are compared (a sideways thumbnail would read as another picture)."""
    m = facts("rotated-orientation6.jpg")
    assert m.orientation == "Rotated 90 CW"
    assert (m.thumbnail_width, m.thumbnail_height) == (160, 120)
    assert m.thumbnail_differs is False and m.thumbnail_distance <= THUMBNAIL_DIFF_BITS
    stored = Image.open(META / "rotated-orientation6.jpg").convert("RGB")
    upright = imaging.open_for_hashing(data("rotated-orientation6.jpg"))
    assert upright.size == (stored.size[1], stored.size[0])
    assert thumbnail_distance(_thumb(stored), upright) > THUMBNAIL_DIFF_BITS


def test_thumbnail_pointing_past_the_end_is_reported():
    m = facts("hostile-thumbnail-past-end.jpg")
    assert m.readable and m.present and not m.has_thumbnail
    assert "past the end" in m.thumbnail_error
    assert (m.camera_make, m.camera_model) == ("Abc", "Xyz")
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    assert not found["thumbnail_unreadable"].red_flag
    assert "past the end" in found["thumbnail_unreadable"].fields["error"]


# --- absence ---------------------------------------------------------------------------------


def test_absent_metadata_is_a_fact_not_a_flag():
    m = facts("no-exif.jpg")
    assert not m.present and m.readable and m.provenance is not None
    findings = metadata_findings(m, POST_TIME, MARGIN)
    assert [f.code for f in findings] == ["metadata_absent"]
    assert not findings[0].red_flag
    assert "no C2PA" in findings[0].message
    assert image_verdict([], findings, POST_TIME)[0] is Verdict.NO_KNOWN_MATCH


def test_c2pa_can_be_skipped():
    assert facts("no-exif.jpg", c2pa=False).provenance is None
    m = facts("thumbnail-mismatch.jpg", compare_thumbnail=False)
    assert m.has_thumbnail and m.thumbnail_differs is None


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_exif_in_png_and_webp(fmt):
    img = Image.open(META / "camera-original.jpg")
    buf = io.BytesIO()
    img.save(buf, fmt, exif=img.getexif())
    m = read_metadata(buf.getvalue())
    assert m.container == fmt and m.present and m.readable
    assert m.camera_serial == "032021001234"
    assert m.capture_time_raw == "2019:05:18 12:41:27"


# --- hostile EXIF ------------------------------------------------------------------------------

HOSTILE = {
    "hostile-truncated-ifd.jpg": "truncated IFD",
    "hostile-ifd-self-loop.jpg": "IFD loop",
    "hostile-ifd-cycle.jpg": "IFD loop",
    "hostile-gps-fanout.jpg": "claims 5000 entries",
    "hostile-huge-count.jpg": "claims 4294967295 values",
    "hostile-ifd-outside.jpg": "outside",
    "hostile-segment-overrun.jpg": "runs past the end",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_exif_is_unreadable_and_never_reaches_exifread(name, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("exifread was handed a hostile block")

    monkeypatch.setattr(metadata.exifread, "process_file", refuse)
    m = read_metadata(data(name))
    assert not m.readable
    assert HOSTILE[name] in m.error
    [finding] = metadata_findings(m, POST_TIME, MARGIN)
    assert finding.code == "metadata_unreadable" and not finding.red_flag
    assert HOSTILE[name] in finding.message


def test_loops_are_found_whichever_pointer_closes_them():
    def block(nxt: int, *pointers: int) -> bytes:
        entries = [(0x010F, 2, 4, b"Abc\0")]
        entries += [(0x8825, 4, 1, struct.pack("<I", gps)) for gps in pointers]
        out = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", len(entries))
        for tag, kind, count, value in entries:
            out += struct.pack("<HHI", tag, kind, count) + value
        return out + struct.pack("<I", nxt)

    assert check_exif_structure(block(0)).ifds == [("IFD0", 8)]
    with pytest.raises(metadata.Unreadable, match="IFD loop: GPS IFD at offset 8 is IFD0"):
        check_exif_structure(block(0, 8))
    with pytest.raises(metadata.Unreadable, match="IFD loop: IFD1 at offset 8 is IFD0"):
        check_exif_structure(block(8))
    # Two GPS pointers at one IFD: exifread would parse it twice (the fan-out attack).
    with pytest.raises(metadata.Unreadable, match="IFD loop: GPS IFD at offset 26 is GPS IFD"):
        check_exif_structure(block(0, 26, 26))
    with pytest.raises(metadata.Unreadable, match="outside"):
        check_exif_structure(block(0, 0))  # a zero GPS pointer: exifread would read offset 0


def test_fuzzed_exif_never_raises():
    original = data("camera-original.jpg")
    exif = locate_metadata(original).exif
    start = original.index(exif)
    rng = random.Random(20241114)
    outcomes = set()
    for _ in range(300):
        mutated = bytearray(original)
        for _ in range(rng.randint(1, 8)):
            mutated[start + rng.randrange(len(exif))] = rng.randrange(256)
        m = read_metadata(bytes(mutated), c2pa=False)
        metadata_findings(m, POST_TIME, MARGIN)
        outcomes.add(m.readable)
    for cut in range(0, start + len(exif) + 64, 97):
        m = read_metadata(original[:cut], c2pa=False)
        outcomes.add(m.readable)
        metadata_findings(m, POST_TIME, MARGIN)
    assert outcomes == {True, False}  # the mutations reached both outcomes


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not an image at all",
        b"\xff\xd8",
        b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*\x00\x00\x00\x08",
        b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x10eXIf" + b"MM\x00*" * 2,
        b"RIFF\x00\x00\x00\x00WEBPEXIF\xff\xff\xff\x7f",
        b"II*\x00\xff\xff\xff\x0f",
    ],
)
def test_garbage_never_raises(raw):
    m = read_metadata(raw)
    assert isinstance(m, MetadataFacts)
    assert m.provenance is not None and not m.provenance.present
    metadata_findings(m, POST_TIME, MARGIN)


# --- C2PA Content Credentials ------------------------------------------------------------------


def test_signed_manifest_facts():
    p = read_provenance(data("c2pa-signed.jpg"), "image/jpeg")
    assert p.present and p.readable
    assert p.signer == "postcheck Test Signer" and p.issuer == "postcheck test"
    assert p.claim_generator.startswith("postcheck fixtures 1.0")
    assert p.algorithm.lower() == "es256"
    assert [a["action"] for a in p.actions] == ["c2pa.created", "c2pa.color_adjustments"]
    assert p.actions[0]["digitalSourceType"].endswith("/digitalCapture")
    assert p.actions[0]["softwareAgent"] == "postcheck test camera 1.0"
    assert p.actions[1]["description"] == "brightness +5"
    assert p.validation_state == "Valid" and p.passed is True and p.trusted is False
    assert [f["code"] for f in p.validation_failures] == ["signingCredential.untrusted"]
    assert not p.ai_generated
    found = codes(provenance_findings(p))
    assert set(found) == {"c2pa_signed", "c2pa_actions"}
    assert not any(f.red_flag for f in found.values())
    assert "signed by postcheck Test Signer (postcheck test)" in found["c2pa_signed"].message
    assert "not on a trust list" in found["c2pa_signed"].message
    assert "created (digitalCapture" in found["c2pa_actions"].message


def test_signer_is_trusted_with_its_root_certificate():
    ca = (META / "c2pa-test-ca.pem").read_text()
    p = read_provenance(data("c2pa-signed.jpg"), trust_anchors=ca)
    assert p.validation_state == "Trusted" and p.trusted and p.passed
    assert p.validation_failures == []
    assert "signer trusted" in codes(provenance_findings(p))["c2pa_signed"].message


def test_manifest_and_exif_are_read_together():
    m = facts("c2pa-signed.jpg")
    assert m.present and m.camera_serial == "032021001234"
    assert m.provenance.present and m.provenance.passed
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    assert {"c2pa_signed", "c2pa_actions", "metadata_present"} <= set(found)
    assert "C2PA present" in found["metadata_present"].message


def test_tampered_file_fails_validation():
    p = read_provenance(data("c2pa-tampered.jpg"))
    assert p.present and p.validation_state == "Invalid" and p.passed is False
    assert "assertion.dataHash.mismatch" in {f["code"] for f in p.validation_failures}
    invalid = codes(provenance_findings(p))["c2pa_invalid"]
    assert invalid.red_flag and "changed after signing" in invalid.message
    assert invalid.fields["failures"][0]["code"] == "assertion.dataHash.mismatch"
    # The signature still names its signer; the flag says the file changed since.
    findings = metadata_findings(read_metadata(data("c2pa-tampered.jpg")), POST_TIME, 100_000)
    assert "c2pa_invalid" in red(findings)
    assert image_verdict([], findings, POST_TIME)[0] is Verdict.METADATA_CONFLICT


def test_ai_generated_claim_is_a_red_flag_even_without_exif():
    m = facts("c2pa-ai-generated.jpg")
    assert not m.present and m.provenance.ai_generated and m.provenance.passed
    findings = metadata_findings(m, POST_TIME, MARGIN)
    assert [f.code for f in findings] == [
        "metadata_absent",
        "c2pa_signed",
        "c2pa_actions",
        "c2pa_ai_generated",
    ]
    assert red(findings) == {"c2pa_ai_generated"}
    assert image_verdict([], findings, POST_TIME)[0] is Verdict.METADATA_CONFLICT


def test_no_manifest_is_a_fact():
    p = read_provenance(data("camera-original.jpg"))
    assert not p.present and p.readable and p.error is None
    [finding] = provenance_findings(p)
    assert finding.code == "c2pa_absent" and not finding.red_flag


def test_broken_manifest_is_a_failed_validation():
    signed = data("c2pa-signed.jpg")
    at = signed.index(b"jumb")
    broken = bytearray(signed)
    broken[at + 500] ^= 0xFF
    p = read_provenance(bytes(broken))
    assert p.present and p.passed is False
    assert "c2pa_invalid" in red(provenance_findings(p))
    cut = read_provenance(signed[: at + 300])
    assert cut.present and not cut.readable and "unreadable" in cut.error


def test_fuzzed_manifest_never_raises():
    signed = data("c2pa-signed.jpg")
    start = signed.index(b"jumb") - 8
    end = signed.index(b"\xff\xdb")  # the manifest sits before the quantisation tables
    rng = random.Random(7)
    states = set()
    for _ in range(60):
        mutated = bytearray(signed)
        for _ in range(rng.randint(1, 4)):
            mutated[rng.randrange(start, end)] = rng.randrange(256)
        p = read_provenance(bytes(mutated))
        provenance_findings(p)
        states.add(p.passed)
    assert False in states


@pytest.mark.parametrize("raw", [b"", b"garbage", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"])
def test_provenance_of_garbage_never_raises(raw):
    p = read_provenance(raw)
    assert not p.present


# --- the post against the known original ------------------------------------------------------------


def test_same_camera_serial_and_capture_time_as_the_known_original():
    known = facts("camera-original.jpg")
    found = compare_with_known(facts("edited-photoshop.jpg"), known)
    by = codes(found)
    assert {"same_camera_serial", "same_capture_time", "same_gps"} <= set(by)
    assert by["same_camera_serial"].fields == {"post": "032021001234", "known": "032021001234"}
    assert by["same_capture_time"].fields["post_subsec"] == "42"
    assert all(f.source == "known-original" for f in found)
    assert not red(found)
    edited = by["edited_since_original"]
    assert "Adobe Photoshop 25.3" in edited.message and "Canon" not in edited.message


def test_rewritten_capture_time_against_the_known_original():
    found = compare_with_known(facts("dates-disagree.jpg"), facts("camera-original.jpg"))
    differs = codes(found)["capture_time_differs"]
    assert differs.red_flag
    assert differs.fields["post"] == "2024:11:13 09:12:00"
    assert differs.fields["known"] == "2019:05:18 12:41:27"
    assert "same_camera_serial" in codes(found)


def test_different_camera_against_the_known_original():
    found = compare_with_known(facts("thumbnail-mismatch.jpg"), facts("camera-original.jpg"))
    assert {"camera_differs", "lens_differs", "capture_time_differs"} <= red(found)
    assert codes(found)["camera_differs"].fields["known"]["model"] == "Canon EOS 5D Mark IV"
    assert "gps_only_in_known" in codes(found)


def test_stripped_post_gets_the_known_originals_metadata():
    [finding] = compare_with_known(facts("no-exif.jpg"), facts("camera-original.jpg"))
    assert finding.code == "known_original_metadata" and not finding.red_flag
    assert finding.fields["known"]["camera_serial"] == "032021001234"
    assert "captured 2019:05:18 12:41:27 +03:00" in finding.message
    [other] = compare_with_known(facts("camera-original.jpg"), facts("no-exif.jpg"))
    assert other.code == "post_metadata_only"
    [none] = compare_with_known(facts("no-exif.jpg"), facts("hostile-truncated-ifd.jpg"))
    assert none.code == "no_metadata_to_compare"


def _facts(**kw) -> MetadataFacts:
    return MetadataFacts(present=True, **kw)


def test_serial_and_place_comparisons():
    known = _facts(camera_make="Nikon", camera_model="D850", camera_serial="6012345")
    assert "camera_serial_differs" in red(
        compare_with_known(_facts(camera_model="D850", camera_serial="6099999"), known)
    )
    same_model = codes(compare_with_known(_facts(camera_make="NIKON", camera_model="d850"), known))
    assert "same_camera" in same_model and not any(f.red_flag for f in same_model.values())

    here = _facts(gps_lat=50.45, gps_lon=30.52)
    assert distance_km(50.45, 30.52, 50.45, 30.59) == pytest.approx(4.96, abs=0.05)
    assert "gps_differs" in red(compare_with_known(_facts(gps_lat=50.45, gps_lon=30.59), here))
    near = codes(compare_with_known(_facts(gps_lat=50.4525, gps_lon=30.52), here))
    assert "gps_close" in near and not near["gps_close"].red_flag
    assert "same_gps" in codes(compare_with_known(_facts(gps_lat=50.45, gps_lon=30.52), here))
    assert "gps_only_in_post" in codes(compare_with_known(here, _facts(camera_model="X")))


def test_capture_time_comparisons():
    t = datetime(2022, 2, 24, 5, 30, 0)
    known = _facts(capture_time=t, capture_time_raw="2022:02:24 05:30:00")
    burst = compare_with_known(_facts(capture_time=t + timedelta(seconds=1)), known)
    assert codes(burst)["capture_time_close"].red_flag is False
    later = compare_with_known(_facts(capture_time=t + timedelta(hours=5)), known)
    assert "capture_time_differs" in red(later)
    # Same wall clock, different offsets: different instants, so different capture times.
    a = _facts(capture_time=t.replace(tzinfo=timezone(timedelta(hours=2))))
    b = _facts(capture_time=t.replace(tzinfo=timezone(timedelta(hours=3))))
    assert "capture_time_differs" in red(compare_with_known(a, b))
    sub = compare_with_known(
        _facts(capture_time=t, capture_subsec="10"), _facts(capture_time=t, capture_subsec="90")
    )
    assert "capture_time_close" in codes(sub)


# --- GPS against the claimed place ---------------------------------------------------------------

KYIV = "50.4501,30.5234"  # camera-original.jpg was taken here (50.45501, 30.52340)


def test_gps_near_the_claimed_place_is_a_fact():
    from postcheck.verifiers.place import parse_claimed_place, place_findings

    [found] = place_findings(facts("camera-original.jpg"), parse_claimed_place(KYIV))
    assert found.code == "gps_near_claimed_place" and not found.red_flag
    assert found.fields["distance_km"] < 1


def test_gps_far_from_the_claimed_place_is_a_conflict():
    from postcheck.verifiers.place import parse_claimed_place, place_findings

    kursk = parse_claimed_place("51.7373,36.1873")
    [found] = place_findings(facts("camera-original.jpg"), kursk)
    assert found.code == "gps_far_from_claimed_place" and found.red_flag
    assert 400 < found.fields["distance_km"] < 440  # Kyiv to Kursk: about 420 km
    assert "420 km from the claimed place" in found.message
    verdict, _ = image_verdict([], [found], POST_TIME, None)
    assert verdict is Verdict.METADATA_CONFLICT
    # A wider radius, for a vaguer claim, accepts it.
    [wide] = place_findings(
        facts("camera-original.jpg"), parse_claimed_place("51.7373,36.1873,500")
    )
    assert not wide.red_flag


def test_no_gps_to_compare_is_said_plainly():
    from postcheck.verifiers.place import parse_claimed_place, place_findings

    [found] = place_findings(facts("no-exif.jpg"), parse_claimed_place(KYIV))
    assert found.code == "gps_absent_for_claimed_place" and not found.red_flag
    assert place_findings(facts("camera-original.jpg"), None) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kursk", "give LAT,LON or LAT,LON,KM"),
        ("51.7,abc", "not numbers"),
        ("91,30", "latitude -90..90"),
        ("50,181", "longitude -180..180"),
        ("50,30,0", "radius must be between"),
        ("50,30,nan", "not finite"),
    ],
)
def test_bad_claimed_places_get_one_line(text, message):
    from postcheck.verifiers.place import parse_claimed_place

    with pytest.raises(ValueError, match=message):
        parse_claimed_place(text)


# --- dates at the ends of the calendar ---------------------------------------------------------


def _jpeg_dated(original: str, offset: str) -> bytes:
    img = Image.new("RGB", (64, 48), (120, 130, 140))
    exif = img.getexif()
    ifd = exif.get_ifd(0x8769)  # the Exif sub-IFD
    ifd[0x9003] = original  # DateTimeOriginal
    ifd[0x9011] = offset  # OffsetTimeOriginal
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.parametrize(
    ("raw", "offset"), [("0001:01:01 00:00:00", "+05:00"), ("9999:12:31 23:00:00", "-05:00")]
)
def test_exif_dates_of_year_1_and_9999_are_not_dates(raw, offset):
    """A camera clock at the end of the calendar says nothing about when: kept as the raw
    text, not read as a date, and no date arithmetic on it overflows."""
    m = read_metadata(_jpeg_dated(raw, offset))
    assert m.capture_time_raw == raw and m.capture_offset == offset
    assert m.capture_time is None
    found = codes(metadata_findings(m, POST_TIME, MARGIN))
    assert "capture_before_post" not in found and "capture_after_post" not in found


@pytest.mark.parametrize(
    "post", [datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC)]
)
def test_date_arithmetic_never_overflows(post):
    """`post - margin` at year 1 (or `post + a day` at 9999) once raised OverflowError."""
    m = facts("camera-original.jpg")
    found = codes(metadata_findings(m, post, MARGIN))
    assert ("capture_after_post" in found) == (post.year == 1)
    assert ("capture_before_post" in found) == (post.year == 9999)


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "1799-12-31", "2200-01-01"]
)
def test_dates_out_of_range_are_refused_with_one_line(text):
    from postcheck.dates import parse_datetime

    with pytest.raises(
        ValueError, match=r"^claimed date .* is out of range \(1800-01-01 to 2199-12-31\)$"
    ):
        parse_datetime(text, "claimed date")
    assert parse_datetime("1800-01-01", "x").year == 1800
