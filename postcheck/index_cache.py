"""The matcher's in-memory index, loaded from the store and kept in step with it.

The store bumps a library version in the same transaction as every addition or removal;
before each search the cache compares versions: additions are appended (only the new
rows are read), a removal rebuilds the index."""

from __future__ import annotations

import threading

from postcheck.domain import Fingerprint, Match
from postcheck.store import Store
from postcheck.verifiers.matcher import LibraryIndex


class IndexCache:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._index: LibraryIndex | None = None
        self._version = (-1, -1)
        self._max_id = 0
        self._lock = threading.Lock()

    def index(self) -> LibraryIndex:
        with self._lock:
            version = self.store.library_version()
            if self._index is None or version[1] != self._version[1]:
                entries = self.store.index_entries()
                self._index = LibraryIndex(entries)
                self._max_id = max((e.known_id for e in entries), default=0)
            elif version[0] != self._version[0]:
                entries = self.store.index_entries(after_id=self._max_id)
                self._index.extend(entries)
                self._max_id = max([self._max_id, *(e.known_id for e in entries)])
            self._version = version
            return self._index

    def search(self, fp: Fingerprint, k: int = 3, sha256: str | None = None) -> list[Match]:
        """Nearest known images with their current provenance from the store."""
        matches = self.index().search(fp, k=k, sha256=sha256)
        known = self.store.known_by_ids([m.known.id for m in matches])
        # A known image removed since the index was read simply drops out.
        return [
            m.model_copy(update={"known": known[m.known.id]})
            for m in matches
            if m.known.id in known
        ]
