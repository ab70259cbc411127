"""Is this picture one we have seen before? Two stages.

Stage 1, the index: every hash family's library codes sit in an in-memory binary index
(faiss); the query's codes (whole picture, its photo regions, mirrored) pull out the library
pictures within each family's threshold. Stage 2, the proof: a DCT256 code within 44 bits is
accepted as it is; any other candidate (5 at most) must be confirmed by ORB keypoints with a
RANSAC similarity transform (20+ one-to-one inliers), whose geometry also says what the
reposter did: mirrored, cropped, rotated, padded, a caption bar, a screenshot around it.
A candidate too smooth for ORB (fog, sky, sea) goes to the dense check (verifiers/dense.py):
aligned by ECC, compared pixel by pixel. A match through one tile of a composite (the query
split by regions.tiles) is named `composite`; with TILE_SHORTLIST > 0 (0 by default),
each tile's closest candidates are verified even when the pooled shortlist is full. When
nothing is proven, the fallback families (HashFamily.fallback; families/orbkp.py: 32 ORB
descriptors per known picture, for deep crops) are looked up, by votes, and their best
DEEP_SHORTLIST candidates must be confirmed by ORB: a whole-picture match never pays for
them.

Measured (benchmarks/robustness.py, 80 originals, 485 unrelated photos, 20 edit families,
every third query): recall 1.00 per family but the 60 % crop and the collages (0.94-0.96),
no wrong match, no false match (README, "How it matches"); plain pHash at <= 10 finds
none of the mirrored, cropped, padded or screenshot copies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

import cv2
import faiss
import numpy as np

from postcheck.domain import KnownImage, Match, MatchEdit
from postcheck.verifiers import dense, orb
from postcheck.verifiers.families import families
from postcheck.verifiers.perceptual import QueryPrint
from postcheck.verifiers.regions import BAR_SPAN, outside_uniformity, window_fractions

SHORTLIST = 5  # candidates verified with ORB, best first
# More candidates verified per composite tile, its closest first. 0: not on by default
# (collage4 on low texture 0.86 with it, not the 0.90 asked; README).
TILE_SHORTLIST = 0
DEEP_SHORTLIST = 3  # deep-crop candidates (fallback families) verified, most votes first
# ORB also tries the photo regions (not tiles) through which other families found the
# candidate, this many at most: a family's closest code may come from a region ORB
# cannot confirm (a caption bar's trim) while another's came from one it can.
VERIFY_OTHERS = 1
DENSE_TRIES = 2  # alignments tried per candidate ORB could not decide
# ... and up to this many more: the closest region mirrored, a tile's other trims, a
# composite's biggest tile both ways round (_dense)
DENSE_EXTRA = 6
# A caption bar no region cut off (a black bar on a night sky, whose edge is no step): the
# whole query is also laid on the original with the original's own shape, the photo at one
# end and the rest a bar, when the query is at least BAR_ASPECT taller (or wider) than the
# original, at most what a BAR_SPAN bar adds, and that rest is mostly one colour
# (BAR_PLAIN of it, text and all), both ways round: up to 4 more tries.
BAR_ASPECT = 0.05
BAR_PLAIN = 0.5
# Share of what surrounds a photo region in one colour from which it is padding or a border
PADDING_UNIFORMITY = 0.93
GRAYSCALE_MAX, COLOUR_MIN = 1.5, 6.0  # colourfulness of a grey copy / of a colour original
# What a region's or a transform's footprint says is around the photo
AROUND = {MatchEdit.PADDED, MatchEdit.OVERLAID, MatchEdit.SCREENSHOT, MatchEdit.COMPOSITE}


@dataclass(frozen=True)
class IndexEntry:
    """What the index keeps of a known picture: only what never changes. Its provenance
    lives in the store and is attached to the few matches a search returns."""

    known_id: int
    sha256: str | None  # None: a hash-only entry (from a hash list), no file to look at
    codes: dict[str, bytes]  # 'family' or 'family@variant' -> code
    colourfulness: float = 0.0
    hash_only: bool = False


class CodeTable:
    """One family's codes: exact Hamming search in faiss's binary index; an IVF index (much
    faster, approximate) once the table is large enough to need it."""

    def __init__(self, bits: int, ivf_min_codes: int = 0, nprobe: int = 64) -> None:
        self.bits = bits
        self.flat = faiss.IndexBinaryFlat(bits)
        self.owner = np.zeros(0, np.int64)
        self.variants: list[str] = []
        self.ivf_min_codes = ivf_min_codes
        self.nprobe = nprobe
        self.ivf: faiss.IndexBinaryIVF | None = None

    def __len__(self) -> int:
        return self.flat.ntotal

    def add(self, codes: np.ndarray, owner: np.ndarray, variants: list[str]) -> None:
        if not len(codes):
            return
        self.flat.add(codes)
        self.owner = np.concatenate([self.owner, owner])
        self.variants.extend(variants)
        if self.ivf_min_codes and len(self) >= self.ivf_min_codes:
            self.build_ivf()
        elif self.ivf is not None:
            self.ivf.add(codes)

    def build_ivf(self) -> None:
        codes = faiss.vector_to_array(self.flat.xb).reshape(len(self), self.bits // 8)
        nlist = max(16, min(4096, int(4 * np.sqrt(len(self)))))
        quantizer = faiss.IndexBinaryFlat(self.bits)
        ivf = faiss.IndexBinaryIVF(quantizer, self.bits, nlist)
        sample = codes[
            np.random.default_rng(0).choice(len(codes), min(len(codes), 40 * nlist), replace=False)
        ]
        ivf.train(sample)
        ivf.add(codes)
        ivf.nprobe = self.nprobe
        ivf.own_fields = True
        quantizer.this.disown()
        self.ivf = ivf

    def within(self, queries: np.ndarray, radius: int) -> list[tuple[int, int, int]]:
        """(query row, table row, distance) for every code at or under `radius`."""
        if not len(self) or not len(queries):
            return []
        index = self.ivf if self.ivf is not None else self.flat
        lims, dist, rows = index.range_search(np.ascontiguousarray(queries), radius + 1)
        out = []
        for q in range(len(queries)):
            for j in range(lims[q], lims[q + 1]):
                out.append((q, int(rows[j]), int(dist[j])))
        return out

    def nearest(self, queries: np.ndarray, k: int) -> list[tuple[int, int]]:
        """(table row, distance) of the k codes closest to any of the query codes."""
        if not len(self) or not len(queries):
            return []
        index = self.ivf if self.ivf is not None else self.flat
        dist, rows = index.search(np.ascontiguousarray(queries), min(k, len(self)))
        pairs = sorted(
            (int(d), int(r)) for d, r in zip(dist.ravel(), rows.ravel(), strict=True) if r >= 0
        )
        return [(r, d) for d, r in pairs]


def split_variant(variant: str) -> tuple[float | None, str]:
    """'t12.50/win:tl90' -> (12.5, 'win:tl90'); 'win:tl90' -> (None, 'win:tl90'). Frames of
    a known video carry their time: 't<seconds>' alone is the whole frame."""
    if variant.startswith("t") and variant[1:2].isdigit():
        time_part, _, region = variant.partition("/")
        try:
            return float(time_part[1:]), region
        except ValueError:
            return None, variant
    return None, variant


@dataclass
class Candidate:
    entry: int
    family: str
    variant: str
    box: str
    flip: bool
    distance: int
    score: float  # distance / the family's threshold: lower is closer
    distances: dict[str, int] = field(default_factory=dict)


class LibraryIndex:
    """Known pictures' codes in memory, one table per hash family."""

    def __init__(self, entries: Iterable[IndexEntry] = (), ivf_min_codes: int = 0) -> None:
        self.families = families()
        self.entries: list[IndexEntry] = []
        self.tables = {n: CodeTable(f.bits, ivf_min_codes) for n, f in self.families.items()}
        self.extend(entries)

    def __len__(self) -> int:
        return len(self.entries)

    def extend(self, entries: Iterable[IndexEntry]) -> None:
        per_family: dict[str, tuple[list[bytes], list[int], list[str]]] = {
            n: ([], [], []) for n in self.tables
        }
        for entry in entries:
            index = len(self.entries)
            self.entries.append(entry)
            for key, code in entry.codes.items():
                family, _, variant = key.partition("@")
                if family in per_family:
                    codes, owners, variants = per_family[family]
                    for one in self.families[family].split(code):
                        codes.append(one)
                        owners.append(index)
                        variants.append(variant)
        for family, (codes, owners, variants) in per_family.items():
            if codes:
                matrix = np.frombuffer(b"".join(codes), np.uint8).reshape(len(codes), -1)
                self.tables[family].add(matrix, np.array(owners, np.int64), variants)

    def candidates(self, query: QueryPrint) -> dict[int, dict[str, Candidate]]:
        """Per library picture and family, its closest code within the family's threshold."""
        found: dict[int, dict[str, Candidate]] = {}
        for name, codes in query.codes.items():
            table, family = self.tables[name], self.families[name]
            if not codes or not len(table):
                continue
            matrix = np.frombuffer(b"".join(c.code for c in codes), np.uint8).reshape(
                len(codes), -1
            )
            for q, row, dist in table.within(matrix, family.threshold):
                entry = int(table.owner[row])
                current = found.setdefault(entry, {}).get(name)
                if current is None or dist < current.distance:
                    found[entry][name] = Candidate(
                        entry,
                        name,
                        table.variants[row],
                        codes[q].box,
                        codes[q].flip,
                        dist,
                        dist / family.threshold,
                    )
        return found

    def deep_candidates(self, query: QueryPrint) -> list[tuple[int, int, str, bool]]:
        """(entry, votes, family, mirrored) of the library pictures at least `min_votes`
        of the query's fallback codes of one orientation come near (deep crops), most
        votes first."""
        out: list[tuple[int, int, str, bool]] = []
        for name, codes in query.deep_codes().items():
            table, family = self.tables[name], self.families[name]
            if not len(table):
                continue
            matrix = np.frombuffer(b"".join(c.code for c in codes), np.uint8).reshape(
                len(codes), -1
            )
            voters: dict[tuple[int, bool], set[int]] = {}
            for q, row, _ in table.within(matrix, family.threshold):
                voters.setdefault((int(table.owner[row]), codes[q].flip), set()).add(q)
            out += [
                (e, len(v), name, flip)
                for (e, flip), v in voters.items()
                if len(v) >= family.min_votes
            ]
        return sorted(out, key=lambda item: -item[1])

    def nearest(self, query: QueryPrint, k: int) -> list[Candidate]:
        """The closest library pictures by each family, matched or not (context for a report)."""
        out = []
        for name, codes in query.codes.items():
            table = self.tables[name]
            if not codes or not len(table):
                continue
            matrix = np.frombuffer(b"".join(c.code for c in codes), np.uint8).reshape(
                len(codes), -1
            )
            # Several codes per picture: ask for more rows than pictures wanted.
            for row, dist in table.nearest(matrix, k * 20):
                entry = int(table.owner[row])
                out.append(
                    Candidate(
                        entry,
                        name,
                        table.variants[row],
                        "full",
                        False,
                        dist,
                        dist / self.families[name].threshold,
                        {name: dist},
                    )
                )
        return out


