"""Article pages and short links: the network side of reading what a news page embeds."""

from __future__ import annotations

import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from postcheck import http
from postcheck.errors import BadURL, FetchError, TransientError
from postcheck.settings import Settings
from postcheck.sources import parse_post_url, platforms
from postcheck.sources.base import Platform
from postcheck.urls import short

TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")
MAX_REDIRECTS = 5


@dataclass(frozen=True)
class Page:
    url: str
    content_type: str
    text: str
    size: int


def decode(body: bytes, content_type: str) -> str:
    """Bytes -> text: the declared charset, else UTF-8, else Latin-1 (never fails)."""
    charset = None
    for part in content_type.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset":
            charset = value.strip("\"' ") or None
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    return body.decode("latin-1")


def fetch_page(url: str, settings: Settings) -> Page:
    """GET an article under the page byte cap and deadline; it must be HTML or text."""
    what = f"page {short(url, 100)}"
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise BadURL(f"not a web page URL: {short(url)}")
    deadline = time.monotonic() + settings.download_deadline
    with http.network_errors(what), http.client(settings) as client:
        for _ in range(MAX_REDIRECTS + 1):
            with client.stream(
                "GET",
                url,
                follow_redirects=False,
                headers={"Accept": "text/html,text/plain;q=0.9,*/*;q=0.1"},
            ) as response:
                if response.is_redirect:
                    url = urljoin(str(response.url), response.headers.get("location", ""))
                    continue
                if response.status_code in (404, 410):
                    raise FetchError(f"{what}: not found (HTTP {response.status_code})")
                http.check_status(response, what)
                ctype = response.headers.get("content-type", "").lower()
                if ctype and not ctype.startswith(TEXT_TYPES):
                    raise FetchError(f"{what}: not an HTML or text page ({ctype.split(';')[0]})")
                declared = response.headers.get("content-length")
                if (
                    declared
                    and declared.isascii()
                    and declared.isdigit()
                    and int(declared) > settings.max_page_bytes
                ):
                    raise FetchError(
                        f"{what}: too large ({int(declared):,} bytes, limit {settings.max_page_bytes:,})"
                    )
                chunks, total = [], 0
                for chunk in response.iter_bytes():
                    total += len(chunk)
                    if total > settings.max_page_bytes:
                        raise FetchError(
                            f"{what}: too large (over {settings.max_page_bytes:,} bytes)"
                        )
                    if time.monotonic() > deadline:
                        raise TransientError(
                            f"{what}: download exceeded {settings.download_deadline:.0f} s"
                        )
                    chunks.append(chunk)
                body = b"".join(chunks)
                if b"\x00" in body[:4096]:
                    raise FetchError(f"{what}: binary content, not a page")
                return Page(str(response.url), ctype or "text/html", decode(body, ctype), total)
    raise FetchError(f"{what}: more than {MAX_REDIRECTS} redirects")


def short_link_hosts() -> dict[str, Platform]:
    """Every platform's short-link hosts (X: t.co, pic.twitter.com), to their platform."""
    return {host: p for p in platforms().values() for host in p.short_link_hosts}


def short_link_target(link: str, settings: Settings) -> str:
    """Where a platform's short link would be fetched (their base URLs are settings)."""
    parts = urlsplit(link if "://" in link else f"https://{link}")
    host = (parts.hostname or "").lower()
    code = parts.path.strip("/").split("/")[0]
    if not code:
        raise BadURL(f"short link without a code: {short(link)}")
    platform = short_link_hosts().get(host)
    if platform is None:
        raise BadURL(f"not a short link of a supported platform: {short(link)}")
    return platform.short_link_target(host, code, settings)


def resolve_short_link(link: str, settings: Settings) -> str:
    """The post URL a short link redirects to (redirects are read, never followed to the
    destination)."""
    url = short_link_target(link, settings)
    what = f"short link {short(link, 60)}"
    with http.network_errors(what), http.client(settings) as client:
        for _ in range(3):
            response = client.get(url, follow_redirects=False)
            if not response.is_redirect:
                if response.status_code == 404:
                    raise FetchError(f"{what}: unknown link (HTTP 404)")
                http.check_status(response, what)
                raise FetchError(f"{what}: no redirect to a post")
            location = response.headers.get("location", "")
            try:
                return parse_post_url(location).url
            except BadURL:
                pass
            host = (urlsplit(location).hostname or "").lower()
            if host not in short_link_hosts():
                raise FetchError(f"{what}: redirects to {short(location, 80)}, not a post")
            url = short_link_target(location, settings)
    raise FetchError(f"{what}: too many redirects")
