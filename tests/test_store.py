"""The store: schema from migrations, identity rules, merging, whole-or-nothing writes."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from postcheck.domain import CheckReport, ImageReport, Post, PostRef, Verdict
from postcheck.library import add_known_file, parse_first_seen
from postcheck.media import store_image_bytes
from postcheck.store import Store
from postcheck.store.models import Base
from postcheck.verifiers import perceptual

FIX = Path(__file__).parents[1] / "fixtures"


@pytest.fixture
def svc(env, db_url, monkeypatch):
    """Services on each database backend."""
    from postcheck.services import reset_services, services

    monkeypatch.setenv("POSTCHECK_DATABASE_URL", db_url)
    reset_services()
    yield services()
    reset_services()


def test_migrations_build_exactly_the_models(db_url):
    store = Store(db_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert set(inspect(store.engine).get_table_names()) >= {
        "posts",
        "media",
        "media_hashes",
        "post_media",
        "known_images",
        "checks",
        "check_images",
        "alembic_version",
    }


def test_reopening_a_database_keeps_it(db_url):
    s1 = Store(db_url)
    s1.close()
    s2 = Store(db_url)
    assert s2.counts()["posts"] == 0


def test_known_duplicates_merge_keeping_the_earliest(svc):
    path = FIX / "known" / "koksan-2010.jpg"
    first, created = add_known_file(
        svc, path, source_url="https://late.example/2019", first_seen=parse_first_seen("2019-05-01")
    )
    assert created
    second, created = add_known_file(
        svc,
        path,
        source_url="https://early.example/2010",
        first_seen=parse_first_seen("2010-10-10"),
        caption="parade",
        tags=["a"],
    )
    assert not created and second.id == first.id
    assert second.first_seen == datetime(2010, 10, 10, tzinfo=UTC)
    assert second.source_url == "https://early.example/2010"
    third, _ = add_known_file(svc, path, first_seen=parse_first_seen("2015-01-01"))
    assert third.first_seen == datetime(2010, 10, 10, tzinfo=UTC) and third.caption == "parade"
    assert svc.store.count_known() == 1
    assert svc.store.counts()["media"] == 1


def test_first_seen_parsing():
    assert parse_first_seen("2010-10-10") == datetime(2010, 10, 10, tzinfo=UTC)
    assert parse_first_seen("2010-10-10T12:00:00+02:00").utcoffset().total_seconds() == 7200
    assert parse_first_seen("") is None
    with pytest.raises(ValueError, match="not a date"):
        parse_first_seen("last tuesday")


def _report(svc, verdict=Verdict.NO_KNOWN_MATCH, text="hello"):
    stored = store_image_bytes(
        svc.media, (FIX / "images" / "x-coins.jpg").read_bytes(), svc.settings
    )
    post = Post(
        platform="x",
        uri="x:42",
        url="https://x.com/a/status/42",
        post_id="42",
        author_handle="a",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
        text=text,
    )
    image = ImageReport(
        position=0,
        source_url="https://pbs.example/1.jpg",
        media=stored,
        verdict=verdict,
        reasons=["r"],
    )
    report = CheckReport(
        url=post.url,
        post=post,
        verdict=verdict,
        reasons=["r"],
        images=[image],
        checked_at=datetime.now(UTC),
    )
    ref = PostRef(platform="x", post_id="42", author="a", url=post.url, key="x:42")
    return report, ref, perceptual.fingerprint(stored.path)


def test_rerun_adds_a_check_without_duplicating(svc):
    report, ref, fp = _report(svc)
    first = svc.store.record_check(
        report, ref, datetime.now(UTC), {report.images[0].media.sha256: fp}
    )
    report2, _, _ = _report(svc, text="edited")
    second = svc.store.record_check(
        report2, ref, datetime.now(UTC), {report.images[0].media.sha256: fp}
    )
    assert second > first
    counts = svc.store.counts()
    assert (
        counts["posts"],
        counts["media"],
        counts["post_media"],
        counts["checks"],
        counts["check_images"],
    ) == (1, 1, 1, 2, 2)
    history = svc.store.history("x:42")
    assert [c.id for c in history] == [second, first]
    assert history[0].report["post"]["text"] == "edited"


def test_a_failing_write_leaves_nothing_half_written(svc, monkeypatch):
    report, ref, fp = _report(svc)
    calls = {"n": 0}
    original = svc.store._link_media

    def explode(*args, **kwargs):
        calls["n"] += 1
        original(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(svc.store, "_link_media", explode)
    with pytest.raises(RuntimeError):
        svc.store.record_check(report, ref, datetime.now(UTC), {report.images[0].media.sha256: fp})
    assert calls["n"] == 1
    assert svc.store.counts() == {k: 0 for k in svc.store.counts()}


def test_unavailable_marks_a_known_post(svc):
    report, ref, fp = _report(svc)
    svc.store.record_check(report, ref, datetime.now(UTC), {report.images[0].media.sha256: fp})
    gone = CheckReport(
        url=report.url,
        post=None,
        verdict=Verdict.UNAVAILABLE,
        reasons=["deleted"],
        checked_at=datetime.now(UTC),
    )
    svc.store.record_check(gone, ref, datetime.now(UTC))
    [latest, _] = svc.store.history("x:42")
    assert latest.verdict == "unavailable"
    with svc.store.session() as s:
        from postcheck.store.models import PostRow

        row = s.query(PostRow).one()
        assert row.status == "unavailable" and row.status_reason == "deleted"


def test_engine_is_sqlite_wal(env):
    from postcheck.services import services

    svc = services()
    with svc.store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_a_deadlocked_transaction_is_run_again(db_url):
    """Two transactions that lock two rows in opposite orders: PostgreSQL aborts one as a
    deadlock, and retry_transaction runs it again instead of losing the write."""
    import threading

    from sqlalchemy import text

    from postcheck.store.store import retry_transaction

    if not db_url.startswith("postgresql"):
        pytest.skip("row-level deadlocks are PostgreSQL's; SQLite locks the whole file")
    store = Store(db_url)
    with store.session() as s:
        s.execute(text("CREATE TABLE counters (id int PRIMARY KEY, n int NOT NULL)"))
        s.execute(text("INSERT INTO counters VALUES (1, 0), (2, 0)"))
    both_hold_one = threading.Barrier(2)
    attempts: list[int] = []

    @retry_transaction
    def bump(first: int, second: int) -> None:
        attempts.append(first)
        with store.session() as s:
            s.execute(text("UPDATE counters SET n = n + 1 WHERE id = :i"), {"i": first})
            if len(attempts) <= 2:  # only the first two attempts meet, so they deadlock
                both_hold_one.wait(timeout=30)
            s.execute(text("UPDATE counters SET n = n + 1 WHERE id = :i"), {"i": second})

    threads = [threading.Thread(target=bump, args=ab) for ab in [(1, 2), (2, 1)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with store.session() as s:
        counts = dict(s.execute(text("SELECT id, n FROM counters")).all())
    store.close()
    assert len(attempts) == 3  # one of the two ran twice
    assert counts == {1: 2, 2: 2}  # and each transaction's writes landed exactly once


def test_other_database_errors_are_not_retried(db_url):
    from sqlalchemy.exc import IntegrityError

    from postcheck.store.store import retry_transaction

    store = Store(db_url)
    calls: list[int] = []

    @retry_transaction
    def insert_twice() -> None:
        calls.append(1)
        with store.session() as s:
            s.execute(Base.metadata.tables["library_state"].insert().values(id=1, version=0))

    with pytest.raises(IntegrityError):
        insert_twice()
    store.close()
    assert calls == [1]


def test_hash_only_entries_are_idempotent_and_reach_the_index(svc):
    """A hash list's codes: no file, one code each, added once (a repeat, or a known
    picture's own code, adds nothing), with a library version the index catches up by."""
    from postcheck.store.store import NewHashOnly

    add_known_file(svc, FIX / "known" / "koksan-2010.jpg")
    [(_, own)] = svc.store.known_with_code("pdq")
    fresh = bytes(32)
    items = [
        NewHashOnly("pdq", fresh, "list.txt", 3, caption="a hash"),
        NewHashOnly("pdq", own, "list.txt", 4),
    ]
    before = svc.store.library_version()[0]
    assert svc.store.add_hash_only_many(items + items[:1]) == 1
    assert svc.store.add_hash_only_many(items) == 0
    after = svc.store.library_version()[0]
    assert after == before + 1
    [entry] = [k for k, _ in svc.store.known_with_code("pdq") if k.hash_only]
    assert (entry.sha256, entry.list_name, entry.list_line, entry.caption) == (
        None,
        "list.txt",
        3,
        "a hash",
    )
    codes = [row for batch in svc.store.index_codes(before, after) for row in batch]
    assert codes == [(entry.id, "pdq", fresh)]
    assert svc.store.index_entries_for([entry.id])[entry.id].hash_only
    assert svc.store.hash_only_families() == {"pdq"}
    assert svc.store.remove_known(entry.id) and svc.store.hash_only_families() == set()


def test_the_cheap_schema_check_knows_alembics_head():
    """Store open skips Alembic when the database is at the head the migration files name;
    that head must be the one Alembic itself computes."""
    from alembic.script import ScriptDirectory

    from postcheck.store.migrate import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
