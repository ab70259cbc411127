"""Many writers at once lose nothing and duplicate nothing; a killed writer leaves no
half-written check; a library built by an older schema opens with today's code."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from postcheck.domain import CheckReport, ImageReport, Post, Verdict
from postcheck.media import MediaStore, store_image_bytes
from postcheck.settings import Settings
from postcheck.store import Store
from postcheck.verifiers import perceptual

FIX = Path(__file__).parents[1] / "fixtures"
IMAGES = ["x-coins.jpg", "x-motorcycle.jpg", "b-camera.jpg"]
POSTS = 5
# Eight processes already race on every row on a 2-core machine; twenty only cost start-ups.
RUNS, CHECKS_EACH = 8, 6


def payload(tmp_path: Path) -> tuple[str, list[str]]:
    media = MediaStore(tmp_path / "media")
    stored = [
        store_image_bytes(media, (FIX / "images" / n).read_bytes(), Settings()) for n in IMAGES
    ]
    fps = {s.sha256: perceptual.fingerprint(s.path) for s in stored}
    reports = []
    for k in range(POSTS):
        post = Post(
            platform="x",
            uri=f"x:{1000 + k}",
            url=f"https://x.com/u/status/{1000 + k}",
            post_id=str(1000 + k),
            author_handle="u",
            created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k),
            text=f"post {k}",
        )
        # Every post shows two of the three pictures: the same files race between posts too.
        images = [
            ImageReport(
                position=p,
                source_url=f"https://pbs.example/{k}/{p}.jpg",
                media=stored[(k + p) % 3],
                verdict=Verdict.NO_KNOWN_MATCH,
                reasons=["r"],
            )
            for p in range(2)
        ]
        reports.append(
            CheckReport(
                url=post.url,
                post=post,
                verdict=Verdict.NO_KNOWN_MATCH,
                reasons=["r"],
                images=images,
                checked_at=datetime.now(UTC),
            ).model_dump(mode="json")
        )
    data = {
        "reports": reports,
        "fingerprints": {k: v.model_dump() for k, v in fps.items()},
        "progress": str(tmp_path / "progress"),
    }
    return json.dumps(data), [x.sha256 for x in stored]


def test_eight_writers_at_once(db_url, tmp_path):
    from concurrency_worker import record_many

    Store(db_url).close()  # schema first, as a deployment would have it
    data, shas = payload(tmp_path)
    n_media = len(shas)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=RUNS, mp_context=ctx) as pool:
        done = list(
            pool.map(record_many, [db_url] * RUNS, [data] * RUNS, [CHECKS_EACH] * RUNS, range(RUNS))
        )
    assert done == [CHECKS_EACH] * RUNS
    counts = Store(db_url).counts()
    expected = {
        "posts": POSTS,
        "media": n_media,
        "post_media": POSTS * 2,
        "known_images": n_media,
        "checks": RUNS * CHECKS_EACH,
        "check_images": RUNS * CHECKS_EACH * 2,
    }
    assert {k: counts[k] for k in expected} == expected
    # Each learned picture kept its earliest sighting: post k shows pictures k%3, (k+1)%3.
    earliest = {
        sha: min(k for k in range(POSTS) if j in {k % 3, (k + 1) % 3}) for j, sha in enumerate(shas)
    }
    for known in Store(db_url).list_known():
        k = earliest[known.sha256]
        assert known.post_uri == f"x:{1000 + k}"
        assert known.first_seen == datetime(2024, 1, 1, tzinfo=UTC) + timedelta(days=k)


def test_a_killed_writer_leaves_no_half_written_check(db_url, tmp_path):
    data, _ = payload(tmp_path)
    Store(db_url).close()
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from concurrency_worker import record_many;"
        "record_many(sys.argv[2], open(sys.argv[3]).read(), 0, 0, forever=True)"
    )
    (tmp_path / "payload.json").write_text(data)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            str(Path(__file__).parent),
            db_url,
            str(tmp_path / "payload.json"),
        ]
    )
    progress = tmp_path / "progress"
    deadline = time.monotonic() + 60
    while not (progress.exists() and int(progress.read_text()) >= 15):
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(db_url)
    engine = store.engine
    with engine.connect() as conn:
        checks = conn.execute(sa.text("SELECT id, report FROM checks")).all()
        per_check = dict(
            conn.execute(
                sa.text("SELECT check_id, count(*) FROM check_images GROUP BY check_id")
            ).all()
        )
    assert len(checks) >= 15
    for check_id, report in checks:
        report = json.loads(report) if isinstance(report, str) else report
        assert report["check_id"] == check_id
        assert per_check.get(check_id, 0) == len(report["images"]) == 2
    # And the store keeps working.
    from concurrency_worker import record_many

    assert record_many(db_url, data, 1, 0) == 1


def test_a_library_from_the_first_schema_opens_today(db_url, tmp_path):
    from alembic import command

    from postcheck.store.migrate import alembic_config

    engine = sa.create_engine(db_url)
    command.upgrade(alembic_config(engine), "0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO media (id, sha256, size, format, mime, width, height, detail, colourfulness, added_at) "
                "VALUES (1, :sha, 10, 'JPEG', 'image/jpeg', 4, 3, 0.5, 10.0, :now)"
            ),
            {"sha": "a" * 64, "now": datetime(2026, 1, 1)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO known_images (id, media_id, source_url, first_seen, origin, added_at) "
                "VALUES (1, 1, 'https://example.org/old', :seen, 'import', :now)"
            ),
            {"seen": datetime(2010, 10, 10), "now": datetime(2026, 1, 1)},
        )
        conn.execute(
            sa.text(
                "INSERT INTO media_hashes (media_id, family, variant, value) "
                "VALUES (1, 'phash', '', :code)"
            ),
            {"code": bytes.fromhex("f0e1d2c3b4a59687")},
        )
    engine.dispose()
    store = Store(db_url)  # migrates to head
    [known] = store.list_known()
    assert known.source_url == "https://example.org/old" and known.first_seen.year == 2010
    assert store.library_version() == (1, 0)  # the upgrade numbers the rows it found
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "0005"
    # The old library's pictures are indexed: the first open catches them up.
    from postcheck.known_index import OnDiskIndex

    index = OnDiskIndex(tmp_path / "index")
    index.catch_up(store)
    query = np.frombuffer(bytes.fromhex("f0e1d2c3b4a59686"), np.uint8).reshape(1, 8)
    assert index.within("phash", query, 10) == {1: 1}
