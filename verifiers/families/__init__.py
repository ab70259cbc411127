"""Hash families. Each module defines one `HashFamily` subclass; `families()` finds them."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from postcheck.verifiers.families.base import HashFamily


@cache
def families() -> dict[str, HashFamily]:
    found: dict[str, HashFamily] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, HashFamily)
                and not inspect.isabstract(obj)
                and obj.__module__ == module.__name__
                and obj.enabled
            ):
                found[obj.name] = obj()
    return found


def add(family: HashFamily) -> None:
    """Put a family that is off by default (HashFamily.enabled) into this process's
    registry: what a benchmark or a test measures it with."""
    families()[family.name] = family


def codeset() -> str:
    """The current code set: every family with its revision ('bow1024:1,dct256:2,…'). A
    known picture's codes carry the code set they were taken under."""
    return ",".join(f"{name}:{family.revision}" for name, family in sorted(families().items()))
