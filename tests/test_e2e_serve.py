"""End to end: `postcheck serve` serves the deployments to a real Prefect server; runs are
triggered and awaited through the Prefect API, as a user of the UI would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postcheck.library import add_known_file, parse_first_seen

FIX = Path(__file__).parents[1] / "fixtures"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"
BSKY = "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"
OUTPUT = Path(__file__).parents[1] / "test-output"
DEPLOYMENTS = [
    "verify-post/verify-post",
    "verify-article/verify-article",
    "check-image/check-image",
    "ingest-known/ingest-known",
    "reindex-known/reindex-known",
    "export-evidence/export-evidence",
    "recheck/nightly-recheck",
]


def _client_call(fn):
    from prefect.client.orchestration import get_client

    async def _run():
        async with get_client() as client:
            return await fn(client)

    return asyncio.run(_run())


@pytest.fixture(scope="module")
def served(prefect_api, fixture_server, tmp_path_factory):
    """`postcheck serve` in its own process, pointed at the fixture server."""
    data = tmp_path_factory.mktemp("served-data")
    env = dict(os.environ)
    env.update(fixture_server.env())
    env.update(
        {
            "POSTCHECK_DATA_DIR": str(data),
            "POSTCHECK_RETRY_BACKOFF_SECONDS": "0",
            "POSTCHECK_X_REQUESTS_PER_SECOND": "100",
            "POSTCHECK_BSKY_REQUESTS_PER_SECOND": "100",
            "PREFECT_API_URL": prefect_api,
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30",
        }
    )
    env.pop("POSTCHECK_X_BEARER_TOKEN", None)
    log = (data / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "postcheck.cli", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=Path(__file__).parents[1],
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                _client_call(lambda c: c.read_deployment_by_name("recheck/nightly-recheck"))
                break
            except Exception:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log_text = (data / "serve.log").read_text()[-3000:]
                    raise RuntimeError(f"serve did not come up: {log_text}") from None
                time.sleep(0.5)
        yield data
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def served_library(served, monkeypatch_module):
    """The known library of the served process (same data folder)."""
    from postcheck.services import reset_services, services

    monkeypatch_module.setenv("POSTCHECK_DATA_DIR", str(served))
    reset_services()
    add_known_file(
        services(),
        FIX / "known" / "koksan-2010.jpg",
        source_url="https://example.org/2010/parade",
        first_seen=parse_first_seen("2010-10-10"),
        caption="Koksan SPGs at the 2010 parade",
    )
    yield services()
    reset_services()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


@pytest.fixture(scope="module")
def seed_run(served_library):
    """The seed post verified once through its deployment: its report is checked in the
    API's artifacts and in the UI (one run serves both)."""
    return run("verify-post/verify-post", url=SEED)


def run(name: str, **parameters):
    from prefect.deployments import run_deployment

    return run_deployment(name, parameters=parameters, timeout=180, poll_interval=1)


def artifacts_of(run_id):
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    return _client_call(
        lambda c: c.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    )


def test_deployments_are_served_with_the_nightly_schedule(served):
    for name in DEPLOYMENTS:
        deployment = _client_call(lambda c, n=name: c.read_deployment_by_name(n))
        assert "postcheck" in deployment.tags
    nightly = _client_call(lambda c: c.read_deployment_by_name("recheck/nightly-recheck"))
    [schedule] = nightly.schedules
    assert schedule.schedule.cron == "0 3 * * *" and schedule.schedule.timezone == "UTC"


