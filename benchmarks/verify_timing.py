"""Wall time of one `postcheck verify` (a fresh process, as a user runs it) against the
fixture server, with and without a running Prefect server.

    .venv/bin/python benchmarks/verify_timing.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from postcheck.fixtures.server import FixtureServer
from postcheck.prefect_local import LocalPrefectServer

URL = "https://x.com/Archer83Able/status/1857106849690673728"
KNOWN = Path(__file__).parents[1] / "fixtures" / "known" / "koksan-2010.jpg"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0 or "recycled" not in proc.stdout:
        raise SystemExit(f"verify failed: {proc.stdout[-500:]} {proc.stderr[-500:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    postcheck = [str(Path(sys.executable).with_name("postcheck"))]
    with tempfile.TemporaryDirectory() as tmp, FixtureServer() as server:
        base = dict(os.environ)
        base.update(server.env())
        base.update(
            {
                "POSTCHECK_DATA_DIR": f"{tmp}/data",
                "PREFECT_HOME": f"{tmp}/prefect-home",
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            }
        )
        base.pop("PREFECT_API_URL", None)
        subprocess.run(
            [*postcheck, "known", "add", str(KNOWN), "--first-seen", "2010-10-10"],
            env=base,
            check=True,
            capture_output=True,
        )
        rows = []
        ephemeral = [timed([*postcheck, "verify", URL], base) for _ in range(args.runs)]
        rows.append(("no Prefect server (temporary server per command)", ephemeral))
        with LocalPrefectServer(Path(tmp) / "server-home") as prefect:
            env = dict(base, PREFECT_API_URL=prefect.api_url)
            served = [timed([*postcheck, "verify", URL], env) for _ in range(args.runs)]
            rows.append(("running Prefect server (PREFECT_API_URL)", served))
    table = Table(title=f"postcheck verify {URL} (fixture server, {args.runs} runs)")
    for col in ("setup", "median s", "min s", "max s"):
        table.add_column(col)
    for name, times in rows:
        table.add_row(
            name, f"{statistics.median(times):.2f}", f"{min(times):.2f}", f"{max(times):.2f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
