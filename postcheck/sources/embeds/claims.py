"""Claims: what the extractor returns, and the drafts it builds them from."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from pydantic import BaseModel, Field

from postcheck.domain import PostRef
from postcheck.errors import BadURL
from postcheck.sources import parse_post_url, platform_named
from postcheck.sources.embeds.textutil import _norm, parse_date


class EmbedClaim(BaseModel):
    """One post an article embeds or links, with what the embed itself claims."""

    platform: str | None = Field(description="Platform name; None only when nothing tells.")
    url: str | None = Field(description="Canonical post URL, when the post is identified.")
    post_id: str | None = Field(description="The post's id on its platform.")
    author_handle: str | None = Field(description="Handle as the embed claims it, no '@'.")
    author_name: str | None = Field(description="Display name as the embed claims it.")
    date_text: str | None = Field(description="Date as written in the embed.")
    date: dt.date | None = Field(description="date_text parsed (English month names, ISO).")
    text: str | None = Field(description="The post's text as the embed shows it.")
    short_links: list[str] = Field(
        default_factory=list,
        description="Short links (X: pic.twitter.com / t.co) standing for an unresolved post.",
    )
    form: str = Field(description="Which embed form it was found in (see forms.all_forms).")
    cid: str | None = Field(None, description="Content id the embed names (data-bluesky-cid).")

    @property
    def resolved(self) -> bool:
        return self.url is not None

    @property
    def key(self) -> str:
        """Identity for de-duplication: the platform's claim key (x:<id>,
        bluesky:<actor>/<rkey>, …), else short:<link>, else claim:<handle>:<date>."""
        return _claim_key(self)


# --- claims under construction ----------------------------------------------------------


@dataclass(slots=True)
class _Draft:
    form: str
    pos: int
    phase: int = 0  # 0 element, 1 text: an element sorts before text at the same offset
    seq: int = 0
    platform: str | None = None
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
    # An author id the embed names (a Bluesky DID), to merge links written with the name.
    author_id: str | None = None

    def key(self) -> str:
        return _claim_key(self)

    def set_date(self, date_text: str | None) -> None:
        date_text = _norm(date_text)
        self.date_text = date_text
        self.date = parse_date(date_text) if date_text else None


def _claim_key(claim: EmbedClaim | _Draft) -> str:
    """One identity for a finished claim and a draft: both carry these fields."""
    if claim.url is not None and claim.post_id:
        ref = _post_ref(claim.url)
        if ref is not None:
            return platform_named(ref.platform).claim_key(ref)
    if claim.short_links:
        return f"short:{claim.short_links[0]}"
    when = claim.date.isoformat() if claim.date is not None else (claim.date_text or "")
    return f"claim:{(claim.author_handle or '').lower()}:{when}"


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
        if platform_named(ref.platform).author_is_id(ref.author):
            draft.author_id = ref.author
        else:
            # The URL's user part is a claim too ("twitter.com/<user>/status/…").
            draft.author_handle = ref.author
    return draft