# The ORB features of a library picture (of a known video's frame, for a 't…' variant),
# with its small grey copy (Features.thumb) for the dense check.
FeatureSource = Callable[[IndexEntry, str], "orb.Features | None"]
# The known pictures a query's fallback codes come near, with their codes (the on-disk
# index's lookup); the matcher's own index when none is given.
DeepSource = Callable[[QueryPrint], "LibraryIndex"]


def match(
    query: QueryPrint,
    index: LibraryIndex,
    library_features: FeatureSource,
    sha256: str | None = None,
    k: int = 3,
    deep: DeepSource | None = None,
) -> list[Match]:
    """Every library picture proven to be this one (first), then the nearest others.
    When nothing is proven, the fallback families (deep crops) bring a few more
    candidates, which ORB must confirm."""
    per_entry = index.candidates(query).items()
    ranked = sorted(per_entry, key=lambda item: min(c.score for c in item[1].values()))
    tile_leads = _tile_leads(ranked)
    proven: list[Match] = []
    rejected: list[Candidate] = []
    verified = 0
    checked: set[int] = set()  # known ids ORB has already been asked about
    for position, by_family in ranked:
        entry = index.entries[position]
        distances = {name: c.distance for name, c in by_family.items()}
        lead = tile_leads.get(position) or min(by_family.values(), key=lambda c: c.score)
        lead.distances = distances
        fast = next(
            (
                c
                for name, c in by_family.items()
                if (t := index.families[name].fast_threshold) is not None and c.distance <= t
            ),
            None,
        )
        if sha256 is not None and sha256 == entry.sha256:
            proven.append(_match(entry, lead, [MatchEdit.IDENTICAL], [], "the identical file"))
            continue
        if entry.hash_only:
            # A hash from someone's list: within PDQ's threshold is all there is to know
            # (no file for keypoints or pixels), so it is a match of its own kind.
            stage = (
                f"{lead.family} {lead.distance} bits ({_where(lead)}) to a hash-only entry: "
                "no file could confirm it"
            )
            proven.append(_match(entry, lead, [], [], stage))
            continue
        if fast is not None:
            fast.distances = distances
            # A region explains an edit only if the whole picture was not already certain:
            # natural flat areas (a sky, a wall) otherwise read as bars or borders.
            # A caption bar's box is an edit either way (regions.bar_box wants text on it).
            whole = _whole_distance(index, query, entry, fast)
            needed = (
                whole is None
                or whole > index.families[fast.family].fast_threshold
                or fast.box == "bar"
            )
            edits, details = _region_edits(query, fast) if needed else _mirror_only(fast)
            if set(edits) - {MatchEdit.MIRRORED}:
                # A region says where the photo may be; keypoints say where it is. When
                # they can, they have the last word on the label (not on the match).
                lib = library_features(entry, fast.variant)
                result, key = _verify(query, fast, lib)
                if lib is not None and result.inliers >= orb.MIN_INLIERS:
                    distances["orb_inliers"] = result.inliers
                    bar = [(e, d) for e, d in zip(edits, details, strict=False) if e in AROUND]
                    edits, details = _geometry_edits(query, lib, result.transform, key[1])
                    edits, details = _composite(query, key[0], edits, details)
                    if fast.box == "bar":
                        # The bar's edge says where the photo is better than the
                        # transform, whose 10 % margin hides a thin bar and whose label
                        # reads a bar with a few words as padding.
                        pairs = zip(edits, details, strict=False)
                        kept = [(e, d) for e, d in pairs if e not in AROUND] + bar
                        edits, details = [e for e, _ in kept], [d for _, d in kept]
            edits += _grey(query, entry)
            if not edits and fast.distance <= 10:
                edits = [MatchEdit.NEAR_COPY]
            stage = (
                f"{fast.family} {fast.distance} bits ({_where(fast)}): certain without verification"
            )
            proven.append(_match(entry, fast, edits, details, stage))
            continue
        if verified >= SHORTLIST and position not in tile_leads:
            rejected.append(lead)
            continue
        verified += position not in tile_leads
        checked.add(entry.known_id)
        lib = library_features(entry, lead.variant)
        result, key = _verify(query, lead, lib, by_family.values())
        distances["orb_inliers"] = result.inliers
        if result.inliers >= orb.MIN_INLIERS and lib is not None:
            edits, details = _geometry_edits(query, lib, result.transform, key[1])
            edits, details = _composite(query, key[0], edits, details)
            edits += _grey(query, entry)
            stage = f"{lead.family} {lead.distance} bits ({_where(lead)}), confirmed by {result.inliers} ORB inliers"
            proven.append(_match(entry, lead, edits, details, stage))
            continue
        # Too few corners (a smooth photo): compare the pixels themselves, aligned.
        check, cand = _dense(query, by_family, lib)
        if check is not None and check.confirmed:
            distances["dense_ncc_pct"] = round(100 * check.ncc)
            distances["dense_strip_ncc_pct"] = round(100 * check.strip_ncc)
            distances["dense_overlap_pct"] = round(100 * check.overlap)
            edits, details = _dense_edits(query, cand, check, lib.thumb.shape[:2])
            edits += _grey(query, entry)
            if check.overlaid:
                if MatchEdit.OVERLAID not in edits:
                    edits.append(MatchEdit.OVERLAID)
                    details.append("something laid over part of the photo (text, a mark, a bar)")
                how = (
                    f"NCC {check.strip_ncc:.2f} without the {dense.DROPPED} worst of "
                    f"{dense.STRIPS} strips (an overlay: {check.ncc:.2f} over all of it)"
                )
            else:
                how = f"NCC {check.ncc:.2f}"
            found = by_family.get(cand.family, cand)
            if (found.box, found.flip) != (cand.box, cand.flip):
                how += f" (aligned from the query's {cand.box}{' mirrored' if cand.flip else ''})"
            stage = (
                f"{found.family} {found.distance} bits ({_where(found)}), confirmed by the "
                f"dense check: {how} after alignment over {check.overlap:.0%} of the "
                f"original ({result.inliers} ORB inliers, too few to decide)"
            )
            cand.distances = distances
            proven.append(_match(entry, cand, edits, details, stage))
        else:
            rejected.append(lead)
    if not proven and query.deep_codes():
        proven += _deep_matches(
            query, index if deep is None else deep(query), library_features, checked
        )
        found = {m.known.id for m in proven}
        rejected = [c for c in rejected if index.entries[c.entry].known_id not in found]
    if len(proven) + len(rejected) < k:
        seen = {m.known.id for m in proven} | {index.entries[c.entry].known_id for c in rejected}
        for near in sorted(index.nearest(query, k), key=lambda c: c.score):
            if index.entries[near.entry].known_id not in seen:
                seen.add(index.entries[near.entry].known_id)
                rejected.append(near)
    others = [
        Match(
            known=KnownImage(
                id=index.entries[c.entry].known_id,
                sha256=index.entries[c.entry].sha256,
                hash_only=index.entries[c.entry].hash_only,
            ),
            distances=c.distances,
            score=round(min(1.0, c.score / 2), 4),
            is_match=False,
            stage=f"nearest by {c.family}, not proven the same picture",
        )
        for c in sorted(rejected, key=lambda c: c.score)
    ]
    proven.sort(key=lambda m: (m.hash_only, m.score))  # a file-confirmed match first
    return proven + others[: max(0, k - len(proven))]


