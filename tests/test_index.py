"""The known library's index on disk: it persists, follows the store, is shared by
processes that append to it at once, and is rebuilt by its own command, never by a search."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

from postcheck.index_cache import IndexCache
from postcheck.known_index import LOG, Manifest, OnDiskIndex, read_records
from postcheck.library import add_known_file
from postcheck.media import MediaStore
from postcheck.services import Services
from postcheck.settings import Settings
from postcheck.store import Store

FIX = Path(__file__).parents[1] / "fixtures"
TESTS = Path(__file__).parent
KOKSAN = FIX / "known" / "koksan-2010.jpg"


def make_services(data: Path, db_url: str) -> Services:
    settings = Settings(data_dir=data, database_url=db_url)
    store = Store(db_url)
    media = MediaStore(settings.media_dir)
    return Services(settings, store, media, IndexCache(store, media, settings.index_path))


def mirrored_copy(path: Path, out: Path) -> Path:
    ImageOps.mirror(Image.open(path).convert("RGB")).save(out, quality=85)
    return out


def owners(index: OnDiskIndex, family: str) -> list[int]:
    table = index.tables[family]
    parts = [np.asarray(table.base_owners), *table.delta_owners]
    return np.concatenate(parts).tolist() if parts else []


def test_index_persists_follows_removals_and_rebuilds(db_url, tmp_path):
    svc = make_services(tmp_path / "data", db_url)
    query = mirrored_copy(KOKSAN, tmp_path / "q.jpg")
    known, _ = add_known_file(svc, KOKSAN, first_seen=None)
    [found] = [m for m in svc.library.search(query) if m.is_match]
    assert found.known.id == known.id
    # A new process opens the files as they are: the addition is in the log already.
    other = IndexCache(svc.store, svc.media, svc.settings.index_path)
    other.disk.refresh(svc.store, -1)  # no catch-up from the store: only what is on disk
    assert known.id in owners(other.disk, "dct256")
    manifest = Manifest.read(svc.settings.index_path)
    # A rebuild: a new generation, the codes in its (memory-mapped) base, an empty log;
    # the process that had the old one open switches at its next search.
    report = svc.library.reindex()
    assert report.switched and report.pictures == 1
    assert Manifest.read(svc.settings.index_path).generation != manifest.generation
    assert other.disk.manifest.generation == manifest.generation
    assert [m.known.id for m in other.search(query) if m.is_match] == [known.id]
    assert other.disk.manifest.generation == report.generation
    assert other.disk.tables["dct256"].delta_rows == 0
    # A removal is filtered at query time (its codes stay until the next rebuild).
    assert svc.store.remove_known(known.id)
    assert not any(m.is_match for m in other.search(query))
    assert known.id in owners(other.disk, "dct256")
    svc.library.reindex()
    assert not any(m.is_match for m in other.search(query))
    assert owners(other.disk, "dct256") == []
    svc.store.close()


def test_a_torn_append_is_ignored_then_cut(tmp_path):
    svc = make_services(tmp_path / "data", f"sqlite:///{tmp_path / 'db.sqlite'}")
    sys.path.insert(0, str(TESTS))
    from index_worker import synthetic

    svc.store.add_known_many(list(synthetic(3, 1)))
    svc.library.added()
    manifest = Manifest.read(svc.settings.index_path)
    log = svc.settings.index_path / manifest.generation / LOG
    good = log.stat().st_size
    with open(log, "ab") as fh:  # a writer killed in the middle of its record
        fh.write(b"PCXL" + b"\x00" * 10)
    fresh = OnDiskIndex(svc.settings.index_path)
    fresh.refresh(svc.store, svc.store.library_version()[0])
    assert len(owners(fresh, "dct256")) == 6  # whole and trim of three
    svc.store.add_known_many(list(synthetic(2, 2)))
    svc.library.added()
    records, end = read_records(log, 0)
    assert [(a, b) for a, b, _ in records] == [(0, 1), (1, 2)]
    assert end == log.stat().st_size > good
    svc.store.close()


def _env(data: Path, db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"POSTCHECK_DATA_DIR": str(data), "POSTCHECK_DATABASE_URL": db_url})
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return env


def test_a_picture_added_by_one_process_is_found_by_another_already_running(db_url, tmp_path):
    """A running checker (as `serve` or a worker would be) has the index open; `postcheck
    known add` in another process adds a picture; the checker's next search finds it."""
    data = tmp_path / "data"
    Store(db_url).close()
    env = _env(data, db_url)
    query = mirrored_copy(KOKSAN, tmp_path / "q.jpg")
    checker = subprocess.Popen(
        [sys.executable, str(TESTS / "index_worker.py"), "checker", str(query), str(tmp_path)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not (tmp_path / "ready").exists():
        assert checker.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    added = subprocess.run(
        [sys.executable, "-m", "postcheck.cli", "known", "add", str(KOKSAN)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    known_id = int(added.stdout.split("#")[1].split()[0])
    (tmp_path / "go").write_text("1")
    out, _ = checker.communicate(timeout=120)
    result = json.loads(out.strip().splitlines()[-1])
    assert result["before"] == [] and result["after"] == [known_id]


def test_writers_and_a_rebuild_at_once_lose_and_duplicate_nothing(db_url, tmp_path):
    """Two processes appending one picture at a time while a third rebuilds the index:
    afterwards a fresh process's index holds every known picture's codes exactly once."""
    data = tmp_path / "data"
    Store(db_url).close()
    env = _env(data, db_url)
    worker = [sys.executable, str(TESTS / "index_worker.py")]
    procs = [subprocess.Popen([*worker, "add", "25", str(seed)], env=env) for seed in (1, 2)] + [
        subprocess.Popen([*worker, "reindex", "3"], env=env)
    ]
    for proc in procs:
        assert proc.wait(timeout=300) == 0
    store = Store(db_url)
    fresh = OnDiskIndex(data / "index")
    fresh.refresh(store, -1)  # what is on disk, without catching up
    version = store.library_version()[0]
    assert fresh.seq == version
    ids = sorted(e.known_id for e in store.index_entries())
    assert len(ids) == 50
    assert sorted(owners(fresh, "phash")) == ids
    assert sorted(owners(fresh, "dct256")) == sorted(ids * 2)
    # Old generations are cleared away: the current one and the one before at most.
    assert len([p for p in (data / "index").iterdir() if p.name.startswith("g-")]) <= 2
    store.close()


def test_bulk_insert_merges_duplicates_and_counts_what_it_created(db_url, tmp_path):
    from datetime import UTC, datetime

    sys.path.insert(0, str(TESTS))
    from index_worker import synthetic

    store = Store(db_url)
    a, b = synthetic(2, 7)
    a.first_seen = datetime(2020, 1, 1, tzinfo=UTC)
    [(first, created)] = store.add_known_many([a])
    assert created
    earlier = type(a)(**{**vars(a), "first_seen": datetime(2010, 1, 1, tzinfo=UTC)})
    results = store.add_known_many([b, earlier, b])
    assert [c for _, c in results] == [True, False, False]
    assert results[1][0].id == first.id and results[1][0].first_seen.year == 2010
    assert results[0][0].id == results[2][0].id
    assert store.count_known() == 2
    # One transaction, one version: both pictures of a batch carry it.
    version = store.library_version()[0]
    assert [len(batch) for batch in store.index_codes(version - 1, version)] == [3]
    store.close()


@pytest.fixture
def cli_env(env):
    return env


def known_command(*args: str) -> subprocess.CompletedProcess:
    """`postcheck known ARGS` in a fresh interpreter, in this test's environment."""
    return subprocess.run(
        [sys.executable, "-m", "postcheck.cli", "known", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_known_reindex_command(cli_env, prefect_api, tmp_path):
    data = Path(os.environ["POSTCHECK_DATA_DIR"])
    assert known_command("add", str(KOKSAN)).returncode == 0
    done = known_command("reindex")
    assert done.returncode == 0, done.stderr
    assert "1 pictures" in done.stdout and "now current" in done.stdout
    manifest = Manifest.read(data / "index")
    # whole, 14 windows and 6 centre cuts (no trim)
    assert manifest.number == 1 and manifest.families["dct256"]["rows"] == 21


def test_known_rehash_command(cli_env, prefect_api, tmp_path):
    """`known rehash` re-hashes the out-of-date pictures, then rebuilds the index."""
    assert known_command("add", str(KOKSAN)).returncode == 0
    done = known_command("rehash")
    assert done.returncode == 0, done.stderr
    assert "rehash: 0 re-hashed" in done.stdout and "now current" not in done.stdout
    done = known_command("rehash", "--all", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "rehash: 1 re-hashed" in done.stdout and "now current" in done.stdout
    # An index an older version built: a check says so in one line, and `rehash` rebuilds
    # it though no picture needs re-hashing.
    index = Path(os.environ["POSTCHECK_DATA_DIR"]) / "index"
    manifest = Manifest.read(index)
    manifest.codeset = ""
    manifest.write(index)
    checked = subprocess.run(
        [sys.executable, "-m", "postcheck.cli", "check", str(KOKSAN)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert checked.returncode == 0, checked.stderr
    assert "built before code sets were recorded" in checked.stderr
    assert "run `postcheck known rehash`" in checked.stderr
    done = known_command("rehash")
    assert "rehash: 0 re-hashed" in done.stdout and "now current" in done.stdout
    assert Manifest.read(index).outdated() is None


def test_an_index_built_under_older_hash_families_tells_the_user_once(db_url, tmp_path, caplog):
    """The index's manifest keeps the code set it was built under and how many pictures
    then had older codes: a search warns once (no store query), the rebuild's summary
    says so, and after `rehash` + rebuild the warning is gone."""
    import logging

    from sqlalchemy import delete

    from postcheck.library import rehash_known
    from postcheck.store.models import MediaHashRow
    from postcheck.verifiers.families import codeset

    svc = make_services(tmp_path / "data", db_url)
    add_known_file(svc, KOKSAN)
    assert Manifest.read(svc.settings.index_path).outdated() is None  # a new library
    with svc.store.session() as session:  # its codes as an older version left them
        session.execute(delete(MediaHashRow).where(MediaHashRow.family == "codeset"))
    report = svc.library.reindex()
    assert report.stale == 1 and "run `postcheck known rehash`" in report.summary
    manifest = Manifest.read(svc.settings.index_path)
    assert (manifest.codeset, manifest.stale) == (codeset(), 1)

    other = IndexCache(svc.store, svc.media, svc.settings.index_path)  # another process
    caplog.set_level(logging.WARNING, "postcheck.known_index")
    other.search(KOKSAN)
    other.search(KOKSAN)
    said = [r.getMessage() for r in caplog.records if "known rehash" in r.getMessage()]
    assert said == [
        "index: 1 known pictures have codes from older hash families: run "
        "`postcheck known rehash` (matches need the new codes)"
    ]
    assert rehash_known(svc, workers=1).rehashed == 1
    assert svc.library.reindex().stale == 0
    assert other.outdated() is None

    # An index built by an older version (another code set, or none recorded).
    for older, why in (("dct256:1", "built under dct256:1"), ("", "before code sets")):
        manifest = Manifest.read(svc.settings.index_path)
        manifest.codeset = older
        manifest.write(svc.settings.index_path)
        assert why in (other.outdated() or "")
    svc.store.close()


def test_a_manifest_with_keys_of_a_newer_version_is_still_read(tmp_path):
    Manifest("g-1", 1, 5, {}, 0.0, codeset="x:1").write(tmp_path)
    data = json.loads((tmp_path / "manifest.json").read_text())
    (tmp_path / "manifest.json").write_text(json.dumps({**data, "later": 1}))
    assert Manifest.read(tmp_path).seq == 5


def test_rehash_gives_old_pictures_the_codes_added_since(db_url, tmp_path):
    """A known picture hashed before the centre cuts existed (its codes taken under an
    older code set) gets them from `rehash`, and is then matched through one; a second
    run finds nothing left to do."""
    from PIL import Image
    from sqlalchemy import delete

    from postcheck.library import rehash_known
    from postcheck.store.models import MediaHashRow
    from postcheck.verifiers.families import codeset

    svc = make_services(tmp_path / "data", db_url)
    known, _ = add_known_file(svc, KOKSAN)
    with svc.store.session() as session:  # as a library from before the centre cuts keeps it
        session.execute(
            delete(MediaHashRow).where(
                MediaHashRow.variant.like("ctr:%") | (MediaHashRow.family == "codeset")
            )
        )
    svc.library.reindex()
    assert svc.store.count_stale_known(codeset()) == 1
    photo = Image.open(KOKSAN).convert("RGB")
    w, h = photo.size
    side = h  # the photo cut to fill a square cell of a collage
    query = tmp_path / "cell.jpg"
    photo.crop(((w - side) // 2, (h - side) // 2, (w + side) // 2, (h + side) // 2)).save(query)
    before = [m.stage or "" for m in svc.library.search(query) if m.is_match]
    assert not any("ctr:" in stage for stage in before)

    report = rehash_known(svc, workers=1)
    assert report.rehashed == 1 and not report.failed
    entry = svc.store.index_entries_for([known.id])[known.id]
    assert "dct256@ctr:1" in entry.codes
    svc.library.reindex()
    [found] = [m for m in svc.library.search(query) if m.is_match]
    assert found.known.id == known.id and "ctr:1" in (found.stage or "")
    assert svc.store.count_stale_known(codeset()) == 0
    assert rehash_known(svc, workers=1).rehashed == 0
    assert rehash_known(svc, everything=True, workers=1).rehashed == 1
    svc.store.close()


def test_a_packed_family_is_one_stored_row_and_every_code_in_the_index(db_url, tmp_path):
    """The deep-crop family keeps a picture's 32 descriptors in one stored value (one row,
    not 32): the on-disk index, its rebuild and the matcher's candidates split it into
    its codes, so a deep crop, and its mirror image, are found through the index and
    confirmed by ORB."""
    from sqlalchemy import func, select

    from postcheck.store.models import MediaHashRow
    from postcheck.verifiers.families import add, families
    from postcheck.verifiers.families.orbkp import KEEP, OrbKP

    added = "orbkp" not in families()
    add(OrbKP())
    try:
        svc = make_services(tmp_path / "data", db_url)
        known, _ = add_known_file(svc, KOKSAN, first_seen=None)
        with svc.store.session() as session:
            rows = session.execute(
                select(func.count(), func.max(func.length(MediaHashRow.value))).where(
                    MediaHashRow.family == "orbkp"
                )
            ).one()
        assert tuple(rows) == (1, 32 * KEEP)
        svc.library.refresh()
        assert owners(svc.library.disk, "orbkp") == [known.id] * KEEP  # the log's record
        img = Image.open(KOKSAN).convert("RGB")
        w, h = img.size
        crop = img.crop((int(0.2 * w), int(0.2 * h), int(0.75 * w), int(0.75 * h)))
        crop.save(tmp_path / "crop.jpg", quality=90)
        ImageOps.mirror(crop).save(tmp_path / "mirrored.jpg", quality=90)
        for _ in range(2):  # from the log, then from a rebuilt generation's base
            [hit] = [m for m in svc.library.search(tmp_path / "crop.jpg") if m.is_match]
            assert hit.known.id == known.id and hit.stage.startswith("orbkp")
            [hit] = [m for m in svc.library.search(tmp_path / "mirrored.jpg") if m.is_match]
            assert hit.known.id == known.id and "mirror image's keypoints" in hit.stage
            svc.library.reindex()
            assert owners(svc.library.disk, "orbkp") == [known.id] * KEEP
        svc.store.close()
    finally:
        if added:
            families().pop("orbkp")


def test_the_demo_brings_a_library_kept_from_an_older_version_up_to_date(db_url, tmp_path):
    """The demo keeps its own library between runs: after an upgrade its pictures' codes
    are re-hashed and the index rebuilt, so the demo does not end with the note that
    asks a real library's owner to run `known rehash`."""
    from sqlalchemy import delete

    from postcheck.demo import load_demo_library
    from postcheck.store.models import MediaHashRow
    from postcheck.verifiers.families import codeset

    svc = make_services(tmp_path / "data", db_url)
    manifest = FIX / "known" / "manifest.csv"
    n = load_demo_library(svc, manifest)
    assert n >= 4 and svc.library.outdated() is None
    with svc.store.session() as session:  # its codes as an older version left them
        session.execute(delete(MediaHashRow).where(MediaHashRow.family == "codeset"))
    svc.library.reindex()
    assert "known pictures have codes from older hash families" in svc.library.outdated()
    load_demo_library(svc, manifest)
    assert svc.library.outdated() is None
    assert svc.store.count_stale_known(codeset()) == 0
    svc.store.close()
