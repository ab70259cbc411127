"""The `postcheck` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from postcheck.cli_server import server_app
from postcheck.console import link, one_line, plain_console, styled
from postcheck.domain import CheckReport, ImageReport, Verdict
from postcheck.errors import BadURL, PostcheckError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Verify the pictures in social-media posts.",
)
known_app = typer.Typer(no_args_is_help=True, help="The library of known images.")
app.add_typer(known_app, name="known")
app.add_typer(server_app, name="server")

# No string printed by the CLI is ever read as markup: post text, captions, file names and
# error messages are user or remote text (postcheck.console).
out = plain_console()
err = plain_console(stderr=True)

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2
VERDICT_STYLE = {
    Verdict.RECYCLED: "bold red",
    Verdict.ALTERED: "bold dark_orange",
    Verdict.METADATA_CONFLICT: "dark_orange",
    Verdict.MATCHES_KNOWN: "blue",
    Verdict.NO_KNOWN_MATCH: "green",
    Verdict.UNAVAILABLE: "dim",
    Verdict.ERROR: "bold magenta",
}


# Metadata facts too common to repeat on every line of the table.
QUIET_FINDINGS = {"metadata_absent", "c2pa_absent"}


LinksOption = Annotated[
    bool,
    typer.Option(
        "--links",
        help="Under the table, each picture's reverse-search links (Google Lens, Bing, "
        "Yandex, TinEye; always in --json).",
    ),
]


class Options:
    verbose = False


@app.callback()
def _options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show Prefect's run logs.")
    ] = False,
) -> None:
    Options.verbose = verbose


def error_line(message: object, label: str = "error:") -> None:
    err.print(styled((label, "bold red"), " ", one_line(message)), soft_wrap=True)  # one line


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    error_line(message)
    raise typer.Exit(code)


def local_file_or_fail(source: str, hint: str = "") -> Path:
    """The regular file a user named, or a one-line refusal (exit 2)."""
    from postcheck.bulk import NO_SUCH_FILE, file_refusal

    path = Path(source).expanduser()
    why = file_refusal(path)
    if why is not None:
        fail(f"{source}: {why}{hint if why == NO_SUCH_FILE else ''}")
    return path


# --- verify ------------------------------------------------------------------------------------


def run_flow(name: str, **params) -> tuple[CheckReport | None, str | None, str | None]:
    """Run one of postcheck's flows in this process; (report, state message, flow run id)."""
    state = _run_state(name, **params)
    report = state.result(raise_on_failure=False)
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if isinstance(report, CheckReport):
        return report, state.message, run_id
    return None, state.message, run_id


def prefect_ready(verbose: bool | None = None) -> str | None:
    """Quiet Prefect's console, and send the runs to the background Prefect server
    (started on first use) unless PREFECT_API_URL says where they go; the background
    server's API URL when it is the one."""
    return prefect_starting(verbose)()


def prefect_starting(verbose: bool | None = None) -> Callable[[], str | None]:
    """`prefect_ready` in two halves: the background server starts (or is found) in the
    background from now on; the function returned waits for it (one line and exit 1 if
    it did not come up). A command imports its flow in between."""
    from postcheck.prefect_background import ServerError
    from postcheck.runner import configure_console, start_background_server

    configure_console(Options.verbose if verbose is None else verbose)
    notice = lambda line: err.print(line, soft_wrap=True)  # noqa: E731
    try:
        waiting = start_background_server(notice=notice)
    except ServerError as exc:
        fail(str(exc), EXIT_CHECK_FAILED)

    def ready() -> str | None:
        try:
            return waiting()
        except ServerError as exc:
            fail(str(exc), EXIT_CHECK_FAILED)
        return None

    return ready


def _run_state(name: str, **params):
    """Run a flow by name in this process, quietly, tagged by platform where there is one."""
    from postcheck.runner import cli_run_settings

    ready = prefect_starting()  # a first command's server boots while the flow is imported
    from prefect import tags

    if name == "verify-post":
        from postcheck.flows.verify_post import verify_post as fn
        from postcheck.sources import parse_post_url

        labels = [parse_post_url(params["url"]).platform]
    elif name == "check-image":
        from postcheck.flows.check_image import check_image as fn

        labels = []
    elif name == "verify-article":
        from postcheck.flows.verify_article import verify_article as fn

        labels = ["article"]
    elif name == "reindex-known":
        from postcheck.flows.reindex_known import reindex_known as fn

        labels = ["index"]
    elif name == "export-evidence":
        from postcheck.flows.export_evidence import export_evidence as fn

        labels = ["export"]
    else:
        from postcheck.flows.recheck import recheck as fn

        labels = ["recheck"]
    ready()
    with cli_run_settings(), tags(*labels):
        return fn(**params, return_state=True)


