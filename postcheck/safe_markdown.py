"""Markdown for reports in which no user-supplied string becomes markup.

Captions, post text, handles, EXIF fields, file names and URLs in a report come from
users and remote services. The Prefect UI renders markdown artifacts (and the string
cells of table artifacts) with raw HTML allowed; its sanitiser strips event handlers but
keeps tags, so `<img src=x onerror=…>` in a source URL rendered as an image. Every such
string goes through `text()`; a URL becomes a link only when it is http(s) (`link()`);
an image source is only ever our own data: URI or an http(s) URL (`img()`).
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote

from postcheck.urls import is_web_url

# CommonMark lets any ASCII punctuation be escaped with a backslash; these are the ones
# markdown, GFM tables and inline HTML give a meaning to ('&' starts an entity).
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~&])")
_DATA_IMAGE = re.compile(r"data:image/(?:jpeg|png|webp|gif);base64,[A-Za-z0-9+/=]+")
# Characters a link destination may keep as they are; everything else is percent-encoded.
_URL_SAFE = ":/?#[]@!$&*+,;=%~-._"


def text(value: object) -> str:
    """Any string as literal text on one line: no markup, no HTML, no table cell break."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def url_target(url: str) -> str:
    """An http(s) URL as a link destination: nothing in it can close the link or quote."""
    return quote(url, safe=_URL_SAFE)


def link(url: str | None, label: str | None = None) -> str:
    """A markdown link when `url` is http(s), else the URL (or label) as literal text."""
    if not url:
        return text(label or "—")
    if not is_web_url(url):
        return text(label or url)
    return f"[{text(label or url)}]({url_target(url)})"


def img(src: str | None, alt: str, width: int) -> str:
    """An <img> for one of our data: URIs or an http(s) URL; '—' for anything else."""
    if not src or not (_DATA_IMAGE.fullmatch(src) or is_web_url(src)):
        return "—"
    safe = src if src.startswith("data:") else url_target(src)
    return f'<img src="{html.escape(safe, quote=True)}" alt="{html.escape(alt, quote=True)}" width="{int(width)}"/>'
