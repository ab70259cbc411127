"""Which social-media posts a news article embeds or links, read from its HTML or its text.

Pure: no network, no I/O. The answer is a list of `EmbedClaim`s, one per post, each saying
what the article itself claims about the post (author, date, text) so that a later step can
compare those claims with the post as the platform serves it.

Forms recognised in HTML (reference README section 4):

* ``x-blockquote``: ``blockquote.twitter-tweet`` / ``.twitter-video`` (with the
  "— Name (@handle) <a href=…/status/<id>>date</a>" footer, or only a placeholder link);
* ``x-iframe``: what widgets.js leaves behind, ``iframe[data-tweet-id]`` and iframes of
  ``platform.twitter.com/embed/Tweet.html?…&id=<id>``;
* ``x-data-attr``: publisher markup ``[data-tweet-id]`` / ``[data-tweetid]``;
* ``bluesky-blockquote`` / ``bluesky-iframe``: the official Bluesky snippet and
  ``embed.bsky.app/embed/<did>/app.bsky.feed.post/<rkey>`` iframes;
* ``link``: plain links (or bare URLs in text) to a post;
* ``script-json``: post URLs inside inline ``<script>`` bodies (JSON strings, ``\\/`` escaped);
* ``copied-text``: an embed copied as text, "<post text> pic.twitter.com/…" followed by
  "— Name (@handle) Month D, YYYY" (the seed article's form).

Decisions (the reference lists prose links and image credits as "not embeds"; they are
still references to posts, so they are returned, distinguishable by ``form``):

* Prose links to a post in the article body are returned with form ``link``. Callers that
  want only what the article *embeds* filter on ``form != "link"``.
* A post link in an image credit (``figcaption``, ``.credit``) is returned as ``link`` too:
  it names the post whose photo the article shows, which is exactly what needs verifying.
* Sidebars, widgets, related/trending lists, share bars and follow boxes are recognised by
  words in the ``class``/``id`` of an enclosing element (``nav`` elements too). Links, text
  and scripts inside them are ignored at any depth: the walk is top-down, so an enclosing
  area costs nothing to remember and no ancestor walk (bounded or not) is needed. To keep a
  page wrapper such as ``<body class="has-sidebar">`` from swallowing the article, tokens
  with a modifier word (has, with, no, layout, …) or an embed word (embed, tweet, post) do
  not mark an area, and ``html``/``body``/``main`` never do. Structured embeds (blockquote,
  iframe, ``data-tweet-id``) are kept even inside such an area: publishers wrap real embeds
  in ``social-…`` containers far more often than sidebars carry embedded tweets.
* Share buttons and intent links never name a post: ``parse_post_url`` rejects
  ``/intent/…`` and ``/share`` paths, and the ``twitter-*-button`` classes mark an area.
* Links inside an embed (the footer's status link, a quoted post's link in the text) belong
  to that embed and give no claim of their own.
* A copied embed needs its footer "— Name (@handle) <date>"; a lone ``pic.twitter.com``
  link in prose is not treated as a post. The post text of a copied embed is the text
  before the dash on the footer's line, else the nearest non-blank line above it.
* ``short_links`` are kept only on unresolved claims (the field says "when no status URL is
  present"); a copied embed whose ``pic.twitter.com`` code matches an embed that does name
  its post is merged into that embed's claim.
* Bluesky links written with a handle are merged with an embed of the same post that uses
  the DID when the embed's footer ties that handle to that DID.

Cost is linear in the input: one C-level parse, two C-level selector passes, one walk over
the nodes (iterative, so 10,000 nested elements are fine), regular expressions that run only
near a literal anchor or over bounded windows, and dictionary merging. Hostile pages are
bounded besides: at most max(2000, 20 * limit) findings are read before de-duplication,
20,000 "(@handle)" strings are examined as copied footers, and 20 short links kept per post.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import parse_qs, urljoin, urlsplit

from pydantic import BaseModel, Field
from selectolax.lexbor import LexborHTMLParser, LexborNode

from postcheck.domain import Platform, PostRef
from postcheck.errors import BadURL
from postcheck.html_depth import MAX_DEPTH, cap_depth
from postcheck.sources import parse_post_url

__all__ = ["FORMS", "EmbedClaim", "extract_embeds"]

# Forms, best first: when the same post is found twice, the better form's fields win.
FORMS: tuple[str, ...] = (
    "x-blockquote",
    "bluesky-blockquote",
    "x-iframe",
    "bluesky-iframe",
    "x-data-attr",
    "copied-text",
    "link",
    "script-json",
)
_RANK = {
    "x-blockquote": 0,
    "bluesky-blockquote": 0,
    "x-iframe": 1,
    "bluesky-iframe": 1,
    "x-data-attr": 2,
    "copied-text": 3,
    "link": 4,
    "script-json": 5,
}


class EmbedClaim(BaseModel):
    """One post an article embeds or links, with what the embed itself claims."""

    platform: Platform | None = Field(description="None only when nothing tells.")
    url: str | None = Field(description="Canonical post URL, when the post is identified.")
    post_id: str | None = Field(description="Tweet id or Bluesky record key.")
    author_handle: str | None = Field(description="Handle as the embed claims it, no '@'.")
    author_name: str | None = Field(description="Display name as the embed claims it.")
    date_text: str | None = Field(description="Date as written in the embed.")
    date: dt.date | None = Field(description="date_text parsed (English month names, ISO).")
    text: str | None = Field(description="The post's text as the embed shows it.")
    short_links: list[str] = Field(
        default_factory=list,
        description="pic.twitter.com / t.co links standing for an unresolved post.",
    )
    form: str = Field(description="Which embed form it was found in (see FORMS).")
    cid: str | None = Field(None, description="data-bluesky-cid, when present.")

    @property
    def resolved(self) -> bool:
        return self.url is not None

    @property
    def key(self) -> str:
        """Identity for de-duplication: x:<id>, bluesky:<actor>/<rkey>, short:…, claim:…."""
        return _claim_key(self)


def extract_embeds(
    content: str,
    *,
    content_type: str | None = None,
    base_url: str | None = None,
    limit: int = 500,
    notes: list[str] | None = None,
) -> list[EmbedClaim]:
    """Embedded/linked posts in document order, de-duplicated, at most `limit` of them.

    HTML when `content_type` says html or the content looks like HTML, else plain text.
    The same post found several times gives one claim with the fields merged, the embed
    forms' fields preferred over plain links. What the reader should know about how the
    page was read (its nesting capped) is appended to `notes`.
    """
    if limit <= 0 or not content:
        return []
    if isinstance(content, bytes | bytearray):
        content = bytes(content).decode("utf-8", "replace")
    content = str(content)
    try:
        content.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: neither lexbor nor pydantic take them
        content = content.encode("utf-8", "replace").decode("utf-8")
    drafts: list[_Draft] = []
    # Findings before de-duplication are bounded too: a page with more than this many
    # post references is hostile, and the rest of it would only cost time.
    budget = max(2_000, 20 * limit)
    if _is_html(content, content_type):
        content, deep = cap_depth(content)  # parse time grows with the square of depth
        if deep and notes is not None:
            notes.append(
                f"the page nests deeper than {MAX_DEPTH} elements: {deep:,} tags past that "
                "depth were ignored (their text was read)"
            )
        text = _scan_html(content, base_url, drafts, budget)
    else:
        text = content
    _scan_text(text, drafts, budget)
    return _merge_all(drafts, limit)


# --- claims under construction ----------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    form: str
    pos: int
    phase: int = 0  # 0 element, 1 text: an element sorts before text at the same offset
    seq: int = 0
    platform: Platform | None = None
    url: str | None = None
    post_id: str | None = None
    author_handle: str | None = None
    author_name: str | None = None
    date_text: str | None = None
    date: dt.date | None = None
    text: str | None = None
    short_links: list[str] = field(default_factory=list)
    pic_codes: list[str] = field(default_factory=list)
    cid: str | None = None
    did: str | None = None  # Bluesky DID the embed names, for handle -> DID merging

    def key(self) -> str:
        return _claim_key(self)

    def set_date(self, date_text: str | None) -> None:
        date_text = _norm(date_text)
        self.date_text = date_text
        self.date = parse_date(date_text) if date_text else None


def _claim_key(claim: EmbedClaim | _Draft) -> str:
    """One identity for a finished claim and a draft: both carry these fields."""
    if claim.url is not None and claim.post_id:
        if claim.platform is Platform.X:
            return f"x:{claim.post_id}"
        if claim.platform is Platform.BLUESKY:
            return f"bluesky:{_bsky_actor(claim.url)}/{claim.post_id}"
    if claim.short_links:
        return f"short:{claim.short_links[0]}"
    when = claim.date.isoformat() if claim.date is not None else (claim.date_text or "")
    return f"claim:{(claim.author_handle or '').lower()}:{when}"


def _bsky_actor(url: str) -> str:
    rest = url.split("/profile/", 1)[-1]
    return rest.split("/post/", 1)[0]


@lru_cache(maxsize=4096)
def _post_ref(url: str | None) -> PostRef | None:
    """The post a URL names, or None (never raises). Callers must not mutate the answer."""
    if not url or len(url) > 4096:
        return None
    try:
        return parse_post_url(url)
    except (BadURL, ValueError):
        return None


def _draft_from_ref(ref: PostRef, form: str, pos: int, phase: int = 0) -> _Draft:
    draft = _Draft(form=form, pos=pos, phase=phase)
    draft.platform = ref.platform
    draft.url = ref.url
    draft.post_id = ref.post_id
    if ref.author:
        if ref.author.startswith("did:"):
            draft.did = ref.author
        else:
            # The URL's user part is a claim too ("twitter.com/<user>/status/…").
            draft.author_handle = ref.author
    return draft


# --- text helpers ------------------------------------------------------------------------

_WS = re.compile(r"\s+")


def _digits(text: str) -> bool:
    """ASCII digits only: str.isdigit() and int() also take '１８５７' or '١٨٥٧', which
    name a different post (or none) once converted."""
    return text.isascii() and text.isdigit()


def _norm(text: str | None) -> str | None:
    if text is None:
        return None
    text = _WS.sub(" ", text).strip()
    return text or None


_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_ISO = re.compile(
    r"(?<![0-9])(?P<year>[0-9]{4})-(?P<mon>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?![0-9])"
)
_DATE_MDY = re.compile(
    rf"\b{_MONTH}\.?\s+(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<year>[0-9]{{4}})(?![0-9])",
    re.IGNORECASE,
)
_DATE_DMY = re.compile(
    rf"(?<![0-9])(?P<day>[0-9]{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?,?\s+(?P<year>[0-9]{{4}})(?![0-9])",
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
        month = int(mon) if _digits(mon) else _MONTHS[mon[:3].lower()]
        try:
            return dt.date(int(match.group("year")), month, int(match.group("day")))
        except ValueError:
            continue
    return None


# Short links that stand for a post (its media link) when no status URL is given.
_SHORT = re.compile(
    r"^(?:(?ai:https?://))?(?P<host>(?ai:pic\.twitter\.com|pic\.x\.com|t\.co))/(?P<code>[A-Za-z0-9]{1,40})[.,;:!?)\]]*$"
)
_MAX_SHORT_LINKS = 20  # a post has at most 4 pictures; more is noise (or an attack)
_MEDIA_PLACEHOLDER = re.compile(r"\s*\[image or embed\]\s*$", re.IGNORECASE)
_DELETED_PLACEHOLDER = re.compile(
    r"^(?:this\s+)?(?:tweet|post)\s+(?:may\s+have\s+been|was|has\s+been|is)\s+"
    r"(?:deleted|unavailable|removed)\.?$",
    re.IGNORECASE,
)


def _clean_post_text(raw: str | None) -> tuple[str | None, list[str], list[str]]:
    """(text without its trailing media link, trailing short links, pic.twitter.com codes)."""
    text = _norm(raw)
    if not text:
        return None, [], []
    while text.endswith("]"):
        stripped = _MEDIA_PLACEHOLDER.sub("", text[-100:])
        if len(stripped) == min(len(text), 100):
            break
        text = text[:-100] + stripped
    words = text.split(" ")
    links: list[str] = []
    pics: list[str] = []
    drop = len(words)  # words from here on are trailing media links, cut from the text
    for i in range(len(words) - 1, -1, -1):
        match = _SHORT.match(words[i])
        if match is None:
            break
        host = match.group("host").lower()
        code = match.group("code")
        if host == "t.co":
            links.append(f"https://t.co/{code}")
        else:
            links.append(f"https://pic.twitter.com/{code}")
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


# --- input sniffing ----------------------------------------------------------------------

_HTML_TAG = re.compile(r"<(?:html|body|blockquote|p|div|article|iframe|a|script)[\s>/]", re.I)


def _is_html(content: str, content_type: str | None) -> bool:
    # A declared html type is trusted; any other type is not (servers label HTML
    # text/plain), so the content is sniffed then.
    if content_type and "html" in content_type.lower():
        return True
    return content.lstrip()[:1] == "<" or _HTML_TAG.search(content) is not None


# --- plain text ---------------------------------------------------------------------------

_X_HOST = r"(?ai:(?:(?:www|mobile|m)\.)?(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com)"
_URL_IN_TEXT = re.compile(
    r"(?<![\w.@/=%\\-])(?P<url>"
    rf"(?:(?ai:https?://))?{_X_HOST}/(?:i/web|i|[A-Za-z0-9_]{{1,15}})/status(?:es)?/[0-9]{{1,20}}(?![0-9])"
    r"|(?:(?ai:https?://))?(?ai:(?:www\.|staging\.)?bsky\.app)/profile/[^\s/?#<>\"'\\]{1,300}/post/[A-Za-z0-9._:~-]{1,512}"
    r"|at://[A-Za-z0-9._:%-]{1,300}/app\.bsky\.feed\.post/[A-Za-z0-9._:~-]{1,512}"
    r")"
)
_HANDLE_PAREN = re.compile(r"\(\s*@(?P<handle>[A-Za-z0-9_][A-Za-z0-9_.-]{0,252})\s*\)")
_EM_DASH = re.compile(r"—|–|&mdash;|&ndash;|&#8212;")
_HYPHEN_DASH = re.compile(r"(?:^|(?<=\s))(?:--|-)(?=\s)")
_FOOTER_DATE = re.compile(
    r"[ \t,]*(?P<d>[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?"
    r"|[^\n()@]{0,40}?(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])"
    r"(?:,?\s+(?:at\s+)?[0-9]{1,2}:[0-9]{2}(?:\s*[AaPp]\.?[Mm]\.?)?)?)"
)
_X_HANDLE = re.compile(r"[A-Za-z0-9_]{1,15}")
_NAME_MAX = 100
# "(@handle)" strings examined as possible copied footers: real articles hold a handful;
# the bound keeps text made of nothing else cheap (each costs a few microseconds).
_MAX_FOOTER_CANDIDATES = 20_000
_TEXT_MAX = 30_000


# Every post URL contains one of these; the full pattern only runs near them, because a
# pattern that may start with optional parts is tried at every position of the text.
_URL_ANCHOR = re.compile(r"/status|/post/|at://")
_BEFORE_ANCHOR = 400  # scheme + host + a Bluesky actor (<= 300) fit in this
_AFTER_ANCHOR = 900  # '/post/' + record key (<= 512) fit in this


def _find_urls(text: str) -> list[tuple[int, str]]:
    """(offset, URL) of every post URL candidate in `text`, in order. Linear in len(text)."""
    found: list[tuple[int, str]] = []
    region_start = region_end = -1
    regions: list[tuple[int, int]] = []
    for anchor in _URL_ANCHOR.finditer(text):
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
        for match in _URL_IN_TEXT.finditer(text, start, end):
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
            draft.did = linked.did
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
    if "." in handle:
        platform: Platform | None = Platform.BLUESKY
    elif _X_HANDLE.fullmatch(handle) or links:
        platform = Platform.X
    else:
        platform = None
    if links and platform is not Platform.X:
        platform = Platform.X
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


# --- HTML ---------------------------------------------------------------------------------

# Areas whose links are not the article's: matched on words of class/id.
_ZONE_WORDS = ("sidebar", "widget", "related", "share", "sharing", "social", "follow", "trending")
_BUTTON_CLASSES = frozenset(
    {
        "twitter-tweet-btn",
        "twitter-share-button",
        "twitter-follow-button",
        "twitter-hashtag-button",
        "twitter-mention-button",
        "twitter-timeline",
    }
)
_MODIFIER_WORDS = frozenset(
    {"has", "with", "without", "no", "not", "show", "hide", "enabled", "disabled", "layout"}
    | {"page", "body", "template", "theme", "is"}
)
_EMBED_WORDS = frozenset({"embed", "embeds", "embedded", "oembed", "tweet", "post"})
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_ZONE_SELECTOR = ", ".join(
    ["nav"]
    + [f"[class*={w} i], [id*={w} i]" for w in _ZONE_WORDS]
    + [f"[class*={c} i]" for c in sorted(_BUTTON_CLASSES)]
)
_EMBED_CLASSES = frozenset({"twitter-tweet", "twitter-video", "bluesky-embed"})
_CANDIDATE_SELECTOR = ", ".join(
    [
        "a[href]",
        "script",
        "iframe",
        "blockquote.twitter-tweet",
        "blockquote.twitter-video",
        "blockquote.bluesky-embed",
        "[data-bluesky-uri]",
        "[data-tweet-id]",
        "[data-tweetid]",
    ]
)
_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font"}
    | {"i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong"}
    | {"sub", "sup", "time", "tt", "u", "var", "wbr", "-text", "-comment"}
)
_RAW_TAGS = frozenset({"script", "style", "template", "textarea", "title", "noframes", "xmp"})


def _zone_token(token: str) -> bool:
    if token.lower() in _BUTTON_CLASSES:
        return True
    words = [w.lower() for w in _WORD.findall(token)]
    if not any(z in w for w in words for z in _ZONE_WORDS):
        return False
    return not any(w in _MODIFIER_WORDS or w in _EMBED_WORDS for w in words)


def _is_zone(node: LexborNode) -> bool:
    tag = node.tag
    if tag == "nav":
        return True
    if tag in ("html", "body", "main"):
        return False
    attrs = node.attributes
    classes = (attrs.get("class") or "").split()
    if any(c.lower() in _EMBED_CLASSES for c in classes):
        return False
    if "data-tweet-id" in attrs or "data-tweetid" in attrs or "data-bluesky-uri" in attrs:
        return False
    ident = attrs.get("id")
    tokens = [*classes, ident] if ident else classes
    return any(_zone_token(t) for t in tokens)


def _after(node: LexborNode) -> int | None:
    """mem_id of the first node after `node`'s subtree in document order (None: the end)."""
    current: LexborNode | None = node
    while current is not None:
        nxt = current.next
        if nxt is not None:
            return nxt.mem_id
        current = current.parent
    return None


