"""Flow `check-images`: many pictures and videos (files and image URLs) in one flow run
(`postcheck check PATH_OR_URL...`): each item is checked as a task exactly as `check-image`
checks one, its report recorded and published under its picture's key, and one summary
for the batch."""

from __future__ import annotations

from datetime import UTC, datetime

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.states import Failed, State

from postcheck.domain import CheckReport
from postcheck.flows.batch import finish, gather
from postcheck.flows.check_image import check_source, parse_claims
from postcheck.flows.tasks import untagged_tasks
from postcheck.item_lists import items_of
from postcheck.verifiers.place import ClaimedPlace


@task(name="check-one", task_run_name="check item {index}", cache_policy=NO_CACHE)
def check_one(
    index: int, source: str, claimed: datetime | None, place: ClaimedPlace | None
) -> CheckReport:
    return check_source(source, claimed, place, datetime.now(UTC))


@flow(name="check-images", flow_run_name="check {count} pictures")
def check_images(
    sources: list[str] | None = None,
    count: int = 0,
    claimed_date: str | None = None,
    claimed_place: str | None = None,
    sources_file: str | None = None,
) -> State:
    """Check many pictures against the library; one report per source, in the order given
    (a list too long for a flow run's parameters comes as `sources_file`,
    postcheck.item_lists). The claimed date and place apply to every item."""
    sources = items_of(sources, sources_file)
    try:
        claimed, place = parse_claims(claimed_date, claimed_place)
    except ValueError as exc:
        return Failed(message=str(exc))
    reports: list[CheckReport | None] = [None] * len(sources)
    with untagged_tasks():  # no concurrency-slot request per task run for the CLI's tag
        checks = {check_one.submit(i, s, claimed, place): i for i, s in enumerate(sources)}
        gather(checks, sources, reports)
    return finish(reports, "check-images-summary", "Bulk check", "pictures")
