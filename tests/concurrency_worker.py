"""Code run in separate processes by test_concurrency (kept out of test modules so that
spawned workers import nothing but this)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

from postcheck.domain import CheckReport, Fingerprint, PostRef
from postcheck.store import Store


def record_many(db_url: str, payload: str, checks: int, worker: int, forever: bool = False) -> int:
    """Record `checks` checks (cycling over the posts of the payload), learning each image."""
    data = json.loads(payload)
    reports = [CheckReport.model_validate(r) for r in data["reports"]]
    fingerprints = {k: Fingerprint.model_validate(v) for k, v in data["fingerprints"].items()}
    store = Store(db_url)
    done = 0
    i = worker
    while forever or done < checks:
        report = reports[i % len(reports)].model_copy(deep=True)
        post = report.post
        ref = PostRef(
            platform="x",
            post_id=post.post_id,
            author=post.author_handle,
            url=post.url,
            key=post.uri,
        )
        store.record_check(report, ref, datetime.now(UTC), fingerprints)
        for image in report.images:
            store.add_known(
                image.media,
                fingerprints[image.media.sha256],
                origin="learned",
                source_url=post.url,
                first_seen=post.created_at,
                post_uri=post.uri,
            )
        done += 1
        i += 1
        if forever:
            # Written aside and renamed, so the watching test never reads a half-written file.
            progress = Path(data["progress"])
            progress.with_suffix(".tmp").write_text(str(done))
            progress.with_suffix(".tmp").replace(progress)
            time.sleep(0.001)
    store.close()
    return done
