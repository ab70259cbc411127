import pytest

from postcheck.errors import BadURL
from postcheck.sources import parse_post_url

ID = "1857106849690673728"


@pytest.mark.parametrize(
    "url",
    [
        f"https://x.com/Archer83Able/status/{ID}",
        f"https://twitter.com/Archer83Able/status/{ID}?s=20&t=abc",
        f"https://mobile.twitter.com/Archer83Able/status/{ID}",
        f"https://www.x.com/Archer83Able/status/{ID}/photo/1",
        f"http://x.com/Archer83Able/statuses/{ID}",
        f"x.com/Archer83Able/status/{ID}",
        f"  https://fxtwitter.com/Archer83Able/status/{ID}  ",
    ],
)
def test_x_url_forms(url):
    ref = parse_post_url(url)
    assert ref.platform == "x"
    assert ref.post_id == ID
    assert ref.author == "Archer83Able"
    assert ref.url == f"https://x.com/Archer83Able/status/{ID}"
    assert ref.key == f"x:{ID}"


@pytest.mark.parametrize(
    "url", [f"https://x.com/i/web/status/{ID}", f"https://twitter.com/i/status/{ID}"]
)
def test_x_url_without_user(url):
    ref = parse_post_url(url)
    assert (ref.post_id, ref.author) == (ID, None)
    assert ref.url == f"https://x.com/i/web/status/{ID}"


@pytest.mark.parametrize(
    ("url", "author"),
    [
        (
            "https://bsky.app/profile/newsdesk.example.org/post/3lbqz2fa4ak2c",
            "newsdesk.example.org",
        ),
        (
            "https://bsky.app/profile/NewsDesk.Example.org/post/3lbqz2fa4ak2c",
            "newsdesk.example.org",
        ),
        (
            "https://bsky.app/profile/did:plc:pcfixturenewsdesk2222222/post/3lbqz2fa4ak2c",
            "did:plc:pcfixturenewsdesk2222222",
        ),
        (
            "at://did:plc:pcfixturenewsdesk2222222/app.bsky.feed.post/3lbqz2fa4ak2c",
            "did:plc:pcfixturenewsdesk2222222",
        ),
        ("at://newsdesk.example.org/app.bsky.feed.post/3lbqz2fa4ak2c", "newsdesk.example.org"),
    ],
)
def test_bluesky_url_forms(url, author):
    ref = parse_post_url(url)
    assert ref.platform == "bluesky"
    assert ref.post_id == "3lbqz2fa4ak2c"
    assert ref.author == author


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "empty URL"),
        ("   ", "empty URL"),
        ("https://example.com/news/article", "not a post URL of a supported platform"),
        ("https://x.com/Archer83Able", "X profile, not a post"),
        ("https://x.com/Archer83Able/likes", "not an X post URL"),
        ("https://x.com/Archer83Able/status/abc", "not an X post URL"),
        ("https://x.com/Archer83Able/status/0", "id is zero"),
        ("https://x.com/Archer83Able/status/99999999999999999999", "out of range"),
        ("https://x.com/waytoolongusername1/status/1", "not an X post URL"),
        ("https://bsky.app/profile/newsdesk.example.org", "Bluesky profile, not a post"),
        ("https://bsky.app/search?q=koksan", "not a Bluesky post URL"),
        ("at://did:plc:abc/app.bsky.feed.like/3l", "not a Bluesky post AT-URI"),
        ("javascript:alert(1)", "unsupported URL scheme"),
        ("file:///etc/passwd", "unsupported URL scheme"),
        ("ftp://x.com/a/status/1", "unsupported URL scheme"),
        ("https://x.com/a/status/1 and more", "spaces"),
        ("https://x.com:99999/a/status/1", "malformed URL"),
        ("https://" + "a" * 3000 + ".com/", "too long"),
    ],
)
def test_bad_urls_get_one_clear_line(url, message):
    with pytest.raises(BadURL) as info:
        parse_post_url(url)
    text = str(info.value)
    assert message in text
    assert "\n" not in text and len(text) < 300


def test_internationalised_host_is_refused_cleanly():
    with pytest.raises(BadURL, match="not a post URL"):
        parse_post_url("https://пример.рф/status/1")


FULLWIDTH = "１８５７１０６８４９６９０６７３７２８"  # 1857106849690673728 in fullwidth digits
ARABIC_INDIC = "١٨٥٧١٠٦٨٤٩٦٩٠٦٧٣٧٢٨"


@pytest.mark.parametrize("digits", [FULLWIDTH, ARABIC_INDIC, "1857106849690673７28"])
def test_x_ids_are_ascii_digits_only(digits):
    """`\\d` matches any Unicode digit and int() converts them: such an id was fetched as
    another post and recorded `unavailable`. It is not an X post URL."""
    with pytest.raises(BadURL, match="not an X post URL"):
        parse_post_url(f"https://x.com/Archer83Able/status/{digits}")


@pytest.mark.parametrize(
    "url",
    [
        "https://t.me/fixturefront/１０１",
        "https://t.me/s/fixturefront/١٠١",
        "https://mastodon.example/@osintdesk/１１００００００００００００００００１",
        "https://mastodon.example/users/osintdesk/statuses/١١٠٠٠٠٠٠٠٠٠٠٠٠٠٠١",
    ],
)
def test_telegram_and_mastodon_ids_are_ascii_digits_only(url):
    """The same for the platforms issue 15 added: a Unicode-digit id is no post URL."""
    with pytest.raises(BadURL):
        parse_post_url(url)