def _tile_leads(ranked: list[tuple[int, dict[str, Candidate]]]) -> dict[int, Candidate]:
    """Each composite tile's closest TILE_SHORTLIST candidates, verified beyond the pooled
    shortlist and from that tile: a smooth tile's true original otherwise ranks below
    the candidates of the busier tiles (candidate crowding)."""
    if not TILE_SHORTLIST:
        return {}
    per_tile: dict[str, list[tuple[float, int, Candidate]]] = {}
    for position, by_family in ranked:
        for cand in by_family.values():
            if cand.box.startswith("tile"):
                per_tile.setdefault(cand.box.rstrip("rtf"), []).append((cand.score, position, cand))
    leads: dict[int, Candidate] = {}
    for found in per_tile.values():
        for _, position, cand in sorted(found, key=lambda item: item[:2])[:TILE_SHORTLIST]:
            if position not in leads or cand.score < leads[position].score:
                leads[position] = cand
    # The pooled shortlist's own leads stay as they were.
    pooled = {position for position, _ in ranked[:SHORTLIST]}
    return {p: c for p, c in leads.items() if p not in pooled}


def _deep_matches(
    query: QueryPrint, index: LibraryIndex, library_features: FeatureSource, tried: set[int]
) -> list[Match]:
    """The fallback families' candidates (most votes first, those not verified already),
    each confirmed by ORB between the whole query (mirrored when its mirror image's
    codes voted) and the whole library picture."""
    proven = []
    ranked = [c for c in index.deep_candidates(query) if index.entries[c[0]].known_id not in tried]
    done: set[int] = set()  # a picture both orientations voted for is verified once
    for position, votes, family, flip in ranked[:DEEP_SHORTLIST]:
        entry = index.entries[position]
        feats = query.view.feature("full", flip)
        if entry.hash_only or feats is None or position in done:
            continue
        done.add(position)
        lib = library_features(entry, "")
        result = orb.verify(feats, lib) if lib is not None else orb.Verification(0, None)
        if lib is None or result.inliers < orb.MIN_INLIERS:
            continue
        edits, details = _geometry_edits(query, lib, result.transform, flip)
        edits += _grey(query, entry)
        cand = Candidate(position, family, "", "full", flip, 0, 1.0)
        cand.distances = {f"{family}_votes": votes, "orb_inliers": result.inliers}
        mirrored = "mirror image's " if flip else ""
        stage = (
            f"{family}: {votes} of the query's {mirrored}keypoints near the original's "
            f"(deep-crop search), confirmed by {result.inliers} ORB inliers"
        )
        proven.append(_match(entry, cand, edits, details, stage))
    return proven


