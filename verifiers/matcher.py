"""Nearest known images by Hamming distance, with documented thresholds.

A known image matches when EVERY hash family is within its own threshold (pHash <= 10,
dHash <= 14 of 64 bits): one family alone lets unrelated pictures with similar layouts
through, both together did not in our fixture library. The query is also compared as its
mirror image; a match that only the mirror explains is reported as `mirrored`.

The library is held as one packed uint8 array per family so that a query is a handful
of vectorised XOR/popcount passes, whatever the library size.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from postcheck.domain import Fingerprint, KnownImage, Match, MatchEdit
from postcheck.verifiers.families import families

# Colourfulness below this is a grayscale picture; above COLOUR_MIN a colour one.
GRAYSCALE_MAX = 4.0
COLOUR_MIN = 12.0
# Every family at or under this many bits: the same picture, only re-encoded.
NEAR_COPY_BITS = 2


@dataclass(frozen=True)
class IndexEntry:
    """What the index keeps of a known image: only what never changes (its provenance
    lives in the store and is attached to the few matches a search returns)."""

    known_id: int
    sha256: str
    hashes: dict[str, bytes]
    colourfulness: float = 0.0


class LibraryIndex:
    """Known images' hashes in memory, searched by vectorised Hamming distance."""

    def __init__(self, entries: Iterable[IndexEntry] = ()) -> None:
        self._families = families()
        self.entries: list[IndexEntry] = []
        self._arrays: dict[str, np.ndarray] = {}
        self._colour = np.zeros(0)
        self.extend(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def extend(self, entries: Iterable[IndexEntry]) -> None:
        new = [e for e in entries if all(name in e.hashes for name in self._families)]
        if not new:
            return
        self.entries.extend(new)
        for name, family in self._families.items():
            rows = np.frombuffer(b"".join(e.hashes[name] for e in new), dtype=np.uint8)
            rows = rows.reshape(len(new), family.bits // 8)
            old = self._arrays.get(name)
            self._arrays[name] = rows if old is None else np.vstack([old, rows])
        self._colour = np.concatenate([self._colour, [e.colourfulness for e in new]])

    def _distances(self, hashes: dict[str, str]) -> dict[str, np.ndarray]:
        out = {}
        for name, rows in self._arrays.items():
            query = np.frombuffer(bytes.fromhex(hashes[name]), dtype=np.uint8)
            out[name] = np.bitwise_count(rows ^ query).sum(axis=1, dtype=np.int32)
        return out

    def search(self, fp: Fingerprint, k: int = 3, sha256: str | None = None) -> list[Match]:
        """The k nearest known images (matches first), each with its distances and edits."""
        if not self.entries:
            return []
        plain = self._distances(fp.hashes)
        mirror = self._distances({n: fp.hashes[f"{n}@mirror"] for n in self._families})
        thresholds = {n: f.threshold for n, f in self._families.items()}
        bits = {n: f.bits for n, f in self._families.items()}
        # Score: mean fraction of differing bits, 0 = same picture, ~0.5 = unrelated.
        score_plain = sum(plain[n] / bits[n] for n in plain) / len(plain)
        score_mirror = sum(mirror[n] / bits[n] for n in mirror) / len(mirror)
        use_mirror = score_mirror < score_plain
        score = np.where(use_mirror, score_mirror, score_plain)
        floor = max(f.quality_floor for f in self._families.values())
        order = np.argsort(score, kind="stable")[:k]
        matches = []
        for i in order:
            flipped = bool(use_mirror[i])
            dist = mirror if flipped else plain
            distances = {n: int(dist[n][i]) for n in dist}
            is_match = fp.quality >= floor and all(distances[n] <= thresholds[n] for n in distances)
            entry = self.entries[i]
            edits = _edits(entry, distances, flipped, fp, sha256) if is_match else []
            matches.append(
                Match(
                    known=KnownImage(id=entry.known_id, sha256=entry.sha256),
                    distances=distances,
                    score=round(float(score[i]), 4),
                    edits=edits,
                    is_match=is_match,
                )
            )
        matches.sort(key=lambda m: (not m.is_match, m.score))
        return matches


def _edits(
    entry: IndexEntry,
    distances: dict[str, int],
    flipped: bool,
    fp: Fingerprint,
    sha256: str | None,
) -> list[MatchEdit]:
    if sha256 is not None and sha256 == entry.sha256:
        return [MatchEdit.IDENTICAL]
    edits = []
    if flipped:
        edits.append(MatchEdit.MIRRORED)
    if fp.colourfulness <= GRAYSCALE_MAX and entry.colourfulness >= COLOUR_MIN:
        edits.append(MatchEdit.GRAYSCALE)
    if not edits and all(d <= NEAR_COPY_BITS for d in distances.values()):
        edits.append(MatchEdit.NEAR_COPY)
    return edits
