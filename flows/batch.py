"""What the batch flows share: fetching posts in platform batches (`verify-posts`,
`recheck`), checking a task's posts one by one (`verify-batch`, `recheck-posts`), gathering each item's report as its task finishes (a failure becomes that
item's error report, never the batch's), and the batch's summary artifact and final state
(`verify-posts`, `check-images`)."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from queue import SimpleQueue
from typing import TypeVar

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed, State

from postcheck import progress
from postcheck.domain import CheckReport, PostRef, Verdict
from postcheck.flows.tasks import (
    Fetched,
    fetch_batch,
    new_capture,
    requests_per_task,
    with_retry_settings,
)
from postcheck.report import bulk_markdown
from postcheck.services import services
from postcheck.sources import platform_named

T = TypeVar("T")
R = TypeVar("R")


# The most posts one checking task takes from a fetched batch: few task runs (Prefect's
# bookkeeping costs per run), yet enough tasks for the flow's workers to share.
CHECKS_PER_TASK = 10
# A platform's fetch-batch tasks submitted at once: one fetching while the next waits for
# the rate limit keeps the limit busy; more would only queue ahead of the checks.
FETCHES_IN_FLIGHT = 2


def fetched_in_batches(
    by_platform: dict[str, list[tuple[T, PostRef]]],
    per_check: int = CHECKS_PER_TASK,
    in_flight: int = FETCHES_IN_FLIGHT,
) -> Iterator[tuple[str, list[tuple[T, PostRef, Fetched]], str]]:
    """(platform, up to `per_check` items each with its ref and its post or why it could
    not be fetched, the batch's exchange log), as each batch arrives: one fetch-batch task
    per few requests of the platform's batch size (flows.tasks.requests_per_task: one
    rate-limit acquisition for them all), at most `in_flight` of a platform's submitted at
    a time. The next is submitted when one arrives, before the caller submits that batch's
    checks: so checks start with the first batch instead of queueing behind every fetch,
    and fetched posts do not pile up in memory ahead of their checks."""
    settings = services().settings
    (fetch,) = with_retry_settings(fetch_batch)
    waiting: dict[str, deque[list[tuple[T, PostRef]]]] = {}
    for name, items in by_platform.items():
        per_request = max(1, platform_named(name).batch_limit(settings))
        size = per_request * requests_per_task(name, -(-len(items) // per_request))
        waiting[name] = deque(items[j : j + size] for j in range(0, len(items), size))
    arrived: SimpleQueue[PrefectFuture] = SimpleQueue()
    running: dict[PrefectFuture, tuple[str, list[tuple[T, PostRef]], str]] = {}
    busy: Counter[str] = Counter()

    def submit(name: str) -> None:
        while waiting[name] and busy[name] < in_flight:
            chunk = waiting[name].popleft()
            capture = new_capture("batch")  # the batch request's exchanges
            future = fetch.submit(name, [r for _, r in chunk], len(chunk), capture)
            running[future] = (name, chunk, capture)
            busy[name] += 1
            future.add_done_callback(arrived.put)  # called at once if already done

    for name in waiting:
        submit(name)
    while running:
        future = arrived.get()
        name, chunk, capture = running.pop(future)
        busy[name] -= 1
        submit(name)
        try:
            results = future.result()
        except Exception as exc:  # the batch failed for good: each of its items records why
            results = [exc] * len(chunk)
        done = [(item, ref, got) for (item, ref), got in zip(chunk, results, strict=True)]
        for k in range(0, len(done), per_check):
            yield name, done[k : k + per_check], capture


def finished_batches(
    futures: dict[PrefectFuture, list[T]], failed: Callable[[T, BaseException], R]
) -> Iterator[tuple[list[T], list[R]]]:
    """(a checking task's items, their results) as each task finishes; a task that failed
    as a whole still gives each of its items a result, `failed(item, why)`."""
    for future in as_completed(list(futures)):
        items = futures[future]
        try:
            results = future.result()
        except Exception as exc:  # the task itself failing still leaves each item's result
            get_run_logger().error("checking %d items failed", len(items), exc_info=exc)
            results = [failed(item, exc) for item in items]
        yield items, results


def each_checked(
    items: list[T],
    check: Callable[[T], R],
    failed: Callable[[T, BaseException], R],
    url: Callable[[T], str],
) -> list[R]:
    """`check(item)` for each of a checking task's items, one after another; an item whose
    check raises is logged (under its `url`) and gets `failed(item, why)` instead: one post
    failing (even the API failing) never sinks its neighbours."""
    results = []
    for item in items:
        try:
            results.append(check(item))
        except Exception as exc:  # that item's error, not the task's
            get_run_logger().error("checking %s failed", url(item), exc_info=exc)
            results.append(failed(item, exc))
    return results


def error_report(item: str, message: str) -> CheckReport:
    return CheckReport(
        url=item, verdict=Verdict.ERROR, reasons=[message], checked_at=datetime.now(UTC)
    )


def failure_report(item: str, exc: BaseException) -> CheckReport:
    """The error report of an item whose check raised."""
    return error_report(item, f"{type(exc).__name__}: {exc}"[:300])


def gather(
    futures: dict[PrefectFuture, int], items: list[str], reports: list[CheckReport | None]
) -> None:
    """Each finished item's report into its place in `reports`, telling progress."""
    for future in as_completed(list(futures)):
        i = futures[future]
        try:
            reports[i] = future.result()
        except Exception as exc:  # one item failing never sinks the rest
            get_run_logger().error("checking %s failed", items[i], exc_info=exc)
            reports[i] = failure_report(items[i], exc)
        progress.item_done()


def finish(reports: list[CheckReport | None], key: str, title: str, noun: str) -> State:
    """The batch's summary artifact (under `key`) and its final state, carrying the
    reports in input order."""
    done = [r for r in reports if r is not None]
    create_markdown_artifact(
        markdown=bulk_markdown(done, title, noun),
        key=key,
        description=f"{len(done)} {noun} checked in one run",
    )
    failed = sum(r.verdict is Verdict.ERROR for r in done)
    message = f"{len(done)} checked, {failed} failed"
    get_run_logger().info(message)
    return Completed(message=message, data=done)
