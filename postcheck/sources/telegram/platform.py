"""Telegram's URLs, settings and identities (cheap to import: fetching lives in `fetch`)."""

from __future__ import annotations

import re
from typing import ClassVar
from urllib.parse import urlsplit

from pydantic_settings import SettingsConfigDict

from postcheck.domain import Post, PostRef
from postcheck.errors import BadURL
from postcheck.settings import Settings
from postcheck.sources.base import Platform, PlatformSettings
from postcheck.urls import host_of, short

TELEGRAM_HOSTS = frozenset({"t.me", "telegram.me", "telegram.dog"})
# Public usernames: a letter, then letters, digits and underscores (5-32 in all; a few old
# ones are shorter, so 4 is allowed).
CHANNEL = r"[A-Za-z][A-Za-z0-9_]{3,31}"
_POST_PATH = re.compile(rf"^/(?:s/)?(?P<channel>{CHANNEL})/(?P<id>[0-9]{{1,12}})/?$")
_CHANNEL_PATH = re.compile(rf"^/(?:s/)?(?P<channel>{CHANNEL})/?$")
_PRIVATE_PATH = re.compile(r"^/c/[0-9]+(?:/[0-9]+){1,2}/?$")
# First path segments that are t.me's own pages, never a channel.
_RESERVED = frozenset(
    {"s", "c", "joinchat", "addstickers", "addemoji", "share", "proxy", "socks", "iv", "login"}
    | {"setlanguage", "addtheme", "boost", "invoice", "bg", "contact", "confirmphone"}
)


class TelegramSettings(PlatformSettings):
    model_config = SettingsConfigDict(env_prefix="POSTCHECK_TELEGRAM_", extra="ignore")

    # Where the embed widget is asked for (POSTCHECK_TELEGRAM_URL).
    url: str = "https://t.me"
    # The widget has no published limit; about one request a second is what others read
    # it at without being refused.
    requests_per_second: float = 1.0


def telegram_settings(settings: Settings) -> TelegramSettings:
    return TelegramPlatform().settings(settings)


def post_key(channel: str, post_id: str) -> str:
    return f"telegram:{channel.lower()}/{post_id}"


class TelegramPlatform(Platform):
    name: ClassVar[str] = "telegram"
    title: ClassVar[str] = "Telegram"
    hosts: ClassVar[frozenset[str]] = TELEGRAM_HOSTS
    url_forms: ClassVar[tuple[str, ...]] = (
        "https://t.me/<channel>/<id> (public channels; also telegram.me)",
        "https://t.me/s/<channel>/<id>",
    )
    settings_model = TelegramSettings

    def parse_url(self, url: str) -> PostRef | None:
        if host_of(url) not in TELEGRAM_HOSTS:
            return None
        path = urlsplit(url).path
        match = _POST_PATH.match(path)
        first = path.strip("/").split("/", 1)[0].lower()
        if match is None or (first in _RESERVED and first != "s"):
            if _PRIVATE_PATH.match(path):
                raise BadURL(
                    f"that is a post of a private Telegram channel (needs a login): {short(url)}"
                )
            if _CHANNEL_PATH.match(path) and first not in _RESERVED - {"s"}:
                raise BadURL(f"that is a Telegram channel, not a post: {short(url)}")
            raise BadURL(f"not a Telegram post URL (expected t.me/<channel>/<id>): {short(url)}")
        channel, post_id = match.group("channel"), match.group("id").lstrip("0")
        if not post_id:
            raise BadURL(f"Telegram post id is zero: {short(url)}")
        return self.ref(
            post_id, channel, f"https://t.me/{channel}/{post_id}", post_key(channel, post_id)
        )

    def claim_key(self, ref: PostRef) -> str:
        return ref.key

    def fetch(self, ref: PostRef, settings: Settings) -> Post:
        from postcheck.sources.telegram.fetch import fetch

        return fetch(ref, settings)