def _match(
    entry: IndexEntry, cand: Candidate, edits: list[MatchEdit], details: list[str], stage: str
) -> Match:
    return Match(
        known=KnownImage(id=entry.known_id, sha256=entry.sha256, hash_only=entry.hash_only),
        distances=cand.distances or {cand.family: cand.distance},
        score=round(min(1.0, cand.score / 2), 4),
        edits=edits,
        details=details,
        is_match=True,
        stage=stage,
        known_time=split_variant(cand.variant)[0],
        hash_only=entry.hash_only,
    )


def _whole_distance(
    index: LibraryIndex, query: QueryPrint, entry: IndexEntry, cand: Candidate
) -> int | None:
    """Distance between the whole query (same orientation) and the whole library picture."""
    family = index.families[cand.family]
    t, _ = split_variant(cand.variant)
    library_code = entry.codes.get(cand.family if t is None else f"{cand.family}@t{t:.2f}")
    query_code = next(
        (
            c.code
            for c in query.codes.get(cand.family, [])
            if c.box == "full" and c.flip == cand.flip
        ),
        None,
    )
    if library_code is None or query_code is None:
        return None
    return family.distance(query_code, library_code)


def _mirror_only(cand: Candidate) -> tuple[list[MatchEdit], list[str]]:
    return ([MatchEdit.MIRRORED], ["mirrored"]) if cand.flip else ([], [])


