"""Nightly recheck: each kind of change is recorded as a transition; failures are not."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from postcheck.fixtures.server import Fault
from postcheck.library import add_known_file

FIX = Path(__file__).parents[1] / "fixtures"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"
TWO_PHOTOS = "https://x.com/fixture_news/status/1841391417553846349"
MIRRORED = "https://twitter.com/fixture_repost/status/1859205067043770514"
VIDEO = "https://x.com/i/web/status/1888893210588117609"
BSKY = "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"
BSKY_URI = "at://did:plc:pcfixturenewsdesk2222222/app.bsky.feed.post/3lbqz2fa4ak2c"


@pytest.fixture(scope="module")
def verified_data(prefect_api, fixture_server, known_library_data, tmp_path_factory):
    """The five posts verified once against the known library, in a data folder of the
    module's own: every test here starts from this state and gets a copy of it (store,
    media, index), so the verification is paid once, not once a test."""
    import shutil

    from conftest import point_settings_at

    from postcheck.fixtures.server import FixtureWorld
    from postcheck.flows.verify_post import verify_post
    from postcheck.services import reset_services

    data = tmp_path_factory.mktemp("verified") / "data"
    shutil.copytree(known_library_data, data)  # the session's loaded library
    fixture_server.world = FixtureWorld()
    fixture_server.faults.clear()
    with pytest.MonkeyPatch.context() as mp:
        point_settings_at(fixture_server, data, mp)
        try:
            verdicts = {}
            for url in (SEED, TWO_PHOTOS, MIRRORED, VIDEO, BSKY):
                verdicts[url] = verify_post(url, return_state=True).result().verdict.value
        finally:
            reset_services()  # the store closed before its files are copied
    assert verdicts == {
        SEED: "recycled",
        TWO_PHOTOS: "no_known_match",
        MIRRORED: "altered",
        VIDEO: "recycled",
        BSKY: "no_known_match",
    }
    return data


@pytest.fixture
def verified(verified_data, env, server, monkeypatch):
    """A fresh copy of the verified data folder as this test's own, at the folder's own
    path; the untouched original is put back afterwards. Its services."""
    import shutil

    from postcheck.services import reset_services, services

    pristine = verified_data.with_name("pristine")
    verified_data.rename(pristine)
    shutil.copytree(pristine, verified_data)
    monkeypatch.setenv("POSTCHECK_DATA_DIR", str(verified_data))
    reset_services()
    try:
        yield services()
    finally:
        reset_services()
        shutil.rmtree(verified_data)
        pristine.rename(verified_data)


def kinds(store, uri):
    return sorted(t.kind for t in store.transitions(uri))


def test_each_change_becomes_a_transition(verified, server):
    from postcheck.flows.recheck import recheck

    svc = verified
    server.world.delete("1857106849690673728")
    server.world.edit_text(
        "1841391417553846349", "Two photos from the parade route (corrected caption)."
    )
    server.world.replace_image("1859205067043770514", 0, "images/b-coffee.jpg")
    # A photo of 2010 enters the library: the Bluesky post's picture is now an old one.
    add_known_file(
        svc,
        FIX / "images" / "b-camera.jpg",
        source_url="https://example.org/2010/camera",
        first_seen=datetime(2010, 5, 5, tzinfo=UTC),
    )
    server.fault("/x/syndication/tweet-result?id=1888893210588117609", Fault(status=503, times=99))

    state = recheck(return_state=True)
    assert state.is_completed()
    outcomes = {o.url: o for o in state.result()}
    assert len(outcomes) == 5
    assert kinds(svc.store, "x:1857106849690673728") == ["deleted"]
    assert kinds(svc.store, "x:1841391417553846349") == ["text_edited"]
    assert kinds(svc.store, "x:1859205067043770514") == ["media_changed", "verdict_changed"]
    assert kinds(svc.store, BSKY_URI) == ["verdict_changed"]
    assert kinds(svc.store, "x:1888893210588117609") == []  # fetch failed: not a change
    assert outcomes["https://x.com/fixture_video/status/1888893210588117609"].failed

    [edit] = svc.store.transitions("x:1841391417553846349")
    assert edit.before["text"] == "Two photos from the parade route this morning."
    assert edit.after["text"].endswith("(corrected caption).")
    [verdict] = [t for t in svc.store.transitions(BSKY_URI) if t.kind == "verdict_changed"]
    assert (verdict.before["verdict"], verdict.after["verdict"]) == ("no_known_match", "recycled")
    assert state.message == "5 checked, 4 changed, 1 not fetched"

    # Every recheck adds a check row; the next night the failed post is fetched again and,
    # compared with its last good check, has not changed.
    server.faults.clear()
    again = recheck(return_state=True)
    assert again.message == "5 checked, 0 changed, 0 not fetched"
    assert len(svc.store.history("x:1888893210588117609")) == 3
    assert kinds(svc.store, "x:1888893210588117609") == []


def test_unwatched_posts_are_left_alone(verified):
    from postcheck.flows.recheck import recheck
    from postcheck.sources import parse_post_url

    assert verified.store.set_watched(parse_post_url(SEED), False)
    state = recheck(return_state=True)
    urls = {o.url for o in state.result()}
    assert len(urls) == 4 and SEED not in urls
    assert verified.store.set_watched(parse_post_url(SEED), True)
    assert SEED in {o.url for o in recheck(return_state=True).result()}


def test_one_post_breaking_the_recheck_never_sinks_the_others(verified, monkeypatch):
    """Even an exception escaping a post's recheck (an API outage, a bug) is recorded as
    'not fetched' for that post; the others are rechecked."""
    import postcheck.flows.recheck as recheck_module

    real = recheck_module.check_in_batch

    def flaky(url, *args, **kw):
        if "1841391417553846349" in url:
            raise RuntimeError("Prefect API answered 503")
        return real(url, *args, **kw)

    monkeypatch.setattr(recheck_module, "check_in_batch", flaky)
    state = recheck_module.recheck(return_state=True)
    assert state.is_completed()
    outcomes = {o.url: o for o in state.result()}
    broken = outcomes["https://x.com/fixture_news/status/1841391417553846349"]
    assert broken.failed and "503" in broken.message
    assert sum(not o.failed for o in outcomes.values()) == 4


def media_paths(store, uri):
    """The paths on the fixture server of the pictures the post's last check saw."""
    from urllib.parse import urlsplit

    report = store.history(uri)[0].report  # newest first
    return {urlsplit(i["source_url"]).path for i in report["images"]}


