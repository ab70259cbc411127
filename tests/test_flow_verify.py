"""The verify-post flow end to end: real clients -> fixture server, Prefect server, store."""

import json

import pytest
from prefect_artifacts import artifacts

from postcheck.demo import load_scenarios
from postcheck.domain import CheckReport, Verdict
from postcheck.fixtures.server import Fault
from postcheck.report import artifact_key

SCENARIOS = load_scenarios()["posts"]
SEED = "https://x.com/Archer83Able/status/1857106849690673728"
TWO_PHOTOS = "https://x.com/fixture_news/status/1841391417553846349"
BSKY_EXIF = "https://bsky.app/profile/photoguy.example.org/post/3lddyx7tqyc2a"


@pytest.mark.parametrize("case", SCENARIOS, ids=[c["what"] for c in SCENARIOS])
def test_each_fixture_post_gets_its_verdict(run, case):
    state, report = run(case["url"])
    assert isinstance(report, CheckReport)
    assert report.verdict.value == case["expect"], report.reasons
    assert report.reasons and all("\n" not in r for r in report.reasons)
    assert report.check_id is not None
    assert state.message.startswith(case["expect"])
    assert state.is_failed() == (case["expect"] == "error")


def test_seed_post_report_and_artifacts(run, svc):
    state, report = run(SEED)
    assert report.verdict is Verdict.RECYCLED
    [image] = report.images
    best = image.matches[0]
    assert best.is_match and best.known.caption == "Koksan SPGs at the 2010 parade"
    assert best.distances["phash"] <= 10
    assert "first seen 2010-10-10" in image.reasons[0]

    key = artifact_key("x", "x:1857106849690673728")
    assert key == "post-x-1857106849690673728"
    run_id = state.state_details.flow_run_id
    [md] = artifacts(key, run_id)
    assert md.type == "markdown"
    assert md.data.count("data:image/jpeg;base64,") == 2  # the post image beside the known one
    assert "recycled" in md.data and "https://example.org/2010/parade" in md.data
    [table] = artifacts(f"{key}-matches", run_id)
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert rows[0]["match"] is True and "Koksan" in rows[0]["known"]

    # The check is stored with its evidence and the flow run id.
    [check] = svc.store.history("x:1857106849690673728")
    assert check.verdict == "recycled"
    assert check.flow_run_id == str(state.state_details.flow_run_id)
    assert check.report["images"][0]["matches"][0]["distances"] == best.distances


def test_the_report_shows_the_picture_the_verdict_rests_on(run, svc):
    """Checked again, the seed post matches its own learned copy (identical, first seen the
    day of the post) as well as the 2010 original. The verdict rests on the original, and
    the report's side-by-side must show it, not the post's own copy. The second check
    adds a check row and nothing else."""
    run(SEED)
    before = svc.store.counts()
    state, report = run(SEED)
    after = svc.store.counts()
    assert after["checks"] == before["checks"] + 1
    for table in ("posts", "media", "post_media", "known_images"):
        assert after[table] == before[table], table
    [image] = report.images
    koksan = next(m for m in image.matches if m.known.caption == "Koksan SPGs at the 2010 parade")
    own = next(m for m in image.matches if m.known.post_uri == "x:1857106849690673728")
    assert own.is_match and own.known.first_seen.date().isoformat() == "2024-11-14"
    assert report.verdict is Verdict.RECYCLED
    assert image.evidence_id == koksan.known.id and image.evidence == koksan
    assert image.matches[0] == koksan  # the post's own copy ranks after real evidence
    [md] = artifacts(artifact_key("x", "x:1857106849690673728"), state.state_details.flow_run_id)
    assert f"| #{koksan.known.id}, first seen 2010-10-10 |" in md.data
    assert f"| #{own.known.id}, first seen" not in md.data
    assert "learned from this post: not evidence" in md.data


def test_the_demo_names_the_author_the_platform_gives(settings):
    """An /i/web/status/ URL names no author: the demo printed '@?' for the video post."""
    from datetime import UTC, datetime

    from postcheck.demo import post_label
    from postcheck.sources import fetch_post, parse_post_url

    ref = parse_post_url("https://x.com/i/web/status/1888893210588117609")
    post = fetch_post(ref, settings)  # the embed endpoint, as a check fetches it
    report = CheckReport(
        url=ref.url, post=post, verdict=Verdict.RECYCLED, checked_at=datetime.now(UTC)
    )
    assert post_label(ref, report) == "x @fixture_video"
    assert post_label(ref, None) == "x 1888893210588117609"