def run_verify(url: str) -> tuple[CheckReport | None, str | None, str | None]:
    return run_flow("verify-post", url=url)


def emit(
    report: CheckReport | None,
    message: str | None,
    run_id: str | None,
    as_json: bool,
    links: bool = False,
) -> None:
    """Print a finished check and exit: 0 completed, 1 the check itself failed."""
    if report is None:
        fail(message or "the check could not be run", EXIT_CHECK_FAILED)
    from postcheck.runner import ui_run_url

    run_url = ui_run_url(run_id)
    if as_json:
        payload = report.model_dump(mode="json")
        payload["prefect_run_url"] = run_url
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        print_report(report, run_url, links)
    raise typer.Exit(EXIT_CHECK_FAILED if report.verdict is Verdict.ERROR else EXIT_OK)


@app.command()
def verify(
    urls: Annotated[
        list[str] | None, typer.Argument(help="Post URLs (see README: accepted URL forms).")
    ] = None,
    from_file: Annotated[
        str | None,
        typer.Option(
            "--from", help="Read post URLs from FILE ('-': stdin), one a line; # comments."
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the report as JSON (several: one per line)."),
    ] = False,
    links: LinksOption = False,
) -> None:
    """Check the pictures of posts against the known library; record the verdicts."""
    from postcheck.sources import parse_post_url

    urls = list(urls or [])
    if len(urls) == 1 and from_file is None:
        parse_post_url(urls[0])  # bad input is refused before Prefect starts
        emit(*run_verify(urls[0]), as_json, links)
    lines = [(f"argument {i}", u) for i, u in enumerate(urls, start=1)]
    if from_file is not None:
        lines += read_url_lines(from_file)
    if not lines:
        fail("no post URLs given (arguments or --from FILE)")
    good: list[str] = []
    bad = 0
    for where, line in lines:
        try:
            parse_post_url(line)
        except PostcheckError as exc:
            bad += 1
            err.print(f"error: {where}: {one_line(str(exc))}", soft_wrap=True)
            continue
        good.append(line)
    reports = run_bulk(good, as_json) if good else []
    print_bulk(reports, as_json)
    failed = any(r.verdict is Verdict.ERROR for r in reports)
    raise typer.Exit(EXIT_BAD_INPUT if bad else EXIT_CHECK_FAILED if failed else EXIT_OK)


def read_url_lines(source: str) -> list[tuple[str, str]]:
    """(where, URL) for every line that is not blank or a # comment."""
    name = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).expanduser().read_text()
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{name}: {exc.strerror if isinstance(exc, OSError) else 'not a text file'}")
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line and not line.startswith("#"):
            out.append((f"{name}:{n}", line))
    return out


def run_bulk(urls: list[str], as_json: bool = False) -> list[CheckReport]:
    """Every URL in ONE flow run (verify-posts), a bounded number at once."""
    from postcheck.runner import cli_run_settings

    prefect_ready()
    from prefect import tags
    from prefect.task_runners import ThreadPoolTaskRunner

    from postcheck.flows.verify_posts import verify_posts
    from postcheck.item_lists import as_parameters
    from postcheck.services import services

    workers = max(1, services().settings.bulk_concurrency)
    flow = verify_posts.with_options(task_runner=ThreadPoolTaskRunner(max_workers=workers))
    listed, listed_file = as_parameters(urls, services().settings.data_dir)
    with with_progress(len(urls), "verifying", as_json), cli_run_settings(), tags("bulk"):
        state = flow(urls=listed, count=len(urls), urls_file=listed_file, return_state=True)
    return bulk_reports(state)


@contextmanager
def with_progress(total: int, what: str, as_json: bool) -> Iterator[None]:
    """The batch flow run's finished items advance a progress bar on stderr (a terminal)."""
    from postcheck import progress
    from postcheck.bulk import progress_bar, wants_progress

    enabled = wants_progress(err, as_json)
    with progress_bar(total, what, enabled) as advance, progress.listening(advance):
        yield


