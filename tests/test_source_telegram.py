"""Telegram through its embed widget (httpx + selectolax) against the fixture widget: the
post's facts, every photo of an album at full size, videos, missing posts, articles."""

from datetime import UTC, datetime

import pytest

from postcheck.errors import FetchError, PostUnavailable, TransientError
from postcheck.fixtures.server import Fault
from postcheck.media import download_image
from postcheck.sources import fetch_post, parse_post_url
from postcheck.sources.embeds import extract_embeds
from postcheck.sources.telegram.fetch import NO_PLAYABLE_VIDEO

PHOTO = "https://t.me/fixturefront/101"
ALBUM = "https://t.me/fixturefront/102"
VIDEO = "https://t.me/s/fixturefront/105"
NO_VIDEO = "https://t.me/fixturefront/106"
REPOST = "https://telegram.me/fixturerepost/210"


def fetch(url, settings):
    return fetch_post(parse_post_url(url), settings)


def test_photo_post(env, server, settings):
    post = fetch(PHOTO, settings)
    [req] = server.requests_to("/telegram/fixturefront/")
    assert req.path == "/telegram/fixturefront/101" and req.query["embed"] == ["1"]
    assert post.uri == "telegram:fixturefront/101" and post.url == PHOTO
    assert (post.author_handle, post.author_name) == ("fixturefront", "Front Line Photos")
    assert post.created_at == datetime(2024, 11, 15, 6, 40, 12, tzinfo=UTC)
    assert post.text == "Koksan howitzers on a train again, this morning.\nMore soon."
    assert post.facts == {} and post.fetched_via == "telegram-widget"
    [photo] = post.media
    assert photo.kind == "photo" and "/telegram/file/" in photo.url


def test_album_items_from_their_own_widgets(env, server, settings, svc):
    """The grouped widget shows small tiles; each item's own widget the full photo."""
    post = fetch(ALBUM, settings)
    singles = [r for r in server.requests_to("/telegram/fixturefront/") if "single" in r.query]
    assert sorted(r.path for r in singles) == [
        f"/telegram/fixturefront/{i}" for i in (102, 103, 104)
    ]
    assert [m.platform_key for m in post.media] == [f"fixturefront/{i}" for i in (102, 103, 104)]
    assert post.text == "Three photos from the parade route"
    sizes = [download_image(m.url, settings, svc.media) for m in post.media]
    expected = ["images/x-motorcycle.jpg", "images/x-coins.jpg", "images/b-camera.jpg"]
    assert [(s.width, s.height) for s in sizes] == [server.world.image_size(n) for n in expected]


def test_album_item_whose_widget_fails_keeps_its_tile(env, server, settings):
    server.fault("/telegram/fixturefront/103?embed=1&single", Fault(status=403, times=1))
    post = fetch(ALBUM, settings)
    assert len(post.media) == 3
    assert post.media[1].note and "album's tile" in post.media[1].note
    assert post.media[0].note is None


def test_video_and_its_duration(env, server, settings):
    [video] = fetch(VIDEO, settings).media
    assert video.kind == "video" and video.video_url.endswith(".mp4")
    assert video.duration_ms == 10_000
    assert "/telegram/file/" in video.url  # the poster


def test_video_the_widget_does_not_play_gives_its_thumbnail_said_so(env, server, settings):
    post = fetch(NO_VIDEO, settings)
    [video] = post.media
    assert video.video_url is None and video.note == NO_PLAYABLE_VIDEO
    # The date is the post's, not the video's duration (also a <time> in the widget).
    assert post.created_at == datetime(2025, 2, 11, 8, 0, tzinfo=UTC)


def test_forwarded_edited_reply_are_facts_not_text(env, server, settings):
    post = fetch(REPOST, settings)
    assert post.text == "This cat was found on the front line today"  # not the quoted reply
    assert post.author_name == "Reposts 24/7 ⚡"
    assert post.facts == {
        "edited": "the post was edited (the widget shows no edit time)",
        "forwarded_from": "Front Line Photos (https://t.me/fixturefront/101)",
        "reply_to": "https://t.me/fixturerepost/209",
    }


