"""Posts named in plain text (or in the text of an HTML page): URLs and copied embeds."""

from __future__ import annotations

import bisect
import re
from urllib.parse import urlsplit

from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.forms import all_forms
from postcheck.sources.embeds.textutil import _clean_post_text, _norm, parse_date

# --- input sniffing ----------------------------------------------------------------------

_HTML_TAG = re.compile(r"<(?:html|body|blockquote|p|div|article|iframe|a|script)[\s>/]", re.I)


def _is_html(content: str, content_type: str | None) -> bool:
    # A declared html type is trusted; any other type is not (servers label HTML
    # text/plain), so the content is sniffed then.
    if content_type and "html" in content_type.lower():
        return True
    return content.lstrip()[:1] == "<" or _HTML_TAG.search(content) is not None


# --- plain text ---------------------------------------------------------------------------

_HANDLE_PAREN = re.compile(r"\(\s*@(?P<handle>[A-Za-z0-9_][A-Za-z0-9_.-]{0,252})\s*\)")
_EM_DASH = re.compile(r"—|–|&mdash;|&ndash;|&#8212;")
_HYPHEN_DASH = re.compile(r"(?:^|(?<=\s))(?:--|-)(?=\s)")
_FOOTER_DATE = re.compile(
    r"[ \t,]*(?P<d>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
    r"|[^\n()@]{0,40}?(?<!\d)(?:19|20)[0-9]{2}(?!\d)"
    r"(?:,?\s+(?:at\s+)?[0-9]{1,2}:[0-9]{2}(?:\s*[AaPp]\.?[Mm]\.?)?)?)"
)
_NAME_MAX = 100
# "(@handle)" strings examined as possible copied footers: real articles hold a handful;
# the bound keeps text made of nothing else cheap (each costs a few microseconds).
_MAX_FOOTER_CANDIDATES = 20_000
_TEXT_MAX = 30_000


# Every post URL contains one of its platform's anchors (forms.EmbedForms.url_anchors);
# the full pattern only runs near them, because a pattern that may start with optional
# parts is tried at every position of the text.
_BEFORE_ANCHOR = 400  # scheme + host + a Bluesky actor (<= 300) fit in this
_AFTER_ANCHOR = 900  # '/post/' + record key (<= 512) fit in this


def _find_urls(text: str) -> list[tuple[int, str]]:
    """(offset, URL) of every post URL candidate in `text`, in order. Linear in len(text)."""
    found: list[tuple[int, str]] = []
    region_start = region_end = -1
    regions: list[tuple[int, int]] = []
    forms = all_forms()
    for anchor in forms.url_anchor.finditer(text):
        start = max(0, anchor.start() - _BEFORE_ANCHOR)
        end = anchor.end() + _AFTER_ANCHOR
        if start <= region_end:
            region_end = end
        else:
            if region_end >= 0:
                regions.append((region_start, region_end))
            region_start, region_end = start, end
    if region_end >= 0:
        regions.append((region_start, region_end))
    for start, end in regions:
        for match in forms.url_in_text.finditer(text, start, end):
            found.append((match.start(), match.group("url").rstrip(".:")))
    return found


def _scan_text(text: str, drafts: list[_Draft], budget: int) -> None:
    """Post URLs and copied embeds in plain text (or in the text of an HTML page)."""
    if not text:
        return
    # Drafts already made from HTML links, by offset in `text`, so that a copied footer can
    # pick up the status link its date carries.
    link_pos: list[int] = []
    link_drafts: list[_Draft] = []
    for draft in drafts:
        if draft.form == "link" and draft.phase == 0:
            link_pos.append(draft.pos)
            link_drafts.append(draft)
    text_links: list[tuple[int, _Draft]] = []
    for start, url in _find_urls(text):
        if len(drafts) >= budget:
            break
        ref = _post_ref(url)
        if ref is None:
            continue
        draft = _draft_from_ref(ref, "link", start, phase=1)
        drafts.append(draft)
        text_links.append((start, draft))
    if text_links:
        merged = sorted([*zip(link_pos, link_drafts, strict=True), *text_links], key=lambda p: p[0])
        link_pos = [p for p, _ in merged]
        link_drafts = [d for _, d in merged]

    last_end = 0
    examined = 0
    for match in _HANDLE_PAREN.finditer(text):
        start = match.start()
        if start < last_end:
            continue
        examined += 1
        if len(drafts) >= budget or examined > _MAX_FOOTER_CANDIDATES:
            break
        found = _copied_footer(text, match, last_end)
        if found is None:
            continue
        draft, footer_start, footer_end = found
        last_end = footer_end
        # The footer's date is often the link to the post: take the post from it.
        i = bisect.bisect_right(link_pos, footer_end) - 1
        if i >= 0 and link_pos[i] >= footer_start:
            linked = link_drafts[i]
            draft.platform = linked.platform
            draft.url = linked.url
            draft.post_id = linked.post_id
            draft.author_id = linked.author_id
        drafts.append(draft)


