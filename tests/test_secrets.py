"""The X bearer token never shows: not in logs, artifacts, stored checks, JSON or errors."""

import asyncio
import json
import logging

from postcheck.domain import Verdict
from postcheck.services import reset_services
from postcheck.sources.x.fixture import BEARER_TOKEN

SEED = "https://x.com/Archer83Able/status/1857106849690673728"


def everything_about(run_id, svc) -> str:
    """Every text a user or an operator could see after the run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    async def _read():
        async with get_client() as client:
            flow_run = await client.read_flow_run(run_id)
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
            )
            return flow_run, artifacts

    flow_run, artifacts = asyncio.run(_read())
    checks = [c.report for c in svc.store.history("x:1857106849690673728")]
    return json.dumps(
        {
            "parameters": flow_run.parameters,
            "state": flow_run.state.message,
            "artifacts": [str(a.data) for a in artifacts],
            "checks": checks,
        }
    )


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def test_bearer_token_stays_secret(prefect_api, known_library, server, monkeypatch):
    from postcheck.flows.verify_post import verify_post

    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    reset_services()
    from postcheck.services import services

    # Prefect re-configures the root logger when a flow starts, so listen on tweepy's own.
    tweepy_log, collect = logging.getLogger("tweepy"), Collect()
    tweepy_log.addHandler(collect)
    tweepy_log.setLevel(logging.DEBUG)
    try:
        state = verify_post(SEED, return_state=True)
    finally:
        tweepy_log.removeHandler(collect)
        tweepy_log.setLevel(logging.NOTSET)
    report = state.result()
    logs = "\n".join(collect.lines)
    assert report.post.fetched_via == "x-api-v2"  # the token was used
    assert "Bearer [redacted]" in logs  # tweepy's debug log of the request headers
    seen = everything_about(state.state_details.flow_run_id, services()) + logs
    seen += report.model_dump_json() + repr(services().settings)
    assert BEARER_TOKEN not in seen


def test_bearer_token_from_a_prefect_secret_block(prefect_api, known_library, server, monkeypatch):
    from prefect.blocks.system import Secret

    from postcheck.flows.verify_post import verify_post

    Secret(value=BEARER_TOKEN).save("postcheck-x-bearer", overwrite=True)
    monkeypatch.setenv("POSTCHECK_X_BEARER_SECRET_BLOCK", "postcheck-x-bearer")
    reset_services()
    report = verify_post(SEED, return_state=True).result()
    assert report.post.fetched_via == "x-api-v2"
    assert (
        server.requests_to("/x/api/2/tweets/")[0].headers["Authorization"]
        == f"Bearer {BEARER_TOKEN}"
    )

    monkeypatch.setenv("POSTCHECK_X_BEARER_SECRET_BLOCK", "no-such-block")
    reset_services()
    state = verify_post(SEED, return_state=True)
    report = state.result(raise_on_failure=False)
    assert report.verdict is Verdict.ERROR
    assert report.reasons == ["no Prefect Secret block named 'no-such-block'"]
