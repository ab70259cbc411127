"""Commands that run no flow and hash nothing import neither Prefect nor the imaging stack:
each costs a user a second or more in every fresh process (benchmarks/cli_latency.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

import pytest

HEAVY = ["prefect", "cv2", "faiss", "av", "scipy", "PIL", "numpy", "atproto", "tweepy"]
PROBE = """
import json, sys
args, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["postcheck", *args]
from postcheck.cli import main
try:
    main()
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": [m for m in heavy if m in sys.modules]}))
"""


def probe(args: list[str], watched: list[str], env: dict[str, str], timeout: float):
    """Run the command line in a fresh interpreter; (the process, the probe's JSON: exit
    code and which of `watched` got imported)."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(watched)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.stdout.strip(), proc.stderr
    return proc, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["platforms"],
        ["server", "status"],
        ["known", "list"],
        ["history", "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"],
    ],
    ids=" ".join,
)
def test_light_commands_import_no_heavy_module(args, tmp_path):
    env = dict(os.environ, POSTCHECK_DATA_DIR=str(tmp_path / "data"))
    proc, result = probe(args, HEAVY, env, timeout=60)
    assert result["code"] in (0, 2, None), proc.stderr  # history: no checks recorded, exit 2
    assert result["loaded"] == [], f"{' '.join(args)} imported {result['loaded']}"


# What a photo post's verify must not import: PyAV (no video), SciPy (pHash is computed
# without it), tweepy (no bearer token: the embed endpoint), Alembic (the schema is at
# head), SQLAlchemy's PostgreSQL dialect (the store is SQLite).
NOT_FOR_A_PHOTO = ["av", "scipy", "tweepy", "alembic", "sqlalchemy.dialects.postgresql"]


def test_verify_of_a_photo_post_imports_only_what_it_uses(prefect_server, svc):
    """A library of photos (a known video's frame would rightly need PyAV to be read)."""
    from postcheck.demo import fixtures_dir
    from postcheck.library import add_known_file

    add_known_file(
        svc,
        fixtures_dir() / "known" / "koksan-2010.jpg",
        first_seen=datetime(2010, 10, 10, tzinfo=UTC),
    )
    svc.store.close()  # the schema is at head: the probe's store open finds it so
    url = "https://x.com/Archer83Able/status/1857106849690673728"  # one photo, recycled
    env = dict(os.environ, PREFECT_API_URL=prefect_server)
    args, watched = ["verify", url], [*NOT_FOR_A_PHOTO, "cv2", "prefect"]
    proc, result = probe(args, watched, env, timeout=120)
    assert "recycled" in proc.stdout, proc.stdout[-2000:]
    assert result["code"] == 0, proc.stderr
    # the probe really ran the check: it hashed (OpenCV) and ran a flow (Prefect)
    assert {"cv2", "prefect"} <= set(result["loaded"])
    assert set(result["loaded"]).isdisjoint(NOT_FOR_A_PHOTO), result["loaded"]
