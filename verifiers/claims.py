"""What an embed claimed about a post against what the platform returns now (pure)."""

from __future__ import annotations

import difflib
import re
from datetime import timedelta

from postcheck.domain import Post
from postcheck.sources.embeds import EmbedClaim

# Below this similarity the texts are different posts' texts, not the same one re-rendered.
TEXT_SIMILARITY_MIN = 0.85
_URL = re.compile(r"(?:https?://|pic\.twitter\.com/|pic\.x\.com/)\S+", re.IGNORECASE)


def normalise_text(text: str) -> str:
    """Compare what a reader sees: no links (t.co/pic links differ between renderings),
    no case or whitespace differences."""
    return " ".join(_URL.sub(" ", text).lower().split())


def claim_mismatches(claim: EmbedClaim, post: Post) -> list[str]:
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
