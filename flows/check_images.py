"""Flow `check-images`: many pictures and videos (files and image URLs) in one flow run
(`postcheck check PATH_OR_URL...`): each item is checked as a task exactly as `check-image`
checks one, its report recorded and published under its picture's key, and one summary
for the batch."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.states import Completed, Failed, State

from postcheck import progress
from postcheck.domain import CheckReport, Verdict
from postcheck.flows.check_image import check_source, parse_claims
from postcheck.flows.verify_posts import error_report
from postcheck.report import bulk_markdown
from postcheck.verifiers.place import ClaimedPlace


@task(name="check-one", task_run_name="check item {index}", cache_policy=NO_CACHE)
def check_one(
    index: int, source: str, claimed: datetime | None, place: ClaimedPlace | None
) -> CheckReport:
    return check_source(source, claimed, place, datetime.now(UTC))


@flow(name="check-images", flow_run_name="check {count} pictures")
def check_images(
    sources: list[str],
    count: int = 0,
    claimed_date: str | None = None,
    claimed_place: str | None = None,
) -> State:
    """Check many pictures against the library; one report per source, in the order given.
    The claimed date and place apply to every item."""
    try:
        claimed, place = parse_claims(claimed_date, claimed_place)
    except ValueError as exc:
        return Failed(message=str(exc))
    reports: list[CheckReport | None] = [None] * len(sources)
    checks = {check_one.submit(i, s, claimed, place): i for i, s in enumerate(sources)}
    for future in as_completed(list(checks)):
        i = checks[future]
        try:
            reports[i] = future.result()
        except Exception as exc:  # one picture failing never sinks the rest
            get_run_logger().error("checking item %d failed", i, exc_info=exc)
            reports[i] = error_report(sources[i], f"{type(exc).__name__}: {exc}"[:300])
        progress.item_done()
    done = [r for r in reports if r is not None]
    create_markdown_artifact(
        markdown=bulk_markdown(done, "Bulk check", "pictures"),
        key="check-images-summary",
        description=f"{len(done)} pictures checked in one run",
    )
    failed = sum(r.verdict is Verdict.ERROR for r in done)
    message = f"{len(done)} checked, {failed} failed"
    get_run_logger().info(message)
    return Completed(message=message, data=done)
