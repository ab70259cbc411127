"""Mastodon through Mastodon.py against fixture instances: local and remote posts, media at
original size, alt text, edits, refusals, and the whole check and recheck."""

import hashlib
from datetime import UTC, datetime

import pytest

from postcheck.errors import BadURL, FetchError, PostUnavailable, TransientError
from postcheck.fixtures.server import Fault
from postcheck.media import download_image
from postcheck.sources import fetch_post, parse_post_url
from postcheck.sources.mastodon.fetch import html_to_text

PHOTOS = "https://mastodon.example/@osintdesk/110000000000000001"
REMOTE = "https://mastodon.example/@reposter@other.example/110000000000000003"
LOCKED = "https://locked.example/@someone/110000000000000001"
STATUS = "/mastodon/mastodon.example/api/v1/statuses/"


def fetch(url, settings):
    return fetch_post(parse_post_url(url), settings)


def test_local_post_through_mastodon_py(env, server, settings):
    post = fetch(PHOTOS, settings)
    [req] = server.requests_to(STATUS)
    assert req.path == STATUS + "110000000000000001"
    assert "postcheck" in req.headers["User-Agent"]
    assert post.uri == "mastodon:mastodon.example/110000000000000001"
    assert (post.author_handle, post.author_name) == ("osintdesk", "OSINT Desk 🔎")
    assert post.created_at == datetime(2024, 11, 16, 7, 12, tzinfo=UTC)
    assert post.edited_at == datetime(2024, 11, 16, 7, 20, 41, tzinfo=UTC)
    assert post.text == "Two photos from the parade route.\n\nMore at https://example.org/parade"
    assert [m.alt_text for m in post.media] == ["A red motorcycle parked on a street", None]
    assert [(m.width, m.height) for m in post.media] == [
        server.world.image_size("images/x-motorcycle.jpg"),
        server.world.image_size("images/x-coins.jpg"),
    ]
    assert all("/original/" in m.url and not m.fallback_urls for m in post.media)


def test_remote_post_media_from_its_origin(env, server, settings, svc):
    """A remote account's post: `remote_url` (the origin's file) first, this instance's
    re-processed cache after it."""
    post = fetch(REMOTE, settings)
    assert post.author_handle == "reposter@other.example"
    assert post.facts["content_warning"] == "war"
    assert post.facts["original_url"] == "https://other.example/@reposter/112000000000000333"
    [photo] = post.media
    assert "/mastodon/other.example/system/media_attachments/" in photo.url
    assert "/mastodon/mastodon.example/system/cache/" in photo.fallback_urls[0]
    original = server.world.image_bytes("images/x-chelsea-mirrored.jpg")
    assert (
        download_image(photo.url, settings, svc.media).sha256
        == hashlib.sha256(original).hexdigest()
    )
    cached = download_image(photo.fallback_urls[0], settings, svc.media)
    assert (
        max(cached.width, cached.height)
        <= 400
        < max(server.world.image_size("images/x-chelsea-mirrored.jpg"))
    )


def test_instance_that_refuses_unauthenticated_reads(env, server, settings):
    with pytest.raises(FetchError) as info:
        fetch(LOCKED, settings)
    message = str(info.value)
    assert (
        "refuses unauthenticated reads (HTTP 401: This API requires an authenticated user)"
        in message
    )
    assert "\n" not in message


def test_gone_and_missing_are_unavailable(env, server, settings):
    server.fault(STATUS, Fault(status=410, body=b'{"error":"Gone"}'))
    with pytest.raises(PostUnavailable) as info:
        fetch(PHOTOS, settings)
    assert info.value.reason == "deleted"
    with pytest.raises(PostUnavailable, match="not found"):
        fetch("https://mastodon.example/@osintdesk/110000000000000404", settings)


def test_rate_limit_is_transient_with_its_reset(env, server, settings):
    server.fault(
        STATUS, Fault(status=429, headers={"X-RateLimit-Reset": "2099-01-01T00:00:00.000Z"})
    )
    with pytest.raises(TransientError, match="429") as info:
        fetch(PHOTOS, settings)
    assert info.value.retry_after is not None and info.value.retry_after > 3600


def test_instance_on_a_private_address_is_refused(env, server, monkeypatch):
    """Any host anyone names is an instance: Mastodon.py's session connects only to
    public addresses unless allowed (the fixture instance is on 127.0.0.1)."""
    monkeypatch.setenv("POSTCHECK_ALLOWED_NETWORKS", "[]")
    from postcheck.settings import reload_settings

    with pytest.raises(FetchError, match="not a public address"):
        fetch(PHOTOS, reload_settings())
    assert not server.requests_to(STATUS)


def test_other_sites_paths_are_not_taken_for_mastodon():
    for url in ("https://example.org/@someone", "https://example.org/news/123"):
        with pytest.raises(BadURL):
            parse_post_url(url)
    with pytest.raises(BadURL, match="not a post URL"):
        parse_post_url("https://example.org/about")


