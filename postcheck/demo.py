"""`postcheck demo`: the whole pipeline, offline, against the bundled fixture server."""

from __future__ import annotations

import json
import os
import time
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.table import Table

from postcheck.console import styled
from postcheck.domain import CheckReport, PostRef


def fixtures_dir() -> Path:
    return Path(str(resources.files("postcheck.fixtures")))


def load_scenarios() -> dict:
    return json.loads((fixtures_dir() / "scenarios.json").read_text())


def load_demo_library(svc, manifest: Path) -> int:
    """The demo's own library: the manifest's files, and, when it was kept from a run of
    an older version, its codes brought up to date (the demo does what `known rehash`
    asks of a real library rather than end with a note telling the user to)."""
    n = load_known_manifest(svc, manifest)
    if svc.library.outdated():
        from postcheck.library import rehash_known

        rehash_known(svc, workers=1)
        svc.library.reindex()
    return n


def load_known_manifest(svc, manifest: Path) -> int:
    """Add every file a known-image manifest lists, with its provenance."""
    from postcheck.library import add_known_file, read_manifest

    rows, bad = read_manifest(manifest)
    if bad:
        raise ValueError(f"bad manifest rows: {bad}")
    for path, prov in rows.items():
        add_known_file(svc, path, **vars(prov))
    return len(rows)


def post_label(ref: PostRef, report: CheckReport | None) -> str:
    """'x @handle' for a demo row: the author as the platform says (an /i/web/status/ URL
    names none), else as the URL says, else the post's id."""
    post = report.post if report is not None else None
    who = (post.author_handle if post else None) or ref.author
    return f"{ref.platform} @{who}" if who else f"{ref.platform} {ref.post_id}"


def run_demo(
    console: Console, verbose: bool = False, serve_seconds: int = 0
) -> list[tuple[str, str, str]]:
    from postcheck.fixtures.server import FixtureServer
    from postcheck.services import reset_services, services
    from postcheck.settings import get_settings
    from postcheck.sources import platform_titles

    scenarios = load_scenarios()
    from postcheck.cli import prefect_ready

    # The runs go to the user's data folder's background Prefect server (started now if
    # need be, and left running), not to one of the demo's own: one server, one UI.
    console.print("Prefect: the background server (started once), unless PREFECT_API_URL is set…")
    api_url = prefect_ready(verbose)
    background = api_url.removesuffix("/api") if api_url else None
    server = FixtureServer().start()
    # The demo keeps its own library so it never mixes with the user's real one.
    data_dir = get_settings().data_dir / "demo"
    os.environ.update(server.env())
    os.environ["POSTCHECK_DATA_DIR"] = str(data_dir)
    reset_services()
    try:
        svc = services()
        console.print(f"Fixture server: {server.base_url} (answers like {platform_titles()})")
        n = load_demo_library(svc, fixtures_dir() / scenarios["known_manifest"])
        console.print(f"Known library: {n} images from the fixture archive ({data_dir})")

        from postcheck.cli import Options, run_verify
        from postcheck.runner import ui_run_url

        Options.verbose = verbose
        from postcheck.sources import parse_post_url

        table = Table(title="postcheck demo: fixture posts through the real clients")
        for col in ("post", "scenario", "verdict", "s", "why"):
            table.add_column(col, overflow="fold")
        results = []
        for item in scenarios["posts"]:
            ref = parse_post_url(item["url"])
            t0 = time.perf_counter()
            report, message, run_id = run_verify(item["url"])
            took = time.perf_counter() - t0
            label = post_label(ref, report)
            verdict = report.verdict.value if report else "error"
            why = "; ".join(report.reasons) if report else (message or "")
            style = "green" if verdict == item["expect"] else "bold red"
            mark = "" if verdict == item["expect"] else f" (expected {item['expect']})"
            table.add_row(
                label, item["what"], styled((f"{verdict}{mark}", style)), f"{took:.1f}", why[:140]
            )
            results.append((item["url"], verdict, run_id or ""))
        console.print(table)
        wrong = [
            r for r, item in zip(results, scenarios["posts"], strict=True) if r[1] != item["expect"]
        ]
        if wrong:
            console.print(
                styled(
                    (f"{len(wrong)} verdict(s) differ from what the fixtures expect", "bold red")
                )
            )
        else:
            console.print(styled(("every fixture post got its expected verdict", "green")))
        counts = svc.store.counts()
        console.print(
            f"Store: {counts['posts']} posts, {counts['media']} media files, {counts['checks']} checks"
        )
        first = ui_run_url(results[0][2]) if results else None
        if first:
            console.print(
                f"Open the runs in the Prefect UI, e.g. {first} (Artifacts show each post's report)."
            )
        if background:
            console.print(
                f"The background Prefect server keeps running at {background} "
                "(`postcheck server status`; stop it with `postcheck server stop`)."
            )
        if serve_seconds:
            console.print(f"Fixture server stays up for {serve_seconds} s at {server.base_url}")
            time.sleep(serve_seconds)
        return results
    finally:
        server.stop()
