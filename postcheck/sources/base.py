"""What a platform source is: it recognises its own post URLs and fetches posts.

A new platform is one module in `postcheck.sources` defining a `Source` subclass; the
registry finds it without edits elsewhere.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from postcheck.domain import Platform, Post, PostRef
from postcheck.settings import Settings


class Source(ABC):
    platform: ClassVar[Platform]
    # Hosts whose URLs this source claims, so a wrong path on them gets a precise message.
    hosts: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    @abstractmethod
    def parse_url(cls, url: str) -> PostRef | None:
        """The post this URL names; None if the URL is not this platform's.

        Raise BadURL when the URL is this platform's but names no post (a profile, say).
        """

    @abstractmethod
    def fetch(self, ref: PostRef) -> Post:
        """Fetch the post. Raises PostUnavailable, TransientError or FetchError."""