def test_html_to_text():
    assert html_to_text("<p>a &amp; b<br>c</p><p>d</p>") == "a & b\nc\n\nd"


def test_verify_recheck_and_learn(run, server, svc):
    """The whole check through the flow, then a deletion seen by the recheck."""
    from postcheck.flows.recheck import recheck

    state, report = run(PHOTOS)
    assert state.is_completed() and report.verdict.value == "no_known_match"
    assert [i.alt_text for i in report.images] == ["A red motorcycle parked on a street", None]
    learned = [k for k in svc.store.list_known(limit=1000) if k.post_uri == report.post.uri]
    assert len(learned) == 2
    server.world.delete("mastodon.example/110000000000000001")
    outcomes = recheck(platform="mastodon", return_state=True).result()
    assert [o.url for o in outcomes] == [PHOTOS]
    assert [t.kind for t in svc.store.transitions(report.post.uri)] == ["deleted"]


def test_articles_find_mastodon_embeds():
    from postcheck.sources.embeds import extract_embeds

    html = """<html><body><article><p>Intro.</p>
      <blockquote class="mastodon-embed"
        data-embed-url="https://mastodon.example/@osintdesk/110000000000000001/embed"
        style="background: #FCF8FF; border-radius: 8px;">
        <a href="https://mastodon.example/@osintdesk/110000000000000001" target="_blank">
          <svg width="32" height="32" viewBox="0 0 79 75"></svg>
          <div style="margin-top: 16px;">Post by @osintdesk@mastodon.example</div>
          <div style="font-weight: 500;">View on Mastodon</div></a></blockquote>
      <script data-allowed-prefixes="https://mastodon.example/" async
        src="https://mastodon.example/embed.js"></script>
      <iframe src="https://other.example/@reposter/112000000000000333/embed"
        class="mastodon-embed" style="max-width: 100%; border: 0" width="400"></iframe>
      <p>See also https://mastodon.example/users/osintdesk/statuses/110000000000000002.</p>
    </article></body></html>"""
    claims = extract_embeds(html)
    assert [(c.form, c.key, c.author_handle) for c in claims] == [
        (
            "mastodon-blockquote",
            "mastodon:mastodon.example/110000000000000001",
            "osintdesk@mastodon.example",
        ),
        ("mastodon-iframe", "mastodon:other.example/112000000000000333", "reposter"),
        ("link", "mastodon:mastodon.example/110000000000000002", "osintdesk"),
    ]


# --- hostile input (issue 18) ----------------------------------------------------------

PHOTOS_KEY = "mastodon.example/110000000000000001"


def test_dates_out_of_range_from_an_instance(env, server, settings):
    """Any instance may answer year 1 or 9999 (Mastodon.py parses either): created_at out
    of range makes the status unreadable, in one line; an edit time out of range is
    dropped and said so, the post still read."""
    status = server.world.platform("mastodon").statuses[PHOTOS_KEY]
    status["edited_at"] = "9999-12-31T23:00:00-05:00"
    post = fetch(PHOTOS, settings)
    assert post.edited_at is None
    assert post.facts["edited"] == "edited, at a time out of range (9999-12-31 23:00:00-05:00)"
    status["created_at"] = "0001-01-01T00:00:00+05:00"
    with pytest.raises(FetchError) as info:
        fetch(PHOTOS, settings)
    assert "created_at 0001-01-01T00:00:00+05:00 is out of range" in str(info.value)
    assert "\n" not in str(info.value)


def test_content_nested_past_512_is_read_as_text_and_said_so(env, server, settings):
    """A status's HTML comes from whichever instance answers: nesting past 512 levels is
    dropped before lexbor parses it (100,000 levels took 40 s), its text kept."""
    status = server.world.platform("mastodon").statuses[PHOTOS_KEY]
    status["content"] = "<p>" + "<div>" * 100_000 + "deep words" + "</div>" * 100_000 + "</p>"
    post = fetch(PHOTOS, settings)
    assert post.text == "deep words"
    assert post.facts["content_nesting"] == (
        "the status's HTML nests deeper than 512 elements: 198,976 tags past that depth "
        "were ignored (their text was read)"
    )


def test_an_instance_on_another_local_port_is_refused(env, server, monkeypatch):
    """The tests allow the fixture server's address and port only: Mastodon.py's session
    (requests, through postcheck's guarded transport) cannot reach another service on the
    same address, here a listening socket that would never answer."""
    import json
    import socket

    from postcheck.settings import reload_settings

    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        monkeypatch.setenv(
            "POSTCHECK_MASTODON_INSTANCE_URLS",
            json.dumps({"mastodon.example": f"http://127.0.0.1:{port}/mastodon/mastodon.example"}),
        )
        monkeypatch.setenv("POSTCHECK_READ_TIMEOUT", "2")
        with pytest.raises(FetchError, match=f"port {port}: not a public address"):
            fetch(PHOTOS, reload_settings())
