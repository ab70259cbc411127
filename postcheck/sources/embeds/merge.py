"""Merging the drafts found for one post into one claim."""

from __future__ import annotations

from postcheck.sources import platform_named
from postcheck.sources.embeds.claims import EmbedClaim, _Draft, _post_ref
from postcheck.sources.embeds.forms import all_forms
from postcheck.sources.embeds.textutil import _MAX_SHORT_LINKS, _norm

# --- merging ------------------------------------------------------------------------------


def _merge_all(drafts: list[_Draft], limit: int) -> list[EmbedClaim]:
    drafts.sort(key=lambda d: (d.pos, d.phase, d.seq))
    # An embed may tie a handle (its footer) to an author id (a Bluesky blockquote's
    # data-bluesky-uri names the DID): links written with the handle then name the same
    # post as the embed (Platform.author_alias_url).
    ranks = all_forms().ranks
    id_of: dict[tuple[str, str], str] = {}
    for d in drafts:
        if ranks[d.form] == 0 and d.platform and d.author_id and d.author_handle:
            id_of.setdefault((d.platform, d.author_handle.lower()), d.author_id)
    if id_of:
        for d in drafts:
            ref = _post_ref(d.url) if d.url and d.post_id else None
            if ref is None or not ref.author:
                continue
            author_id = id_of.get((ref.platform, ref.author.lower()))
            alias = (
                platform_named(ref.platform).author_alias_url(ref, author_id) if author_id else None
            )
            aliased = _post_ref(alias) if alias else None
            if aliased is not None:
                d.url, d.author_id = aliased.url, author_id
    # Media short-link codes (X: pic.twitter.com) of identified posts, so a copy of the same embed joins it.
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


_FILLED = ("platform", "author_handle", "author_name", "text", "cid", "author_id")


def _merge_into(into: _Draft, other: _Draft) -> None:
    """Merge `other` into `into` (which came first): the better form's fields win."""
    ranks = all_forms().ranks
    if ranks[other.form] < ranks[into.form]:
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