def test_unchanged_pictures_are_not_downloaded_again(verified, server):
    """A recheck downloads only what changed: a replaced picture is fetched, the others are
    re-used from their stored fingerprints; a picture the library learned since the last
    check now matches an unchanged post without a re-download."""
    from postcheck.flows.recheck import recheck

    svc = verified
    unchanged = media_paths(svc.store, "x:1841391417553846349") | media_paths(svc.store, BSKY_URI)
    old_mirrored = media_paths(svc.store, "x:1859205067043770514")
    server.world.replace_image("1859205067043770514", 0, "images/b-coffee.jpg")
    add_known_file(
        svc,
        FIX / "images" / "b-camera.jpg",
        source_url="https://example.org/2010/camera",
        first_seen=datetime(2010, 5, 5, tzinfo=UTC),
    )
    grown = svc.store.library_version()[0]
    server.requests.clear()
    state = recheck(return_state=True)
    asked = {r.path for r in server.requests}
    assert unchanged and not unchanged & asked
    new_mirrored = media_paths(svc.store, "x:1859205067043770514")
    assert new_mirrored != old_mirrored and new_mirrored <= asked
    # Matched again against the grown library, from the stored file.
    assert kinds(svc.store, BSKY_URI) == ["verdict_changed"]
    assert svc.store.history(BSKY_URI)[0].verdict == "recycled"
    assert state.message == "5 checked, 2 changed, 0 not fetched"
    # Each post got its check row, recording the library version it was matched against.
    assert svc.store.history("x:1841391417553846349")[0].library_version >= grown
    # The library only grew: the stored files were matched against the pictures added
    # since, not the whole index, and the earlier matches were kept. (Which pictures those
    # are depends on the order the posts were first checked in, and the recheck itself may
    # learn one while it runs: the count is bounded, not fixed.)
    latest, before = svc.store.history(BSKY_URI)[:2]
    [bsky] = latest.report["images"]
    rematch = bsky["rematch"]
    assert (rematch["mode"], rematch["since_version"]) == ("added_since", before.library_version)
    added_since = svc.store.index_entries_added(before.library_version, limit=10**6)
    assert 1 <= rematch["candidates"] <= len(added_since) < svc.store.count_known()
    [seed] = svc.store.history("x:1857106849690673728")[0].report["images"]
    assert seed["rematch"]["mode"] == "added_since" and seed["verdict"] == "recycled"
    # A removal since the last check: the whole library again, and the match is gone.
    camera = next(m for m in bsky["matches"] if m["is_match"])["known"]["id"]
    assert svc.store.remove_known(camera)
    recheck(return_state=True)
    [bsky] = svc.store.history(BSKY_URI)[0].report["images"]
    assert bsky["rematch"]["mode"] == "full" and bsky["verdict"] == "no_known_match"