_END = -1  # a mem_id no node has: "skip to the end"


def _scan_html(html: str, base_url: str | None, drafts: list[_Draft], budget: int) -> str:
    """Collect element drafts into `drafts`; return the page's text for the text pass."""
    tree = LexborHTMLParser(html)
    root = tree.root
    if root is None:
        return ""
    zones = {n.mem_id for n in tree.css(_ZONE_SELECTOR) if _is_zone(n)}
    candidates = {n.mem_id for n in tree.css(_CANDIDATE_SELECTOR)}
    ctx = _HtmlContext(base_url, drafts, budget)
    parts: list[str] = []
    add = parts.append
    length = 0
    skip_until: int | None = None  # inside a consumed subtree until this node
    zone_until: int | None = None  # inside a sidebar/share area until this node
    for node in root.traverse(include_text=True):
        if skip_until is not None:
            if node.mem_id != skip_until:
                continue
            skip_until = None
        if node.is_text_node:
            if zone_until is not None:
                if node.mem_id != zone_until:
                    continue
                zone_until = None
            value = node.text_content
            if value:
                add(value)
                length += len(value)
            continue
        mem_id = node.mem_id
        if zone_until is not None and mem_id == zone_until:
            zone_until = None
        tag = node.tag
        if tag == "-comment":
            continue
        if zone_until is None and mem_id in zones:
            zone_until = _after(node) or _END
            add("\n")
            length += 1
        if tag == "br":
            add(" ")
            length += 1
        elif tag not in _INLINE_TAGS:
            add("\n")
            length += 1
        if mem_id in candidates:
            consumed = ctx.handle(node, tag, length, zone_until is not None)
        else:
            consumed = False
        if consumed or tag in _RAW_TAGS:  # script/style bodies are not the article's text
            skip_until = _after(node) or _END
            add("\n")
            length += 1
    return "".join(parts)


