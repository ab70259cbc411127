"""What an embed claimed about a post against what the platform returns now (pure)."""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta
from typing import Protocol

from postcheck.domain import Post

# Below this similarity the texts are different posts' texts, not the same one re-rendered.
TEXT_SIMILARITY_MIN = 0.85
# Links, with a scheme or a bare host ("pic.twitter.com/…"): renderings differ in them.
_URL = re.compile(r"(?:https?://|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/)\S+", re.IGNORECASE)


class Claim(Protocol):
    """What an article's embed says about a post (sources.embeds.EmbedClaim is one)."""

    author_handle: str | None
    date: date | None
    date_text: str | None
    text: str | None


def normalise_text(text: str) -> str:
    """Compare what a reader sees: no links (short links differ between renderings),
    no case or whitespace differences."""
    return " ".join(_URL.sub(" ", text).lower().split())


def claim_mismatches(claim: Claim, post: Post) -> list[str]:
    """One line per thing the embed says that the platform now contradicts."""
    out: list[str] = []
    if (
        claim.author_handle
        and post.author_handle
        and claim.author_handle.lower() != post.author_handle.lower()
    ):
        out.append(
            f"author: the embed says @{claim.author_handle}, the platform says @{post.author_handle}"
        )
    if claim.date is not None:
        # Embeds print the date in the page's time zone: a day either way is the same day.
        created = post.created_at.date()
        if abs(created - claim.date) > timedelta(days=1):
            out.append(
                f"date: the embed says {claim.date_text or claim.date}, the post was made {created:%Y-%m-%d}"
            )
    if claim.text and post.text:
        a, b = normalise_text(claim.text), normalise_text(post.text)
        if a and b and a != b:
            ratio = difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()
            if ratio < TEXT_SIMILARITY_MIN:
                out.append(
                    f"text: the embed's text differs from the post's now ({ratio:.0%} similar)"
                )
    return out
