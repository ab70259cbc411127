"""Flow `recheck`: every watched post fetched again and matched against the library as it
is now; what changed is recorded as transitions. Scheduled nightly (nightly-recheck)."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime

from prefect import flow, get_client, get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.states import Completed, State
from prefect.task_runners import ThreadPoolTaskRunner

from postcheck import safe_markdown as md
from postcheck.domain import PostRef, RecheckOutcome
from postcheck.flows.batch import each_checked, fetched_in_batches, finished_batches
from postcheck.flows.tasks import (
    Fetched,
    publish_report,
    rate_limit_slots,
    step,
    untagged_tasks,
)
from postcheck.flows.verify_post import check_in_batch, report_key
from postcheck.report import recheck_markdown
from postcheck.runner import ui_run_url
from postcheck.services import services
from postcheck.sources import parse_post_url, platform_named, platforms
from postcheck.store.store import WatchedPost
from postcheck.verifiers.changes import compare_checks, failed_fetch


def limit_name(platform: str) -> str:
    return platform_named(platform).rate_limit_name


@task(name="ensure-rate-limits")
def ensure_rate_limits() -> None:
    """A rate limit that does not exist throttles nothing, so make sure ours do: one per
    platform, slots decaying at the configured requests per second."""
    settings = services().settings
    with get_client(sync_client=True) as client:
        for platform in platforms().values():
            client.upsert_global_concurrency_limit_by_name(
                platform.rate_limit_name,
                limit=rate_limit_slots(platform.name),
                slot_decay_per_second=platform.requests_per_second(settings),
            )


Outcome = RecheckOutcome


def recheck_post(
    post: WatchedPost,
    ref: PostRef,
    fetched: Fetched,
    started: datetime,
    batch_capture: str | None = None,
) -> Outcome:
    """Record the post's check (its media re-used when unchanged) and what changed since
    its last good check; publish its report only when something did."""
    store = services().store
    baseline = store.baseline_check(post.id)
    previous = baseline[1] if baseline else None
    report = check_in_batch(post.url, ref, fetched, started, batch_capture, previous)
    transitions = compare_checks(previous, report)
    if transitions and report.check_id is not None:
        store.record_transitions(post.id, report.check_id, baseline[0], transitions)
    if previous is None or transitions or report.verdict.value != previous.verdict.value:
        step(publish_report, report, report_key(ref, report))  # inside the batch task
    return Outcome(
        url=post.url,
        platform=post.platform,
        verdict=report.verdict.value,
        failed=failed_fetch(report),
        transitions=transitions,
        flow_run_id=report.flow_run_id,
        message="; ".join(report.reasons)[:300],
    )


@task(name="recheck-posts", task_run_name="recheck {platform} ×{count}", cache_policy=NO_CACHE)
def recheck_posts(
    platform: str,
    posts: list[tuple[WatchedPost, PostRef, Fetched]],
    count: int,
    batch_capture: str | None = None,
) -> list[Outcome]:
    """A few posts of one fetched batch, one after another in one task run (a task run
    per post cost more in Prefect's bookkeeping than the post's check): each still gets
    its check row, its transitions, and its full report when something changed. A post
    that fails is that post's error, never its neighbours'."""
    return each_checked(
        posts,
        lambda item: recheck_post(*item, datetime.now(UTC), batch_capture),
        lambda item, exc: _failed(item[0], exc),
        lambda item: item[0].url,
    )


def _by_platform(posts: list[WatchedPost]) -> tuple[dict[str, list], list[tuple]]:
    """Watched posts with their refs, per platform; posts whose stored URL no longer
    parses (bad data, not a fetch) come back apart."""
    by_platform: dict[str, list[tuple[WatchedPost, PostRef]]] = {}
    bad: list[tuple[WatchedPost, str]] = []
    for post in posts:
        try:
            source = platform_named(post.platform)
            ref = parse_post_url(source.refetch_url(post.uri, post.url))
        except Exception as exc:  # one bad row never sinks the rest
            bad.append((post, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        by_platform.setdefault(post.platform, []).append((post, ref))
    return by_platform, bad


def _failed(post: WatchedPost, exc: BaseException) -> Outcome:
    message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:200]
    return Outcome(
        url=post.url, platform=post.platform, verdict="error", failed=True, message=message
    )


@flow(name="recheck", task_runner=ThreadPoolTaskRunner(max_workers=4))
def recheck(platform: str | None = None, limit: int | None = None) -> State:
    """Re-verify every watched post (optionally one platform, or the first `limit`):
    fetched in platform batches, unchanged pictures not downloaded again."""
    with untagged_tasks():
        return _recheck(platform, limit)


def _recheck(platform: str | None, limit: int | None) -> State:
    logger = get_run_logger()
    posts = services().store.watched_posts(platform=platform, limit=limit)
    ensure_rate_limits()
    progress = create_progress_artifact(
        progress=0.0, description=f"rechecking {len(posts)} watched posts"
    )
    by_platform, bad = _by_platform(posts)
    outcomes: list[Outcome] = [_failed(p, ValueError(why)) for p, why in bad]
    checks = {}
    for name, batch, capture in fetched_in_batches(by_platform):
        checks[recheck_posts.submit(name, batch, len(batch), capture)] = [p for p, _, _ in batch]
    step = max(1, len(posts) // 50)
    done = len(bad)
    for batch_posts, results in finished_batches(checks, _failed):
        outcomes.extend(results)
        before, done = done, done + len(batch_posts)
        if before // step != done // step or done == len(posts):
            with suppress(Exception):  # the progress bar is a courtesy, not the job
                update_progress_artifact(progress, progress=100.0 * done / len(posts))
    if not checks:
        update_progress_artifact(progress, progress=100.0)
    create_markdown_artifact(
        markdown=recheck_markdown(outcomes, ui_run_url),
        key="recheck-summary",
        description="What the last recheck found",
    )
    rows = [
        {
            "post": md.text(o.url),  # string cells are rendered as markdown
            "platform": o.platform,
            "verdict": o.verdict,
            "changes": ", ".join(t.kind for t in o.transitions),
            "fetched": not o.failed,
        }
        for o in outcomes
    ]
    if rows:
        create_table_artifact(
            table=rows, key="recheck-posts", description="Every post of the last recheck"
        )
    changed = sum(1 for o in outcomes if o.transitions)
    failed = sum(1 for o in outcomes if o.failed)
    message = f"{len(outcomes)} checked, {changed} changed, {failed} not fetched"
    logger.info(message)
    return Completed(message=message, data=outcomes)
