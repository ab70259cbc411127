"""Flow `recheck`: every watched post fetched again and matched against the library as it
is now; what changed is recorded as transitions. Scheduled nightly (nightly-recheck)."""

from __future__ import annotations

from contextlib import suppress

from prefect import flow, get_client, get_run_logger, tags, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.concurrency.sync import rate_limit
from prefect.futures import as_completed
from prefect.states import Completed, State
from prefect.task_runners import ThreadPoolTaskRunner

from postcheck import safe_markdown as md
from postcheck.domain import CheckReport, RecheckOutcome
from postcheck.flows.verify_post import verify_post
from postcheck.report import recheck_markdown
from postcheck.runner import ui_run_url
from postcheck.services import services
from postcheck.sources import platform_named, platforms
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
            per_second = platform.requests_per_second(settings)
            client.upsert_global_concurrency_limit_by_name(
                platform.rate_limit_name,
                limit=max(1, int(per_second * 2)),
                slot_decay_per_second=per_second,
            )


Outcome = RecheckOutcome


@task(name="recheck-post", task_run_name="recheck {post.url}")
def recheck_post(post: WatchedPost) -> Outcome:
    store = services().store
    baseline = store.baseline_check(post.id)
    rate_limit(limit_name(post.platform), strict=True)
    url = platform_named(post.platform).refetch_url(post.uri, post.url)
    with tags(post.platform, "recheck"):
        state = verify_post(url, return_state=True)
    report = state.result(raise_on_failure=False)
    run_id = str(state.state_details.flow_run_id) if state.state_details.flow_run_id else None
    if not isinstance(report, CheckReport):
        return Outcome(
            url=post.url,
            platform=post.platform,
            verdict="error",
            failed=True,
            flow_run_id=run_id,
            message=state.message or "",
        )
    transitions = compare_checks(baseline[1] if baseline else None, report)
    if transitions and report.check_id is not None:
        store.record_transitions(
            post.id, report.check_id, baseline[0] if baseline else None, transitions
        )
    return Outcome(
        url=post.url,
        platform=post.platform,
        verdict=report.verdict.value,
        failed=failed_fetch(report),
        transitions=transitions,
        flow_run_id=run_id,
        message="; ".join(report.reasons)[:300],
    )


@flow(name="recheck", task_runner=ThreadPoolTaskRunner(max_workers=4))
def recheck(platform: str | None = None, limit: int | None = None) -> State:
    """Re-verify every watched post (optionally one platform, or the first `limit`)."""
    logger = get_run_logger()
    posts = services().store.watched_posts(platform=platform, limit=limit)
    ensure_rate_limits()
    progress = create_progress_artifact(
        progress=0.0, description=f"rechecking {len(posts)} watched posts"
    )
    futures = {recheck_post.submit(p): p for p in posts}
    outcomes: list[Outcome] = []
    step = max(1, len(posts) // 50)
    for done, future in enumerate(as_completed(list(futures)), start=1):
        post = futures[future]
        try:
            outcomes.append(future.result())
        except Exception as exc:  # one post failing (even the API failing) never sinks the rest
            logger.error("recheck of %s failed", post.url, exc_info=exc)
            message = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:200]
            outcomes.append(
                Outcome(
                    url=post.url,
                    platform=post.platform,
                    verdict="error",
                    failed=True,
                    message=message,
                )
            )
        if done % step == 0 or done == len(posts):
            with suppress(Exception):  # the progress bar is a courtesy, not the job
                update_progress_artifact(progress, progress=100.0 * done / len(posts))
    if not posts:
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
