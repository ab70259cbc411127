"""X source through the real clients (httpx for the embed endpoint, tweepy for API v2)
against the fixture server."""

from datetime import UTC, datetime

import pytest

from postcheck.errors import FetchError, PostUnavailable, TransientError
from postcheck.fixtures.server import Fault
from postcheck.sources import fetch_post, fetch_posts, parse_post_url
from postcheck.sources.x.fixture import BEARER_TOKEN
from postcheck.sources.x.token import syndication_token

SEED = "https://x.com/Archer83Able/status/1857106849690673728"
TWO_PHOTOS = "https://x.com/fixture_news/status/1841391417553846349"
VIDEO = "https://x.com/i/web/status/1888893210588117609"
DELETED = "https://x.com/fixture_news/status/1830130969605047271"
PROTECTED = "https://x.com/fixture_locked/status/1654351484810166277"


def fetch(url, settings):
    ref = parse_post_url(url)
    return fetch_post(ref, settings)


@pytest.fixture(params=["syndication", "api-v2"])
def x_mode(request, monkeypatch, env):
    if request.param == "api-v2":
        monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    return request.param, reload_settings()


def test_photo_post(x_mode, server):
    mode, settings = x_mode
    post = fetch(SEED, settings)
    assert post.uri == "x:1857106849690673728"
    assert post.author_handle == "Archer83Able"
    assert post.author_name.startswith("Status-6")
    assert post.created_at == datetime(2024, 11, 14, 17, 2, 31, tzinfo=UTC)
    assert post.text.startswith("Better photo of North Korean M-1978/1989 Koksan")
    assert post.fetched_via == ("x-syndication" if mode == "syndication" else "x-api-v2")
    [photo] = post.media
    assert photo.kind == "photo"
    # Original size, the modern URL form.
    assert photo.url.endswith("/x/pbs/media/GcXk0aPWkAA3Kx9?format=jpg&name=orig")
    assert (photo.width, photo.height) == (1200, 800)


def test_syndication_sends_the_token_x_checks(env, server, settings):
    fetch(SEED, settings)
    [req] = server.requests_to("/x/syndication/tweet-result")
    assert req.query["id"] == ["1857106849690673728"]
    assert req.query["token"] == [syndication_token("1857106849690673728")]


def test_api_v2_sends_bearer_and_media_expansions(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    post = fetch(TWO_PHOTOS, reload_settings())
    [req] = server.requests_to("/x/api/2/tweets/")
    assert req.headers["Authorization"] == f"Bearer {BEARER_TOKEN}"
    assert "attachments.media_keys" in req.query["expansions"][0]
    assert "Tweepy" in req.headers["User-Agent"]
    assert [m.alt_text for m in post.media] == ["A red motorcycle parked on a street", None]
    assert [m.platform_key for m in post.media] == [
        "3_1841391400000000001",
        "3_1841391400000000002",
    ]


def test_video_gives_its_poster(x_mode, server):
    _, settings = x_mode
    post = fetch(VIDEO, settings)
    [video] = post.media
    assert video.kind == "video"
    assert "/amplify_video_thumb/" in video.url and video.url.endswith("name=orig")


def test_deleted(x_mode, server):
    _, settings = x_mode
    with pytest.raises(PostUnavailable) as info:
        fetch(DELETED, settings)
    assert info.value.reason in {"deleted", "not_found"}
    assert "1830130969605047271" in str(info.value)


def test_protected(x_mode, server):
    mode, settings = x_mode
    with pytest.raises(PostUnavailable) as info:
        fetch(PROTECTED, settings)
    assert info.value.reason == ("protected" if mode == "api-v2" else "restricted")


def test_never_existed(x_mode, server):
    _, settings = x_mode
    with pytest.raises(PostUnavailable, match="not found"):
        fetch("https://x.com/fixture_news/status/1234567890123456789", settings)


def test_rate_limit_is_transient_with_its_reset(x_mode, server):
    mode, settings = x_mode
    path = "/x/syndication/" if mode == "syndication" else "/x/api/"
    server.fault(
        path, Fault(status=429, headers={"Retry-After": "30", "x-rate-limit-reset": "9999999999"})
    )
    with pytest.raises(TransientError, match="429") as info:
        fetch(SEED, settings)
    assert info.value.retry_after is not None and info.value.retry_after > 0


def test_server_error_is_transient(x_mode, server):
    _, settings = x_mode
    server.fault("/x/", Fault(status=503))
    with pytest.raises(TransientError, match="503"):
        fetch(SEED, settings)


def test_wrong_bearer_token_is_a_clear_error(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", "not-the-token")
    from postcheck.settings import reload_settings

    with pytest.raises(FetchError, match="refused the bearer token") as info:
        fetch(SEED, reload_settings())
    assert "not-the-token" not in str(info.value)


def test_non_json_answer(env, server, settings):
    server.fault("/x/syndication/", Fault(status=200, body=b"<html>captcha</html>"))
    with pytest.raises(FetchError, match="non-JSON"):
        fetch(SEED, settings)


def test_timeout_is_transient(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_READ_TIMEOUT", "0.3")
    from postcheck.settings import reload_settings

    server.fault("/x/syndication/", Fault(status=200, delay=1.0))
    with pytest.raises(TransientError, match="timed out"):
        fetch(SEED, reload_settings())


def test_api_v2_batch_lookup_with_partial_errors(env, server, monkeypatch):
    """GET /2/tweets?ids= through tweepy's get_tweets: found tweets in `data`, the deleted
    and the protected one in `errors[]`, each answered alone."""
    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    settings = reload_settings()
    refs = [parse_post_url(u) for u in (SEED, DELETED, TWO_PHOTOS, PROTECTED)]
    found = fetch_posts(refs, settings)
    [req] = server.requests_to("/x/api/2/tweets")
    assert req.query["ids"] == [",".join(r.post_id for r in refs)]
    assert "attachments.media_keys" in req.query["expansions"][0]
    assert found[0].model_dump() == fetch(SEED, settings).model_dump()
    assert isinstance(found[1], PostUnavailable) and found[1].reason == "not_found"
    assert [m.alt_text for m in found[2].media] == ["A red motorcycle parked on a street", None]
    assert isinstance(found[3], PostUnavailable) and found[3].reason == "protected"


def test_api_v2_batches_hold_at_most_100_ids(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    found = fetch_posts([parse_post_url(SEED)] * 101, reload_settings())
    sizes = [len(r.query["ids"][0].split(",")) for r in server.requests_to("/x/api/2/tweets")]
    assert sizes == [100, 1]
    assert {p.uri for p in found} == {"x:1857106849690673728"}


def test_embed_endpoint_batch_is_one_post_at_a_time(env, server, settings):
    refs = [parse_post_url(u) for u in (SEED, DELETED)]
    found = fetch_posts(refs, settings)
    assert len(server.requests_to("/x/syndication/tweet-result")) == 2
    assert found[0].uri == "x:1857106849690673728" and isinstance(found[1], PostUnavailable)


def test_batch_whole_request_failure_is_each_posts_error(env, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_X_BEARER_TOKEN", BEARER_TOKEN)
    from postcheck.settings import reload_settings

    server.fault("/x/api/2/tweets", Fault(status=503))
    found = fetch_posts([parse_post_url(SEED), parse_post_url(TWO_PHOTOS)], reload_settings())
    assert all(isinstance(f, TransientError) and "503" in str(f) for f in found)