def _where(cand: Candidate) -> str:
    query = cand.box + (" mirrored" if cand.flip else "")
    t, region = split_variant(cand.variant)
    where = f"frame at {t:.1f} s, {region or 'whole'}" if t is not None else region or "whole"
    return f"query {query} ~ library {where}"


def _verify(
    query: QueryPrint,
    cand: Candidate,
    lib: orb.Features | None,
    others: Iterable[Candidate] = (),
) -> tuple[orb.Verification, tuple[str, bool]]:
    """Try the region that found the candidate, then (up to VERIFY_OTHERS) the regions
    through which other families found it, then the whole picture both ways round."""
    best, best_key = orb.Verification(0, None), ("full", False)
    if lib is None:
        return best, best_key
    tried = set()
    more = [
        (c.box if not c.flip else "full", c.flip)
        for c in sorted(others, key=lambda c: c.score)
        if c.box not in (cand.box, "full") and not c.box.startswith("tile")
    ]
    for key in (
        (cand.box if not cand.flip else "full", cand.flip),
        *dict.fromkeys(more[:VERIFY_OTHERS]),
        ("full", cand.flip),
        ("full", not cand.flip),
    ):
        feats = query.view.feature(*key)
        if key in tried or feats is None:
            continue
        tried.add(key)
        result = orb.verify(feats, lib)
        if result.inliers > best.inliers:
            best, best_key = result, key
        if result.inliers >= orb.MIN_INLIERS:
            break
    return best, best_key