class _HtmlContext:
    def __init__(self, base_url: str | None, drafts: list[_Draft], budget: int) -> None:
        self.base_url = base_url
        self.drafts = drafts
        self.budget = budget
        self.seq = 0

    def add(self, draft: _Draft) -> None:
        self.seq += 1
        draft.seq = self.seq
        self.drafts.append(draft)

    def absolute(self, href: str) -> str:
        href = href.strip()
        if href.startswith("//"):
            return "https:" + href
        if _SCHEME.match(href) or _BARE_HOST.match(href):
            return href  # absolute, or 'x.com/user/status/1' written without a scheme
        if self.base_url:
            try:
                return urljoin(self.base_url, href)
            except ValueError:
                return href
        return href

    def handle(self, node: LexborNode, tag: str, pos: int, in_zone: bool) -> bool:
        """Make a draft from a candidate element; True when its subtree is used up."""
        if len(self.drafts) >= self.budget:
            return tag != "a"  # out of budget: embeds are skipped whole, unread
        attrs = node.attributes
        if tag == "a":
            if not in_zone:
                self._link(attrs.get("href"), pos)
            return False
        if tag == "script":
            if not in_zone and not attrs.get("src"):
                self._script(node, pos)
            return True
        if tag == "iframe":
            self._iframe(attrs, pos)
            return True  # an iframe's content is fallback text, not the article's
        classes = {c.lower() for c in (attrs.get("class") or "").split()}
        if tag == "blockquote" and classes & {"twitter-tweet", "twitter-video"}:
            self._x_quote(node, attrs, pos, "x-blockquote")
            return True
        if "bluesky-embed" in classes or "data-bluesky-uri" in attrs:
            self._bluesky_quote(node, attrs, pos)
            return True
        if "data-tweet-id" in attrs or "data-tweetid" in attrs:
            return self._x_quote(node, attrs, pos, "x-data-attr")
        return False

    # -- forms --

    def _link(self, href: str | None, pos: int) -> None:
        if not href or not _could_be_post(href):
            return
        ref = _post_ref(self.absolute(href))
        if ref is not None:
            self.add(_draft_from_ref(ref, "link", pos))

    def _script(self, node: LexborNode, pos: int) -> None:
        body = node.text(deep=True) or ""
        body = body.replace("\\/", "/").replace("\\u002F", "/").replace("\\u002f", "/")
        if not _could_be_post(body):
            return
        for _, url in _find_urls(body):
            ref = _post_ref(url)
            if ref is not None:
                self.add(_draft_from_ref(ref, "script-json", pos))

    def _iframe(self, attrs: dict[str, str | None], pos: int) -> None:
        tweet_id = (attrs.get("data-tweet-id") or "").strip()
        src = (attrs.get("src") or attrs.get("data-src") or "").strip()
        ref: PostRef | None = None
        form = "x-iframe"
        if _digits(tweet_id):
            ref = _post_ref(f"https://x.com/i/web/status/{tweet_id}")
        if ref is None and src:
            try:
                parts = urlsplit(self.absolute(src))
            except ValueError:
                return
            host = (parts.hostname or "").lower()
            path = parts.path
            if path.rsplit("/", 1)[-1] == "Tweet.html" or (
                host in _X_EMBED_HOSTS and path.startswith("/embed/")
            ):
                # Only `id` names the post. `creatorScreenName` is the *article's* author
                # (the site's own account), not the post's: never read it as the author.
                ids = parse_qs(parts.query).get("id") or []
                if ids and _digits(ids[0].strip()):
                    ref = _post_ref(f"https://x.com/i/web/status/{ids[0].strip()}")
            elif host == "embed.bsky.app" and path.startswith("/embed/"):
                pieces = path.strip("/").split("/")
                if len(pieces) == 4 and pieces[2] == "app.bsky.feed.post":
                    ref = _post_ref(f"at://{pieces[1]}/app.bsky.feed.post/{pieces[3]}")
                    form = "bluesky-iframe"
        if ref is not None:
            self.add(_draft_from_ref(ref, form, pos))

    def _x_quote(self, node: LexborNode, attrs: dict[str, str | None], pos: int, form: str) -> bool:
        quote = _read_quote(node, self)
        attr_id = (attrs.get("data-tweet-id") or attrs.get("data-tweetid") or "").strip()
        ref: PostRef | None = None
        date_link: str | None = None
        x_links = [(r, t) for r, t in quote.links if r.platform is Platform.X]
        if form == "x-data-attr" and _digits(attr_id):
            ref = _post_ref(f"https://x.com/i/web/status/{attr_id}")
            for link_ref, link_text in x_links:
                if ref is not None and link_ref.post_id == ref.post_id:
                    ref, date_link = link_ref, link_text  # keeps the user part
        elif x_links:
            ref, date_link = x_links[-1]
        elif _digits(attr_id):
            ref = _post_ref(f"https://x.com/i/web/status/{attr_id}")
        if ref is not None:
            draft = _draft_from_ref(ref, form, pos)
        elif form == "x-blockquote" and quote.handle:
            draft = _Draft(form=form, pos=pos, platform=Platform.X)  # unresolved embed
        else:
            return False
        self._fill(draft, quote, date_link)
        if draft.url is not None:
            draft.short_links = []
        self.add(draft)
        return True

    def _bluesky_quote(self, node: LexborNode, attrs: dict[str, str | None], pos: int) -> None:
        quote = _read_quote(node, self)
        ref = _post_ref((attrs.get("data-bluesky-uri") or "").strip())
        date_link: str | None = None
        bsky_links = [(r, t) for r, t in quote.links if r.platform is Platform.BLUESKY]
        if ref is None or ref.platform is not Platform.BLUESKY:
            ref = bsky_links[-1][0] if bsky_links else None
        for link_ref, link_text in bsky_links:
            if ref is not None and link_ref.post_id == ref.post_id:
                date_link = link_text
        if ref is not None:
            draft = _draft_from_ref(ref, "bluesky-blockquote", pos)
        elif quote.handle:
            draft = _Draft(form="bluesky-blockquote", pos=pos, platform=Platform.BLUESKY)
        else:
            return
        self._fill(draft, quote, date_link)
        draft.cid = _norm(attrs.get("data-bluesky-cid"))
        if draft.url is not None:
            draft.short_links = []
        self.add(draft)

    @staticmethod
    def _fill(draft: _Draft, quote: _Quote, date_link: str | None) -> None:
        if quote.handle:
            draft.author_handle = quote.handle
        draft.author_name = quote.name
        date_text = date_link if date_link and _norm(date_link) else quote.date_text
        if date_text and (parse_date(date_text) or _FOOTER_YEAR.search(date_text)):
            draft.set_date(date_text)
        text, links, pics = _clean_post_text(quote.text)
        draft.text = text
        draft.short_links = links
        draft.pic_codes = pics


