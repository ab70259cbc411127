"""Bluesky through the `atproto` SDK against the public AppView, no login."""

from postcheck.sources.bluesky.platform import BlueskyPlatform

PLATFORM = BlueskyPlatform()