def _dense(
    query: QueryPrint, by_family: dict[str, Candidate], lib: orb.Features | None
) -> tuple[dense.DenseResult | None, Candidate]:
    """The dense check from each distinct (query region, library window) that found the
    candidate, closest first (DENSE_TRIES of them); then, up to DENSE_EXTRA more, the
    closest region mirrored (a smooth photo's codes hardly tell a mirrored copy), the
    other versions of a composite's tile that found it (trimmed, untrimmed, tightly
    trimmed: one of them may carry a gutter's sliver or have lost a plain band), and the
    query's biggest tile both ways round. The first that confirms, else the best."""
    ranked = sorted(by_family.values(), key=lambda c: c.score)
    best: tuple[dense.DenseResult | None, Candidate] = (None, ranked[0])
    if lib is None or lib.thumb is None:
        return best
    tries: list[tuple[Candidate, tuple[float, float, float, float]]] = []
    seen = set()

    def add(cand: Candidate, window: tuple[float, float, float, float]) -> None:
        key = (cand.box, cand.flip, window)
        if key not in seen and cand.box in query.view.boxes:
            seen.add(key)
            tries.append((cand, window))

    for cand in ranked:
        if len(tries) == DENSE_TRIES:
            break
        add(cand, window_fractions(split_variant(cand.variant)[1], *lib.thumb.shape[:2]))
    first = list(tries)
    if first and "bar" not in query.view.boxes:  # the bar box had its tries
        for x0, y0, x1, y1 in _bar_windows(query, lib.thumb.shape[:2]):
            for flip in (first[0][0].flip, not first[0][0].flip):
                window = (1 - x1, y0, 1 - x0, y1) if flip else (x0, y0, x1, y1)
                add(replace(first[0][0], box="full", flip=flip), window)
    limit = len(tries) + DENSE_EXTRA
    if first:
        cand, (x0, y0, x1, y1) = first[0]
        add(replace(cand, flip=not cand.flip), (1 - x1, y0, 1 - x0, y1))
    for cand, window in first:
        if cand.box.startswith("tile"):
            base = cand.box.rstrip("rtf")
            for suffix in ("", "f", "t", "r"):
                add(replace(cand, box=base + suffix), window)
    # A query split in two by a caption bar's edge (regions.tiles finds it as a seam): its
    # biggest tile, both ways round, on the whole original, when no tile found the
    # candidate (a smooth photo's trim may keep the bar and cut the sky).
    boxes = query.view.boxes
    tiles = [b for b in boxes if b.startswith("tile")]
    if first and tiles and not first[0][0].box.startswith("tile"):
        big = max(tiles, key=lambda b: (boxes[b][2] - boxes[b][0]) * (boxes[b][3] - boxes[b][1]))
        for flip in (first[0][0].flip, not first[0][0].flip):
            add(replace(first[0][0], box=big, flip=flip), (0.0, 0.0, 1.0, 1.0))
    for cand, window in tries[:limit]:
        # the region's thumb, made once per query (dense.thumb leaves a thumb as it is)
        check = dense.compare(query.view.thumb(cand.box, cand.flip), lib.thumb, window)
        if check.confirmed:
            return check, cand
        if best[0] is None or _dense_rank(check) > _dense_rank(best[0]):
            best = (check, cand)
    return best


def _bar_windows(
    query: QueryPrint, library_shape: tuple[int, int]
) -> list[tuple[float, float, float, float]]:
    """Where the whole query lies on the original (fractions of it, beyond 0..1 where the
    bar is) if the original, at its own shape, is at one end of the query and the rest is
    a bar of one colour: photo on top, photo below (photo left, photo right)."""
    qh, qw = query.view.gray.shape
    lh, lw = library_shape
    ratio = (qh / qw) / (lh / lw)  # > 1: the query is taller than the original
    longest = 1 / (1 - BAR_SPAN[1])
    if 1 + BAR_ASPECT <= ratio <= longest:
        k, across = ratio, False
    elif 1 + BAR_ASPECT <= 1 / ratio <= longest:
        k, across = 1 / ratio, True
    else:
        return []
    share = 1 / k  # of the query's side that is the photo
    out = []
    for start, window in ((0.0, (0.0, 0.0, 1.0, k)), (1 - share, (0.0, 1 - k, 1.0, 1.0))):
        photo = (0.0, start, 1.0, start + share)
        if across:
            photo, window = (start, 0.0, start + share, 1.0), (window[1], 0.0, window[3], 1.0)
        plain = outside_uniformity(query.view.small, photo)
        if plain is not None and plain >= BAR_PLAIN:
            out.append(window)
    return out


def _dense_rank(check: dense.DenseResult) -> float:
    """How near a dense check came to its bars (the closer of the plain and the
    strip-robust one), for the report of a candidate it did not confirm."""
    return max(check.ncc - dense.MIN_NCC, check.strip_ncc - dense.MIN_OVERLAY_NCC)


