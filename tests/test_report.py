"""Reports: no user-supplied string becomes markup, HTML or a link that is not http(s)."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from prefect_artifacts import artifacts

from postcheck.articles import ArticleReport, EmbeddedPostResult
from postcheck.domain import CheckReport, ImageReport, KnownImage, Match, Verdict
from postcheck.media import MediaStore
from postcheck.report import article_markdown, markdown_report, match_rows
from postcheck.sources.embeds import EmbedClaim

FIX = Path(__file__).parents[1] / "fixtures"
SEED = "https://x.com/Archer83Able/status/1857106849690673728"
HOSTILE = "<img src=x onerror=alert(1)>"
JS = "javascript:alert(document.cookie)"


def raw_html(markdown: str) -> list[str]:
    """Tags in the markdown that are not our own thumbnails and line breaks."""
    ours = re.sub(
        r'<img src="data:image/jpeg;base64,[A-Za-z0-9+/=]+" alt="[^"<>]*" width="\d+"/>',
        "",
        markdown,
    )
    ours = ours.replace("<br/>", "")
    return re.findall(r"(?<!\\)<[^\s]", ours)


def assert_inert(markdown: str) -> None:
    assert not raw_html(markdown), raw_html(markdown)
    assert "](javascript:" not in markdown and "<javascript:" not in markdown
    assert "](x)" not in markdown


def hostile_report() -> CheckReport:
    known = KnownImage(id=7, sha256="0" * 64, source_url=JS, caption=HOSTILE)
    image = ImageReport(
        position=0,
        source_url=JS,
        alt_text=HOSTILE,
        matches=[
            Match(
                known=known, distances={"dct256": 3}, score=0.01, is_match=True, details=[HOSTILE]
            )
        ],
        verdict=Verdict.MATCHES_KNOWN,
        reasons=[f"matches {HOSTILE}"],
    )
    return CheckReport(
        url=JS,
        verdict=Verdict.MATCHES_KNOWN,
        reasons=[HOSTILE],
        images=[image],
        checked_at=datetime.now(UTC),
    )


def test_check_report_escapes_every_user_string(tmp_path):
    markdown = markdown_report(hostile_report(), MediaStore(tmp_path))
    assert_inert(markdown)
    assert r"\<img src=x onerror=alert\(1\)\>" in markdown  # shown as text
    for row in match_rows(hostile_report()):  # the UI renders string cells as markdown
        assert_inert(" ".join(str(v) for v in row.values()))


def test_article_report_escapes_claims_and_links(tmp_path):
    claim = EmbedClaim(
        platform=None,
        url=None,
        post_id=None,
        author_handle=HOSTILE,
        author_name=HOSTILE,
        date_text=HOSTILE,
        date=None,
        text=f"[click]({JS}) {HOSTILE}",
        form="x-blockquote",
    )
    article = ArticleReport(
        source=JS,
        checked_at=datetime.now(UTC),
        message=HOSTILE,
        posts=[
            EmbeddedPostResult(
                claim=claim, status="failed", url=JS, reasons=[HOSTILE], mismatches=[HOSTILE]
            )
        ],
    )
    assert_inert(article_markdown(article, MediaStore(tmp_path)))


def test_a_hostile_known_image_in_the_posts_artifacts(prefect_api, svc, server):
    """A known image whose source URL and caption are an <img onerror> tag: both artifacts
    of the post that matches it show the text, and no tag or javascript: link."""
    from postcheck.flows.verify_post import verify_post
    from postcheck.library import add_known_file

    add_known_file(
        svc,
        FIX / "known" / "koksan-2010.jpg",
        source_url=HOSTILE,
        caption=HOSTILE,
        first_seen=datetime(2010, 10, 10, tzinfo=UTC),
    )
    state = verify_post(SEED, return_state=True)
    assert state.result().verdict is Verdict.RECYCLED
    run_id = state.state_details.flow_run_id
    [report] = artifacts("post-x-1857106849690673728", run_id)
    assert_inert(report.data)
    assert report.data.count("data:image/jpeg;base64,") == 2
    assert r"\<img src=x onerror=alert\(1\)\>" in report.data
    [table] = artifacts("post-x-1857106849690673728-matches", run_id)
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert_inert(json.dumps(rows))


def test_telegram_and_mastodon_fields_are_text_in_reports_and_on_the_terminal(
    env, server, settings, tmp_path, capsys
):
    """What issue 15's platforms add — a Telegram channel's title and what a post was
    forwarded from, a Mastodon content warning (Post.facts) — is escaped in the report
    and printed as it is on the terminal (rich would read `[/quote]` as a tag)."""
    from postcheck import cli
    from postcheck.sources import fetch_post, parse_post_url

    telegram = server.world.platform("telegram")
    telegram.channels["fixturerepost"]["title"] = f"[/quote] {HOSTILE}"
    telegram.posts["fixturerepost/210"]["forwarded"] = {"name": HOSTILE, "href": JS}
    mastodon = server.world.platform("mastodon")
    mastodon.statuses["mastodon.example/110000000000000003"]["spoiler_text"] = f"[/quote] {HOSTILE}"
    for url in (
        "https://telegram.me/fixturerepost/210",
        "https://mastodon.example/@reposter@other.example/110000000000000003",
    ):
        post = fetch_post(parse_post_url(url), settings)  # through the real fetch path
        assert any(HOSTILE in v for v in [post.author_name or "", *post.facts.values()])
        report = CheckReport(
            url=url,
            post=post,
            verdict=Verdict.NO_KNOWN_MATCH,
            reasons=[HOSTILE],
            checked_at=datetime.now(UTC),
        )
        markdown = markdown_report(report, MediaStore(tmp_path))
        assert_inert(markdown)
        assert r"\[/quote\] \<img src=x onerror=alert\(1\)\>" in markdown
        cli.print_report(report)
        printed = " ".join(capsys.readouterr().out.split())
        assert f"[/quote] {HOSTILE}" in printed


def test_the_side_by_side_shows_the_match_the_verdict_rests_on(tmp_path, capsys):
    """A copy first seen after the post can be nearer than the 2010 original its
    `recycled` rests on: the report's side-by-side and the terminal's table show the
    original (evidence_id), not the nearest proven match."""
    from postcheck import cli
    from postcheck.verifiers.verdict import judge_image, rank_matches

    def match(known_id: int, caption: str, year: int, score: float) -> Match:
        known = KnownImage(
            id=known_id,
            sha256=str(known_id) * 64,
            caption=caption,
            first_seen=datetime(year, 10, 10, tzinfo=UTC),
        )
        return Match(known=known, distances={"dct256": 1}, score=score, is_match=True)

    original, later = match(1, "original", 2010, 0.05), match(2, "a later copy", 2025, 0.0)
    matches = rank_matches([original, later], "x:1")
    verdict, reasons, evidence = judge_image(matches, [], datetime(2024, 11, 14, tzinfo=UTC))
    assert (verdict, evidence, matches[0]) == (Verdict.RECYCLED, original, later)
    image = ImageReport(
        position=0,
        source_url="https://example.org/p.jpg",
        matches=matches,
        verdict=verdict,
        reasons=reasons,
        evidence_id=evidence.known.id,
    )
    report = CheckReport(
        url="https://x.com/a/status/1",
        verdict=verdict,
        images=[image],
        checked_at=datetime.now(UTC),
    )
    markdown = markdown_report(report, MediaStore(tmp_path))
    assert "| #1, first seen 2010-10-10 |" in markdown and "| #2, first seen" not in markdown
    cli.print_report(report)
    assert "#1 original" in capsys.readouterr().out
