"""Which social-media posts a news article embeds or links, read from its HTML or its text.

Pure: no network, no I/O. The answer is a list of `EmbedClaim`s, one per post, each saying
what the article itself claims about the post (author, date, text) so that a later step can
compare those claims with the post as the platform serves it.

Forms: each platform declares its own (its package's ``embeds`` module, an
``embeds.forms.EmbedForms``: blockquotes, iframes, data attributes, embed scripts, URL
shapes, short links); every platform shares three more:

* ``link``: plain links (or bare URLs in text) to a post;
* ``script-json``: post URLs inside inline ``<script>`` bodies (JSON strings, ``\\/`` escaped);
* ``copied-text``: an embed copied as text, "<post text> <short link>" followed by
  "— Name (@handle) Month D, YYYY" (the seed article's form), the platform told by the
  short link or by the handle's shape.

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

from postcheck.html_depth import MAX_DEPTH, cap_depth
from postcheck.sources.embeds.claims import EmbedClaim, _Draft
from postcheck.sources.embeds.html import _scan_html
from postcheck.sources.embeds.merge import _merge_all
from postcheck.sources.embeds.plaintext import _is_html, _scan_text
from postcheck.sources.embeds.textutil import parse_date

__all__ = ["EmbedClaim", "extract_embeds", "parse_date"]


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