def test_a_moved_data_folder_rechecks_without_downloading(
    verified, verified_data, server, monkeypatch
):
    """The stored reports name their files relative to the data folder: a folder moved (or
    restored from a backup elsewhere) re-uses its stored pictures on the next recheck, not
    a download each. Rows of older versions name them by absolute path: found there too."""
    import shutil

    from sqlalchemy import select

    from postcheck.flows.recheck import recheck
    from postcheck.services import reset_services, services
    from postcheck.store.models import CheckRow

    store = verified.store
    photos = {p: media_paths(store, p) for p in ("x:1841391417553846349", BSKY_URI)}
    with store.session() as session:  # each stored path relative; one post's made absolute
        rows = list(session.scalars(select(CheckRow)))
        files = [i["media"]["path"] for r in rows for i in r.report["images"] if i.get("media")]
        assert files and not any(Path(f).is_absolute() for f in files)
        [bsky] = [r for r in rows if r.report.get("post", {}).get("uri") == BSKY_URI]
        report = dict(bsky.report, images=[dict(i) for i in bsky.report["images"]])
        for image in report["images"]:  # as an older version wrote it
            image["media"] = dict(image["media"], path=str(verified_data / image["media"]["path"]))
        bsky.report = report
    reset_services()
    moved = verified_data.with_name("moved")
    shutil.move(verified_data, moved)
    try:
        monkeypatch.setenv("POSTCHECK_DATA_DIR", str(moved))
        reset_services()
        server.requests.clear()
        state = recheck(return_state=True)
        asked = {r.path for r in server.requests}
        assert all(photos.values()) and not set().union(*photos.values()) & asked
        assert state.message == "5 checked, 0 changed, 0 not fetched"
        for uri in photos:  # the stored files, re-used where they are now
            [latest, before] = services().store.history(uri)[:2]
            assert latest.verdict == before.verdict
            for image in services().store.report_of(latest).images:
                assert (
                    Path(image.media.path).is_relative_to(moved)
                    and Path(image.media.path).is_file()
                )
    finally:
        reset_services()
        shutil.move(moved, verified_data)


def test_batch_task_runs_carry_no_inherited_tags(prefect_api, known_library, server):
    """The CLI tags its flow run ("bulk"); its task runs must not inherit the tag, or
    Prefect asks the server for the tag's concurrency slots before every one of them.
    Inside a post's task the local steps are plain calls, not task runs of their own."""
    import time

    from prefect import get_client, tags
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from postcheck.flows.verify_posts import verify_posts

    with tags("bulk"):
        state = verify_posts(urls=[BSKY], count=1, return_state=True)
    assert [r.verdict.value for r in state.result()] == ["no_known_match"]
    run_id = state.state_details.flow_run_id
    of_run = FlowRunFilter(id=FlowRunFilterId(any_=[run_id]))
    with get_client(sync_client=True) as client:
        assert "bulk" in client.read_flow_run(run_id).tags
        deadline = time.monotonic() + 20  # task runs reach the server as events
        while True:
            runs = client.read_task_runs(flow_run_filter=of_run)
            names = {r.name.split(" ")[0] for r in runs}
            if {"fetch", "verify"} <= names or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert {"fetch", "verify"} <= names
    assert all(not r.tags for r in runs)
    local = ("hash-media", "match-media", "read-metadata", "record-check", "learn-images")
    assert not [r.name for r in runs if r.name.startswith(local)]


