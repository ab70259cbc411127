"""Reverse-search links: built from the picture's public URL, percent-encoded whole, in the
JSON and markdown reports; none (and said why) for a local file."""

from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from postcheck.domain import CheckReport, ImageReport, Verdict
from postcheck.media import MediaStore
from postcheck.report import markdown_report
from postcheck.reverse_search import links_for

PIC = "https://pbs.twimg.com/media/GcZ1.jpg?format=jpg&name=orig"


def _report(source_url: str) -> CheckReport:
    image = ImageReport(position=0, source_url=source_url, verdict=Verdict.NO_KNOWN_MATCH)
    return CheckReport(
        url=source_url,
        verdict=Verdict.NO_KNOWN_MATCH,
        images=[image],
        checked_at=datetime(2026, 1, 2, tzinfo=UTC),
    )


def test_links_carry_the_whole_url_as_one_parameter():
    links = dict(links_for(PIC))
    assert list(links) == ["Google Lens", "Bing Visual Search", "Yandex Images", "TinEye"]
    lens = urlsplit(links["Google Lens"])
    assert (lens.netloc, lens.path) == ("lens.google.com", "/uploadbyurl")
    assert parse_qs(lens.query) == {"url": [PIC]}  # its own ?format=…&name=… kept inside
    assert parse_qs(urlsplit(links["TinEye"]).query) == {"url": [PIC]}
    yandex = parse_qs(urlsplit(links["Yandex Images"]).query)
    assert yandex == {"rpt": ["imageview"], "url": [PIC]}
    assert parse_qs(urlsplit(links["Bing Visual Search"]).query)["q"] == [f"imgurl:{PIC}"]
    assert all(url.startswith("https://") and " " not in url for url in links.values())


def test_only_http_urls_get_links():
    for source in ("photos/desk.jpg", "ftp://example.org/a.jpg", "javascript:alert(1)", ""):
        assert links_for(source) == []


def test_json_and_markdown_carry_the_links(tmp_path):
    report = _report(PIC)
    entry = report.model_dump(mode="json")["images"][0]["reverse_search"]
    assert [x["service"] for x in entry["links"]] == [
        "Google Lens",
        "Bing Visual Search",
        "Yandex Images",
        "TinEye",
    ]
    assert entry["note"] is None
    # a stored report read back (the computed field is ignored on input) renders the same
    again = CheckReport.model_validate(report.model_dump(mode="json"))
    assert again.images[0].reverse_search == report.images[0].reverse_search
    md = markdown_report(report, MediaStore(tmp_path))
    line = next(x for x in md.splitlines() if x.startswith("- reverse search:"))
    assert f"[TinEye]({dict(links_for(PIC))['TinEye']})" in line
    assert line.count("](https://") == 4


def test_a_local_file_has_no_links_and_says_so(tmp_path):
    report = _report("photos/desk.jpg")
    entry = report.model_dump(mode="json")["images"][0]["reverse_search"]
    assert entry["links"] == []
    assert "local file" in entry["note"]
    md = markdown_report(report, MediaStore(tmp_path))
    assert "- reverse search: a local file" in md
    assert "lens.google.com" not in md
