"""Platform sources: post URL -> Post. All network I/O about posts lives here.

The registry: every subpackage of `postcheck.sources` whose `__init__` defines `PLATFORM`
(a `sources.base.Platform`) is a platform. Nothing else in postcheck names one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence
from functools import cache

from postcheck.domain import Post, PostRef
from postcheck.errors import BadURL
from postcheck.settings import Settings
from postcheck.sources.base import FetchResult, Platform
from postcheck.urls import check_url_shape, short


@cache
def platforms() -> dict[str, Platform]:
    """Every registered platform by name, in a stable order (by package name)."""
    found: dict[str, Platform] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if not info.ispkg:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        platform = getattr(module, "PLATFORM", None)
        if isinstance(platform, Platform):
            found[platform.name] = platform
    return found


def platform_named(name: str) -> Platform:
    try:
        return platforms()[name]
    except KeyError:
        raise BadURL(f"unknown platform {name!r} (known: {', '.join(platforms())})") from None


def platform_of(ref: PostRef) -> Platform:
    return platform_named(ref.platform)


def platform_titles() -> str:
    """'X/Twitter, Bluesky, …' for help texts and messages."""
    return ", ".join(p.title for p in platforms().values())


def parse_post_url(url: str) -> PostRef:
    """The post a URL names, or BadURL with a one-line reason."""
    cleaned = check_url_shape(url)
    # Platforms with hosts of their own first: a URL on one of their hosts is theirs.
    for platform in sorted(platforms().values(), key=lambda p: p.any_host):
        ref = platform.parse_url(cleaned)
        if ref is not None:
            return ref
    raise BadURL(f"not a post URL of a supported platform ({platform_titles()}): {short(url)}")


def fetch_post(ref: PostRef, settings: Settings) -> Post:
    """One post through its platform's single fetch."""
    return platform_of(ref).fetch(ref, settings)


def fetch_posts(refs: Sequence[PostRef], settings: Settings) -> list[FetchResult]:
    """Many posts, each platform's through its batch fetch (`Platform.fetch_many`, which
    chunks by its own batch size): one result per ref, in the order given, a Post or the
    error the single fetch would have raised for that post."""
    results: list[FetchResult | None] = [None] * len(refs)
    by_platform: dict[str, list[int]] = {}
    for i, ref in enumerate(refs):
        by_platform.setdefault(ref.platform, []).append(i)
    for name, indexes in by_platform.items():
        answers = platform_named(name).fetch_many([refs[i] for i in indexes], settings)
        for i, answer in zip(indexes, answers, strict=True):
            results[i] = answer
    return [r for r in results if r is not None]


def reset_platforms() -> None:
    """Forget every platform's process-wide caches (after the settings changed)."""
    for platform in platforms().values():
        platform.reset()
