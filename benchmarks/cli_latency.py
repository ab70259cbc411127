"""What a user waits for: each `postcheck` command as a fresh process, end to end, with its
peak RSS, against the fixture server and the embedded default (no PREFECT_API_URL: the
data folder's background Prefect server).

    .venv/bin/python benchmarks/cli_latency.py [--runs 5]

Rows: `--help`; `server status`; `known list`; the first command on a fresh data folder
(`verify` of a one-photo post, the background server's start included; target < 20 s);
the same `verify` once the server runs (target < 2 s) and `check` of one photo, each
through the warm worker (postcheck.worker; the client's own RSS) and in-process
(`POSTCHECK_WORKER=0`). The background server and the worker (their own processes, not
counted in a command's RSS) are stopped at the end.
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

from postcheck import worker
from postcheck.fixtures.server import FixtureServer
from postcheck.prefect_background import status
from postcheck.prefect_local import free_port

URL = "https://x.com/Archer83Able/status/1857106849690673728"  # one photo, recycled
KNOWN = Path(__file__).parents[1] / "fixtures" / "known" / "koksan-2010.jpg"
POSTCHECK = str(Path(sys.executable).with_name("postcheck"))


TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None


def timed(args: list[str], env: dict[str, str], expect: str = "") -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds) of one fresh `postcheck` process; the
    CPU of the worker's child that ran it is added (its line in the worker's log).

    The RSS comes from /usr/bin/time where there is one: a process forked from this one
    (rich and the fixture server loaded, ~50 MB) is charged this one's pages until it
    execs, which would hide a small client's own peak (the worker's client: ~12 MB)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        with tempfile.NamedTemporaryFile("r") as rss:
            prefix = [TIME, "-f", "%M", "-o", rss.name] if TIME else []
            log = Path(env["POSTCHECK_DATA_DIR"]) / "prefect" / worker.LOG_FILE
            seen = len(log.read_text().splitlines()) if log.exists() else 0
            t0 = time.perf_counter()
            proc = subprocess.Popen([*prefix, POSTCHECK, *args], env=env, stdout=out, stderr=err)
            _, code, usage = os.wait4(proc.pid, 0)
            took = time.perf_counter() - t0
            peak_kb = int(rss.read().split()[-1]) if TIME else usage.ru_maxrss
            cpu = usage.ru_utime + usage.ru_stime
            if env.get("POSTCHECK_WORKER") != "0":
                cpu += _child_cpu(log, seen)
        proc.returncode = os.waitstatus_to_exitcode(code)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if proc.returncode != 0 or expect not in text:
            raise SystemExit(
                f"postcheck {' '.join(args)} failed: {text[-400:]} {err.read()[-400:]}"
            )
    return took, peak_kb / 1024, cpu


def _child_cpu(log: Path, seen: int, wait: float = 5.0) -> float:
    """The CPU seconds of the worker's child that ran the command (0 if it ran here)."""
    if not log.exists() or not worker.status(log.parent).running:
        return 0.0
    deadline = time.monotonic() + wait  # the worker logs a child once it has reaped it
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines()[seen:]:
            if ", cpu " in line:
                return float(line.rsplit(", cpu ", 1)[1].split()[0])
        time.sleep(0.02)
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, FixtureServer() as fixtures:
        env = dict(os.environ)
        env.pop("PREFECT_API_URL", None)
        env.update(fixtures.env())
        env.update(
            {
                "POSTCHECK_DATA_DIR": f"{tmp}/data",
                "POSTCHECK_PREFECT_PORT": str(free_port()),  # not a user's 4200
                "PREFECT_HOME": f"{tmp}/client-home",
            }
        )
        data = Path(tmp) / "data"
        rows: list[tuple[str, list[tuple[float, float, float]], str]] = []
        try:
            rows.append(
                ("postcheck --help", [timed(["--help"], env) for _ in range(args.runs)], "")
            )
            timed(["known", "add", str(KNOWN), "--first-seen", "2010-10-10"], env)
            first = [timed(["verify", URL], env, "recycled")]
            rows.append(
                ("first verify on the data folder (server start included)", first, "< 20 s")
            )
            server = status(data)
            _wait_for_worker(server.home)
            off = dict(env, POSTCHECK_WORKER="0")
            for label, e in (("worker", env), ("in-process, POSTCHECK_WORKER=0", off)):
                verify = [timed(["verify", URL], e, "recycled") for _ in range(args.runs)]
                rows.append((f"verify, one-photo post, server running ({label})", verify,
                             "< 2 s"))  # fmt: skip
                check = [timed(["check", str(KNOWN)], e, "known") for _ in range(args.runs)]
                rows.append((f"check one photo, server running ({label})", check, ""))
            for cmd in (["server", "status"], ["known", "list"]):
                rows.append(
                    (f"postcheck {' '.join(cmd)}", [timed(cmd, env) for _ in range(args.runs)], "")
                )
            server_rss = _peak_rss_mb(server.pid) if server.pid else 0.0
            warm = worker.status(server.home)
            worker_rss = _rss_mb(warm.pid, "VmRSS") if warm.pid else 0.0
        finally:
            subprocess.run([POSTCHECK, "server", "stop"], env=env, capture_output=True)
    table = Table(title=f"postcheck as a fresh process ({args.runs} runs; fixture server)")
    for col in ("command", "median s", "min s", "max s", "CPU s", "peak RSS MB", "target"):
        table.add_column(col)
    for name, samples, target in rows:
        times = [t for t, _, _ in samples]
        table.add_row(
            name,
            f"{statistics.median(times):.2f}",
            f"{min(times):.2f}",
            f"{max(times):.2f}",
            f"{statistics.median(c for _, _, c in samples):.2f}",
            f"{max(r for _, r, _ in samples):.0f}",
            target,
        )
    console = Console()
    console.print(table)
    console.print(f"background Prefect server: peak RSS {server_rss:.0f} MB (its own process)")
    console.print(
        f"warm worker: RSS {worker_rss:.0f} MB (its own process, shared with its children)"
    )


def _wait_for_worker(home: Path, timeout: float = 120) -> None:
    """The first verify started the worker; its imports take a few seconds."""
    deadline = time.monotonic() + timeout
    while not worker.status(home).running:
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start; see {home / worker.LOG_FILE}")
        time.sleep(0.2)


def _peak_rss_mb(pid: int) -> float:
    return _rss_mb(pid, "VmHWM")


def _rss_mb(pid: int, field: str) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


if __name__ == "__main__":
    main()
