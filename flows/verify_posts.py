"""Flow `verify-posts`: many post URLs in one flow run (`postcheck verify URL...`,
`verify --from FILE`): fetched in platform batches, each post checked as a task, each
report published under its post's key, and one summary for the batch."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from postcheck import progress
from postcheck.domain import CheckReport, PostRef
from postcheck.errors import BadURL
from postcheck.flows.batch import error_report, fetched_in_batches, finish, gather
from postcheck.flows.recheck import ensure_rate_limits
from postcheck.flows.tasks import (
    Fetched,
    publish_report,
    untagged_tasks,
)
from postcheck.flows.verify_post import check_in_batch, report_key
from postcheck.sources import parse_post_url


@task(name="verify-one", task_run_name="verify {url}", cache_policy=NO_CACHE)
def verify_one(
    url: str, ref: PostRef, fetched: Fetched, started: datetime, batch_capture: str | None = None
) -> CheckReport:
    report = check_in_batch(url, ref, fetched, started, batch_capture)
    publish_report(report, report_key(ref, report))  # a person asked for this one
    return report


@flow(name="verify-posts", flow_run_name="verify {count} posts")
def verify_posts(urls: list[str], count: int = 0) -> State:
    """Check the pictures of many posts; one report per URL, in the order given."""
    with untagged_tasks():
        return _verify_posts(urls)


def _verify_posts(urls: list[str]) -> State:
    reports: list[CheckReport | None] = [None] * len(urls)
    by_platform: dict[str, list[tuple[int, PostRef]]] = {}
    for i, url in enumerate(urls):
        try:
            ref = parse_post_url(url)
        except BadURL as exc:
            reports[i] = error_report(url, f"bad URL: {exc}")
            progress.item_done()
            continue
        by_platform.setdefault(ref.platform, []).append((i, ref))
    ensure_rate_limits()
    checks = {}
    for i, ref, fetched, capture in fetched_in_batches(by_platform):
        checks[verify_one.submit(urls[i], ref, fetched, datetime.now(UTC), capture)] = i
    gather(checks, urls, reports)
    return finish(reports, "verify-posts-summary", "Bulk verify", "posts")
