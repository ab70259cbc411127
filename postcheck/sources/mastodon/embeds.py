"""How articles embed Mastodon posts: Mastodon's embed code, ``<blockquote
class="mastodon-embed" data-embed-url="https://<instance>/@<user>/<id>/embed">`` with a
link to the post and "Post by @user@instance" (4.3 and later), the older
``<iframe class="mastodon-embed" src="https://<instance>/@<user>/<id>/embed">``, and
links to statuses."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from selectolax.lexbor import LexborNode

from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.forms import EmbedForms
from postcheck.sources.embeds.html import _HtmlContext

_POST_BY = re.compile(r"Post by @(?P<acct>[A-Za-z0-9_.-]+(?:@[A-Za-z0-9.-]+)?)")


def _status_url(src: str) -> str | None:
    """The post URL of an embed URL (`…/@user/<id>/embed`) or of a post link."""
    try:
        parts = urlsplit(src.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    path = parts.path.removesuffix("/").removesuffix("/embed")
    ref = _post_ref(f"{parts.scheme}://{parts.hostname}{path}")
    return ref.url if ref is not None and ref.platform == "mastodon" else None


@dataclass(frozen=True)
class MastodonEmbeds(EmbedForms):
    def element(
        self,
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        classes: set[str],
        ctx: _HtmlContext,
        pos: int,
    ) -> bool | None:
        if tag != "blockquote" or "mastodon-embed" not in classes:
            return None
        url = _status_url(attrs.get("data-embed-url") or "")
        if url is None:
            for anchor in node.css("a[href]"):
                url = _status_url(ctx.absolute(anchor.attributes.get("href") or ""))
                if url:
                    break
        ref = _post_ref(url) if url else None
        draft = _draft_from_ref(ref, "mastodon-blockquote", pos) if ref else None
        by = _POST_BY.search(node.text(deep=True) or "")
        if draft is None:
            if by is None:
                return True
            draft = _Draft(form="mastodon-blockquote", pos=pos, platform="mastodon")
        if by is not None:
            draft.author_handle = by.group("acct")
        ctx.add(draft)
        return True

    def iframe(
        self, src: SplitResult | None, attrs: dict[str, str | None]
    ) -> tuple[str, str] | None:
        if src is None or not src.path.rstrip("/").endswith("/embed"):
            return None
        url = _status_url(src.geturl())
        return (url, "mastodon-iframe") if url else None


FORMS = MastodonEmbeds(
    platform="mastodon",
    forms={"mastodon-blockquote": 0, "mastodon-iframe": 1},
    selectors=("blockquote.mastodon-embed",),
    embed_classes=frozenset({"mastodon-embed"}),
    url_anchors=("/@", "/statuses/"),
    # Any host: only URLs with a scheme, so prose like "name/@x/1" is not taken for one.
    # Ids are ASCII digits; one followed by a digit of any script is no id.
    text_url=(
        r"(?ai:https?://)(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63}"
        r"(?:/(?:web/)?@[A-Za-z0-9_.-]{1,64}(?:@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,63})?/[0-9]{1,20}"
        r"|/users/[A-Za-z0-9_.-]{1,64}/statuses/[0-9]{1,20})(?![\d/])"
    ),
)