def _copied_footer(
    text: str, match: re.Match[str], last_end: int
) -> tuple[_Draft, int, int] | None:
    """A copied embed whose footer has `match` as its '(@handle)'; None if it is not one."""
    start, end = match.start(), match.end()
    # After the handle: the date, and then the end of the line (or a date that parses).
    after = text[end : end + 160]
    newline = after.find("\n")
    if newline >= 0:
        after = after[:newline]
    date_match = _FOOTER_DATE.match(after)
    if date_match is None:
        return None
    date_text = _norm(date_match.group("d").strip(" ,"))
    rest = after[date_match.end() :]
    day = parse_date(date_text)
    if day is None and rest.strip():
        return None
    footer_end = end + date_match.end()
    # Before the handle on the same line: "— Name ". Every test that can reject the footer
    # looks at a bounded window only, so rejected candidates cost O(1) each; the unbounded
    # look back for the post text happens for accepted footers, over disjoint stretches.
    region_start = max(last_end, start - (_NAME_MAX + 20))
    region = text[region_start:start]
    nl = region.rfind("\n")
    if nl >= 0:
        region_start += nl + 1
        region = region[nl + 1 :]
    dash = _last_dash(region)
    if dash is None:
        return None
    name = _norm(region[dash[1] :])
    if name is not None and (len(name) > _NAME_MAX or "(@" in name):
        return None
    dash_start = region_start + dash[0]
    nl = text.rfind("\n", last_end, dash_start)
    line_start = nl + 1 if nl >= 0 else last_end
    before = text[line_start:dash_start]
    if not before.strip():
        before = _previous_line(text, line_start, last_end)
    body, links, pics = _clean_post_text(before[-_TEXT_MAX:])
    handle = match.group("handle").rstrip(".-")
    forms = all_forms()
    platform: str | None = None
    if links:  # a copied embed's short link tells whose post it is
        platform = forms.short_links.get((urlsplit(links[0]).hostname or "").lower(), (None,))[0]
    else:  # else what the handle looks like (a dot: Bluesky's; X's allow none)
        platform = next((name for pattern, name in forms.copied if pattern.fullmatch(handle)), None)
    draft = _Draft(form="copied-text", pos=dash_start, phase=1)
    draft.platform = platform
    draft.author_handle = handle
    draft.author_name = name
    draft.date_text = date_text
    draft.date = day
    draft.text = body
    draft.short_links = links
    draft.pic_codes = pics
    return draft, dash_start, footer_end


def _last_dash(region: str) -> tuple[int, int] | None:
    """(start, end) of the last footer dash in `region`: an em/en dash, else ' - ' / ' -- '."""
    if "—" in region or "–" in region or "&" in region:
        last = None
        for last in _EM_DASH.finditer(region):  # noqa: B007
            pass
        if last is not None:
            return last.start(), last.end()
    if "-" in region:
        last = None
        for last in _HYPHEN_DASH.finditer(region):  # noqa: B007
            pass
        if last is not None:
            return last.start(), last.end()
    return None


def _previous_line(text: str, line_start: int, floor: int) -> str:
    """The nearest non-blank line ending before `line_start`, not reaching below `floor`."""
    end = line_start - 1
    while end > floor:
        nl = text.rfind("\n", floor, end)
        start = nl + 1 if nl >= 0 else floor
        line = text[start:end]
        if line.strip():
            return line
        end = start - 1
    return ""
