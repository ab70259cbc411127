"""Code run in separate processes by test_index (kept out of test modules so that spawned
processes import nothing but this)."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def synthetic(n: int, seed: int):
    """Known pictures with random codes (the store never looks at the files)."""
    import numpy as np

    from postcheck.domain import Fingerprint, StoredMedia
    from postcheck.store.store import NewKnown

    rng = np.random.default_rng(seed)
    for _ in range(n):
        sha = rng.bytes(32).hex()
        yield NewKnown(
            StoredMedia(
                sha256=sha, path="", size=1, format="JPEG", mime="image/jpeg", width=1, height=1
            ),
            Fingerprint(
                hashes={
                    "phash": rng.bytes(8).hex(),
                    "dct256": rng.bytes(32).hex(),
                    "dct256@trim": rng.bytes(32).hex(),
                }
            ),
        )


def add_one_by_one(n: int, seed: int) -> None:
    """A writer: n additions, each appended to the index as `known add` would."""
    from postcheck.services import services

    svc = services()
    for item in synthetic(n, seed):
        svc.store.add_known_many([item])
        svc.library.added()


def reindex_repeatedly(times: int) -> None:
    from postcheck.services import services

    for _ in range(times):
        services().library.reindex()


def checker(query: str, signal_dir: str) -> None:
    """A long-running process (as `serve` or a worker): opens the index, searches, says
    it is ready, waits for the go, searches again; prints what each search matched."""
    from postcheck.services import services

    svc = services()
    before = [m.known.id for m in svc.library.search(query) if m.is_match]
    Path(signal_dir, "ready").write_text("1")
    deadline = time.monotonic() + 120
    while not Path(signal_dir, "go").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    after = [m.known.id for m in svc.library.search(query) if m.is_match]
    print(json.dumps({"before": before, "after": after, "pid": os.getpid()}))


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    {
        "add": lambda n, s: add_one_by_one(int(n), int(s)),
        "reindex": lambda t: reindex_repeatedly(int(t)),
        "checker": checker,
    }[name](*args)
