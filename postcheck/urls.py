"""URL hygiene shared by every source: what any post URL must look like."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from postcheck.errors import BadURL

MAX_URL_LENGTH = 2048
POST_SCHEMES = {"http", "https", "at"}
# A scheme is letters before ':' with no dot in them ('x.com:443/…' is a host, not a scheme).
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+-]*):")


def short(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_url_shape(url: str) -> str:
    """Strip and sanity-check a pasted URL; BadURL names what is wrong with it."""
    if not isinstance(url, str) or not url.strip():
        raise BadURL("empty URL")
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise BadURL(f"URL too long ({len(url)} characters, limit {MAX_URL_LENGTH})")
    if any(ord(c) < 32 or c.isspace() for c in url):
        raise BadURL(f"URL contains spaces or control characters: {short(url)}")
    scheme_match = _SCHEME.match(url)
    if scheme_match is None:
        # People paste 'x.com/user/status/1' without a scheme.
        url = "https://" + url
    elif scheme_match.group(1).lower() not in POST_SCHEMES:
        raise BadURL(
            f"unsupported URL scheme '{scheme_match.group(1).lower()}:' (only http, https and at://)"
        )
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() != "at":  # an AT-URI authority is a DID, 'did:plc:…'
            _ = parts.port  # raises on a malformed port
    except ValueError as exc:
        raise BadURL(f"malformed URL ({exc}): {short(url)}") from None
    if not parts.netloc:
        raise BadURL(f"URL has no host: {short(url)}")
    return url


def ascii_digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() (and int()) also take '１８５７' or '١٨٥٧', which
    name another post, or none, once converted."""
    return text.isascii() and text.isdigit()


def is_web_url(url: object) -> bool:
    """An absolute http(s) URL with a host and no spaces or control characters: the only
    kind that may become a link or an image source in a report or on a terminal."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        return False
    if any(ord(c) < 32 or ord(c) == 127 or c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(parts.hostname)


def host_of(url: str) -> str:
    """Lower-case host without 'www.'/'mobile.' and without port."""
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    for prefix in ("www.", "mobile.", "m."):
        if host.startswith(prefix):
            host = host[len(prefix) :]
    return host
