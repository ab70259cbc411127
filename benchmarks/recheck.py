"""What a desk pays for N watched posts (half X through the embed endpoint, half Bluesky,
one photo each, served by the fixture server) with the per-platform rate limits set high
(the fixture server is local; real limits are a setting):

    (a) `postcheck verify --from FILE` of the N posts (which makes them watched),
    (b) `postcheck recheck` when nothing changed,
    (c) `postcheck recheck` after 10 % of the posts (of each platform) were deleted.

Each step is a fresh `postcheck` process, as a user runs it (`postcheck recheck` runs the
same `recheck` flow as the nightly deployment, with the flow's own 4 workers), against a
Prefect server of its own (SQLite unless PREFECT_API_DATABASE_CONNECTION_URL names a
PostgreSQL database). The table gives wall time, time per post, the process's peak RSS,
the flow runs and task runs it created (counted through the Prefect API) and its verdicts.

    .venv/bin/python benchmarks/recheck.py [--posts 1000] [--quick] [--keep DIR]

With `--keep DIR` the data folder, the Prefect server's database and the fixture server's
port stay in DIR; a later run with the same DIR and --posts finds the N posts verified
there by step (a) and starts at the rechecks (b) and (c): the state a real `verify --from`
left (its check rows, media rows, stored files, learned pictures and index), not a seeded
copy. At 10,000 posts step (a) alone takes about 25 minutes.

With Debian's PostgreSQL, a throwaway Prefect database:

    pg_virtualenv -t sh -c 'PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE .venv/bin/python benchmarks/recheck.py'
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from postcheck.fixtures.server import FixtureServer
from postcheck.prefect_local import LocalPrefectServer

POSTCHECK = Path(sys.executable).with_name("postcheck")


@dataclass
class Step:
    name: str
    posts: int
    seconds: float
    peak_rss_mib: float
    flow_runs: int
    task_runs: int
    verdicts: Counter[str]
    exit_code: int
    note: str = ""


def run_counts(api_url: str, settle: float = 60) -> tuple[int, int]:
    """Flow runs and task runs the Prefect server holds, once the counts stop growing
    (task runs reach the server as events, recorded after the command has exited)."""
    deadline = time.monotonic() + settle
    last = None
    with httpx.Client(base_url=api_url, timeout=30) as client:
        while True:
            flows = int(client.post("/flow_runs/count", json={}).json())
            tasks = int(client.post("/task_runs/count", json={}).json())
            if (flows, tasks) == last or time.monotonic() > deadline:
                return flows, tasks
            last = (flows, tasks)
            time.sleep(3)


def verdicts_since(check_id: int) -> tuple[Counter[str], dict[str, str], list[str], int]:
    """Verdict counts of the checks recorded after `check_id`, each post's verdict, why
    the failed ones failed, and the last check id."""
    from sqlalchemy import func, select

    from postcheck.services import reset_services, services
    from postcheck.store.models import CheckRow

    reset_services()  # the store as the command left it
    with services().store.session() as session:
        rows = session.execute(
            select(CheckRow.input_url, CheckRow.verdict, CheckRow.reasons).where(
                CheckRow.id > check_id
            )
        ).all()
        last = session.scalar(select(func.max(CheckRow.id))) or 0
    errors = [f"{u}: {'; '.join(r)[:200]}" for u, v, r in rows if v == "error"]
    return Counter(v for _, v, _ in rows), {u: v for u, v, _ in rows}, errors, last


def run_command(
    args: list[str], log: Path, profile: Path | None = None
) -> tuple[float, float, int]:
    """A fresh postcheck process: (wall seconds, peak RSS in MiB, exit code)."""
    command = [str(POSTCHECK), *args]
    if profile is not None:  # py-spy's own process is the child then: RSS is not ours
        fmt = "raw" if profile.suffix == ".txt" else "flamegraph"  # raw: collapsed stacks
        spy = ["py-spy", "record", "--idle", "--threads", "--format", fmt, "-o", str(profile)]
        command = [*spy, "--", *command]
    t0 = time.perf_counter()
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss / 1024, proc.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1000, help="watched posts (default 1000)")
    parser.add_argument("--quick", action="store_true", help="50 posts: about a minute")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run each step under py-spy (on PATH), its flame graph in this folder",
    )
    parser.add_argument(
        "--profile-format",
        choices=["svg", "txt"],
        default="svg",
        help="svg: a flame graph; txt: py-spy's collapsed stacks (one stack a line)",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the state in this folder; with the state of an earlier run of as many"
        " posts, skip step (a)",
    )
    args = parser.parse_args()
    n = 50 if args.quick else args.posts
    console = Console(width=150)
    steps: list[Step] = []
    with tempfile.TemporaryDirectory() as scratch:
        tmp = str(args.keep.resolve()) if args.keep else scratch
        Path(tmp).mkdir(parents=True, exist_ok=True)
        state = Path(tmp) / "benchmark.json"  # what step (a) left, for a later run
        kept = json.loads(state.read_text()) if state.exists() else None
        if kept is not None and kept["posts"] != n:
            raise SystemExit(f"{tmp} holds {kept['posts']} verified posts, not {n}")
        port = kept["fixture_port"] if kept else 0
        with (
            FixtureServer(port=port) as server,
            LocalPrefectServer(Path(tmp) / "prefect", start_timeout=300) as prefect,  # shared CPUs
        ):
            run_steps(args, n, tmp, server, prefect, steps, console, kept is not None)
            if args.keep and kept is None:
                port = server.base_url.rsplit(":", 1)[1].strip("/")
                state.write_text(json.dumps({"posts": n, "fixture_port": int(port)}))
    report(n, steps, console)


def run_steps(
    args: argparse.Namespace,
    n: int,
    tmp: str,
    server: FixtureServer,
    prefect: LocalPrefectServer,
    steps: list[Step],
    console: Console,
    verified: bool,
) -> None:
    """The steps against the servers; with `verified`, from the data folder as step (a)
    of an earlier run left it (restored from its copy), at the rechecks."""
    urls = server.world.add_generated_posts(n)
    os.environ.update(server.env(unthrottled=True))
    os.environ.update(
        {
            "POSTCHECK_DATA_DIR": f"{tmp}/data",
            "PREFECT_API_URL": prefect.api_url,
            "PREFECT_HOME": f"{tmp}/prefect-client",
        }
    )
    data, after_a = Path(tmp) / "data", Path(tmp) / "data-after-verify"
    if verified:  # exactly what step (a) left, whatever later steps did to it
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(after_a, data)
    url_file = Path(tmp) / "posts.txt"
    url_file.write_text("# generated fixture posts\n" + "\n".join(urls) + "\n")
    by_platform: dict[str, list[str]] = {}
    for url in urls:
        by_platform.setdefault(server.world.platform_of(url), []).append(url)
    deleted = [u for group in by_platform.values() for u in group[::10]]
    share = ", ".join(f"{len(g)} {name}" for name, g in sorted(by_platform.items()))
    console.print(f"{n} generated posts ({share}); Prefect server at {prefect.api_url}")

    plan = [] if verified else [("(a) verify --from FILE", ["verify", "--from", str(url_file)], [])]
    plan += [
        ("(b) recheck, nothing changed", ["recheck"], []),
        ("(c) recheck, 10 % deleted", ["recheck"], deleted),
    ]
    last_check = verdicts_since(0)[3] if verified else 0
    for name, command, to_delete in plan:
        for url in to_delete:
            server.world.delete(server.world.key_of(url))
        flows0, tasks0 = run_counts(prefect.api_url)
        log = Path(tmp) / f"step-{len(steps)}.log"
        console.print(f"{name}: postcheck {' '.join(command)} …")
        flame = None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            flame = args.profile / f"step-{len(steps)}.{args.profile_format}"
        seconds, rss, code = run_command(command, log, flame)
        flows1, tasks1 = run_counts(prefect.api_url)
        verdicts, per_url, errors, last_check = verdicts_since(last_check)
        note = ""
        if to_delete:
            gone = Counter(per_url.get(u, "missing") for u in to_delete)
            note = f"deleted: {dict(gone)}"
            if gone != Counter({"unavailable": len(to_delete)}):
                note += " (NOT all unavailable)"
        if code != 0:  # the checks that failed say why (the log is a table of every post)
            note += f" exit {code}; " + " | ".join(errors[:3])
        steps.append(
            Step(name, n, seconds, rss, flows1 - flows0, tasks1 - tasks0, verdicts, code, note)
        )
        if args.keep and not verified and not steps[1:]:  # after (a): its copy
            shutil.rmtree(after_a, ignore_errors=True)
            shutil.copytree(data, after_a)


def report(n: int, steps: list[Step], console: Console) -> None:
    database = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL", "sqlite")
    backend = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    load = os.getloadavg()
    table = Table(
        title=f"{n} watched fixture posts, fresh postcheck process per step, "
        f"Prefect server on {backend}, {os.cpu_count()} cores "
        f"(load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f})"
    )
    for col in ("step", "wall s", "ms/post", "peak RSS MiB", "flow runs", "task runs"):
        table.add_column(col, justify="left" if col == "step" else "right")
    table.add_column("verdicts")
    for s in steps:
        verdicts = ", ".join(f"{k} {v}" for k, v in sorted(s.verdicts.items()))
        table.add_row(
            s.name,
            f"{s.seconds:.1f}",
            f"{1000 * s.seconds / s.posts:.0f}",
            f"{s.peak_rss_mib:.0f}",
            str(s.flow_runs),
            str(s.task_runs),
            verdicts + (f"; {s.note}" if s.note else ""),
        )
    console.print(table)


if __name__ == "__main__":
    main()
