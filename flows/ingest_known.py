"""Flow `ingest-known`: import an archive of known images with its manifest."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    update_progress_artifact,
)
from prefect.states import Completed, Failed, State

from postcheck.flows.reindex_known import reindex_known
from postcheck.library import import_folder
from postcheck.report import ingest_markdown
from postcheck.services import services


@flow(name="ingest-known", flow_run_name="ingest {folder}")
def ingest_known(folder: str, manifest: str | None = None, workers: int | None = None) -> State:
    """Hash every image under `folder` (in parallel) into the known library, with the
    provenance of `manifest` (CSV or JSON). Re-running skips what is in."""
    if not Path(folder).is_dir():
        return Failed(message=f"{folder}: not a folder")
    progress = create_progress_artifact(progress=0.0, description=f"importing {folder}")
    last = [0.0]

    def tick(done: int, total: int, _what: str) -> None:
        pct = 100.0 * done / max(total, 1)
        if pct - last[0] >= 2 or done == total:  # a few dozen updates, not one per file
            update_progress_artifact(progress, progress=pct)
            last[0] = pct

    try:
        report = import_folder(
            services(),
            Path(folder),
            Path(manifest) if manifest else None,
            workers=workers,
            progress=tick,
        )
    except ValueError as exc:
        return Failed(message=str(exc))
    create_markdown_artifact(
        key="ingest-known",
        markdown=ingest_markdown(folder, report.summary, report.failed),
        description=report.summary,
    )
    get_run_logger().info(report.summary)
    if report.added >= services().settings.reindex_after_import:
        reindex_known()  # a subflow: the rebuild has its own run in the UI
    return Completed(message=report.summary, data=report.summary)
