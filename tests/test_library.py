"""The known-image library: bulk import with a manifest, merging, resuming, learning."""

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from postcheck.domain import Verdict
from postcheck.library import import_folder, read_manifest

FIX = Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def archive(tmp_path):
    root = tmp_path / "archive"
    (root / "2010").mkdir(parents=True)
    shutil.copy(FIX / "known" / "koksan-2010.jpg", root / "2010" / "koksan.jpg")
    shutil.copy(FIX / "known" / "koksan-2010.jpg", root / "2010" / "koksan-copy.jpg")  # same bytes
    shutil.copy(FIX / "known" / "astronaut-2016.jpg", root / "astronaut.jpg")
    shutil.copy(FIX / "images" / "x-coins.jpg", root / "coins.JPG")
    (root / "notes.jpg").write_text("not an image at all")
    (root / "truncated.jpg").write_bytes((FIX / "known" / "coffee-2025.jpg").read_bytes()[:5000])
    (root / "readme.txt").write_text("ignored: not an image suffix")
    (root / "archive.csv").write_text(
        "path,source_url,first_seen,caption,credit,tags\n"
        "2010/koksan.jpg,https://example.org/2012/reprint,2012-01-01,Koksan reprint,Wire,parade\n"
        "2010/koksan-copy.jpg,https://example.org/2010/parade,2010-10-10,Koksan SPGs,Wire,artillery;parade\n"
        "astronaut.jpg,https://images.example.gov/a,2016-03-01,Astronaut,,\n"
        "missing.jpg,https://example.org/gone,2001-01-01,,,\n"
        "coins.JPG,,not-a-date,,,\n"
    )
    return root


def test_import_with_manifest_merges_and_reports_bad_files(svc, archive):
    seen = []
    report = import_folder(
        svc,
        archive,
        archive / "archive.csv",
        workers=2,
        progress=lambda d, t, w: seen.append((d, t)),
    )
    assert (report.added, report.merged, report.skipped) == (3, 1, 0)
    failures = dict(report.failed)
    assert failures["archive.csv:6"].startswith("first_seen: not a date")
    assert any("missing.jpg" in k and "not found" in v for k, v in failures.items())
    assert "not an image" in failures[str(archive / "notes.jpg")]
    assert "truncated" in failures[str(archive / "truncated.jpg")]
    assert seen[-1] == (6, 6)  # every file ticked once

    known = {k.caption: k for k in svc.store.list_known()}
    # Two copies of the same bytes: one entry, the earliest first-seen and its source.
    koksan = known["Koksan SPGs"]
    assert koksan.first_seen == datetime(2010, 10, 10, tzinfo=UTC)
    assert koksan.source_url == "https://example.org/2010/parade"
    assert (
        svc.store.count_known() == 3
    )  # koksan, astronaut, coins (its bad date row skipped, file still imported)


def test_a_manifest_row_with_a_date_out_of_range_is_reported_and_the_rest_imported(svc, tmp_path):
    """Year 1 at +05:00 has no UTC equivalent: it once aborted the import half-way at the
    database write. Now the row is refused and reported, every other row imported."""
    names = ["koksan-2010.jpg", "astronaut-2016.jpg", "coffee-2025.jpg", "chelsea-2024.jpg"]
    for name in names:
        shutil.copy(FIX / "known" / name, tmp_path / name)
    shutil.copy(FIX / "images" / "x-coins.jpg", tmp_path / "coins.jpg")
    (tmp_path / "m.csv").write_text(
        "path,source_url,first_seen,caption,credit,tags\n"
        + "".join(f"{n},,2010-01-0{i + 1},{n},,\n" for i, n in enumerate(names[:2]))
        + "coins.jpg,,0001-01-01T00:00:00+05:00,coins,,\n"
        + "".join(f"{n},,2011-01-0{i + 1},{n},,\n" for i, n in enumerate(names[2:]))
    )
    report = import_folder(svc, tmp_path, tmp_path / "m.csv", workers=1)
    assert report.added == 5  # coins.jpg is in the folder: imported, without the bad date
    [(where, why)] = report.failed
    assert where == "m.csv:4" and "out of range" in why
    assert all(
        k.first_seen is None or k.first_seen.year in (2010, 2011) for k in svc.store.list_known()
    )


def test_reimport_skips_what_is_in(svc, archive):
    import_folder(svc, archive, archive / "archive.csv", workers=2)
    before = svc.store.counts()
    again = import_folder(svc, archive, archive / "archive.csv", workers=2)
    assert (again.added, again.merged, again.skipped) == (0, 0, 4)
    assert svc.store.counts() == before