def test_generated_posts_are_deleted_by_their_fixture_key(svc, server):
    """Load and benchmark runs delete generated posts by `world.key_of(url)`: the key each
    platform's fixture knows (a Bluesky post is keyed by DID and record key)."""
    from postcheck.errors import PostUnavailable
    from postcheck.sources import fetch_posts, parse_post_url

    urls = server.world.add_generated_posts(4)
    assert sorted(server.world.platform_of(u) for u in urls) == ["bluesky"] * 2 + ["x"] * 2
    for url in urls[:2]:  # one of each platform
        server.world.delete(server.world.key_of(url))
    found = fetch_posts([parse_post_url(u) for u in urls], svc.settings)
    assert [isinstance(f, PostUnavailable) for f in found] == [True, True, False, False]
    assert not any(isinstance(f, Exception) for f in found[2:])


# --- the per-platform rate limit when one task makes several requests ----------------------


@pytest.fixture
def x_limit(prefect_api, svc, monkeypatch):
    """X at 1 request a second (a burst of 2 slots), its Prefect limit roomy and decaying
    so slowly that its active slots count the requests made; removed afterwards (every
    flow creates its limits anew)."""
    from prefect import get_client

    from postcheck.services import reset_services
    from postcheck.sources import platform_named

    x = platform_named("x")
    monkeypatch.setenv(x.env_var("requests_per_second"), "1")
    reset_services()
    with get_client(sync_client=True) as client:
        client.upsert_global_concurrency_limit_by_name(
            x.rate_limit_name, limit=1000, slot_decay_per_second=0.001
        )
        try:
            yield x, client
        finally:
            client.delete_global_concurrency_limit_by_name(x.rate_limit_name)


def _x_refs(server, n):
    from postcheck.sources import parse_post_url

    urls = server.world.add_generated_posts(2 * n)
    return [parse_post_url(u) for u in urls if server.world.platform_of(u) == "x"][:n]


def test_a_fetch_task_takes_a_rate_limit_slot_per_request(x_limit, server, monkeypatch):
    """Several embed requests in one fetch-batch task still take one slot of X's limit
    each, in acquisitions no larger than the limit's burst (its slots), and one task makes
    no more requests than that burst allows."""
    from prefect.concurrency import sync

    from postcheck.domain import Post
    from postcheck.flows import tasks
    from postcheck.flows.tasks import fetch_batch, rate_limit_slots, requests_per_task

    x, client = x_limit
    assert rate_limit_slots("x") == 2
    assert requests_per_task("x", 100) == 2  # a task's requests fit one burst
    taken: list[int] = []

    def spy(name, occupy=1, **kwargs):  # Prefect's own rate_limit, its calls counted
        taken.append(occupy)
        return sync.rate_limit(name, occupy=occupy, **kwargs)

    monkeypatch.setattr(tasks, "rate_limit", spy)
    refs = _x_refs(server, 5)
    server.requests.clear()
    before = client.read_global_concurrency_limit_by_name(x.rate_limit_name).active_slots
    results = fetch_batch(x.name, refs, len(refs))
    assert [type(r) for r in results] == [Post] * 5
    assert [r.post_id for r in results] == [r.post_id for r in refs]
    assert taken == [2, 2, 1]
    assert len(server.requests_to("/x/syndication/tweet-result")) == 5
    active = client.read_global_concurrency_limit_by_name(x.rate_limit_name).active_slots
    assert active - before == 5  # one slot per request made


