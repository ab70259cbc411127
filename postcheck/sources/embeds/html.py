"""Posts an HTML page embeds: blockquotes, iframes, data attributes, links, scripts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from postcheck.domain import PostRef
from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.forms import all_forms
from postcheck.sources.embeds.plaintext import _HANDLE_PAREN, _NAME_MAX, _find_urls, _last_dash
from postcheck.sources.embeds.textutil import _clean_post_text, _norm, parse_date

# --- HTML ---------------------------------------------------------------------------------

# Areas whose links are not the article's: matched on words of class/id.
_ZONE_WORDS = ("sidebar", "widget", "related", "share", "sharing", "social", "follow", "trending")
_MODIFIER_WORDS = frozenset(
    {"has", "with", "without", "no", "not", "show", "hide", "enabled", "disabled", "layout"}
    | {"page", "body", "template", "theme", "is"}
)
_WORD = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")


@cache
def _zone_selector() -> str:
    # Share/follow buttons are the platforms' (forms.EmbedForms.button_classes).
    return ", ".join(
        ["nav"]
        + [f"[class*={w} i], [id*={w} i]" for w in _ZONE_WORDS]
        + [f"[class*={c} i]" for c in sorted(all_forms().button_classes)]
    )


_INLINE_TAGS = frozenset(
    {"a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em", "font"}
    | {"i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strong"}
    | {"sub", "sup", "time", "tt", "u", "var", "wbr", "-text", "-comment"}
)
_RAW_TAGS = frozenset({"script", "style", "template", "textarea", "title", "noframes", "xmp"})


def _zone_token(token: str) -> bool:
    forms = all_forms()
    if token.lower() in forms.button_classes:
        return True
    words = [w.lower() for w in _WORD.findall(token)]
    if not any(z in w for w in words for z in _ZONE_WORDS):
        return False
    return not any(w in _MODIFIER_WORDS or w in forms.embed_words for w in words)


def _is_zone(node: LexborNode) -> bool:
    tag = node.tag
    if tag == "nav":
        return True
    if tag in ("html", "body", "main"):
        return False
    attrs = node.attributes
    classes = (attrs.get("class") or "").split()
    forms = all_forms()
    if any(c.lower() in forms.embed_classes for c in classes):
        return False
    if any(a in attrs for a in forms.embed_attrs):
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
    zones = {n.mem_id for n in tree.css(_zone_selector()) if _is_zone(n)}
    candidates = {n.mem_id for n in tree.css(all_forms().selector)}
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
        if _SCHEME.match(href) or all_forms().bare_host.match(href):
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
            # An embed script that names its post (Telegram's data-telegram-post) counts
            # wherever it is; other scripts' bodies are read outside sidebars only.
            for forms in all_forms().platforms:
                found = forms.script(attrs)
                if found is not None:
                    ref = _post_ref(found[0])
                    if ref is not None:
                        self.add(_draft_from_ref(ref, found[1], pos))
                    return True
            if not in_zone and not attrs.get("src"):
                self._script(node, pos)
            return True
        if tag == "iframe":
            self._iframe(attrs, pos)
            return True  # an iframe's content is fallback text, not the article's
        classes = {c.lower() for c in (attrs.get("class") or "").split()}
        for forms in all_forms().platforms:
            used = forms.element(node, tag, attrs, classes, self, pos)
            if used is not None:
                return used
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
        src = (attrs.get("src") or attrs.get("data-src") or "").strip()
        try:
            parts = urlsplit(self.absolute(src)) if src else None
        except ValueError:
            parts = None
        for forms in all_forms().platforms:
            found = forms.iframe(parts, attrs)
            if found is not None:
                ref = _post_ref(found[0])
                if ref is not None:
                    self.add(_draft_from_ref(ref, found[1], pos))
                return

    def fill(self, draft: _Draft, quote: _Quote, date_link: str | None) -> None:
        """Fill a blockquote embed's draft from its quote, and keep it."""
        self._fill(draft, quote, date_link)
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


_FOOTER_YEAR = re.compile(r"(?<!\d)(?:19|20)[0-9]{2}(?!\d)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def _could_be_post(text: str) -> bool:
    return all_forms().url_anchor.search(text) is not None


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
