"""Flow `verify-article`: every post a news page embeds, each verified as a subflow."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, tags, task
from prefect.artifacts import create_markdown_artifact
from prefect.concurrency.sync import rate_limit
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State
from prefect.task_runners import ThreadPoolTaskRunner

from postcheck.articles import ArticleReport, EmbeddedPostResult
from postcheck.domain import CheckReport
from postcheck.errors import BadMedia, BadURL, PostcheckError
from postcheck.flows.recheck import ensure_rate_limits, limit_name
from postcheck.flows.tasks import NETWORK_TASK, with_retry_settings
from postcheck.flows.verify_post import verify_post
from postcheck.inputs import load_input
from postcheck.localfiles import read_capped
from postcheck.report import article_markdown
from postcheck.services import services
from postcheck.sources import parse_post_url
from postcheck.sources.embeds import EmbedClaim, extract_embeds
from postcheck.sources.pages import Page, decode, fetch_page, resolve_short_link
from postcheck.urls import short
from postcheck.verifiers.claims import claim_mismatches


@task(name="fetch-article", **NETWORK_TASK)
def fetch_article(url: str) -> Page:
    return fetch_page(url, services().settings)


@task(name="read-article-file")
def read_article_file(path: str) -> Page:
    settings = services().settings
    file = Path(path).expanduser()
    try:
        body = read_capped(file, settings.max_page_bytes)
    except BadMedia as exc:
        raise PostcheckError(f"{file.name}: {exc}") from None
    except OSError as exc:
        raise PostcheckError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if b"\x00" in body[:4096]:
        raise PostcheckError(f"{file.name}: binary content, not a page")
    ctype = "text/html" if file.suffix.lower() in {".html", ".htm", ".xhtml"} else ""
    return Page(str(file), ctype, decode(body, ctype), len(body))


@task(name="extract-embeds")
def find_embeds(page: Page) -> tuple[list[EmbedClaim], list[str]]:
    """The page's embedded posts, and notes on how it was read (for the message)."""
    base = page.url if page.url.startswith(("http://", "https://")) else None
    notes: list[str] = []
    claims = extract_embeds(
        page.text, content_type=page.content_type or None, base_url=base, notes=notes
    )
    return claims, notes


@task(name="resolve-short-link", task_run_name="resolve {link}", **NETWORK_TASK)
def resolve_link(link: str) -> str:
    return resolve_short_link(link, services().settings)


@task(name="verify-embedded-post", task_run_name="verify {url}")
def verify_embedded(url: str, platform: str) -> tuple[CheckReport | None, str | None, str | None]:
    rate_limit(limit_name(platform), strict=True)
    with tags(platform, "article"):
        state = verify_post(url, return_state=True)
    report = state.result(raise_on_failure=False)
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    return (report if isinstance(report, CheckReport) else None), state.message, run_id


def article_key(source: str) -> str:
    """Artifact key of an article: its host and path, or the file name, or a digest."""
    if source.startswith(("http://", "https://")):
        parts = urlsplit(source)
        raw = f"{parts.hostname}{parts.path}"
    elif source.startswith("text:"):
        raw = source
    else:
        raw = Path(source).name
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")[:80]
    digest = hashlib.sha256(source.encode()).hexdigest()[:8]
    return f"article-{slug}-{digest}"


def run_name() -> str:
    source = str(flow_run.parameters.get("source") or "stdin")
    return f"article {short(source, 80)}"


