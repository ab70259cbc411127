"""verify-article: fetch or read a page, find its posts, verify each as a subflow."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from postcheck.articles import ArticleReport

FIX = Path(__file__).parents[1] / "fixtures"
SEED_TEXT = (FIX / "articles" / "seed-article.txt").read_text()


@pytest.fixture
def article(prefect_api, known_library):
    from postcheck.flows.verify_article import verify_article

    def _run(source, text=None):
        state = verify_article(source, text=text, return_state=True)
        return state, state.result(raise_on_failure=False)

    return _run


def by_url(result: ArticleReport):
    return {p.url: p for p in result.posts}


def test_seed_article_page(article, server):
    state, result = article(f"{server.base_url}/articles/seed-article.html")
    assert state.is_completed()
    [post] = result.posts
    assert post.claim.form == "x-blockquote" and post.claim.author_handle == "Archer83Able"
    assert post.status == "checked" and post.verdict.value == "recycled"
    assert post.mismatches == []  # the embed still matches what X returns
    assert state.message == "1 embedded post(s): 1 recycled"


def test_seed_text_resolves_its_short_link(article, server):
    _, result = article("stdin", text=SEED_TEXT)
    [post] = result.posts
    assert post.claim.form == "copied-text" and post.claim.url is None
    assert post.url == "https://x.com/Archer83Able/status/1857106849690673728"
    assert post.verdict.value == "recycled" and post.mismatches == []
    assert server.requests_to("/pic/ngn1ezuMQO")


def test_unresolvable_short_link_is_reported_with_handle_and_date(article, server):
    text = SEED_TEXT.replace("ngn1ezuMQO", "unknown999")
    state, result = article("stdin", text=text)
    assert state.is_completed()
    [post] = result.posts
    assert post.status == "unresolved" and post.verdict is None
    assert "@Archer83Able" in post.reasons[0] and "November 14, 2024" in post.reasons[0]
    assert "HTTP 404" in post.reasons[0]


def test_every_embed_form_on_one_page_and_failures_stay_apart(article, server):
    state, result = article(str(FIX / "articles" / "bluesky-and-iframes.html"))
    assert state.is_completed()
    posts = by_url(result)
    assert len(result.posts) == 6
    verdicts = {url: (p.verdict.value if p.verdict else p.status) for url, p in posts.items()}
    assert verdicts == {
        "https://bsky.app/profile/did:plc:pcfixturenewsdesk2222222/post/3lbqz2fa4ak2c": "no_known_match",
        "https://bsky.app/profile/did:plc:pcfixturephotoguy3333333/post/3lddyx7tqyc2a": "metadata_conflict",
        "https://x.com/i/web/status/1841391417553846349": "no_known_match",
        "https://x.com/fixture_wire/status/1859205067043770514": "altered",
        "https://x.com/fixture_news/status/1896395868337078575": "error",  # its image is HTML
        "https://x.com/fixture_data/status/1888893210588117609": "recycled",
    }
    # The publisher's markup names another account than the one that posted it.
    wire = posts["https://x.com/fixture_wire/status/1859205067043770514"]
    assert wire.mismatches == [
        "author: the embed says @fixture_wire, the platform says @fixture_repost"
    ]


def test_mismatch_with_what_the_platform_says_now(article, server):
    server.world.edit_text(
        "1857106849690673728", "Completely different words about a parade in 2010."
    )
    _, result = article(f"{server.base_url}/articles/seed-article.html")
    [post] = result.posts
    assert any(m.startswith("text: the embed's text differs") for m in post.mismatches)
    server.world.delete("1857106849690673728")
    _, result = article(f"{server.base_url}/articles/seed-article.html")
    [post] = result.posts
    assert post.verdict.value == "unavailable"
    assert post.mismatches == ["the embedded post is no longer available on the platform"]


def test_page_without_posts_is_a_clear_message(article, server):
    state, result = article(f"{server.base_url}/articles/no-embeds.html")
    assert state.is_completed() and result.posts == []
    assert state.message.startswith("no embedded posts found in")


@pytest.mark.parametrize(
    ("body", "ctype", "message"),
    [
        (b"<html>" + b"<p>x</p>" * 800_000 + b"</html>", "text/html", "too large"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "image/png", "not an HTML or text page (image/png)"),
        (b"\0\1\2\3" * 1000, "text/html", "binary content"),
    ],
)
def test_hostile_pages_fail_with_one_line(article, server, body, ctype, message):
    server.world.files["page"] = (body, ctype)
    state, result = article(f"{server.base_url}/files/page")
    assert state.is_failed() and result is None
    assert message in state.message and "\n" not in state.message


def test_thousands_of_links_are_capped(article, server, monkeypatch):
    monkeypatch.setenv("POSTCHECK_MAX_ARTICLE_POSTS", "3")
    from postcheck.services import reset_services

    reset_services()
    links = "".join(
        f'<p><a href="https://x.com/u{i}/status/{10**18 + i}">post {i}</a></p>' for i in range(5000)
    )
    server.world.files["many"] = (f"<html><body>{links}</body></html>".encode(), "text/html")
    state, result = article(f"{server.base_url}/files/many")
    assert state.is_completed()
    statuses = [p.status for p in result.posts]
    assert statuses.count("checked") == 3
    assert statuses.count("skipped") == len(statuses) - 3
    assert "more than 3 posts" in next(p for p in result.posts if p.status == "skipped").reasons[0]


def test_cli_article_from_stdin(prefect_api, server, tmp_path):
    env = dict(
        os.environ,
        **server.env(),
        POSTCHECK_DATA_DIR=str(tmp_path / "d"),
        PREFECT_API_URL=prefect_api,
        POSTCHECK_RETRY_BACKOFF_SECONDS="0",
        COLUMNS="200",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "postcheck.cli", "article", "-"],
        input=SEED_TEXT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "copied-text @Archer83Able" in proc.stdout and "no_known_match" in proc.stdout
    assert "1 embedded post(s)" in proc.stdout


def test_a_deeply_nested_page_says_its_depth_was_capped(article, tmp_path):
    page = tmp_path / "deep.html"
    page.write_text("<html><body>" + "<div>" * 100_000 + "deep" + "</div>" * 100_000)
    state, result = article(str(page))
    assert state.is_completed()
    assert result.message.startswith("no embedded posts found")
    assert "nests deeper than 512 elements" in result.message
