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
from postcheck.flows.batch import (
    each_checked,
    error_report,
    failure_report,
    fetched_in_batches,
    finish,
    finished_batches,
)
from postcheck.flows.recheck import ensure_rate_limits
from postcheck.flows.tasks import (
    Fetched,
    publish_report,
    step,
    untagged_tasks,
)
from postcheck.flows.verify_post import check_in_batch, report_key
from postcheck.item_lists import items_of
from postcheck.sources import parse_post_url


def verify_one(
    url: str, ref: PostRef, fetched: Fetched, started: datetime, batch_capture: str | None = None
) -> CheckReport:
    report = check_in_batch(url, ref, fetched, started, batch_capture)
    step(publish_report, report, report_key(ref, report))  # a person asked for this one
    return report


@task(name="verify-batch", task_run_name="verify {platform} ×{count}", cache_policy=NO_CACHE)
def verify_batch(
    platform: str,
    items: list[tuple[str, PostRef, Fetched]],
    count: int,
    batch_capture: str | None = None,
) -> list[CheckReport]:
    """A few posts of one fetched batch (URL, ref, post), checked one after another in one
    task run, each with its own check and report; a post that fails is that post's error
    report."""
    return each_checked(
        items,
        lambda item: verify_one(*item, datetime.now(UTC), batch_capture),
        lambda item, exc: failure_report(item[0], exc),
        lambda item: item[0],
    )


@flow(name="verify-posts", flow_run_name="verify {count} posts")
def verify_posts(
    urls: list[str] | None = None, count: int = 0, urls_file: str | None = None
) -> State:
    """Check the pictures of many posts; one report per URL, in the order given (a list
    too long for a flow run's parameters comes as `urls_file`, postcheck.item_lists)."""
    with untagged_tasks():
        return _verify_posts(items_of(urls, urls_file))


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
    for name, batch, capture in fetched_in_batches(by_platform):
        mine = [(urls[i], ref, fetched) for i, ref, fetched in batch]
        checks[verify_batch.submit(name, mine, len(batch), capture)] = batch

    def failed(item: tuple[int, PostRef, Fetched], exc: BaseException) -> CheckReport:
        return failure_report(urls[item[0]], exc)

    for batch, done in finished_batches(checks, failed):
        for (i, _, _), report in zip(batch, done, strict=True):
            reports[i] = report
            progress.item_done()  # told from the flow's thread, where the listener is
    return finish(reports, "verify-posts-summary", "Bulk verify", "posts")
