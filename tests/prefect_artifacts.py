"""Reading a run's artifacts back from the session's Prefect server (a helper for tests)."""

import asyncio


def artifacts(key, flow_run_id):
    """Artifacts with this key made by this run (the same key versions across runs)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    async def _read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(
                    key=ArtifactFilterKey(any_=[key]),
                    flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]),
                )
            )

    return asyncio.run(_read())