def test_a_fetch_task_retries_a_failed_request_and_keeps_the_others(x_limit, server):
    """A request of a several-request task that fails transiently retries the task; one
    that keeps failing is that post's error on the last attempt, the others are fetched."""
    from postcheck.domain import Post
    from postcheck.errors import TransientError
    from postcheck.flows.tasks import fetch_batch

    x, _ = x_limit
    refs = _x_refs(server, 3)
    once, always = refs[0].post_id, refs[2].post_id
    server.fault(f"/x/syndication/tweet-result?id={once}", Fault(status=503, times=1))
    server.fault(f"/x/syndication/tweet-result?id={always}", Fault(status=503, times=99))
    results = fetch_batch.with_options(retries=2, retry_delay_seconds=0)(x.name, refs, 3)
    assert isinstance(results[0], Post) and isinstance(results[1], Post)
    assert isinstance(results[2], TransientError)
    asked = server.requests_to("/x/syndication/tweet-result")
    assert sum(r.query.get("id") == [always] for r in asked) == 3  # 1 + 2 retries


def _most_at_once(requests) -> int:
    events = sorted([(r.started, 1) for r in requests] + [(r.ended, -1) for r in requests])
    at_once = most = 0
    for _, step in events:
        at_once += step
        most = max(most, at_once)
    return most


def test_checks_start_with_the_first_fetched_batches(prefect_api, svc, server):
    """A bulk verify keeps at most FETCHES_IN_FLIGHT of a platform's fetch-batch tasks
    going, and submits a batch's checks as it arrives: pictures are downloaded while later
    posts are still being fetched (all fetches used to be queued ahead of every check, and
    the fetched posts waited in memory)."""
    from prefect.task_runners import ThreadPoolTaskRunner

    from postcheck.flows.batch import FETCHES_IN_FLIGHT
    from postcheck.flows.verify_posts import verify_posts

    urls = [u for u in server.world.add_generated_posts(24) if server.world.platform_of(u) == "x"]
    assert len(urls) == 12  # 4 fetch tasks of 3 requests (a quarter each for 4 workers)
    server.latency["/x/syndication/"] = 0.3  # a slow embed endpoint: fetches overlap
    flow = verify_posts.with_options(task_runner=ThreadPoolTaskRunner(max_workers=4))
    reports = flow(urls=urls, count=len(urls), return_state=True).result()
    assert [r.url for r in reports] == urls
    assert not [r.reasons for r in reports if r.verdict.value == "error"]
    embeds = server.requests_to("/x/syndication/tweet-result")
    pictures = server.requests_to("/x/pbs/")
    assert len(embeds) == 12 and pictures
    assert _most_at_once(embeds) <= FETCHES_IN_FLIGHT < 4  # 4 workers would run 4 at once
    assert min(p.started for p in pictures) < max(e.started for e in embeds)


def test_one_post_breaking_never_sinks_the_others_of_its_task(
    prefect_api, svc, server, monkeypatch
):
    """Posts of one fetched batch share a checking task (verify-batch, recheck-posts): an
    exception escaping one post's check is that post's error; its neighbours are checked."""
    import postcheck.flows.recheck as recheck_module
    import postcheck.flows.verify_posts as verify_module

    urls = [u for u in server.world.add_generated_posts(8) if "bsky.app" in u]
    assert len(urls) == 4  # one getPosts request: one task checks them all
    broken = urls[1]
    real = verify_module.check_in_batch

    def flaky(url, *args, **kw):
        if url == broken:
            raise RuntimeError("Prefect API answered 503")
        return real(url, *args, **kw)

    monkeypatch.setattr(verify_module, "check_in_batch", flaky)
    reports = verify_module.verify_posts(urls=urls, count=4, return_state=True).result()
    assert [r.url for r in reports] == urls
    assert [r.verdict.value == "error" for r in reports] == [False, True, False, False]
    assert "503" in reports[1].reasons[0]

    monkeypatch.setattr(verify_module, "check_in_batch", real)
    verify_module.verify_posts(urls=[broken], count=1, return_state=True)  # now watched too
    monkeypatch.setattr(recheck_module, "check_in_batch", flaky)
    state = recheck_module.recheck(return_state=True)
    outcomes = {o.url: o for o in state.result()}
    assert len(outcomes) == 4
    assert outcomes[broken].failed and "503" in outcomes[broken].message
    assert [outcomes[u].failed for u in urls if u != broken] == [False] * 3