def test_transient_failures_are_retried(run, server):
    server.fault("/x/syndication/", Fault(status=503, times=2))
    _, report = run(SEED)
    assert report.verdict is Verdict.RECYCLED
    assert len(server.requests_to("/x/syndication/")) == 3


def test_a_deleted_post_is_not_retried(run, server):
    _, report = run("https://x.com/fixture_news/status/1830130969605047271")
    assert report.verdict is Verdict.UNAVAILABLE
    assert len(server.requests_to("/x/syndication/")) == 1


def test_exhausted_retries_record_an_error(run, server, svc):
    server.fault("/x/syndication/", Fault(status=503, times=10))
    state, report = run(SEED)
    assert state.is_failed()
    assert report.verdict is Verdict.ERROR
    assert "server error (HTTP 503)" in report.reasons[0]
    assert len(server.requests_to("/x/syndication/")) == 4  # first try + 3 retries
    assert svc.store.counts()["checks"] == 1


def test_one_bad_image_does_not_sink_the_other(run, server):
    server.fault("/x/pbs/media/GZ1coinsXYAAbbb", Fault(status=404, times=10))
    _, report = run(TWO_PHOTOS)
    verdicts = [i.verdict for i in report.images]
    assert verdicts == [Verdict.NO_KNOWN_MATCH, Verdict.UNAVAILABLE]
    assert report.verdict is Verdict.UNAVAILABLE
    assert "HTTP 404" in report.images[1].reasons[0]


def test_original_blob_carries_the_metadata_the_cdn_strips(run, server):
    _, report = run(BSKY_EXIF)
    assert report.verdict is Verdict.METADATA_CONFLICT
    assert "getBlob" in report.images[0].source_url
    # When the PDS refuses the blob, the CDN copy is checked instead: no metadata left.
    server.fault(
        "/xrpc/com.atproto.sync.getBlob",
        Fault(status=400, times=10, body=b'{"error":"BlobNotFound","message":"Blob not found"}'),
    )
    _, report = run(BSKY_EXIF)
    assert report.verdict is Verdict.NO_KNOWN_MATCH
    assert [f.code for f in report.images[0].findings] == ["metadata_absent"]


def test_bad_url_fails_the_run_with_a_clear_message(run):
    state, report = run("https://example.com/not-a-post")
    assert state.is_failed() and report is None
    assert state.message.startswith("bad URL: not a post URL")


def test_rate_limit_with_a_near_reset_waits_then_succeeds(run, server):
    server.fault("/x/syndication/", Fault(status=429, headers={"Retry-After": "1"}))
    _, report = run(SEED)
    assert report.verdict is Verdict.RECYCLED
    assert len(server.requests_to("/x/syndication/")) == 2


def test_rate_limit_with_a_far_reset_is_not_retried(run, server):
    server.fault("/x/syndication/", Fault(status=429, headers={"Retry-After": "3600"}, times=5))
    state, report = run(SEED)
    assert state.is_failed() and report.verdict is Verdict.ERROR
    assert "not retrying: the limit resets in 3600 s" in report.reasons[0]
    assert len(server.requests_to("/x/syndication/")) == 1


def test_rate_limit_without_headers_backs_off_and_retries(run, server):
    server.fault("/x/syndication/", Fault(status=429, times=2))
    _, report = run(SEED)
    assert report.verdict is Verdict.RECYCLED
    assert len(server.requests_to("/x/syndication/")) == 3


def test_an_internal_error_is_recorded_not_lost(run, svc, monkeypatch):
    """A bug in a source still ends in a recorded `error` check with its reason."""
    from postcheck.sources.x.platform import XPlatform

    def broken(self, ref, settings):
        raise TypeError("a bug")

    monkeypatch.setattr(XPlatform, "fetch", broken)
    state, report = run(SEED)
    assert state.is_failed() and report.verdict is Verdict.ERROR
    assert report.reasons == ["internal error while fetching: TypeError"]
    assert svc.store.counts()["checks"] == 1