def test_missing_post_answers_200_and_is_unavailable(env, server, settings):
    with pytest.raises(PostUnavailable, match="Post not found") as info:
        fetch("https://t.me/fixturefront/999", settings)
    assert info.value.reason == "not_found"
    [req] = server.requests_to("/telegram/fixturefront/999")
    assert req.query == {"embed": ["1"]}


def test_errors(env, server, settings):
    server.fault("/telegram/", Fault(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(TransientError, match="429") as info:
        fetch(PHOTO, settings)
    assert info.value.retry_after == 7
    server.fault("/telegram/", Fault(status=200, body=b"<html><body>Just a moment</body></html>"))
    with pytest.raises(FetchError, match="no post in it"):
        fetch(PHOTO, settings)


def test_articles_find_telegram_embeds():
    html = """<html><body><article>
      <p>As the channel <a href="https://t.me/fixturefront/101">reported</a>:</p>
      <script async src="https://telegram.org/js/telegram-widget.js?22"
        data-telegram-post="fixturerepost/210" data-width="100%"></script>
      <iframe id="telegram-post-fixturefront-102" src="https://t.me/fixturefront/102?embed=1"
        width="100%" frameborder="0"></iframe>
      <div class="share-bar"><a href="https://t.me/share/url?url=https://example.org">Share</a></div>
    </article></body></html>"""
    claims = extract_embeds(html)
    assert [(c.form, c.key) for c in claims] == [
        ("link", "telegram:fixturefront/101"),
        ("telegram-script", "telegram:fixturerepost/210"),
        ("telegram-iframe", "telegram:fixturefront/102"),
    ]


def test_verify_recheck_and_learn(run, server, svc):
    from postcheck.flows.recheck import recheck

    state, report = run(NO_VIDEO)
    assert state.is_completed()
    [image] = report.images
    assert NO_PLAYABLE_VIDEO in image.reasons
    state, report = run(PHOTO)
    assert report.verdict.value == "recycled"  # the Koksan photo of 2010
    assert any(k.post_uri == "telegram:fixturefront/101" for k in svc.store.list_known(limit=1000))
    server.world.edit_text("fixturefront/101", "Koksan howitzers: an old photo, sorry")
    outcomes = recheck(platform="telegram", return_state=True).result()
    assert len(outcomes) == 2
    assert [t.kind for t in svc.store.transitions("telegram:fixturefront/101")] == ["text_edited"]


# --- hostile input (issue 18) ----------------------------------------------------------


def test_a_widget_date_out_of_range_is_refused_in_one_line(env, server, settings):
    """Year 1 at +05:00 has no UTC equivalent: taken as the post's date it would overflow
    at the store's write. The widget's date is checked like every other date."""
    server.world.platform("telegram").posts["fixturefront/101"]["date"] = (
        "0001-01-01T00:00:00+05:00"
    )
    with pytest.raises(FetchError, match="the widget shows no valid date") as info:
        fetch(PHOTO, settings)
    assert "\n" not in str(info.value)


def test_a_widget_page_nested_past_512_is_not_parsed(env, server, settings):
    """lexbor's parse time grows with the square of the depth (100,000 nested divs took
    40 s); Telegram's widget nests a dozen levels, so such a page is refused unparsed."""
    body = (
        "<html><body>"
        + "<div>" * 100_000
        + '<div class="tgme_widget_message" data-post="fixturefront/101"></div>'
        + "</div>" * 100_000
    )
    server.fault("/telegram/", Fault(status=200, body=body.encode()))
    with pytest.raises(FetchError, match="nests deeper than 512 elements"):
        fetch(PHOTO, settings)


def test_a_widget_on_another_local_port_is_refused(env, server, monkeypatch):
    """The tests allow the fixture server's address and port only: the widget client
    (httpx, through postcheck's guarded transport) cannot reach another service on the same
    address, here a listening socket that would never answer."""
    import socket

    from postcheck.settings import reload_settings

    with socket.create_server(("127.0.0.1", 0)) as other:
        port = other.getsockname()[1]
        monkeypatch.setenv("POSTCHECK_TELEGRAM_URL", f"http://127.0.0.1:{port}/telegram")
        monkeypatch.setenv("POSTCHECK_READ_TIMEOUT", "2")
        with pytest.raises(FetchError, match=f"port {port}: not a public address"):
            fetch(PHOTO, reload_settings())
