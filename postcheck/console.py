"""Terminal output that never reads text as markup.

Post text, captions, file names, URLs and error messages come from users and remote
services; rich would read `[/quote]` in them as a closing tag (and crash) or `:fire:` as an
emoji code. Our consoles therefore interpret nothing: every string prints as it is, and
styles are given explicitly, as (text, style) pieces of a `rich.text.Text`.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text

from postcheck.urls import is_web_url, short

Piece = str | Text | tuple[str, str | Style]

# A message longer than this is cut (a server may echo a whole request body in its error).
MESSAGE_LIMIT = 300


def plain_console(stderr: bool = False) -> Console:
    """A console on which no string is markup, an emoji code or highlighted."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def styled(*pieces: Piece) -> Text:
    """Plain strings and (string, style) pairs as one Text; no string is parsed."""
    return Text.assemble(*pieces)


def link(url: str) -> Text:
    """The URL as text, a terminal hyperlink only when it is http(s)."""
    return Text(url, style=Style(link=url) if is_web_url(url) else "")


def one_line(message: object, limit: int = MESSAGE_LIMIT) -> str:
    """A message on one line, cut to `limit` characters."""
    return short(str(message), limit)
