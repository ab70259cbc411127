"""Hash lists read back (`known import-hashes`): python-threatexchange's local file and our
CSV, bad lines named, re-imports idempotent, and hash-only matches judged and worded as
resting on a hash alone (PDQ's threshold 31, quality floor 50)."""

from pathlib import Path

from PIL import Image

from postcheck import safe_markdown
from postcheck.bundle import html_report
from postcheck.domain import Verdict
from postcheck.hash_lists import parse_hash_list
from postcheck.library import import_hash_list
from postcheck.report import markdown_report
from postcheck.verifiers.families import families
from postcheck.verifiers.perceptual import library_view

FIX = Path(__file__).parents[1] / "fixtures"
KOKSAN = "8792786c8f9350e4af1bc0e03f1fc0e03f1cc2f33da482737dcc821b24ecf376"


def pdq_hex(path: Path, flip_bits: int = 0) -> str:
    """The picture's PDQ code, with its first `flip_bits` bits flipped (a near hash)."""
    code = bytearray(families()["pdq"].library_codes(library_view(path))[""])
    for bit in range(flip_bits):
        code[bit // 8] ^= 0x80 >> (bit % 8)
    return code.hex()


def test_threatexchange_lines_and_csv_rows_are_read_and_bad_ones_named():
    text = (
        f"pdq {KOKSAN}\n"
        "\n"
        "# a comment\n"
        f"{KOKSAN.upper()[:-1]}5\n"  # a bare signal (the collab's signal type): PDQ
        "video_md5 d41d8cd98f00b204e9800998ecf8427e\n"
        f"pdq {KOKSAN[:-2]}\n"
        f"pdq {KOKSAN[:-1]}g\n"
    )
    parsed = parse_hash_list(text)
    assert parsed.format == "tx"
    assert [(e.line, e.code.hex()) for e in parsed.entries] == [
        (1, KOKSAN),
        (4, KOKSAN[:-1] + "5"),
    ]
    assert parsed.bad == [
        (5, "signal type 'video_md5' is not matchable hash-only (only pdq is): skipped"),
        (6, "not a PDQ hash: 64 hex digits expected, 62 found"),
        (7, "not a PDQ hash: not hexadecimal"),
    ]
    csv_text = (
        "signal_type,hash,source_url,first_seen,caption\n"
        f'pdq,{KOKSAN},https://example.org/p,2010-10-10T00:00:00+00:00,"Koksan, parade"\n'
        f"pdq,{KOKSAN[:-1]}0,,yesterday-ish,\n"
        "md5,d41d8cd98f00b204e9800998ecf8427e,,,\n"
    )
    parsed = parse_hash_list(csv_text)
    assert parsed.format == "csv"
    [entry] = parsed.entries
    assert (entry.line, entry.source_url, entry.caption) == (
        2,
        "https://example.org/p",
        "Koksan, parade",
    )
    assert entry.first_seen.year == 2010
    assert [n for n, _ in parsed.bad] == [3, 4] and "not a date" in parsed.bad[0][1]


def test_a_hash_only_match_is_worded_and_judged_on_a_hash_alone(prefect_api, known_library):
    from postcheck.flows.check_image import check_image

    svc, photo = known_library, FIX / "images" / "x-coins.jpg"
    near = pdq_hex(photo, flip_bits=5)
    csv_text = (
        "signal_type,hash,source_url,first_seen,caption\n"
        f"pdq,{near},https://other-desk.example/7,2001-05-01,Coins on a table\n"
    )
    parsed, added = import_hash_list(svc, csv_text, "other-desk.csv")
    assert added == 1 and not parsed.bad

    report = check_image(str(photo), return_state=True).result()
    [image] = report.images
    assert report.verdict is Verdict.MATCHES_KNOWN  # no claimed date: cannot say older
    best = image.evidence
    assert best.hash_only and best.is_match and best.known.hash_only
    wording = "PDQ distance 5 to a hash from other-desk.csv (line 2); no file could confirm it"
    assert best.stage == wording
    assert wording in image.reasons[0]
    assert wording in report.model_dump_json()
    md = markdown_report(report, svc.media)
    assert "| hash only: no file |" in md and f"hash only: {safe_markdown.text(wording)}" in md
    html = html_report(report.model_dump(mode="json"), {}, [], "")
    assert "The known picture is a hash alone" in html and "no file could confirm it" in html

    claimed = check_image(str(photo), claimed_date="2024-01-01", return_state=True).result()
    assert claimed.verdict is Verdict.RECYCLED
    assert claimed.reasons[0].endswith("this rests on a hash alone")
    assert "first seen 2001-05-01" in claimed.reasons[0]


def test_a_flat_picture_claims_no_hash_only_match(prefect_api, known_library, tmp_path):
    from postcheck.flows.check_image import check_image

    _, added = import_hash_list(known_library, f"pdq {KOKSAN[:-1]}0\n", "list.txt")
    assert added == 1
    flat = tmp_path / "flat.png"
    Image.new("RGB", (300, 200), (128, 128, 128)).save(flat)
    report = check_image(str(flat), return_state=True).result()
    assert report.verdict is Verdict.NO_KNOWN_MATCH
    assert not any(m.hash_only for m in report.images[0].matches)
    assert (
        "too flat a picture for PDQ (its quality is under 50): no hash-only match can be claimed"
        in report.reasons
    )


def test_a_known_file_decides_over_a_hash_only_entry(prefect_api, known_library):
    """The seed's picture matches the 2010 Koksan photo by its file and a hash-only entry
    'first seen' in 1999: the file-confirmed match decides, the hash is listed beside it."""
    from postcheck.flows.check_image import check_image

    svc, photo = known_library, FIX / "images" / "x-seed-koksan.jpg"
    import_hash_list(
        svc,
        f"signal_type,hash,source_url,first_seen,caption\npdq,{pdq_hex(photo, 3)},,1999-01-01,\n",
        "old.csv",
    )
    svc.library.reindex()  # hash-only entries survive a rebuild of the on-disk index
    report = check_image(str(photo), claimed_date="2024-11-14", return_state=True).result()
    [image] = report.images
    assert report.verdict is Verdict.RECYCLED
    assert image.evidence.known.caption == "Koksan SPGs at the 2010 parade"
    assert not image.evidence.hash_only and "hash alone" not in report.reasons[0]
    hashed = [m for m in image.matches if m.hash_only]
    assert hashed and hashed[0].is_match and image.matches[0] is image.evidence
