"""Time of a nightly recheck of 200 watched fixture posts (half X, half Bluesky), on a
local Prefect server, with the per-platform rate limits set high (the fixture server is
local; real limits are a setting).

    .venv/bin/python benchmarks/recheck_200.py [--posts 200] [--concurrency 2]

The Prefect server keeps its state in SQLite unless PREFECT_API_DATABASE_CONNECTION_URL
names a PostgreSQL database; with Debian's PostgreSQL, a throwaway one:

    pg_virtualenv sh -c 'PREFECT_API_DATABASE_CONNECTION_URL=postgresql+asyncpg://$PGUSER:$PGPASSWORD@$PGHOST:$PGPORT/$PGDATABASE .venv/bin/python benchmarks/recheck_200.py'
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from postcheck.fixtures.server import FixtureServer
from postcheck.prefect_local import LocalPrefectServer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        FixtureServer() as server,
        LocalPrefectServer(Path(tmp) / "prefect") as prefect,
    ):
        urls = server.world.add_generated_posts(args.posts)
        os.environ.update(server.env(unthrottled=True))
        os.environ.update(
            {
                "POSTCHECK_DATA_DIR": f"{tmp}/data",
                "PREFECT_API_URL": prefect.api_url,
                "PREFECT_LOGGING_TO_API_ENABLED": "false",
                "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "WARNING",
            }
        )
        from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
        from prefect.task_runners import ThreadPoolTaskRunner

        from postcheck.flows.recheck import recheck
        from postcheck.flows.verify_article import verify_article
        from postcheck.services import services

        rows = []
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            # Seed: verify every post once, the way an article with many embeds would.
            page = "\n".join(urls)
            seeding = verify_article.with_options(
                task_runner=ThreadPoolTaskRunner(max_workers=args.concurrency)
            )
            os.environ["POSTCHECK_MAX_ARTICLE_POSTS"] = str(args.posts)
            from postcheck.services import reset_services

            reset_services()
            t0 = time.perf_counter()
            state = seeding("bulk", text=page, return_state=True)
            rows.append(("first verify of every post", time.perf_counter() - t0, state.message))
            watched = len(services().store.watched_posts())
            nightly = recheck.with_options(
                task_runner=ThreadPoolTaskRunner(max_workers=args.concurrency)
            )
            t0 = time.perf_counter()
            state = nightly(return_state=True)
            rows.append(
                (f"recheck of {watched} watched posts", time.perf_counter() - t0, state.message)
            )
            t0 = time.perf_counter()
            state = nightly(return_state=True)
            rows.append(
                (f"second recheck of {watched} posts", time.perf_counter() - t0, state.message)
            )
    database = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL", "sqlite")
    backend = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    table = Table(
        title=f"recheck benchmark: {args.posts} posts, {args.concurrency} at once, "
        f"{os.cpu_count()} cores, Prefect server on {backend}"
    )
    for col in ("run", "seconds", "posts/s", "result"):
        table.add_column(col)
    for name, secs, message in rows:
        table.add_row(name, f"{secs:.1f}", f"{args.posts / secs:.1f}", message or "")
    Console().print(table)


if __name__ == "__main__":
    main()