_X_EMBED_HOSTS = frozenset({"platform.twitter.com", "platform.x.com"})
_FOOTER_YEAR = re.compile(r"(?<![0-9])(?:19|20)[0-9]{2}(?![0-9])")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_BARE_HOST = re.compile(
    r"^(?ai:(?:www\.|mobile\.|m\.|staging\.)?(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com"
    r"|(?:www\.|staging\.)?bsky\.app)/"
)


def _could_be_post(text: str) -> bool:
    return "/status" in text or "/post/" in text or "at://" in text


@dataclass(slots=True)
class _Quote:
    text: str | None = None
    name: str | None = None
    handle: str | None = None
    date_text: str | None = None
    links: list[tuple[PostRef, str]] = field(default_factory=list)


def _read_quote(node: LexborNode, ctx: _HtmlContext) -> _Quote:
    """Text, footer ("— Name (@handle) date") and post links of an embed blockquote."""
    quote = _Quote()
    paragraphs: list[str] = []
    footer: list[str] = []
    child = node.child
    while child is not None:
        if child.is_text_node:
            footer.append(child.text_content or "")
        elif child.is_element_node:
            tag = child.tag
            if tag in ("p", "div"):
                paragraphs.append(_inline_text(child))
            elif tag not in _RAW_TAGS:
                footer.append(_inline_text(child))
        child = child.next
    for anchor in node.css("a[href]"):
        href = anchor.attributes.get("href") or ""
        if _could_be_post(href):
            ref = _post_ref(ctx.absolute(href))
            if ref is not None:
                quote.links.append((ref, _norm(_inline_text(anchor)) or ""))
    footer_text = _norm("".join(footer)) or ""
    before = ""
    # The last "(@handle)" is the author's: a display name may itself hold parentheses.
    handles = list(_HANDLE_PAREN.finditer(footer_text))
    if handles:
        match = handles[-1]
        head = footer_text[: match.start()]
        dash = _last_dash(head)
        if dash is not None:
            before = head[: dash[0]]
            name = _norm(head[dash[1] :])
        else:
            name = _norm(head)
        quote.name = name if name and len(name) <= _NAME_MAX else None
        quote.handle = match.group("handle").rstrip(".-") or None
        quote.date_text = _norm(footer_text[match.end() :].strip(" ,"))
    text = " ".join(paragraphs) if paragraphs else before
    quote.text = text
    return quote