def _composite(
    query: QueryPrint, box: str, edits: list[MatchEdit], details: list[str]
) -> tuple[list[MatchEdit], list[str]]:
    """A match through one tile of a composite: say so, instead of 'inside a screenshot'."""
    if (
        not box.startswith("tile")
        or box not in query.view.boxes
        or MatchEdit.COMPOSITE in edits
        or _not_a_composite(query, query.view.boxes[box])
    ):
        return edits, details
    frame = {MatchEdit.SCREENSHOT, MatchEdit.OVERLAID, MatchEdit.PADDED}
    kept = [(e, d) for e, d in zip(edits, details, strict=False) if e not in frame]
    x0, y0, x1, y1 = query.view.boxes[box]
    height, width = query.view.gray.shape
    where = (
        f"one picture of a composite (collage, grid or side by side): the tile at "
        f"{x0 / width:.0%}-{x1 / width:.0%} across, {y0 / height:.0%}-{y1 / height:.0%} down"
    )
    return [e for e, _ in kept] + [MatchEdit.COMPOSITE], [d for _, d in kept] + [where]


def _dense_edits(
    query: QueryPrint,
    cand: Candidate,
    check: dense.DenseResult,
    library_shape: tuple[int, int],
) -> tuple[list[MatchEdit], list[str]]:
    """What the dense alignment says was done: mirrored (the code that found it was),
    rotated (the transform's angle), cropped (the share of the original overlapped), and
    what surrounds the region (a caption bar, padding, a composite's other tiles) or, for
    the whole query, what surrounds the original where the alignment puts it."""
    edits, details = [], []
    if cand.flip:
        edits.append(MatchEdit.MIRRORED)
        details.append("mirrored")
    if check.transform is not None:
        angle = check.angle
        if abs(angle) >= 1.5:
            edits.append(MatchEdit.ROTATED)
            details.append(f"rotated {angle:+.1f}°")
    if check.overlap < 0.92 and MatchEdit.ROTATED not in edits:
        edits.append(MatchEdit.CROPPED)
        details.append(f"cropped (keeps about {check.overlap:.0%} of the original)")
    if cand.box == "full" and check.transform is not None and MatchEdit.ROTATED not in edits:
        thumb = query.view.thumb(cand.box, cand.flip).shape[:2]
        around = _around_original(query, check.transform, thumb, library_shape, cand.flip)
        if around is not None:
            edits.append(around[0])
            details.append(around[1])
    region = Candidate(cand.entry, cand.family, "", cand.box, False, cand.distance, cand.score)
    more, words = _region_edits(query, region)
    edits += more
    details += words
    return _composite(query, cand.box, edits, details)


def _around_original(
    query: QueryPrint,
    transform: np.ndarray,
    query_shape: tuple[int, int],
    library_shape: tuple[int, int],
    flip: bool,
) -> tuple[MatchEdit, str] | None:
    """What is around the original in the post (_region_label) when `transform` (the
    query, as `query_shape` (h, w) px, mirrored if `flip` -> the library picture, as
    `library_shape` px: ORB's or the dense alignment's) puts it over under 90 % of it."""
    qh, qw = query_shape
    lh, lw = library_shape
    inverse = cv2.invertAffineTransform(transform)
    corners = np.float32([[0, 0], [lw, 0], [lw, lh], [0, lh]])
    original_in_query = (inverse[:, :2] @ corners.T).T + inverse[:, 2]
    share = orb.clipped_area(original_in_query, qw, qh) / (qw * qh)
    if share >= 0.90:
        return None
    xs, ys = np.clip(original_in_query[:, 0], 0, qw), np.clip(original_in_query[:, 1], 0, qh)
    frac_box = (xs.min() / qw, ys.min() / qh, xs.max() / qw, ys.max() / qh)
    if flip:
        frac_box = (1 - frac_box[2], frac_box[1], 1 - frac_box[0], frac_box[3])
    return _region_label(share, frac_box, outside_uniformity(query.view.small, frac_box))


def _grey(query: QueryPrint, entry: IndexEntry) -> list[MatchEdit]:
    if query.colourfulness < GRAYSCALE_MAX and entry.colourfulness > COLOUR_MIN:
        return [MatchEdit.GRAYSCALE]
    return []


def _region_label(
    frac: float, box_frac: tuple[float, float, float, float], uniformity: float | None
) -> tuple[MatchEdit, str]:
    full_width = box_frac[0] <= 0.02 and box_frac[2] >= 0.98
    full_height = box_frac[1] <= 0.02 and box_frac[3] >= 0.98
    if uniformity is not None and uniformity >= PADDING_UNIFORMITY:
        return MatchEdit.PADDED, f"padded or bordered (the photo is {frac:.0%} of the post)"
    if frac >= 0.6 and (full_width or full_height):
        return (
            MatchEdit.OVERLAID,
            f"caption bar or added strip (the photo is {frac:.0%} of the post)",
        )
    return (
        MatchEdit.SCREENSHOT,
        f"inside a screenshot or another picture (the photo is {frac:.0%} of it)",
    )