def test_json_manifest_and_errors(tmp_path):
    (tmp_path / "m.json").write_text(
        json.dumps([{"path": "a.jpg", "first_seen": "2001-02-03", "tags": ["x"]}])
    )
    rows, bad = read_manifest(tmp_path / "m.json")
    [(path, prov)] = rows.items()
    assert path == (tmp_path / "a.jpg").resolve() and prov.tags == ["x"] and not bad
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_manifest(tmp_path / "bad.json")
    (tmp_path / "nohead.csv").write_text("a.jpg,https://x\n")
    with pytest.raises(ValueError, match="needs a header"):
        read_manifest(tmp_path / "nohead.csv")


def test_json_manifest_rows_are_validated_one_by_one(svc, tmp_path):
    """A wrong type in one row (`"tags": 5`) once refused the whole manifest with an
    internal TypeError; now that row is reported, with its field, and the rest imported."""
    for name in ("koksan-2010.jpg", "astronaut-2016.jpg", "coffee-2025.jpg"):
        shutil.copy(FIX / "known" / name, tmp_path / name)
    rows = [
        {"path": "koksan-2010.jpg", "first_seen": "2010-10-10", "tags": ["parade", "artillery"]},
        {"path": "astronaut-2016.jpg", "caption": "Astronaut", "tags": 5},
        {"path": "coffee-2025.jpg", "caption": 7, "first_seen": 20250601},
        "coffee-2025.jpg",
        {"caption": "no path"},
        {"path": "coffee-2025.jpg", "tags": "food; cup", "credit": ""},
    ]
    (tmp_path / "m.json").write_text(json.dumps(rows))
    report = import_folder(svc, tmp_path, tmp_path / "m.json", workers=1)
    assert report.added == 3
    failures = dict(report.failed)
    assert failures == {
        "m.json:2": "tags: Input should be a valid list",
        "m.json:3": "first_seen: not a date: 20250601 (use YYYY-MM-DD or an ISO timestamp); "
        "caption: Input should be a valid string",
        "m.json:4": "row is not an object (str)",
        "m.json:5": "path: missing",
    }
    provenance, _ = read_manifest(tmp_path / "m.json")
    tags = {p.name: prov.tags for p, prov in provenance.items()}
    assert tags == {"koksan-2010.jpg": ["parade", "artillery"], "coffee-2025.jpg": ["food", "cup"]}


def test_index_follows_the_library(svc):
    """The in-memory index sees additions and removals without a restart."""
    from postcheck.library import add_known_file

    query = FIX / "images" / "x-seed-koksan.jpg"
    assert svc.library.search(query) == []
    known, _ = add_known_file(
        svc, FIX / "known" / "koksan-2010.jpg", first_seen=datetime(2010, 10, 10, tzinfo=UTC)
    )
    [m] = svc.library.search(query)
    assert m.is_match and m.known.id == known.id and m.known.first_seen.year == 2010
    add_known_file(svc, FIX / "known" / "coffee-2025.jpg")
    assert len(svc.library.search(query)) == 2
    svc.store.remove_known(known.id)
    assert not any(m.is_match for m in svc.library.search(query))
    assert known.id not in {m.known.id for m in svc.library.search(query)}


SEED = "https://x.com/Archer83Able/status/1857106849690673728"


def test_learn_on_verify_catches_a_later_reuse(prefect_api, svc, server):
    """A fresh photo seen in one post makes a later post reusing it `recycled`, pointing at
    the earlier post."""
    from postcheck.flows.verify_post import verify_post

    first = verify_post(
        "https://x.com/fixture_news/status/1841391417553846349", return_state=True
    ).result()
    assert first.verdict is Verdict.NO_KNOWN_MATCH
    learned = svc.store.list_known()
    assert {k.origin for k in learned} == {"learned"} and len(learned) == 2
    assert all(k.post_uri == "x:1841391417553846349" for k in learned)

    # The seed post (later, 2024-11-14) now shows the motorcycle photo of 2024-10-02.
    server.world.replace_image("1857106849690673728", 0, "images/x-motorcycle.jpg")
    later = verify_post(SEED, return_state=True).result()
    assert later.verdict is Verdict.RECYCLED
    assert (
        "x:1841391417553846349" in later.images[0].reasons[0]
        or "1841391417553846349" in later.images[0].reasons[0]
    )

    # Checking the first post again: its own pictures are no evidence against it.
    again = verify_post(
        "https://x.com/fixture_news/status/1841391417553846349", return_state=True
    ).result()
    assert again.verdict is Verdict.NO_KNOWN_MATCH