def _inline_text(node: LexborNode) -> str:
    parts: list[str] = []
    raw = False
    for item in node.traverse(include_text=True):
        if item.is_text_node:
            if not raw:
                parts.append(item.text_content or "")
            raw = False
            continue
        tag = item.tag
        raw = tag in _RAW_TAGS and item.child is not None
        if tag == "br" or tag not in _INLINE_TAGS:
            parts.append(" ")
    return "".join(parts)


# --- merging ------------------------------------------------------------------------------


def _merge_all(drafts: list[_Draft], limit: int) -> list[EmbedClaim]:
    drafts.sort(key=lambda d: (d.pos, d.phase, d.seq))
    # A Bluesky embed ties a handle (footer) to a DID (data-bluesky-uri): links written
    # with the handle then name the same post as the embed.
    did_of: dict[str, str] = {}
    for d in drafts:
        if d.form == "bluesky-blockquote" and d.did and d.author_handle:
            did_of.setdefault(d.author_handle.lower(), d.did)
    if did_of:
        for d in drafts:
            if d.platform is Platform.BLUESKY and d.url and d.post_id:
                did = did_of.get(_bsky_actor(d.url))
                if did is not None:
                    ref = _post_ref(f"at://{did}/app.bsky.feed.post/{d.post_id}")
                    if ref is not None:
                        d.url, d.did = ref.url, did
    # pic.twitter.com codes of identified posts, so a copy of the same embed joins it.
    key_of_pic: dict[str, str] = {}
    for d in drafts:
        if d.url is not None:
            for code in d.pic_codes:
                key_of_pic.setdefault(code, d.key())
    merged: dict[str, _Draft] = {}
    for d in drafts:
        key = d.key()
        if d.url is None:
            for code in d.pic_codes:
                if code in key_of_pic:
                    key = key_of_pic[code]
                    break
        current = merged.get(key)
        if current is None:
            if len(merged) < limit:
                merged[key] = d
        else:
            _merge_into(current, d)
    return [_to_claim(d) for d in merged.values()]


