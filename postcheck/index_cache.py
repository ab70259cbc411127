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

from postcheck.domain import Match
from postcheck.media import MediaStore
from postcheck.store import Store
from postcheck.verifiers import orb, perceptual
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex, match

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

    def features(self, entry: IndexEntry) -> orb.Features | None:
        with self._features_lock:
            if entry.sha256 in self._features:
                self._features.move_to_end(entry.sha256)
                return self._features[entry.sha256]
        path = self.media.path_for(entry.sha256)
        feats = perceptual.library_view(path).features if path.exists() else None
        with self._features_lock:
            self._features[entry.sha256] = feats
            while len(self._features) > FEATURE_CACHE:
                self._features.popitem(last=False)
        return feats

    def search(self, source: Path | str, sha256: str | None = None, k: int = 3) -> list[Match]:
        """Known pictures proven to be this one, then the nearest others, with their
        current provenance from the store."""
        query = perceptual.query_print(source)
        matches = match(query, self.index(), self.features, sha256=sha256, k=k)
        known = self.store.known_by_ids([m.known.id for m in matches])
        # A known picture removed since the index was read simply drops out.
        return [m.model_copy(update={"known": known[m.known.id]}) for m in matches if m.known.id in known]
