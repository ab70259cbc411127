"""How a platform's posts appear in articles: what each platform declares to the extractor.

A platform package's `embeds` module defines `FORMS`, an `EmbedForms` instance. The
extractor gathers every registered platform's forms (`all_forms()`) and names none:

* `forms`: its embed form names with their rank (0 best) — e.g. ``x-blockquote``: 0;
* `selectors`: CSS selectors of the elements its `element` hook reads;
* `embed_classes`, `embed_attrs`: what marks an element as an embed (never a sidebar);
* `button_classes`, `embed_words`: share/follow buttons (areas whose links are not the
  article's), and words that say a class names an embed;
* `url_anchors`, `text_url`, `bare_host`: how its post URLs look in text (an anchor every
  URL contains, a regex alternation for the URL, a host written without a scheme);
* `short_links`, `media_links`, `copied_handle`, `copied_priority`, `placeholders`: the
  copied-text form (a pasted embed's trailing short links and its "— Name (@handle) date"
  footer, whose handle tells the platform);
* hooks `element` (a blockquote or data-attribute embed), `iframe` (a rendered embed),
  `script` (an embed script naming its post).

The defaults recognise nothing, so a platform declares only what it has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import SplitResult

if TYPE_CHECKING:
    from selectolax.lexbor import LexborNode

    from postcheck.sources.embeds.html import _HtmlContext

# Forms every platform shares, after the platforms' own (which rank 0..2).
GENERIC_RANKS = {"copied-text": 3, "link": 4, "script-json": 5}


@dataclass(frozen=True)
class EmbedForms:
    platform: str
    forms: dict[str, int] = field(default_factory=dict)
    selectors: tuple[str, ...] = ()
    embed_classes: frozenset[str] = frozenset()
    embed_attrs: frozenset[str] = frozenset()
    button_classes: frozenset[str] = frozenset()
    embed_words: frozenset[str] = frozenset()
    url_anchors: tuple[str, ...] = ()
    text_url: str | None = None
    bare_host: str | None = None
    # Short-link host -> the canonical base written into claims ('pic.x.com' -> pic.twitter.com).
    short_links: dict[str, str] = field(default_factory=dict)
    # Of those, the hosts whose code names a post's media (the same picture, the same post).
    media_links: frozenset[str] = frozenset()
    copied_handle: re.Pattern[str] | None = None
    copied_priority: int = 10
    placeholders: tuple[str, ...] = ()

    def element(
        self,
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        classes: set[str],
        ctx: _HtmlContext,
        pos: int,
    ) -> bool | None:
        """Read an embed element: None when it is not this platform's; True when its
        subtree is used up, False when the walk should go on inside it."""
        return None

    def iframe(
        self, src: SplitResult | None, attrs: dict[str, str | None]
    ) -> tuple[str, str] | None:
        """(post URL, form) of a rendered embed iframe of this platform, or None."""
        return None

    def script(self, attrs: dict[str, str | None]) -> tuple[str, str] | None:
        """(post URL, form) an embed script (`<script … data-…>`) names, or None."""
        return None


@dataclass(frozen=True)
class AllForms:
    """Every registered platform's forms, combined once for the extractor."""

    platforms: tuple[EmbedForms, ...]
    ranks: dict[str, int]
    order: tuple[str, ...]
    selector: str
    embed_classes: frozenset[str]
    embed_attrs: frozenset[str]
    button_classes: frozenset[str]
    embed_words: frozenset[str]
    url_anchor: re.Pattern[str]
    url_in_text: re.Pattern[str]
    bare_host: re.Pattern[str]
    short_link: re.Pattern[str]
    short_links: dict[str, tuple[str, str]]  # host -> (platform, canonical base)
    media_links: frozenset[str]
    copied: tuple[tuple[re.Pattern[str], str], ...]  # (handle pattern, platform), by priority
    placeholder: re.Pattern[str] | None


_NEVER = r"(?!x)x"


@cache
def all_forms() -> AllForms:
    from postcheck.sources import platforms

    found = [f for p in platforms().values() if (f := p.embed_forms()) is not None]
    ranks = {name: rank for f in found for name, rank in f.forms.items()} | GENERIC_RANKS
    order = tuple(sorted(ranks, key=lambda n: ranks[n]))
    selectors = ["a[href]", "script", "iframe", *(s for f in found for s in f.selectors)]
    anchors = [re.escape(a) for f in found for a in f.url_anchors]
    urls = [f.text_url for f in found if f.text_url]
    bare = [f.bare_host for f in found if f.bare_host]
    short = {host: (f.platform, base) for f in found for host, base in f.short_links.items()}
    hosts = "|".join(re.escape(h) for h in sorted(short, key=len, reverse=True)) or _NEVER
    placeholders = [re.escape(p) for f in found for p in f.placeholders]
    copied = sorted(
        ((f.copied_priority, f.copied_handle, f.platform) for f in found if f.copied_handle),
        key=lambda c: c[0],
    )
    return AllForms(
        platforms=tuple(found),
        ranks=ranks,
        order=order,
        selector=", ".join(dict.fromkeys(selectors)),
        embed_classes=frozenset().union(*(f.embed_classes for f in found)),
        embed_attrs=frozenset().union(*(f.embed_attrs for f in found)),
        button_classes=frozenset().union(*(f.button_classes for f in found)),
        embed_words=frozenset({"embed", "embeds", "embedded", "oembed", "post"}).union(
            *(f.embed_words for f in found)
        ),
        url_anchor=re.compile("|".join(anchors) or _NEVER),
        url_in_text=re.compile(r"(?<![\w.@/=%\\-])(?P<url>" + ("|".join(urls) or _NEVER) + r")"),
        bare_host=re.compile(r"^(?:" + ("|".join(bare) or _NEVER) + r")/"),
        short_link=re.compile(
            rf"^(?:(?ai:https?://))?(?P<host>(?ai:{hosts}))/(?P<code>[A-Za-z0-9]{{1,40}})[.,;:!?)\]]*$"
        ),
        short_links=short,
        media_links=frozenset().union(*(f.media_links for f in found)),
        copied=tuple((pattern, name) for _, pattern, name in copied),
        placeholder=(
            re.compile(r"\s*(?:" + "|".join(placeholders) + r")\s*$", re.IGNORECASE)
            if placeholders
            else None
        ),
    )
