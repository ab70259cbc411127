"""How articles embed Bluesky posts: the official snippet ``blockquote.bluesky-embed``
(``data-bluesky-uri`` names the post by DID, its footer ties the handle to it),
``embed.bsky.app/embed/<did>/app.bsky.feed.post/<rkey>`` iframes, post URLs and AT-URIs in
text, and a copied embed whose "(@handle)" has a dot."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult

from selectolax.lexbor import LexborNode

from postcheck.sources.embeds.claims import _Draft, _draft_from_ref, _post_ref
from postcheck.sources.embeds.forms import EmbedForms
from postcheck.sources.embeds.html import _HtmlContext, _read_quote
from postcheck.sources.embeds.textutil import _norm


@dataclass(frozen=True)
class BlueskyEmbeds(EmbedForms):
    def element(
        self,
        node: LexborNode,
        tag: str,
        attrs: dict[str, str | None],
        classes: set[str],
        ctx: _HtmlContext,
        pos: int,
    ) -> bool | None:
        if "bluesky-embed" not in classes and "data-bluesky-uri" not in attrs:
            return None
        quote = _read_quote(node, ctx)
        ref = _post_ref((attrs.get("data-bluesky-uri") or "").strip())
        date_link: str | None = None
        links = [(r, t) for r, t in quote.links if r.platform == "bluesky"]
        if ref is None or ref.platform != "bluesky":
            ref = links[-1][0] if links else None
        for link_ref, link_text in links:
            if ref is not None and link_ref.post_id == ref.post_id:
                date_link = link_text
        if ref is not None:
            draft = _draft_from_ref(ref, "bluesky-blockquote", pos)
        elif quote.handle:
            draft = _Draft(form="bluesky-blockquote", pos=pos, platform="bluesky")
        else:
            return True
        draft.cid = _norm(attrs.get("data-bluesky-cid"))
        ctx.fill(draft, quote, date_link)
        return True

    def iframe(
        self, src: SplitResult | None, attrs: dict[str, str | None]
    ) -> tuple[str, str] | None:
        if src is None or (src.hostname or "").lower() != "embed.bsky.app":
            return None
        pieces = src.path.strip("/").split("/")
        if len(pieces) == 4 and pieces[0] == "embed" and pieces[2] == "app.bsky.feed.post":
            return f"at://{pieces[1]}/app.bsky.feed.post/{pieces[3]}", "bluesky-iframe"
        return None


FORMS = BlueskyEmbeds(
    platform="bluesky",
    forms={"bluesky-blockquote": 0, "bluesky-iframe": 1},
    selectors=("blockquote.bluesky-embed", "[data-bluesky-uri]"),
    embed_classes=frozenset({"bluesky-embed"}),
    embed_attrs=frozenset({"data-bluesky-uri"}),
    url_anchors=("/post/", "at://"),
    # An rkey is ASCII: one followed by a digit of another script (possessive, so no
    # shorter rkey is tried instead) is not a post's.
    text_url=(
        r"(?:(?ai:https?://))?(?ai:(?:www\.|staging\.)?bsky\.app)/profile/[^\s/?#<>\"'\\]{1,300}/post/[A-Za-z0-9._:~-]{1,512}+(?!\d)"
        r"|at://[A-Za-z0-9._:%-]{1,300}/app\.bsky\.feed\.post/[A-Za-z0-9._:~-]{1,512}+(?!\d)"
    ),
    bare_host=r"(?ai:(?:www\.|staging\.)?bsky\.app)",
    copied_handle=re.compile(r".*\..*"),
    copied_priority=0,
    placeholders=("[image or embed]",),
)
