"""The matcher's view of the known library: the on-disk index (postcheck.known_index)
finds the candidates, the store gives their codes, and the matcher judges them.

Before each search the cache compares the store's library version with the index's and
catches up (reading other processes' appends, or appending itself); a removal since the
last search empties the small cache of candidates' codes, and a removed picture is simply
not in the store any more. The ORB keypoints that confirm a candidate are taken from the
known picture's file when needed (a few per query) and kept in a small cache, rather than
stored for every picture.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PIL import Image

from postcheck.domain import Match
from postcheck.known_index import NPROBE, OnDiskIndex, RebuildReport, rebuild
from postcheck.media import MediaStore
from postcheck.store import Store
from postcheck.verifiers import orb, perceptual, video
from postcheck.verifiers.families import families
from postcheck.verifiers.imaging import WORK_SIDE
from postcheck.verifiers.matcher import IndexEntry, LibraryIndex, match, split_variant
from postcheck.verifiers.perceptual import QueryPrint
from postcheck.verifiers.verdict import hash_only_words

FEATURE_CACHE = 256
ENTRY_CACHE = 4096  # candidates' codes (a video's frames keep meeting the same ones)
NEAREST_PER_FAMILY = 8  # closest pictures per family kept as context, matched or not
# Above this many pictures added since a check, the index beats an exact pass over them.
ADDED_LIMIT = 5000


class IndexCache:
    def __init__(
        self,
        store: Store,
        media: MediaStore,
        index_dir: Path,
        ivf_min_codes: int = 0,
        nprobe: int = NPROBE,
    ) -> None:
        self.store = store
        self.media = media
        self.index_dir = Path(index_dir)
        self.ivf_min_codes = ivf_min_codes
        self.nprobe = nprobe
        self.disk = OnDiskIndex(self.index_dir, nprobe)
        self._removed_version = -1
        self._lock = threading.Lock()
        self._entries: OrderedDict[int, IndexEntry] = OrderedDict()
        self._features: OrderedDict[str, orb.Features | None] = OrderedDict()
        self._features_lock = threading.Lock()

    # --- keeping up with the store ---------------------------------------------------------

    def refresh(self) -> None:
        """Bring the index up to the store's library version (cheap when nothing changed:
        one small query and a stat)."""
        version, removed = self.store.library_version()
        if removed != self._removed_version:
            with self._lock:
                self._entries.clear()
                self._removed_version = removed
        self.disk.refresh(self.store, version)

    def outdated(self) -> str | None:
        """Why the index's codes may be older than this version's hash families (its
        manifest says so), or None: `known rehash` then rebuilds it even with nothing to
        re-hash."""
        self.refresh()
        return self.disk.manifest.outdated() if self.disk.manifest else None

    def added(self) -> None:
        """After an addition: append it to the index now, so that other processes read
        it from the log rather than each from the store."""
        self.disk.catch_up(self.store)

    def reindex(self) -> RebuildReport:
        """Rebuild the index from the store (retrain, compact away removals) and switch
        every process to it. Slow at scale: the command and flow, never a search, do it."""
        report = rebuild(self.index_dir, self.store, self.ivf_min_codes, self.nprobe)
        self.refresh()
        return report

    # --- searching ---------------------------------------------------------------------------

    def candidates(self, query: QueryPrint, sha256: str | None = None) -> LibraryIndex:
        """The known pictures near this query (within a family's threshold, or among the
        few nearest of each family), with their codes from the store, in a small exact
        index for the matcher."""
        self.refresh()
        self.disk.warn_if_outdated()
        ids: set[int] = set()
        fams = families()
        for name, codes in query.codes.items():
            if not codes or name not in fams:
                continue
            matrix = np.frombuffer(b"".join(c.code for c in codes), np.uint8).reshape(
                len(codes), -1
            )
            ids.update(self.disk.within(name, matrix, fams[name].threshold))
            ids.update(self.disk.nearest(name, matrix, NEAREST_PER_FAMILY))
        if sha256 is not None and (same := self.store.known_id_for(sha256)) is not None:
            ids.add(same)
        return LibraryIndex(self._entries_for(ids).values())

    def deep(self, query: QueryPrint) -> LibraryIndex:
        """The known pictures enough of the query's fallback codes come near (deep crops;
        the matcher asks only when the first lookup proved nothing), with their codes."""
        ids: set[int] = set()
        fams = families()
        for name, codes in query.deep_codes().items():
            for flip in {c.flip for c in codes}:  # votes count per orientation
                mine = [c.code for c in codes if c.flip == flip]
                matrix = np.frombuffer(b"".join(mine), np.uint8).reshape(len(mine), -1)
                votes = self.disk.votes(name, matrix, fams[name].threshold)
                ids.update(i for i, v in votes.items() if v >= fams[name].min_votes)
        return LibraryIndex(self._entries_for(ids).values())

    def _entries_for(self, ids: set[int]) -> dict[int, IndexEntry]:
        with self._lock:
            found = {i: self._entries[i] for i in ids if i in self._entries}
        missing = ids - found.keys()
        if missing:
            fetched = self.store.index_entries_for(missing)
            found.update(fetched)
            with self._lock:
                self._entries.update(fetched)
                while len(self._entries) > ENTRY_CACHE:
                    self._entries.popitem(last=False)
        return found

    def index(self) -> LibraryIndex:
        """The whole library in memory (small libraries, tests and benchmarks only)."""
        return LibraryIndex(self.store.index_entries())

    def features(self, entry: IndexEntry, variant: str = "") -> orb.Features | None:
        """ORB features of a known picture, or of the frame of a known video a variant
        names ('t12.50/...'), from its file in the media store."""
        if entry.sha256 is None:  # a hash-only entry: no file
            return None
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
        matches = match(
            query, self.candidates(query, sha256), self.features, sha256=sha256, k=k, deep=self.deep
        )
        return self.current(matches)

    def search_added(
        self,
        source: Path | str,
        after_seq: int,
        sha256: str | None = None,
        k: int = 3,
        limit: int = ADDED_LIMIT,
    ) -> tuple[list[Match], int] | None:
        """Only the known pictures added since library version `after_seq` (what a recheck
        of an unchanged picture needs when the library only grew), and how many were
        looked at; None when more than `limit` were added (search the whole index)."""
        entries = self.store.index_entries_added(after_seq, limit)
        if entries is None:
            return None
        if not entries:
            return [], 0
        query = perceptual.query_print(source)
        found = match(query, LibraryIndex(entries.values()), self.features, sha256=sha256, k=k)
        return self.current(found), len(entries)

    def current(self, matches: list[Match]) -> list[Match]:
        """The matches with their known pictures' current provenance from the store; a
        known picture removed since its codes were read simply drops out."""
        known = self.store.known_by_ids([m.known.id for m in matches])
        out = [
            m.model_copy(update={"known": known[m.known.id]})
            for m in matches
            if m.known.id in known
        ]
        # A hash-only match says which list and line it rests on, now its provenance is here.
        return [
            m.model_copy(update={"stage": hash_only_words(m)}) if m.hash_only and m.is_match else m
            for m in out
        ]
