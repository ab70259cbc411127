"""The deployments postcheck serves: the same set prefect.yaml declares."""

from __future__ import annotations

from prefect.schedules import Cron

from postcheck.settings import Settings


def deployments(settings: Settings) -> list:
    from prefect.task_runners import ThreadPoolTaskRunner

    from postcheck.flows.check_image import check_image
    from postcheck.flows.export_evidence import export_evidence
    from postcheck.flows.ingest_known import ingest_known
    from postcheck.flows.recheck import recheck
    from postcheck.flows.reindex_known import reindex_known
    from postcheck.flows.verify_article import verify_article
    from postcheck.flows.verify_post import verify_post

    nightly = recheck.with_options(
        task_runner=ThreadPoolTaskRunner(max_workers=settings.recheck_concurrency)
    )
    return [
        verify_post.to_deployment(name="verify-post", tags=["postcheck"]),
        verify_article.to_deployment(name="verify-article", tags=["postcheck"]),
        check_image.to_deployment(name="check-image", tags=["postcheck"]),
        ingest_known.to_deployment(name="ingest-known", tags=["postcheck"]),
        export_evidence.to_deployment(name="export-evidence", tags=["postcheck", "export"]),
        reindex_known.to_deployment(
            name="reindex-known",
            tags=["postcheck", "index"],
            schedules=[Cron(settings.reindex_cron, timezone=settings.recheck_timezone)],
        ),
        nightly.to_deployment(
            name="nightly-recheck",
            tags=["postcheck", "recheck"],
            schedules=[Cron(settings.recheck_cron, timezone=settings.recheck_timezone)],
        ),
    ]