def bulk_reports(state) -> list[CheckReport]:
    reports = state.result(raise_on_failure=False)
    if not isinstance(reports, list):
        fail(state.message or "the bulk check could not be run", EXIT_CHECK_FAILED)
    return reports


def print_bulk(reports: list[CheckReport], as_json: bool, noun: str = "post") -> None:
    """JSON Lines (one report a line) with --json, else a table."""
    if as_json:
        for r in reports:
            sys.stdout.write(json.dumps(r.model_dump(mode="json"), ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(reports)} {noun}s")
    for col in (noun, "verdict", "why"):
        table.add_column(col, overflow="fold")
    for r in reports:
        why = r.reasons[0] if r.reasons else ""
        table.add_row(
            Text(r.url), Text(r.verdict.value, style=VERDICT_STYLE[r.verdict]), Text(why[:160])
        )
    out.print(table)


@app.command()
def check(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Image or video files, folders (walked for pictures and videos), image URLs."
        ),
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON (several: one per line).")
    ] = False,
    claimed_date: Annotated[
        str | None,
        typer.Option(
            help="When the picture is claimed to be from (YYYY-MM-DD): an older match makes it recycled."
        ),
    ] = None,
    claimed_place: Annotated[
        str | None,
        typer.Option(
            help="Where the picture is claimed to show, LAT,LON[,KM] in decimal degrees: a GPS "
            "position in the file farther than KM (default 50) is a metadata conflict."
        ),
    ] = None,
    links: LinksOption = False,
) -> None:
    """Check pictures (files, folders or URLs) against the known library."""
    from postcheck.dates import parse_datetime
    from postcheck.verifiers.place import parse_claimed_place

    if len(sources) > 1 or Path(sources[0]).expanduser().is_dir():
        check_many(sources, as_json, claimed_date, claimed_place)
    [source] = sources
    local = not source.lower().startswith(("http://", "https://"))
    path = local_file_or_fail(source) if local else None
    try:
        parse_datetime(claimed_date, "claimed date")
        parse_claimed_place(claimed_place)
    except ValueError as exc:
        fail(str(exc))
    if path is not None:
        from postcheck.bulk import media_refusal

        why = media_refusal(path)  # a page, a PDF, an empty file: refused before Prefect
        if why is not None:
            fail(f"{path.name}: {why}")
    params = {"source": source, "claimed_date": claimed_date, "claimed_place": claimed_place}
    emit(*run_flow("check-image", **params), as_json, links)


def check_many(
    args: list[str], as_json: bool, claimed_date: str | None, claimed_place: str | None
) -> None:
    """Many pictures in ONE flow run (check-images); bad items one line each (exit 2)."""
    from postcheck.bulk import collect, run_check_batch
    from postcheck.dates import parse_datetime
    from postcheck.services import services
    from postcheck.verifiers.place import parse_claimed_place

    try:
        parse_datetime(claimed_date, "claimed date")
        parse_claimed_place(claimed_place)
    except ValueError as exc:
        fail(str(exc))
    items = collect(args)
    for where, why in items.bad:
        error_line(f"{where}: {why}")
    for note in items.notes:
        err.print(f"note: {one_line(note)}", soft_wrap=True)
    if not items.sources and not items.bad:
        fail("no pictures or videos found")
    reports: list[CheckReport] = []
    if items.sources:
        prefect_ready()  # the background server unless PREFECT_API_URL says where runs go
        workers = max(1, services().settings.bulk_concurrency)
        with with_progress(len(items.sources), "checking", as_json):
            state = run_check_batch(items.sources, claimed_date, claimed_place, workers)
        reports = bulk_reports(state)
    print_bulk(reports, as_json, "picture")
    failed = any(r.verdict is Verdict.ERROR for r in reports)
    raise typer.Exit(EXIT_BAD_INPUT if items.bad else EXIT_CHECK_FAILED if failed else EXIT_OK)


