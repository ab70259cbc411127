"""How articles embed Telegram posts: the embed script Telegram's "Embed" button gives,
``<script async src="https://telegram.org/js/telegram-widget.js?22"
data-telegram-post="<channel>/<id>" …></script>``, the iframe that script renders
(``t.me/<channel>/<id>?embed=1``), and t.me post links."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult

from postcheck.sources.embeds.forms import EmbedForms
from postcheck.sources.telegram.platform import CHANNEL, TELEGRAM_HOSTS

_POST = re.compile(rf"^(?P<channel>{CHANNEL})/(?P<id>[0-9]{{1,12}})$")
_IFRAME_PATH = re.compile(rf"^/(?:s/)?(?P<channel>{CHANNEL})/(?P<id>[0-9]{{1,12}})/?$")
_HOST = r"(?ai:(?:www\.)?(?:t\.me|telegram\.me|telegram\.dog))"


@dataclass(frozen=True)
class TelegramEmbeds(EmbedForms):
    def script(self, attrs: dict[str, str | None]) -> tuple[str, str] | None:
        match = _POST.match((attrs.get("data-telegram-post") or "").strip())
        if match is None:
            return None
        return f"https://t.me/{match.group('channel')}/{match.group('id')}", "telegram-script"

    def iframe(
        self, src: SplitResult | None, attrs: dict[str, str | None]
    ) -> tuple[str, str] | None:
        if src is None or (src.hostname or "").lower().removeprefix("www.") not in TELEGRAM_HOSTS:
            return None
        match = _IFRAME_PATH.match(src.path)
        if match is None or "embed=1" not in src.query:
            return None
        return f"https://t.me/{match.group('channel')}/{match.group('id')}", "telegram-iframe"


FORMS = TelegramEmbeds(
    platform="telegram",
    forms={"telegram-script": 0, "telegram-iframe": 1},
    embed_attrs=frozenset({"data-telegram-post"}),
    url_anchors=("t.me/", "telegram.me/", "telegram.dog/"),
    # Ids are ASCII digits; one followed by a digit of any script is no id (the `\d` in
    # the lookahead), not a shorter one.
    text_url=rf"(?:(?ai:https?://))?{_HOST}/(?:s/)?{CHANNEL}/[0-9]{{1,12}}(?![\d/])",
    bare_host=_HOST,
)
