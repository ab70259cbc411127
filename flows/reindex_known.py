"""Flow `reindex-known`: rebuild the known library's index from the store (retrain its
lists, compact away removed pictures) and switch every process to the new files."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.states import Completed, State

from postcheck.services import services


@task(name="rebuild-index")
def rebuild_index() -> str:
    return services().library.reindex().summary


@flow(name="reindex-known")
def reindex_known() -> State:
    """Rebuild the index; searches go on against the current one until the switch."""
    summary = rebuild_index()
    create_markdown_artifact(
        key="known-index", markdown=f"# Index rebuilt\n\n{summary}\n", description=summary
    )
    get_run_logger().info(summary)
    return Completed(message=summary, data=summary)