def print_report(report: CheckReport, run_url: str | None = None, links: bool = False) -> None:
    from postcheck.report import post_facts

    post = report.post
    if post is not None:
        who = f"@{post.author_handle}" if post.author_handle else (post.author_id or "?")
        out.print(
            styled(
                (post.author_name or who, "bold"),
                f" ({who}) · {post.created_at:%Y-%m-%d %H:%M} UTC",
            )
        )
        out.print(link(post.url))
        if post.text:
            out.print(styled((post.text, "italic")))
        for line in post_facts(post):
            out.print(styled((line, "dim")))
    else:
        out.print(report.url)
    if report.images:
        table = Table(show_lines=False)
        for col in (
            "#",
            "verdict",
            "nearest known image",
            "first seen",
            "distance",
            "edits",
            "why",
        ):
            table.add_column(col, overflow="fold")
        for image in report.images:
            # The picture the verdict rests on, else the nearest one.
            best = image.evidence or (image.matches[0] if image.matches else None)
            table.add_row(
                str(image.position + 1),
                styled((image.verdict.value, VERDICT_STYLE[image.verdict])),
                f"#{best.known.id} {best.known.caption or ''}{'' if best.is_match else ' (no match)'}"
                if best
                else "—",
                f"{best.known.first_seen:%Y-%m-%d}" if best and best.known.first_seen else "—",
                ", ".join(f"{k} {v}" for k, v in sorted(best.distances.items())) if best else "—",
                "hash only: no file could confirm it"
                if best and best.hash_only and best.is_match
                else ", ".join(best.details or [e.value for e in best.edits])
                if best and best.edits
                else "—",
                "; ".join(image.reasons),
            )
        out.print(table)
        for image in report.images:
            if image.video is not None:
                v = image.video
                out.print(
                    f"  image {image.position + 1} video: {v.duration:.1f} s, {v.width}×{v.height}, "
                    f"{v.frames_examined} frames examined" + (f" ({v.note})" if v.note else "")
                )
                for m in v.matches:
                    kind = "known video" if m.known_is_video else "known picture"
                    out.print(
                        f"    {kind} #{m.known.id} {m.known.caption or ''}: {'; '.join(m.details)}"
                    )
            shown = [f for f in image.findings if f.red_flag or f.code not in QUIET_FINDINGS]
            if shown:
                notes: list = []
                for i, f in enumerate(shown):
                    notes += ["; "] if i else []
                    notes.append((f.message, "dark_orange") if f.red_flag else f.message)
                out.print(styled(f"  image {image.position + 1} metadata: ", *notes))
            if links:
                print_search_links(image)
    out.print(
        styled(
            "Verdict: ",
            (report.verdict.value, VERDICT_STYLE[report.verdict]),
            f" — {'; '.join(report.reasons)}",
        )
    )
    if report.check_id:
        out.print(
            styled(
                (
                    f"check #{report.check_id}" + (f" · Prefect run: {run_url}" if run_url else ""),
                    "dim",
                )
            )
        )


def print_search_links(image: ImageReport) -> None:
    """One line per service, the URL in full so a terminal can open or copy it."""
    found = image.reverse_search
    if not found.links:
        out.print(f"  image {image.position + 1} reverse search: {found.note or ''}")
        return
    out.print(f"  image {image.position + 1} reverse search:")
    for item in found.links:
        out.print(styled(f"    {item.service}: ", link(item.url)), soft_wrap=True)


