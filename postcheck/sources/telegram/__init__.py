"""Telegram: public channel posts, read without login from the post's embed widget."""

from postcheck.sources.telegram.platform import TelegramPlatform

PLATFORM = TelegramPlatform()
