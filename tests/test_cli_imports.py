"""Commands that run no flow and hash nothing import neither Prefect nor the imaging stack:
each costs a user a second or more in every fresh process (benchmarks/cli_latency.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.stdout.strip(), proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, 2, None), proc.stderr  # history: no checks recorded, exit 2
    assert result["loaded"] == [], f"{' '.join(args)} imported {result['loaded']}"