def test_verify_post_deployment_run_has_its_report(served, seed_run):
    flow_run = seed_run
    assert flow_run.state.is_completed(), flow_run.state
    assert flow_run.state.message.startswith("recycled")
    assert flow_run.name == "verify x @Archer83Able 1857106849690673728"
    arts = {a.key: a for a in artifacts_of(flow_run.id)}
    report = arts["post-x-1857106849690673728"]
    assert report.data.count("data:image/jpeg;base64,") == 2
    assert "Koksan SPGs at the 2010 parade" in report.data
    assert "post-x-1857106849690673728-matches" in arts
    (OUTPUT).mkdir(exist_ok=True)
    (OUTPUT / "e2e-flow-run-id.txt").write_text(str(flow_run.id))

    # The export-evidence deployment, as a person fills it in the UI: the post URL only.
    exported = run("export-evidence/export-evidence", target=SEED)
    assert exported.state.is_completed(), exported.state
    (bundle,) = (served / "exports").glob("postcheck-check-*.zip")
    assert str(bundle) in exported.state.message
    [art] = [a for a in artifacts_of(exported.id) if a.key.startswith("evidence-check-")]
    assert bundle.as_uri() in art.data and "manifest sha256" in art.data


def test_reindex_deployment_switches_the_serving_process_to_the_new_index(served_library):
    """The served process had the index open; a rebuild run through its deployment
    switches it, and the picture added by this (other) process is still found."""
    flow_run = run("reindex-known/reindex-known")
    assert flow_run.state.is_completed(), flow_run.state
    assert "now current" in flow_run.state.message
    flow_run = run("check-image/check-image", source=str(FIX / "images" / "x-seed-koksan.jpg"))
    assert flow_run.state.is_completed(), flow_run.state
    assert flow_run.state.message.startswith(("matches_known", "altered", "recycled"))


def test_recheck_deployment_publishes_a_summary(served_library, fixture_server):
    run("verify-post/verify-post", url=BSKY)
    fixture_server.world.delete("did:plc:pcfixturenewsdesk2222222/3lbqz2fa4ak2c")
    try:
        flow_run = run("recheck/nightly-recheck")
    finally:
        from postcheck.fixtures.server import FixtureWorld

        fixture_server.world = FixtureWorld()
    assert flow_run.state.is_completed(), flow_run.state
    assert "changed" in flow_run.state.message
    arts = {a.key: a for a in artifacts_of(flow_run.id) if a.key}
    summary = arts["recheck-summary"].data
    assert "**deleted**" in summary and "3lbqz2fa4ak2c" in summary
    assert "/runs/flow-run/" in summary  # links to the verify-post runs
    progress = [a for a in artifacts_of(flow_run.id) if a.type == "progress"]
    assert progress and float(progress[0].data) == 100.0
    # One flow run for the whole batch: no verify-post subflow per post any more.
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentFlowRunId

    children = _client_call(
        lambda c: c.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run.id])
            )
        )
    )
    assert children == []


CHROMIUM = "/usr/bin/chromium"


@pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium is installed by `make test` (make browser)"
)
def test_report_renders_with_its_images_in_the_prefect_ui(seed_run, prefect_api):
    """Open the post's artifact in the Prefect UI in headless Chromium: the markdown report
    renders, and both thumbnails decode. The screenshot is kept in test-output/."""
    from playwright.sync_api import sync_playwright

    [report] = [a for a in artifacts_of(seed_run.id) if a.key == "post-x-1857106849690673728"]
    ui = prefect_api.removesuffix("/api")
    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1400})
            page.goto(f"{ui}/artifacts/artifact/{report.id}", wait_until="networkidle")
            images = page.locator('img[src^="data:image/jpeg;base64,"]')
            try:
                images.first.wait_for(timeout=30_000)
            except Exception:
                page.screenshot(path=str(OUTPUT / "artifact-report-failed.png"), full_page=True)
                (OUTPUT / "artifact-report-failed.html").write_text(page.content())
                raise
            assert images.count() == 2
            widths = images.evaluate_all("els => els.map(e => e.complete ? e.naturalWidth : 0)")
            assert all(w > 0 for w in widths), widths
            text = page.inner_text("body")
            assert "recycled" in text and "Koksan SPGs at the 2010 parade" in text
            page.screenshot(path=str(OUTPUT / "artifact-report.png"), full_page=True)
        finally:
            browser.close()
    assert (OUTPUT / "artifact-report.png").stat().st_size > 10_000