@app.command()
def article(
    source: Annotated[
        str, typer.Argument(help="Article URL, a saved page (HTML or text), or - for stdin.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Find every post a news article embeds and verify each."""
    params: dict[str, str] = {"source": source}
    if source == "-":
        data = sys.stdin.buffer.read(20 * 1024 * 1024 + 1)
        if b"\x00" in data[:4096]:
            fail("stdin: binary content, not a page")
        # By reference: Prefect refuses a flow parameter over 512 KB (postcheck.inputs).
        from postcheck.inputs import store_input
        from postcheck.settings import get_settings

        params = {"source": "stdin", "text_ref": store_input(get_settings(), data)}
    elif source.startswith(("http://", "https://")):
        from urllib.parse import urlsplit

        if not urlsplit(source).netloc:
            fail(f"not a web page URL: {source}")
    else:
        local_file_or_fail(source, " (give a URL, a saved page, or - for stdin)")
    state = _run_state("verify-article", **params)
    result = state.result(raise_on_failure=False)
    from postcheck.articles import ArticleReport

    if not isinstance(result, ArticleReport):
        fail(state.message or "the article could not be checked", EXIT_CHECK_FAILED)
    if as_json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        raise typer.Exit(EXIT_OK)
    table = Table(title=result.source)
    for col in ("#", "embed", "post", "verdict", "mismatches / why"):
        table.add_column(col, overflow="fold")
    for i, post in enumerate(result.posts, start=1):
        claim = post.claim
        label = post.verdict.value if post.verdict else post.status
        style = VERDICT_STYLE.get(post.verdict, "dim") if post.verdict else "dim"
        who = f"@{claim.author_handle}" if claim.author_handle else "?"
        notes = post.mismatches + post.reasons[:2]
        table.add_row(
            str(i),
            f"{claim.form} {who} {claim.date_text or ''}",
            post.url or "—",
            styled((label, style)),
            "; ".join(notes),
        )
    if result.posts:
        out.print(table)
    out.print(result.message)


@app.command()
def history(url: Annotated[str, typer.Argument(help="Post URL.")]) -> None:
    """Every check of a post, newest first, with what changed."""
    from postcheck.services import services
    from postcheck.sources import parse_post_url

    ref = parse_post_url(url)
    store = services().store
    uri = store.post_uri_for(ref)
    checks = store.history(uri) if uri else []
    if not checks:
        fail(f"no checks recorded for {ref.url}")
    changes: dict[int, list[str]] = {}
    for t in store.transitions(uri):
        changes.setdefault(t.check_id, []).append(t.kind)
    table = Table(title=f"{uri} · {len(checks)} checks")
    for col in ("check", "when (UTC)", "verdict", "changes", "why", "flow run"):
        table.add_column(col, overflow="fold")
    for c in checks:
        verdict = Verdict(c.verdict)
        table.add_row(
            f"#{c.id}",
            f"{c.finished_at:%Y-%m-%d %H:%M:%S}",
            styled((c.verdict, VERDICT_STYLE[verdict])),
            ", ".join(changes.get(c.id, [])) or "—",
            "; ".join(c.reasons)[:200],
            c.flow_run_id or "—",
        )
    out.print(table)


@app.command()
def export(
    target: Annotated[str, typer.Argument(help="Post URL, check id, or with --verify a bundle.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="The zip to write.")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="Check a bundle's hashes and timestamp token.")
    ] = False,
    tsa_cert: Annotated[
        Path | None,
        typer.Option(
            "--tsa-cert",
            help="With --verify: PEM of the TSA's CA (or its chain) to check the token's signature.",
        ),
    ] = None,
) -> None:
    """An evidence bundle of a check (the post's latest, or that check id), or --verify one."""
    from postcheck import bundle
    from postcheck.timestamp import load_certificates

    if verify:
        try:
            trusted = load_certificates(tsa_cert) if tsa_cert else None
            intact, message = bundle.verify_bundle(Path(target), trusted)
        except (bundle.NotABundle, ValueError) as exc:
            fail(str(exc))
        out.print(message, highlight=False, markup=False)
        raise typer.Exit(EXIT_OK if intact else EXIT_CHECK_FAILED)
    # One flow run, export-evidence; the bundle lands in the current folder unless -o.
    state = _run_state(
        "export-evidence",
        target=target,
        output=str(output.absolute()) if output else f"{Path.cwd()}/",
    )
    result = state.result(raise_on_failure=False)
    if isinstance(result, BadURL | bundle.NoSuchCheck):
        fail(str(result))
    if not state.is_completed():
        fail(one_line(state.message or "the export failed"), EXIT_CHECK_FAILED)
    out.print(state.message or "", highlight=False, markup=False)


def _set_watch(url: str, watched: bool) -> None:
    from postcheck.services import services
    from postcheck.sources import parse_post_url

    ref = parse_post_url(url)
    if not services().store.set_watched(ref, watched):
        fail(f"{ref.url} has not been verified yet (verify it first)")
    out.print(f"{'watching' if watched else 'no longer watching'} {ref.url}")


@app.command()
def watch(url: Annotated[str, typer.Argument(help="Post URL.")]) -> None:
    """Include a post in the nightly recheck (verified posts are watched by default)."""
    _set_watch(url, True)


@app.command()
def unwatch(url: Annotated[str, typer.Argument(help="Post URL.")]) -> None:
    """Leave a post out of the nightly recheck."""
    _set_watch(url, False)


@app.command()
def recheck(
    platform: Annotated[
        str | None, typer.Option(help="Only this platform (its name: postcheck platforms).")
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N watched posts.")] = None,
) -> None:
    """Recheck every watched post now (what the nightly deployment does)."""
    if platform is not None:
        from postcheck.sources import platform_named

        try:
            platform_named(platform)
        except PostcheckError as exc:
            fail(str(exc))
    state = _run_state("recheck", platform=platform, limit=limit)
    outcomes = state.result(raise_on_failure=False)
    if not isinstance(outcomes, list):
        fail(state.message or "the recheck could not be run", EXIT_CHECK_FAILED)
    for o in outcomes:
        for t in o.transitions:
            out.print(styled(f"{o.url}: ", (t.kind, "bold"), f" — {t.message}"))
    out.print(state.message or "")


@app.command()
def platforms() -> None:
    """The platforms postcheck reads, and the post URLs each accepts."""
    from postcheck.sources import platforms as registered

    table = Table("name", "platform", "accepted post URLs")
    for platform in registered().values():
        table.add_row(platform.name, platform.title, "\n".join(platform.url_forms))
    out.print(table)


@app.command()
def serve() -> None:
    """Serve every deployment (verify-post, verify-article, check-image, ingest-known,
    reindex-known and nightly-recheck on their crons) in this process, for a local Prefect
    server."""
    prefect_ready(verbose=True)
    from prefect import serve as prefect_serve

    from postcheck.deployments import deployments
    from postcheck.settings import get_settings

    settings = get_settings()
    out.print(
        f"serving postcheck's deployments; nightly recheck at '{settings.recheck_cron}' {settings.recheck_timezone}"
    )
    prefect_serve(*deployments(settings), limit=settings.serve_limit)


# --- known library ---------------------------------------------------------------------------


@known_app.command("add")
def known_add(
    path: Annotated[Path, typer.Argument(help="Image file.")],
    source_url: Annotated[
        str | None, typer.Option(help="Where the picture was first published.")
    ] = None,
    first_seen: Annotated[str | None, typer.Option(help="YYYY-MM-DD or ISO timestamp.")] = None,
    caption: Annotated[str | None, typer.Option()] = None,
    credit: Annotated[str | None, typer.Option()] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Repeatable.")] = None,
) -> None:
    """Add one known image with its provenance."""
    from postcheck.library import add_known_file, parse_first_seen
    from postcheck.services import services

    try:
        seen = parse_first_seen(first_seen)
    except ValueError as exc:
        fail(str(exc))
    known, created = add_known_file(
        services(),
        path,
        source_url=source_url,
        first_seen=seen,
        caption=caption,
        credit=credit,
        tags=tag,
    )
    verb = "added" if created else "already known; merged"
    out.print(
        f"{verb}: known image #{known.id} ({known.sha256[:12]}…)"
        + (f", first seen {known.first_seen:%Y-%m-%d}" if known.first_seen else "")
    )


@known_app.command("list")
def known_list(
    limit: Annotated[int, typer.Option(help="How many to show.")] = 50,
    offset: Annotated[int, typer.Option()] = 0,
) -> None:
    """List known images."""
    from postcheck.services import services

    rows = services().store.list_known(limit=limit, offset=offset)
    table = Table()
    for col in ("id", "first seen", "caption", "source", "origin", "sha256"):
        table.add_column(col, overflow="fold")
    for k in rows:
        table.add_row(
            str(k.id),
            f"{k.first_seen:%Y-%m-%d}" if k.first_seen else "—",
            k.caption or "",
            k.source_url or k.post_uri or "",
            k.origin if not k.hash_only else f"hash only: {_list_line(k)}",
            k.sha256[:12] if k.sha256 else "— (no file)",
        )
    out.print(table)


def _list_line(known) -> str:
    return f"{known.list_name or 'a hash list'}" + (
        f" line {known.list_line}" if known.list_line else ""
    )


@known_app.command("import-hashes")
def known_import_hashes(
    source: Annotated[str, typer.Argument(help="The hash list, or - for stdin.")],
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="tx: python-threatexchange's local file ('pdq <hex>' a line); csv: our "
            "export's columns. Default: detected from the first line.",
        ),
    ] = None,
) -> None:
    """Add a hash list's PDQ hashes as hash-only known entries (pictures we have no file
    for); re-importing a list adds nothing new. Bad lines are named and skipped (exit 2)."""
    from postcheck.hash_lists import FORMATS
    from postcheck.library import import_hash_list
    from postcheck.services import services

    if fmt is not None and fmt not in FORMATS:
        fail(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    try:
        if source == "-":
            text, name = sys.stdin.read(), "stdin"
        else:
            text, name = Path(source).read_text(encoding="utf-8"), Path(source).name
    except UnicodeDecodeError:
        fail(f"{source}: not a text file (a hash list is UTF-8 text)")
    except OSError as exc:
        fail(f"{source}: {exc.strerror or exc}")
    parsed, added = import_hash_list(services(), text, name, fmt)
    for line, why in parsed.bad[:50]:
        err.print(f"{source}:{line}: {why}", highlight=False, markup=False)
    if len(parsed.bad) > 50:
        err.print(f"… and {len(parsed.bad) - 50} more bad lines")
    out.print(
        f"import-hashes ({parsed.format}): {added} hash-only entries added, "
        f"{len(parsed.entries) - added} already in the library, {len(parsed.bad)} bad lines "
        "skipped; only PDQ hashes are matchable hash-only",
        highlight=False,
    )
    if parsed.bad:
        raise typer.Exit(EXIT_BAD_INPUT)


@known_app.command("import")
def known_import(
    folder: Annotated[Path, typer.Argument(help="Folder of images (searched recursively).")],
    manifest: Annotated[
        Path | None,
        typer.Option(help="CSV or JSON: path,source_url,first_seen,caption,credit,tags"),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="Hashing processes (default: all cores).")
    ] = None,
) -> None:
    """Import an archive of known images; re-running skips what is already in."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from postcheck.library import import_folder
    from postcheck.services import services

    if not folder.is_dir():
        fail(f"{folder}: not a folder")
    if manifest is not None and not manifest.is_file():
        fail(f"{manifest}: no such manifest")
    columns = (
        TextColumn("{task.description}", markup=False),  # file names are not markup
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("hashing", total=None)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total, description=f"hashing {what[:30]:30}")

        try:
            report = import_folder(services(), folder, manifest, workers=workers, progress=progress)
        except ValueError as exc:
            fail(str(exc))
    out.print(f"import: {report.summary}")
    for where, why in report.failed[:50]:
        err.print(f"  skipped {where}: {one_line(why)}")
    if len(report.failed) > 50:
        err.print(f"  … and {len(report.failed) - 50} more")
    if report.added >= services().settings.reindex_after_import:
        out.print("rebuilding the index after a large import…")
        _reindex()


def _reindex() -> None:
    state = _run_state("reindex-known")
    if not state.is_completed():
        fail(state.message or "the index could not be rebuilt", EXIT_CHECK_FAILED)
    out.print(state.message or "")


@known_app.command("reindex")
def known_reindex() -> None:
    """Rebuild the library's index from the store (after a large import or an upgrade):
    retrains it and compacts away removed pictures. Checks go on meanwhile."""
    _reindex()


@known_app.command("rehash")
def known_rehash(
    everything: Annotated[
        bool, typer.Option("--all", help="Every known picture, not only the out-of-date ones.")
    ] = False,
    workers: Annotated[
        int | None, typer.Option(help="Hashing processes (default: all cores).")
    ] = None,
) -> None:
    """Hash the known pictures' stored files again where their codes are older than the
    current code set (a family or window added since), in batches, then rebuild the
    index. Interrupted, it resumes where it stopped."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from postcheck.library import rehash_known
    from postcheck.services import services

    columns = (BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("re-hashing", total=None)

        def progress(done: int, total: int, _what: str) -> None:
            bar.update(task, completed=done, total=total)

        report = rehash_known(services(), everything=everything, workers=workers, progress=progress)
    out.print(f"rehash: {report.summary}")
    for where, why in report.failed[:50]:
        err.print(f"  not re-hashed {where}: {one_line(why)}")
    if len(report.failed) > 50:
        err.print(f"  … and {len(report.failed) - 50} more")
    # A rebuild also when the index was built under older hash families, though no
    # picture needed re-hashing (re-hashed earlier, or by a version that kept none).
    if report.rehashed or services().library.outdated():
        _reindex()


@known_app.command("export")
def known_export(
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="tx: python-threatexchange's local file ('pdq <hex>' a line); csv: signal "
            "type, hash, source URL, first seen, caption.",
        ),
    ] = "tx",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Write the library's PDQ hashes as a hash list other tools read."""
    from postcheck.hash_lists import FORMATS, hash_list
    from postcheck.services import services
    from postcheck.verifiers import perceptual
    from postcheck.verifiers.families import families

    if fmt not in FORMATS:
        fail(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    svc, family = services(), families()["pdq"]
    entries, flat = [], 0
    for known, code in svc.store.known_with_code(family.name):
        path = svc.media.file_of(known.sha256)
        if code is None and path:  # hashed before PDQ existed: hash the file now
            try:
                code = family.library_codes(perceptual.library_view(path)).get("")
            except (OSError, ValueError, PostcheckError):
                code = None
        if code is None:
            flat += 1  # under PDQ's quality floor (or a video): no hash worth sharing
            continue
        entries.append((known, code.hex()))
    text = hash_list(entries, fmt)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    err.print(
        f"exported {len(entries)} PDQ hashes"
        + (f" to {output}" if output else "")
        + (f"; {flat} pictures without one (under PDQ's quality floor or no file)" if flat else ""),
        highlight=False,
    )


@known_app.command("show")
def known_show(known_id: Annotated[int, typer.Argument()]) -> None:
    """Show one known image with its provenance."""
    from postcheck.services import services

    known = services().store.get_known(known_id)
    if known is None:
        fail(f"no known image #{known_id}")
    for key, value in known.model_dump(mode="json").items():
        out.print(f"{key:12} {value if value is not None else '—'}")
    if known.hash_only:
        out.print(f"{'file':12} none: a hash alone, from {_list_line(known)}", highlight=False)
    else:
        out.print(f"{'file':12} {services().media.path_for(known.sha256)}")


@known_app.command("remove")
def known_remove(known_id: Annotated[int, typer.Argument()]) -> None:
    """Remove a known image from the library (its file stays, checks keep their evidence)."""
    from postcheck.services import services

    if not services().store.remove_known(known_id):
        fail(f"no known image #{known_id}")
    out.print(f"removed known image #{known_id}")


# --- demo --------------------------------------------------------------------------------------


@app.command()
def demo(
    serve_seconds: Annotated[
        int, typer.Option(help="Keep the fixture server up this long after the demo.")
    ] = 0,
) -> None:
    """Verify the bundled fixture posts through the real clients against a local fixture
    server (no internet needed) and print the verdicts."""
    from postcheck.demo import run_demo

    run_demo(out, verbose=Options.verbose, serve_seconds=serve_seconds)


def _outdated_index_notice() -> None:
    """After a command that searched the library: one line when the index says its
    pictures' codes are older than this version's hash families (matches they would give
    are missed until `known rehash`)."""
    module = sys.modules.get("postcheck.services")
    if module is None or not module.services.cache_info().currsize:
        return
    library = module.services().opened_library
    why = library.disk.outdated_warned if library is not None else None
    if why:
        err.print(f"note: {why}: run `postcheck known rehash`", soft_wrap=True)


def main() -> None:
    """Console entry point: one clear line for every failure, never a traceback."""
    try:
        code = app(standalone_mode=False)  # click returns the code of typer.Exit here
        _outdated_index_notice()
        sys.exit(code if isinstance(code, int) else 0)
    except typer.Exit as exc:
        _outdated_index_notice()
        sys.exit(exc.exit_code)
    except PostcheckError as exc:
        error_line(exc)
        sys.exit(EXIT_BAD_INPUT)
    except (KeyboardInterrupt, typer.Abort):
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # click usage errors and the unexpected
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        # One line, cut short: a server's error may echo a whole request back.
        first = str(exc).splitlines()[0] if str(exc) else ""
        error_line(
            f"{type(exc).__name__}: {one_line(first, 200)} (run with -v for Prefect's logs)",
            "internal error:",
        )
        sys.exit(EXIT_CHECK_FAILED)


if __name__ == "__main__":
    main()