_FILLED = ("platform", "author_handle", "author_name", "text", "cid", "did")


def _merge_into(into: _Draft, other: _Draft) -> None:
    """Merge `other` into `into` (which came first): the better form's fields win."""
    if _RANK[other.form] < _RANK[into.form]:
        primary, secondary = other, into
    else:
        primary, secondary = into, other
    values = {f: getattr(primary, f) or getattr(secondary, f) for f in _FILLED}
    if primary.date_text:
        date_text, day = primary.date_text, primary.date
    else:
        date_text, day = secondary.date_text, secondary.date
    url, post_id = primary.url, primary.post_id
    if url is None or ("/i/web/" in url and secondary.url and "/i/web/" not in secondary.url):
        url, post_id = secondary.url or url, secondary.post_id or post_id
    short_links = primary.short_links
    if secondary.short_links and len(short_links) < _MAX_SHORT_LINKS:
        both = dict.fromkeys([*short_links, *secondary.short_links])
        short_links = list(both)[:_MAX_SHORT_LINKS]
    pic_codes = primary.pic_codes
    if secondary.pic_codes and len(pic_codes) < _MAX_SHORT_LINKS:
        pic_codes = list(dict.fromkeys([*pic_codes, *secondary.pic_codes]))[:_MAX_SHORT_LINKS]
    into.form = primary.form
    for name, value in values.items():
        setattr(into, name, value)
    into.date_text, into.date = date_text, day
    into.url, into.post_id = url, post_id
    into.short_links, into.pic_codes = short_links, pic_codes


def _to_claim(d: _Draft) -> EmbedClaim:
    return EmbedClaim(
        platform=d.platform,
        url=d.url,
        post_id=d.post_id if d.url else None,
        author_handle=_norm(d.author_handle.lstrip("@")) if d.author_handle else None,
        author_name=_norm(d.author_name),
        date_text=_norm(d.date_text),
        date=d.date,
        text=_norm(d.text),
        short_links=[] if d.url else d.short_links,
        form=d.form,
        cid=d.cid,
    )
