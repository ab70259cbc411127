"""Platform sources: post URL -> Post. All network I/O about posts lives here."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from postcheck.domain import Platform, PostRef
from postcheck.errors import BadURL
from postcheck.settings import Settings
from postcheck.sources.base import Source
from postcheck.urls import check_url_shape, short


@cache
def source_classes() -> dict[Platform, type[Source]]:
    """Every Source subclass defined in a module of this package, by platform."""
    found: dict[Platform, type[Source]] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Source)
                and obj is not Source
                and getattr(obj, "platform", None) is not None
                and obj.__module__ == module.__name__
            ):
                found[obj.platform] = obj
    return found


def parse_post_url(url: str) -> PostRef:
    """The post a URL names, or BadURL with a one-line reason."""
    cleaned = check_url_shape(url)
    for cls in source_classes().values():
        ref = cls.parse_url(cleaned)
        if ref is not None:
            return ref
    raise BadURL(f"not a post URL of a supported platform (X/Twitter, Bluesky): {short(url)}")


def source_for(ref: PostRef, settings: Settings) -> Source:
    return source_classes()[ref.platform](settings)
