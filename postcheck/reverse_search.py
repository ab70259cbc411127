"""Links to search a picture by its public URL on the big reverse-image search engines.

Pure: it only builds URLs (no request is made to the services). The URL forms are the ones
the services answer for a search by image address and that widely used tools (browser
extensions, SearXNG's engines) link to; the picture's URL is percent-encoded whole, so a
URL with its own query (`?format=jpg&name=orig`) survives as one parameter."""

from __future__ import annotations

from urllib.parse import quote

from postcheck.urls import is_web_url

# (service, URL prefix the encoded picture URL is appended to)
SERVICES: tuple[tuple[str, str], ...] = (
    ("Google Lens", "https://lens.google.com/uploadbyurl?url="),
    ("Bing Visual Search", "https://www.bing.com/images/search?view=detailv2&iss=sbi&q=imgurl:"),
    ("Yandex Images", "https://yandex.com/images/search?rpt=imageview&url="),
    ("TinEye", "https://tineye.com/search?url="),
)


def is_public_url(url: str | None) -> bool:
    """An http(s) URL with a host: the only kind the services can fetch a picture from."""
    return is_web_url(url)


def links_for(url: str | None) -> list[tuple[str, str]]:
    """(service name, search URL) for each service; empty when `url` is not http(s)."""
    if not is_public_url(url):
        return []
    encoded = quote(url, safe="")
    return [(name, prefix + encoded) for name, prefix in SERVICES]


def no_links_reason(url: str | None) -> str | None:
    """Why a picture has no links (None when it has them), in words for a report."""
    if is_public_url(url):
        return None
    if not url:
        return "no public URL to search by"
    if "://" not in url:
        return "a local file, no public URL to search by: upload it to the services by hand"
    return "not an http(s) URL, nothing the services can fetch: upload the file by hand"
