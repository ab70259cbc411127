"""A small exact library for the matching tests: each picture hashed and its features
taken as a known picture is, with known ids 1, 2, ... in the order given."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PIL import Image

from postcheck.verifiers import orb, perceptual
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex


def exact_library(
    pictures: Iterable[Path | Image.Image],
) -> tuple[LibraryIndex, dict[int, orb.Features]]:
    entries, feats = [], {}
    for i, picture in enumerate(pictures, start=1):
        view = perceptual.library_view(picture)
        fp = perceptual.library_fingerprint(view)
        codes = {k: bytes.fromhex(v) for k, v in fp.hashes.items()}
        entries.append(IndexEntry(i, f"{i:064d}", codes, fp.colourfulness))
        feats[i] = view.features
    return LibraryIndex(entries), feats
