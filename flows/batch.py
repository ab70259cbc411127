"""What the batch flows (`verify-posts`, `check-images`) share: gathering each item's
report as its task finishes (a failure becomes that item's error report, never the
batch's), and the batch's summary artifact and final state."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.futures import PrefectFuture, as_completed
from prefect.states import Completed, State

from postcheck import progress
from postcheck.domain import CheckReport, Verdict
from postcheck.report import bulk_markdown


def error_report(item: str, message: str) -> CheckReport:
    return CheckReport(
        url=item, verdict=Verdict.ERROR, reasons=[message], checked_at=datetime.now(UTC)
    )


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
            reports[i] = error_report(items[i], f"{type(exc).__name__}: {exc}"[:300])
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