@flow(
    name="verify-article", flow_run_name=run_name, task_runner=ThreadPoolTaskRunner(max_workers=4)
)
def verify_article(source: str, text: str | None = None, text_ref: str | None = None) -> State:
    """Find every post the page embeds (or links), verify each, and compare what each
    embed claimed with what the platform returns now. `source` is a URL or a file path;
    or pass the page itself as `text` (small pages only: Prefect refuses parameters over
    512 KB), or as `text_ref`, the 'sha256:<hex>' of a page kept in the data folder
    (postcheck.inputs); source then only names it, e.g. 'stdin'."""
    logger = get_run_logger()
    settings = services().settings
    try:
        if text_ref is not None:
            text = load_input(settings, text_ref).decode("utf-8", "replace")
        if text is not None:
            page = Page(source, "", text[: settings.max_page_bytes], len(text))
        elif source.startswith(("http://", "https://")):
            [fetch] = with_retry_settings(fetch_article)
            page = fetch(source)
        else:
            page = read_article_file(source)
    except PostcheckError as exc:
        return Failed(message=f"could not read the article: {exc}")

    claims, notes = find_embeds(page)
    for note in notes:
        logger.warning("%s", note)
    results: list[EmbeddedPostResult] = []
    by_post: dict[str, EmbeddedPostResult] = {}
    [resolve] = with_retry_settings(resolve_link)
    for claim in claims:
        url, why = claim.url, None
        if url is None:
            for link in claim.short_links:
                try:
                    url = resolve(link)
                    break
                except PostcheckError as exc:
                    why = str(exc)
            if url is None:
                who = f"@{claim.author_handle}" if claim.author_handle else "unknown author"
                when = claim.date_text or "no date"
                results.append(
                    EmbeddedPostResult(
                        claim=claim,
                        status="unresolved",
                        reasons=[
                            f"post by {who} ({when}) could not be identified: {why or 'no link to it'}"
                        ],
                    )
                )
                continue
        try:
            key = parse_post_url(url).key
        except BadURL as exc:
            results.append(EmbeddedPostResult(claim=claim, status="failed", reasons=[str(exc)]))
            continue
        if key in by_post:  # the same post reached two ways (a short link and a status URL)
            continue
        by_post[key] = EmbeddedPostResult(claim=claim, status="checked", url=url)
        results.append(by_post[key])

    to_verify = [r for r in results if r.status == "checked"]
    for extra in to_verify[settings.max_article_posts :]:
        extra.status = "skipped"
        extra.reasons = [
            f"not checked: the article embeds more than {settings.max_article_posts} posts"
        ]
    to_verify = to_verify[: settings.max_article_posts]
    if to_verify:
        ensure_rate_limits()
    futures = [
        (r, verify_embedded.submit(r.url, parse_post_url(r.url).platform)) for r in to_verify
    ]
    for result, future in futures:
        try:
            report, message, run_id = future.result()
        except Exception as exc:  # one post failing never fails the others
            result.status, result.reasons = "failed", [f"internal error: {type(exc).__name__}"]
            logger.error("verifying %s failed", result.url, exc_info=exc)
            continue
        result.flow_run_id = run_id
        if report is None:
            result.status, result.reasons = "failed", [message or "the check could not be run"]
            continue
        result.report, result.verdict, result.reasons = report, report.verdict, report.reasons
        if report.post is not None:
            result.mismatches = claim_mismatches(result.claim, report.post)
        elif result.claim.text or result.claim.author_handle:
            result.mismatches = ["the embedded post is no longer available on the platform"]

    message = "; ".join([_message(page, results), *notes])
    article = ArticleReport(
        source=source, checked_at=datetime.now(UTC), message=message, posts=results
    )
    create_markdown_artifact(
        markdown=article_markdown(article, services().media),
        key=article_key(source),
        description=message,
    )
    logger.info(message)
    return Completed(message=message, data=article)


def _message(page: Page, results: list[EmbeddedPostResult]) -> str:
    if not results:
        return f"no embedded posts found in {short(page.url, 100)} ({page.size:,} bytes read)"
    counts: dict[str, int] = {}
    for r in results:
        key = r.verdict.value if r.verdict else r.status
        counts[key] = counts.get(key, 0) + 1
    return f"{len(results)} embedded post(s): " + ", ".join(
        f"{n} {k}" for k, n in sorted(counts.items())
    )
