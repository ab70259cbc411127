"""Posts an HTML page embeds: blockquotes, iframes, data attributes, links, scripts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from postcheck.domain import Platform, PostRef
from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.plaintext import _HANDLE_PAREN, _NAME_MAX, _find_urls, _last_dash
from postcheck.sources.embeds.textutil import _clean_post_text, _norm, parse_date

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
        if tweet_id.isdigit():
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
                if ids and ids[0].strip().isdigit():
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
        if form == "x-data-attr" and attr_id.isdigit():
            ref = _post_ref(f"https://x.com/i/web/status/{attr_id}")
            for link_ref, link_text in x_links:
                if ref is not None and link_ref.post_id == ref.post_id:
                    ref, date_link = link_ref, link_text  # keeps the user part
        elif x_links:
            ref, date_link = x_links[-1]
        elif attr_id.isdigit():
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
_FOOTER_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_BARE_HOST = re.compile(
    r"^(?i:(?:www\.|mobile\.|m\.|staging\.)?(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com"
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
