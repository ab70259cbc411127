"""Bluesky source through the real atproto SDK against the fixture AppView, PLC and PDS."""

import hashlib
from datetime import UTC, datetime

import pytest

from postcheck.errors import PostUnavailable, TransientError
from postcheck.fixtures.server import Fault
from postcheck.sources import fetch_post, fetch_posts, parse_post_url
from postcheck.sources.bluesky.fetch import sha256_of_cid
from postcheck.sources.bluesky.fixture import make_cid

DID = "did:plc:pcfixturenewsdesk2222222"
PHOTO = "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c"
QUOTE_WITH_MEDIA = "https://bsky.app/profile/newsdesk.example.org/post/3lcqrwm2k4s2x"


def fetch(url, settings):
    ref = parse_post_url(url)
    return fetch_post(ref, settings)


def test_photo_post_via_handle(env, server, settings):
    post = fetch(PHOTO, settings)
    assert post.uri == f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c"
    assert post.author_handle == "newsdesk.example.org"
    assert post.author_name == "Example News Desk"
    assert post.created_at == datetime(2024, 11, 21, 9, 30, tzinfo=UTC)
    assert post.text.startswith("Photographer at work")
    [image] = post.media
    assert image.alt_text == "A man with a camera on a tripod"
    # The original blob from the author's PDS, with the CDN copy as fallback.
    assert (
        "/xrpc/com.atproto.sync.getBlob?" in image.url
        and f"did={DID.replace(':', '%3A')}" in image.url
    )
    assert image.fallback_urls[0].endswith(
        f"/img/feed_fullsize/plain/{DID}/{image.platform_key}@jpeg"
    )
    data = server.world.image_bytes("images/b-camera.jpg")
    assert image.platform_key == make_cid(data)
    assert image.expected_sha256 == hashlib.sha256(data).hexdigest()
    assert [r.path for r in server.requests][:2] == [
        "/xrpc/com.atproto.identity.resolveHandle",
        "/xrpc/app.bsky.feed.getPosts",
    ]


def test_did_url_needs_no_handle_resolution(env, server, settings):
    post = fetch(f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c", settings)
    assert post.author_handle == "newsdesk.example.org"
    assert not server.requests_to("/xrpc/com.atproto.identity.resolveHandle")


def test_quote_with_media_takes_own_images_only(env, server, settings):
    post = fetch(QUOTE_WITH_MEDIA, settings)
    [image] = post.media
    assert image.platform_key == make_cid(server.world.image_bytes("images/b-coffee.jpg"))
    assert post.quoted_uri == f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c"


def test_no_pds_falls_back_to_cdn(env, server, settings):
    server.fault("/plc/", Fault(status=500, times=5))
    post = fetch(PHOTO, settings)
    [image] = post.media
    assert "/img/feed_fullsize/plain/" in image.url and image.expected_sha256 is None


def test_deleted_post(env, server, settings):
    server.world.delete(f"{DID}/3lbqz2fa4ak2c")
    with pytest.raises(PostUnavailable, match="not found"):
        fetch(PHOTO, settings)


def test_unresolvable_handle(env, server, settings):
    with pytest.raises(PostUnavailable, match="does not resolve"):
        fetch("https://bsky.app/profile/gone.example.org/post/3lbqz2fa4ak2c", settings)


def test_appview_errors(env, server, settings):
    server.fault("/xrpc/app.bsky.feed.getPosts", Fault(status=502))
    with pytest.raises(TransientError):
        fetch(PHOTO, settings)
    server.fault(
        "/xrpc/app.bsky.feed.getPosts", Fault(status=429, headers={"ratelimit-reset": "9999999999"})
    )
    with pytest.raises(TransientError, match="429"):
        fetch(PHOTO, settings)


def test_cid_digest():
    data = b"postcheck"
    assert sha256_of_cid(make_cid(data)) == hashlib.sha256(data).hexdigest()
    assert sha256_of_cid("QmNotACidV1") is None
    assert sha256_of_cid("b!!!") is None


def test_get_posts_batch_answers_each_post(env, server, settings):
    """app.bsky.feed.getPosts with several URIs through the SDK: a post the AppView leaves
    out is unavailable alone."""
    gone = f"at://{DID}/app.bsky.feed.post/3lgonegonexx2"
    refs = [parse_post_url(u) for u in (PHOTO, gone, QUOTE_WITH_MEDIA)]
    found = fetch_posts(refs, settings)
    [req] = server.requests_to("/xrpc/app.bsky.feed.getPosts")
    assert req.query["uris"] == [
        f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c",
        gone,
        f"at://{DID}/app.bsky.feed.post/3lcqrwm2k4s2x",
    ]
    assert found[0].model_dump() == fetch(PHOTO, settings).model_dump()
    assert isinstance(found[1], PostUnavailable) and gone in str(found[1])
    assert found[2].quoted_uri == f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c"


def test_get_posts_batches_hold_at_most_25_uris(env, server, settings):
    found = fetch_posts(
        [parse_post_url(f"at://{DID}/app.bsky.feed.post/3lbqz2fa4ak2c")] * 26, settings
    )
    sizes = [len(r.query["uris"]) for r in server.requests_to("/xrpc/app.bsky.feed.getPosts")]
    assert sizes == [25, 1]
    assert len(found) == 26 and not any(isinstance(f, Exception) for f in found)


def test_unresolvable_handle_fails_only_its_post(env, server, settings):
    refs = [
        parse_post_url("https://bsky.app/profile/gone.example.org/post/3lbqz2fa4ak2c"),
        parse_post_url(PHOTO),
    ]
    found = fetch_posts(refs, settings)
    assert isinstance(found[0], PostUnavailable) and "does not resolve" in str(found[0])
    assert found[1].author_handle == "newsdesk.example.org"
