"""The matcher's in-memory index, loaded from the store and kept in step with it.

The store bumps a library version in the same transaction as every addition or removal;
before each search the cache compares versions: additions are appended (only the new
rows are read), a removal rebuilds the index. The ORB keypoints that confirm a candidate
are taken from the known picture's file when needed (a few per query) and kept in a small
cache, rather than stored for every picture.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from PIL import Image

from postcheck.domain import Match
from postcheck.media import MediaStore
from postcheck.store import Store
from postcheck.verifiers import orb, perceptual, video
from postcheck.verifiers.imaging import WORK_SIDE
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex, match, split_variant

FEATURE_CACHE = 256


class IndexCache:
    def __init__(self, store: Store, media: MediaStore, ivf_min_codes: int = 0) -> None:
        self.store = store
        self.media = media
        self.ivf_min_codes = ivf_min_codes
        self._index: LibraryIndex | None = None
        self._version = (-1, -1)
        self._max_id = 0
        self._lock = threading.Lock()
        self._features: OrderedDict[str, orb.Features | None] = OrderedDict()
        self._features_lock = threading.Lock()

    def index(self) -> LibraryIndex:
        with self._lock:
            version = self.store.library_version()
            if self._index is None or version[1] != self._version[1]:
                entries = self.store.index_entries()
                self._index = LibraryIndex(entries, ivf_min_codes=self.ivf_min_codes)
                self._max_id = max((e.known_id for e in entries), default=0)
            elif version[0] != self._version[0]:
                entries = self.store.index_entries(after_id=self._max_id)
                self._index.extend(entries)
                self._max_id = max([self._max_id, *(e.known_id for e in entries)])
            self._version = version
            return self._index

    def features(self, entry: IndexEntry, variant: str = "") -> orb.Features | None:
        """ORB features of a known picture, or of the frame of a known video a variant
        names ('t12.50/...'), from its file in the media store."""
        t, _ = split_variant(variant)
        key = entry.sha256 if t is None else f"{entry.sha256}@{t:.2f}"
        with self._features_lock:
            if key in self._features:
                self._features.move_to_end(key)
                return self._features[key]
        path = self.media.path_for(entry.sha256)
        feats = None
        if path.exists():
            source = path if t is None else video.frame_at(path, t, max_side=WORK_SIDE)
            feats = perceptual.library_view(source).features if source is not None else None
        with self._features_lock:
            self._features[key] = feats
            while len(self._features) > FEATURE_CACHE:
                self._features.popitem(last=False)
        return feats

    def search(
        self, source: Path | str | Image.Image, sha256: str | None = None, k: int = 3
    ) -> list[Match]:
        """Known pictures proven to be this one, then the nearest others, with their
        current provenance from the store."""
        query = perceptual.query_print(source)
        matches = match(query, self.index(), self.features, sha256=sha256, k=k)
        known = self.store.known_by_ids([m.known.id for m in matches])
        # A known picture removed since the index was read simply drops out.
        return [
            m.model_copy(update={"known": known[m.known.id]})
            for m in matches
            if m.known.id in known
        ]