def _region_edits(query: QueryPrint, cand: Candidate) -> tuple[list[MatchEdit], list[str]]:
    edits, details = [], []
    if cand.flip:
        edits.append(MatchEdit.MIRRORED)
        details.append("mirrored")
    region = split_variant(cand.variant)[1]
    if region.startswith("win:"):
        edits.append(MatchEdit.CROPPED)
        details.append(f"cropped (matches the original's {region[4:]} window)")
    elif region.startswith("ctr:"):
        edits.append(MatchEdit.CROPPED)
        details.append(f"cropped (matches the original's centre cut to {region[4:]}:1)")
    box = query.view.boxes.get(cand.box)
    if cand.box.startswith("tile") and not _not_a_composite(query, box):
        return _composite(query, cand.box, edits, details)
    if box is not None and cand.box != "full":
        height, width = query.view.gray.shape
        frac_box = (box[0] / width, box[1] / height, box[2] / width, box[3] / height)
        frac = (frac_box[2] - frac_box[0]) * (frac_box[3] - frac_box[1])
        if frac < 0.97:
            if cand.box == "trim":
                edit, detail = (
                    MatchEdit.PADDED,
                    f"padded or bordered (the photo is {frac:.0%} of the post)",
                )
            elif cand.box == "bar":  # regions.bar_box found text on it
                edit, detail = (
                    MatchEdit.OVERLAID,
                    f"caption bar or added strip (the photo is {frac:.0%} of the post)",
                )
            else:
                edit, detail = _region_label(
                    frac, frac_box, outside_uniformity(query.view.small, frac_box)
                )
            edits.append(edit)
            details.append(detail)
    return edits, details


def _not_a_composite(query: QueryPrint, box: tuple[int, int, int, int] | None) -> bool:
    """A 'tile' whose surroundings are not other pictures: a caption bar's or a strip's
    split (_bar_split), or plain padding or a border all round (a false cut inside a
    bordered photo): the region's own label says what was done."""
    if box is None:
        return False
    if _bar_split(query, box):
        return True
    height, width = query.view.gray.shape
    frac_box = (box[0] / width, box[1] / height, box[2] / width, box[3] / height)
    plain = outside_uniformity(query.view.small, frac_box)
    return plain is not None and plain >= PADDING_UNIFORMITY


def _bar_split(query: QueryPrint, box: tuple[int, int, int, int]) -> bool:
    """A 'tile' that is most of the query from edge to edge: the rest is a caption bar or
    a strip that regions.tiles cut off at its edge, not another picture."""
    height, width = query.view.gray.shape
    x0, y0, x1, y1 = box
    frac = (x1 - x0) * (y1 - y0) / float(width * height)
    across = x0 <= 0.02 * width and x1 >= 0.98 * width
    down = y0 <= 0.02 * height and y1 >= 0.98 * height
    return frac >= 0.6 and (across or down)


def _geometry_edits(
    query: QueryPrint, lib: orb.Features, transform: np.ndarray, flip: bool
) -> tuple[list[MatchEdit], list[str]]:
    """Read the edit off the transform from the post's picture to the original."""
    edits, details = [], []
    if flip:
        edits.append(MatchEdit.MIRRORED)
        details.append("mirrored")
    angle = orb.rotation_degrees(transform)
    if abs(angle) >= 1.5:
        edits.append(MatchEdit.ROTATED)
        details.append(f"rotated {angle:+.1f}°")
    qh, qw = query.view.gray.shape
    lh, lw = lib.shape
    corners = np.float32([[0, 0], [qw, 0], [qw, qh], [0, qh]])
    post_in_original = (transform[:, :2] @ corners.T).T + transform[:, 2]
    kept = orb.clipped_area(post_in_original, lw, lh) / (lw * lh)
    if kept < 0.92:
        edits.append(MatchEdit.CROPPED)
        details.append(f"cropped (keeps {kept:.0%} of the original)")
    if MatchEdit.ROTATED not in edits:
        around = _around_original(query, transform, (qh, qw), (lh, lw), flip)
        if around is not None:
            edits.append(around[0])
            details.append(around[1])
    return edits, details


def merge_matches(kept: list[Match], found: list[Match], k: int = 3) -> list[Match]:
    """An earlier search's matches with a later one's over pictures added since: every
    proven match of either (the later wins for the same known picture), then the nearest
    others up to `k` in all, as `match` returns them."""
    by_id = {m.known.id: m for m in kept}
    by_id.update({m.known.id: m for m in found})
    proven = [m for m in by_id.values() if m.is_match]
    others = sorted((m for m in by_id.values() if not m.is_match), key=lambda m: m.score)
    return sorted(proven, key=lambda m: m.score) + others[: max(0, k - len(proven))]
