"""Mastodon (any instance): a status through Mastodon.py's public status call, no login."""

from postcheck.sources.mastodon.platform import MastodonPlatform

PLATFORM = MastodonPlatform()
