"""How articles embed X posts (reference README section 4): ``blockquote.twitter-tweet``
with its "— Name (@handle) <a href=…/status/<id>>date</a>" footer, what widgets.js renders
(``iframe[data-tweet-id]``, ``platform.twitter.com/embed/Tweet.html?…&id=<id>``), publisher
``[data-tweet-id]`` markup, status URLs in text, and a copied embed's pic.twitter.com link."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs

from selectolax.lexbor import LexborNode

from postcheck.domain import PostRef
from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.forms import EmbedForms
from postcheck.sources.embeds.html import _HtmlContext, _read_quote
from postcheck.urls import ascii_digits

_HOST = r"(?ai:(?:(?:www|mobile|m)\.)?(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com)"
_EMBED_HOSTS = frozenset({"platform.twitter.com", "platform.x.com"})
_QUOTE_CLASSES = frozenset({"twitter-tweet", "twitter-video"})


def _status_url(tweet_id: str) -> str:
    return f"https://x.com/i/web/status/{tweet_id}"


@dataclass(frozen=True)
class XEmbeds(EmbedForms):
    def element(
        self,
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        classes: set[str],
        ctx: _HtmlContext,
        pos: int,
    ) -> bool | None:
        if tag == "blockquote" and classes & _QUOTE_CLASSES:
            self._quote(node, attrs, ctx, pos, "x-blockquote")
            return True
        if "data-tweet-id" in attrs or "data-tweetid" in attrs:
            return self._quote(node, attrs, ctx, pos, "x-data-attr")
        return None

    @staticmethod
    def _quote(
        node: LexborNode, attrs: dict[str, str | None], ctx: _HtmlContext, pos: int, form: str
    ) -> bool:
        quote = _read_quote(node, ctx)
        attr_id = (attrs.get("data-tweet-id") or attrs.get("data-tweetid") or "").strip()
        ref: PostRef | None = None
        date_link: str | None = None
        x_links = [(r, t) for r, t in quote.links if r.platform == "x"]
        if form == "x-data-attr" and ascii_digits(attr_id):
            ref = _post_ref(_status_url(attr_id))
            for link_ref, link_text in x_links:
                if ref is not None and link_ref.post_id == ref.post_id:
                    ref, date_link = link_ref, link_text  # keeps the user part
        elif x_links:
            ref, date_link = x_links[-1]
        elif ascii_digits(attr_id):
            ref = _post_ref(_status_url(attr_id))
        if ref is not None:
            draft = _draft_from_ref(ref, form, pos)
        elif form == "x-blockquote" and quote.handle:
            draft = _Draft(form=form, pos=pos, platform="x")  # unresolved embed
        else:
            return False
        ctx.fill(draft, quote, date_link)
        return True

    def iframe(
        self, src: SplitResult | None, attrs: dict[str, str | None]
    ) -> tuple[str, str] | None:
        tweet_id = (attrs.get("data-tweet-id") or "").strip()
        if ascii_digits(tweet_id):
            return _status_url(tweet_id), "x-iframe"
        if src is None:
            return None
        host = (src.hostname or "").lower()
        if src.path.rsplit("/", 1)[-1] == "Tweet.html" or (
            host in _EMBED_HOSTS and src.path.startswith("/embed/")
        ):
            # Only `id` names the post. `creatorScreenName` is the *article's* author (the
            # site's own account), not the post's: never read it as the author.
            ids = parse_qs(src.query).get("id") or []
            if ids and ascii_digits(ids[0].strip()):
                return _status_url(ids[0].strip()), "x-iframe"
        return None


FORMS = XEmbeds(
    platform="x",
    forms={"x-blockquote": 0, "x-iframe": 1, "x-data-attr": 2},
    selectors=(
        "blockquote.twitter-tweet",
        "blockquote.twitter-video",
        "[data-tweet-id]",
        "[data-tweetid]",
    ),
    embed_classes=_QUOTE_CLASSES,
    embed_attrs=frozenset({"data-tweet-id", "data-tweetid"}),
    button_classes=frozenset(
        {
            "twitter-tweet-btn",
            "twitter-share-button",
            "twitter-follow-button",
            "twitter-hashtag-button",
            "twitter-mention-button",
            "twitter-timeline",
        }
    ),
    embed_words=frozenset({"tweet"}),
    url_anchors=("/status",),
    # Ids are ASCII digits; one followed by a digit of any script is no id (the `\d` in
    # the lookahead), not a shorter one.
    text_url=rf"(?:(?ai:https?://))?{_HOST}/(?:i/web|i|[A-Za-z0-9_]{{1,15}})/status(?:es)?/[0-9]{{1,20}}(?!\d)",
    bare_host=r"(?ai:(?:www\.|mobile\.|m\.|staging\.)?(?:x|twitter|fxtwitter|vxtwitter|fixupx|fixvx)\.com)",
    short_links={
        "t.co": "https://t.co",
        "pic.twitter.com": "https://pic.twitter.com",
        "pic.x.com": "https://pic.twitter.com",
    },
    media_links=frozenset({"pic.twitter.com", "pic.x.com"}),
    copied_handle=re.compile(r"[A-Za-z0-9_]{1,15}"),
    copied_priority=1,
)
