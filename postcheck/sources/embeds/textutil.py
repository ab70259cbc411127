"""Text helpers of the embed extractor: whitespace, dates, a post text's trailing links."""

from __future__ import annotations

import datetime as dt
import re

from postcheck.sources.embeds.forms import all_forms
from postcheck.urls import ascii_digits

# --- text helpers ------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _norm(text: str | None) -> str | None:
    if text is None:
        return None
    text = _WS.sub(" ", text).strip()
    return text or None


_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_ISO = re.compile(r"(?<!\d)(?P<year>[0-9]{4})-(?P<mon>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?!\d)")
_DATE_MDY = re.compile(
    rf"\b{_MONTH}\.?\s+(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>[0-9]{{4}})(?!\d)",
    re.IGNORECASE,
)
_DATE_DMY = re.compile(
    rf"(?<!\d)(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+(?P<year>[0-9]{{4}})(?!\d)",
    re.IGNORECASE,
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def parse_date(text: str | None) -> dt.date | None:
    """A calendar date written in English or ISO form somewhere in `text`, else None."""
    if not text:
        return None
    text = text[:200]
    for pattern in (_DATE_ISO, _DATE_MDY, _DATE_DMY):
        match = pattern.search(text)
        if match is None:
            continue
        mon = match.group("mon")
        month = int(mon) if ascii_digits(mon) else _MONTHS[mon[:3].lower()]
        try:
            return dt.date(int(match.group("year")), month, int(match.group("day")))
        except ValueError:
            continue
    return None


_MAX_SHORT_LINKS = 20  # a post has at most 4 pictures; more is noise (or an attack)
_DELETED_PLACEHOLDER = re.compile(
    r"^(?:this\s+)?(?:tweet|post)\s+(?:may\s+have\s+been|was|has\s+been|is)\s+"
    r"(?:deleted|unavailable|removed)\.?$",
    re.IGNORECASE,
)


def _clean_post_text(raw: str | None) -> tuple[str | None, list[str], list[str]]:
    """(text without its trailing media link, trailing short links, media link codes).

    Short links are the platforms' (forms.EmbedForms.short_links): a copied embed ends
    with its media link, which stands for the post when no status URL is given."""
    text = _norm(raw)
    if not text:
        return None, [], []
    forms = all_forms()
    while forms.placeholder is not None and text.endswith("]"):
        stripped = forms.placeholder.sub("", text[-100:])
        if len(stripped) == min(len(text), 100):
            break
        text = text[:-100] + stripped
    words = text.split(" ")
    links: list[str] = []
    pics: list[str] = []
    drop = len(words)  # words from here on are trailing media links, cut from the text
    for i in range(len(words) - 1, -1, -1):
        match = forms.short_link.match(words[i])
        if match is None:
            break
        host = match.group("host").lower()
        code = match.group("code")
        links.append(f"{forms.short_links[host][1]}/{code}")
        if host in forms.media_links:
            pics.append(code)
            if drop == i + 1:
                drop = i
    links.reverse()
    pics.reverse()
    del links[_MAX_SHORT_LINKS:], pics[_MAX_SHORT_LINKS:]
    text = " ".join(words[:drop]).strip() or None
    if text is not None and _DELETED_PLACEHOLDER.match(text):
        text = None
    return text, links, pics