def test_check_a_local_file_and_a_url(prefect_api, known_library, server, tmp_path):
    from postcheck.flows.check_image import check_image

    report = check_image(str(FIX / "images" / "x-seed-koksan.jpg"), return_state=True).result()
    assert report.verdict is Verdict.MATCHES_KNOWN  # no claimed date: cannot say older
    report = check_image(
        str(FIX / "images" / "x-seed-koksan.jpg"), claimed_date="2024-11-14", return_state=True
    ).result()
    assert report.verdict is Verdict.RECYCLED
    server.world.files["pic.jpg"] = (
        (FIX / "images" / "x-chelsea-mirrored.jpg").read_bytes(),
        "image/jpeg",
    )
    report = check_image(f"{server.base_url}/files/pic.jpg", return_state=True).result()
    assert report.verdict is Verdict.ALTERED and "mirrored" in report.reasons[0]
    state = check_image(str(tmp_path / "nope.jpg"), return_state=True)
    assert state.is_failed() and "no such file" in state.result(raise_on_failure=False).reasons[0]


def test_a_match_is_compared_with_the_known_originals_metadata(prefect_api, svc, tmp_path):
    """The known original's EXIF (kept from import) is set against the post's copy."""
    import io

    from PIL import Image

    from postcheck.flows.check_image import check_image
    from postcheck.library import add_known_file

    original = FIX / "metadata" / "camera-original.jpg"
    add_known_file(svc, original, first_seen=datetime(2019, 6, 1, tzinfo=UTC), caption="original")
    picture = Image.open(original).convert("RGB")

    stripped = tmp_path / "stripped.jpg"
    picture.save(stripped, "JPEG", quality=80)  # what platforms serve: no metadata
    report = check_image(str(stripped), return_state=True).result()
    codes = {f.code for f in report.images[0].findings}
    assert "known_original_metadata" in codes
    assert report.verdict is Verdict.MATCHES_KNOWN

    other = tmp_path / "other-camera.jpg"
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Nikon", "NIKON D750"
    buf = io.BytesIO()
    picture.save(buf, "JPEG", quality=85, exif=exif.tobytes())
    other.write_bytes(buf.getvalue())
    report = check_image(str(other), return_state=True).result()
    flags = [f for f in report.images[0].findings if f.red_flag]
    assert any(f.code == "camera_differs" and f.source == "known-original" for f in flags)
    assert report.verdict is Verdict.METADATA_CONFLICT


def test_check_with_a_claimed_place_far_from_the_files_gps(prefect_api, svc):
    from postcheck.flows.check_image import check_image

    photo = str(FIX / "metadata" / "camera-original.jpg")  # GPS: Kyiv
    report = check_image(photo, claimed_place="51.7373,36.1873", return_state=True).result()
    assert report.verdict is Verdict.METADATA_CONFLICT
    assert any("km from the claimed place" in r for r in report.reasons)
    report = check_image(photo, claimed_place="50.45,30.52,25", return_state=True).result()
    assert "gps_near_claimed_place" in {f.code for f in report.images[0].findings}
    state = check_image(photo, claimed_place="somewhere", return_state=True)
    assert state.is_failed() and "bad claimed place" in state.message


def _children(pid: int) -> dict[int, str]:
    """Processes whose parent is `pid`, with their command lines (Linux /proc)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its reaper has not looked yet


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_killed_import_takes_its_workers_with_it(tmp_path):
    """kill -9 of `known import` once left its pool workers (~200 MB each) and the
    resource tracker running for ever, re-parented to PID 1."""
    import os
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "many"
    folder.mkdir()
    photo = (FIX / "known" / "koksan-2010.jpg").read_bytes()
    for i in range(80):  # distinct bytes after the JPEG's end: 80 files to hash
        (folder / f"p{i:03d}.jpg").write_bytes(photo + i.to_bytes(4, "big"))
    env = {**os.environ, "POSTCHECK_DATA_DIR": str(tmp_path / "data")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postcheck.cli", "known", "import", str(folder), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        workers: dict[int, str] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            children = _children(proc.pid)
            workers = {p: c for p, c in children.items() if "spawn_main" in c}
            if len(workers) == 2 and any("resource_tracker" in c for c in children.values()):
                break
            time.sleep(0.1)
        assert len(workers) == 2, "the import never started its two workers"
        helpers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in helpers):
            time.sleep(0.1)
        left = {p: c for p, c in helpers.items() if _alive(p)}
        for pid in left:  # do not leave them behind for the rest of the suite
            os.kill(pid, signal.SIGKILL)
        assert not left, f"still running after their parent was killed: {left}"
    finally:
        if proc.poll() is None:
            proc.kill()
