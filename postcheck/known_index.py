"""The known library's index on disk, shared by every process on one data folder.

The store stays the source of truth (it keeps every known picture's codes); this index is
derived from it and can always be rebuilt. It only answers "which known pictures have a
code near these?": the candidates' codes are then read back from the store and judged
exactly (postcheck.index_cache), so a removed picture simply drops out until the next
rebuild compacts it away.

Layout of the index folder (POSTCHECK_INDEX_DIR, default <data folder>/index):

    manifest.json          which generation is current, the library version it was built
                           at, its families; replaced atomically (written aside, renamed)
    lock                   writers hold it (filelock, flock) to append or switch generations
    g-<token>/             one generation, written whole by a rebuild and never changed:
        <family>.faissb    the family's codes in a faiss binary index (IVF once the family
                           holds index_ivf_min_codes codes, flat below), memory-mapped
        <family>.owners.npy  the known image id of each row (int32), memory-mapped
        log                additions since the rebuild, append-only. A record holds every
                           code of the known images whose library version is in (a, b];
                           records chain (a = the previous b), so the index reflects
                           exactly the versions up to the last b.

Opening maps the files (no reading, no training) and reads the log. Before each search a
process compares the store's library version with its own: if the store is ahead it
first reads what other processes appended to the log, then, if still behind, takes the
lock and appends the missing versions itself (read from the store). Versions are handed
out under a row lock in the store, so "version V is committed" means "every version up to
V is": the log has no gaps. A rebuild writes a new generation beside the current one and
switches the manifest under the lock, after catching its log up to the store; processes
notice the new manifest at their next search and map the new files.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import struct
import threading
import time
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import faiss
import numpy as np
from filelock import FileLock

from postcheck.verifiers.families import codeset as current_codeset
from postcheck.verifiers.families import families as hash_families

if TYPE_CHECKING:
    from postcheck.store import Store

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
LOG = "log"
RECORD = struct.Struct("<4sQQII")  # magic, seq from, seq to, payload bytes, crc32
MAGIC = b"PCXL"
LOCK_TIMEOUT = 300.0  # seconds a writer waits for another's append or switch
NPROBE = 64
# A log holding more codes than this (and than a tenth of the base) deserves a rebuild:
# its codes sit in memory in every process.
LOG_WARN_CODES = 2_000_000


def ivf_lists(rows: int, most: int = 4096) -> int:
    """Inverted lists for a family of this many codes: about 4 sqrt(n), as faiss advises,
    at most `most`."""
    return int(max(16, min(most, 4 * np.sqrt(rows))))


def family_lists(name: str, rows: int) -> int:
    """The IVF lists of this family's table at this many codes (its own upper bound)."""
    return ivf_lists(rows, getattr(hash_families().get(name), "ivf_max_lists", 4096))


def family_nprobe(name: str, nprobe: int) -> int:
    """Lists a search of this family's IVF table probes: its own figure, or the setting."""
    own = getattr(hash_families().get(name), "ivf_nprobe", None)
    return own or nprobe


@dataclass
class Manifest:
    generation: str  # folder name
    number: int  # counts rebuilds
    seq: int  # the library version the generation was built at
    families: dict[str, dict]  # name -> {"bits", "rows", "kind"}
    built_at: float = 0.0
    format: int = FORMAT
    # The hash families' code set when the generation was built ("" before it was
    # recorded), and how many known pictures then had codes from an older one: a process
    # tells the user to run `known rehash` without asking the store.
    codeset: str = ""
    stale: int = 0

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        try:
            data = json.loads((folder / MANIFEST).read_text())
        except FileNotFoundError:
            return None
        if data.get("format") != FORMAT:
            log.warning("index %s: format %s not %s, ignored", folder, data.get("format"), FORMAT)
            return None
        known = {f.name for f in fields(cls)}  # a newer version's extra keys are ignored
        return cls(**{k: v for k, v in data.items() if k in known})

    def outdated(self) -> str | None:
        """Why the library's codes may be older than this version's hash families (the
        generation was built under another code set, or some pictures' codes then were
        older), or None."""
        now = current_codeset()
        if self.codeset != now:
            was = f"under {self.codeset}" if self.codeset else "before code sets were recorded"
            return f"the index was built {was}; this version's hash families are {now}"
        if self.stale:
            return f"{self.stale:,} known pictures have codes from older hash families"
        return None

    def write(self, folder: Path) -> None:
        tmp = folder / f".{MANIFEST}.{secrets.token_hex(4)}"
        with open(tmp, "w") as fh:
            json.dump(vars(self), fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, folder / MANIFEST)


# --- the log ---------------------------------------------------------------------------------


def encode_record(seq_from: int, seq_to: int, tables: dict[str, tuple[int, bytes, bytes]]) -> bytes:
    """One log record: per family (bits, packed codes, int32 owners)."""
    layout = [[name, bits, len(owners) // 4] for name, (bits, _, owners) in tables.items()]
    head = json.dumps(layout).encode()
    parts = [struct.pack("<I", len(head)), head]
    for _, codes, owners in tables.values():
        parts += [codes, owners]
    payload = b"".join(parts)
    crc = zlib.crc32(struct.pack("<QQ", seq_from, seq_to) + payload)
    return RECORD.pack(MAGIC, seq_from, seq_to, len(payload), crc) + payload


def read_records(path: Path, offset: int) -> tuple[list[tuple[int, int, dict]], int]:
    """Complete, intact records from `offset` on, and the offset after the last of them.
    A record being written (or torn by a crash) ends the reading."""
    out = []
    if not path.exists():  # a generation removed under an old reader: it switches next
        return out, offset
    with open(path, "rb") as fh:
        fh.seek(offset)
        while True:
            head = fh.read(RECORD.size)
            if len(head) < RECORD.size:
                break
            magic, seq_from, seq_to, size, crc = RECORD.unpack(head)
            payload = fh.read(size)
            if magic != MAGIC or len(payload) < size:
                break
            if zlib.crc32(struct.pack("<QQ", seq_from, seq_to) + payload) != crc:
                break
            out.append((seq_from, seq_to, _decode(payload)))
            offset += RECORD.size + size
    return out, offset


def _decode(payload: bytes) -> dict[str, tuple[int, np.ndarray, np.ndarray]]:
    (n_head,) = struct.unpack_from("<I", payload)
    layout = json.loads(payload[4 : 4 + n_head])
    pos = 4 + n_head
    tables = {}
    for name, bits, rows in layout:
        width = bits // 8
        codes = np.frombuffer(payload, np.uint8, rows * width, pos).reshape(rows, width)
        pos += rows * width
        owners = np.frombuffer(payload, np.int32, rows, pos)
        pos += rows * 4
        tables[name] = (bits, codes, owners)
    return tables


def codes_from_store(
    store: Store, after_seq: int, upto_seq: int
) -> dict[str, tuple[int, bytes, bytes]]:
    """Every code of the known images added in versions (after_seq, upto_seq], per family
    of this code base (codes of a family no module defines, or of the wrong size, are left
    out; a packed value is its codes, HashFamily.split), as a log record's tables."""
    fams = hash_families()
    codes: dict[str, bytearray] = {name: bytearray() for name in fams}
    owners: dict[str, array] = {name: array("i") for name in fams}
    for batch in store.index_codes(after_seq, upto_seq):
        for known_id, family, code in batch:
            fam = fams.get(family)
            if fam is not None:
                for one in fam.split(code):
                    codes[family] += one
                    owners[family].append(known_id)
    return {
        name: (fams[name].bits, bytes(codes[name]), owners[name].tobytes())
        for name in fams
        if owners[name]
    }


def append_from_store(gen_dir: Path, after_seq: int, store: Store, upto_seq: int) -> int:
    """Append (under the caller's lock) one record with versions (after_seq, upto_seq]."""
    if upto_seq <= after_seq:
        return after_seq
    record = encode_record(after_seq, upto_seq, codes_from_store(store, after_seq, upto_seq))
    with open(gen_dir / LOG, "ab") as fh:
        fh.write(record)
        fh.flush()
        os.fsync(fh.fileno())
    return upto_seq


# --- one family's codes --------------------------------------------------------------------


class FamilyTable:
    """A family's codes: the generation's (memory-mapped) and the log's (in memory, in an
    index sharing the base's trained coarse quantizer, so appending never retrains)."""

    def __init__(self, bits: int, base: faiss.IndexBinary | None, owners: np.ndarray | None):
        self.bits = bits
        self.base = base
        self.base_owners = owners if owners is not None else np.zeros(0, np.int32)
        self.delta = self._delta_index()
        self.delta_owners: list[np.ndarray] = []
        self._owners_cache: np.ndarray | None = None

    def _delta_index(self) -> faiss.IndexBinary:
        if isinstance(self.base, faiss.IndexBinaryIVF):
            ivf = faiss.IndexBinaryIVF(self.base.quantizer, self.bits, self.base.nlist)
            ivf.nprobe = self.base.nprobe
            return ivf
        return faiss.IndexBinaryFlat(self.bits)

    def __len__(self) -> int:
        return len(self.base_owners) + self.delta.ntotal

    @property
    def delta_rows(self) -> int:
        return self.delta.ntotal

    def append(self, codes: np.ndarray, owners: np.ndarray) -> None:
        if len(owners):
            self.delta.add(np.ascontiguousarray(codes))
            self.delta_owners.append(np.asarray(owners, np.int32))
            self._owners_cache = None

    def _delta_owner_array(self) -> np.ndarray:
        if self._owners_cache is None:
            self._owners_cache = (
                np.concatenate(self.delta_owners) if self.delta_owners else np.zeros(0, np.int32)
            )
        return self._owners_cache

    def _parts(self) -> Iterable[tuple[faiss.IndexBinary, np.ndarray]]:
        if self.base is not None and self.base.ntotal:
            yield self.base, self.base_owners
        if self.delta.ntotal:
            yield self.delta, self._delta_owner_array()

    def within(self, queries: np.ndarray, radius: int) -> dict[int, int]:
        """Known image id -> smallest distance, for every code at or under `radius`."""
        found: dict[int, int] = {}
        for index, owners in self._parts():
            _, dist, rows = index.range_search(queries, radius + 1)
            for owner, d in zip(owners[rows].tolist(), dist.tolist(), strict=True):
                if d < found.get(owner, 1 << 30):
                    found[owner] = d
        return found

    def votes(self, queries: np.ndarray, radius: int) -> dict[int, int]:
        """Known image id -> how many of the query codes have one of its codes at or under
        `radius` (a fallback family's lookup: one stray near code is no candidate)."""
        voters: dict[int, set[int]] = {}
        for index, owners in self._parts():
            add_votes(index, owners, queries, radius, voters)
        return {owner: len(v) for owner, v in voters.items()}

    def nearest(self, queries: np.ndarray, n: int) -> dict[int, int]:
        """The n known images closest to any query code: id -> distance."""
        found: dict[int, int] = {}
        for index, owners in self._parts():
            k = min(n * 4, index.ntotal)
            dist, rows = index.search(queries, k)
            keep = rows >= 0
            for owner, d in zip(owners[rows[keep]].tolist(), dist[keep].tolist(), strict=True):
                if d < found.get(owner, 1 << 30):
                    found[owner] = d
        return dict(sorted(found.items(), key=lambda item: item[1])[:n])


def add_votes(
    index, owners: np.ndarray, queries: np.ndarray, radius: int, voters: dict[int, set[int]]
) -> None:
    """Into `voters` (known image id -> query rows): the query codes that one of its codes
    in this faiss binary index is at or under `radius` of (`owners`: each row's image)."""
    lims, _, rows = index.range_search(queries, radius + 1)
    hit = owners[rows].tolist()
    for q in range(len(queries)):
        for owner in hit[lims[q] : lims[q + 1]]:
            voters.setdefault(owner, set()).add(q)


# --- the index -----------------------------------------------------------------------------


def _open_family(gen_dir: Path, name: str, info: dict, nprobe: int) -> FamilyTable:
    base = owners = None
    path = gen_dir / f"{name}.faissb"
    if info.get("rows"):
        flags = faiss.IO_FLAG_MMAP if info["kind"] == "ivf" else faiss.IO_FLAG_MMAP_IFC
        base = faiss.read_index_binary(str(path), flags)
        if isinstance(base, faiss.IndexBinaryIVF):
            base.nprobe = nprobe
        owners = np.load(gen_dir / f"{name}.owners.npy", mmap_mode="r")
    return FamilyTable(info["bits"], base, owners)


class OnDiskIndex:
    """One process's view of the index folder (thread-safe)."""

    def __init__(self, folder: Path, nprobe: int = NPROBE) -> None:
        # One search is a handful of query codes: OpenMP threads buy nothing there, and on
        # a busy machine their spinning costs several times the search itself.
        faiss.omp_set_num_threads(1)
        self.folder = Path(folder)
        self.nprobe = nprobe
        self.lock = FileLock(str(self.folder / "lock"), timeout=LOCK_TIMEOUT)
        self.manifest: Manifest | None = None
        self.tables: dict[str, FamilyTable] = {}
        self.seq = 0  # every library version up to this one is in
        self._manifest_stat: tuple[int, int] | None = None
        self._log_offset = 0
        self._mutex = threading.RLock()
        self._warned = False
        self.outdated_warned: str | None = None  # what warn_if_outdated last said

    # -- opening and following other processes --

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.folder / MANIFEST)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns

    def _open(self) -> None:
        """Map the current generation (creating an empty one for a new library)."""
        manifest = Manifest.read(self.folder)
        if manifest is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self.lock:
                manifest = Manifest.read(self.folder)
                if manifest is None:
                    manifest = _empty_generation(self.folder)
        self._manifest_stat = self._stat()
        gen_dir = self.folder / manifest.generation
        tables = {}
        code_families = hash_families()
        for name, fam in code_families.items():
            info = manifest.families.get(name)
            if info is None or info["bits"] != fam.bits:
                if manifest.seq and info is None:
                    log.warning(
                        "index: family %s is not in the index: run `postcheck known reindex`", name
                    )
                info = {"bits": fam.bits, "rows": 0, "kind": "flat"}
            tables[name] = _open_family(gen_dir, name, info, family_nprobe(name, self.nprobe))
        self.manifest, self.tables = manifest, tables
        self.seq, self._log_offset = manifest.seq, 0
        self._read_log()

    def warn_if_outdated(self) -> None:
        """Before a search: tell the user once per process (and reason) that the library's
        codes are older than this version's hash families."""
        why = self.manifest.outdated() if self.manifest is not None else None
        if why and why != self.outdated_warned:
            self.outdated_warned = why
            log.warning("index: %s: run `postcheck known rehash` (matches need the new codes)", why)

    def _read_log(self) -> None:
        assert self.manifest is not None
        path = self.folder / self.manifest.generation / LOG
        records, self._log_offset = read_records(path, self._log_offset)
        for seq_from, seq_to, tables in records:
            if seq_from != self.seq:  # never written so; stop rather than guess
                log.error(
                    "index log %s: record (%d, %d] after %d", path, seq_from, seq_to, self.seq
                )
                break
            for name, (bits, codes, owners) in tables.items():
                table = self.tables.get(name)
                if table is not None and table.bits == bits:
                    table.append(codes, owners)
            self.seq = seq_to
        self._maybe_warn()

    def _maybe_warn(self) -> None:
        delta = sum(t.delta_rows for t in self.tables.values())
        base = sum(len(t.base_owners) for t in self.tables.values())
        if not self._warned and delta > LOG_WARN_CODES and delta > base // 10:
            self._warned = True
            log.warning(
                "index: %d codes added since the last rebuild: run `postcheck known reindex`", delta
            )

    def refresh(self, store: Store, version: int) -> None:
        """Be up to date with the store (at library `version`) before a search: follow a
        new generation, read other processes' appends, and append what is still missing."""
        with self._mutex:
            if self.manifest is None or self._stat() != self._manifest_stat:
                self._open()
            elif version > self.seq:
                self._read_log()
            if version > self.seq:
                self.catch_up(store)

    def catch_up(self, store: Store) -> None:
        """Append every version the store has and the log lacks (under the lock)."""
        with self._mutex, self.lock:
            if self.manifest is None or self._stat() != self._manifest_stat:
                self._open()
            else:
                self._read_log()
            gen_dir = self.folder / self.manifest.generation
            _truncate_torn_tail(gen_dir / LOG, self._log_offset)
            append_from_store(gen_dir, self.seq, store, store.library_version()[0])
            self._read_log()

    # -- searching --

    def within(self, family: str, queries: np.ndarray, radius: int) -> dict[int, int]:
        with self._mutex:
            table = self.tables.get(family)
            return table.within(queries, radius) if table is not None and len(table) else {}

    def votes(self, family: str, queries: np.ndarray, radius: int) -> dict[int, int]:
        with self._mutex:
            table = self.tables.get(family)
            return table.votes(queries, radius) if table is not None and len(table) else {}

    def nearest(self, family: str, queries: np.ndarray, n: int) -> dict[int, int]:
        with self._mutex:
            table = self.tables.get(family)
            return table.nearest(queries, n) if table is not None and len(table) else {}

    def stats(self) -> dict[str, dict[str, int]]:
        with self._mutex:
            return {
                name: {"rows": len(t), "log_rows": t.delta_rows} for name, t in self.tables.items()
            }


def _truncate_torn_tail(path: Path, valid_end: int) -> None:
    """A writer that died mid-append left bytes no reader accepts: cut them (under the lock)."""
    try:
        if path.stat().st_size > valid_end:
            os.truncate(path, valid_end)
    except FileNotFoundError:
        pass


def _empty_generation(folder: Path) -> Manifest:
    """The first generation of a new index (under the lock): no base, an empty log; the
    first catch-up fills the log from the store."""
    name = f"g-{secrets.token_hex(6)}"
    (folder / name).mkdir()
    (folder / name / LOG).touch()
    # A new index fills its log from the store: as current as its pictures' codes.
    manifest = Manifest(name, 0, 0, {}, time.time(), codeset=current_codeset())
    manifest.write(folder)
    return manifest


# --- rebuilding ------------------------------------------------------------------------------


@dataclass
class RebuildReport:
    generation: str
    seq: int
    pictures: int
    families: dict[str, dict] = field(default_factory=dict)
    read_seconds: float = 0.0
    build_seconds: float = 0.0
    bytes_on_disk: int = 0
    switched: bool = True
    stale: int = 0  # known pictures whose codes are from older hash families

    @property
    def summary(self) -> str:
        fams = ", ".join(
            f"{name} {info['rows']:,} codes ({info['kind']})"
            for name, info in self.families.items()
        )
        state = "now current" if self.switched else "not used: a newer rebuild finished first"
        return (
            f"index {self.generation} at library version {self.seq}: {self.pictures:,} pictures; "
            f"{fams}; read {self.read_seconds:.1f} s, built {self.build_seconds:.1f} s, "
            f"{self.bytes_on_disk / 2**20:.0f} MiB; {state}"
        ) + (
            f"; {self.stale:,} known pictures have codes from older hash families: run "
            "`postcheck known rehash`"
            if self.stale
            else ""
        )


def build_family(
    codes: np.ndarray, bits: int, ivf_min_codes: int, nprobe: int, nlist: int | None = None
) -> faiss.IndexBinary:
    """A flat index for a small family; an IVF index for a large one.

    The IVF's centroids are a random sample of the codes: perceptual codes of unrelated
    pictures are spread almost uniformly over the Hamming cube, where k-means gains little
    over a sample drawn in proportion to the data, and costs minutes at millions of codes
    (benchmarks/index_structures.py). Codes are assigned to their lists through an HNSW
    graph over many centroids (a few hundred distances each instead of nlist); searches use
    an exact (flat) quantizer, which at nlist <= 65,536 costs well under a millisecond."""
    rows = len(codes)
    if not ivf_min_codes or rows < ivf_min_codes:
        index = faiss.IndexBinaryFlat(bits)
        index.add(codes)
        return index
    nlist = nlist or ivf_lists(rows)
    rng = np.random.default_rng(0)
    centroids = np.ascontiguousarray(codes[np.sort(rng.choice(rows, nlist, replace=False))])
    if nlist > 1024:
        assign_q = faiss.IndexBinaryHNSW(bits, 16)
        assign_q.hnsw.efConstruction = 64
        assign_q.hnsw.efSearch = 32  # a near-nearest list is as good for random-like codes
    else:
        assign_q = faiss.IndexBinaryFlat(bits)
    assign_q.add(centroids)
    builder = faiss.IndexBinaryIVF(assign_q, bits, nlist)
    builder.add(codes)
    search_q = faiss.IndexBinaryFlat(bits)
    search_q.add(centroids)
    ivf = faiss.IndexBinaryIVF(search_q, bits, nlist)
    search_q.this.disown()
    ivf.own_fields = True
    builder.own_invlists = False
    ivf.replace_invlists(builder.invlists, True)
    ivf.ntotal = builder.ntotal
    ivf.nprobe = nprobe
    return ivf


def _ivf_min(family: str, ivf_min_codes: int) -> int:
    """From how many codes a family's table is an IVF index: the setting, or the family's
    own lower bound (a fallback family looks up hundreds of codes per query, which a flat
    table of millions cannot serve: 3.4 s at 10^5 pictures, benchmarks/deep_index_scale.py)."""
    own = getattr(hash_families().get(family), "ivf_min_codes", None)
    return min(ivf_min_codes, own) if ivf_min_codes and own else ivf_min_codes


def rebuild(folder: Path, store: Store, ivf_min_codes: int, nprobe: int = NPROBE) -> RebuildReport:
    """Write a new generation from the store and make it current (the command
    `postcheck known reindex` and the flow `reindex-known`). Never run on a query path:
    searches go on against the current generation meanwhile."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    seq = store.library_version()[0]
    now = current_codeset()
    stale = store.count_stale_known(now)
    t0 = time.perf_counter()
    tables = codes_from_store(store, 0, seq)
    read_seconds = time.perf_counter() - t0
    name = f"g-{secrets.token_hex(6)}"
    tmp = folder / f".tmp-{name}"
    tmp.mkdir()
    t0 = time.perf_counter()
    infos: dict[str, dict] = {}
    pictures: set[int] = set()
    for fam_name, (bits, packed, owner_bytes) in tables.items():
        owners = np.frombuffer(owner_bytes, np.int32)
        codes = np.frombuffer(packed, np.uint8).reshape(len(owners), bits // 8)
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # a build uses every core
        try:
            index = build_family(
                codes,
                bits,
                _ivf_min(fam_name, ivf_min_codes),
                family_nprobe(fam_name, nprobe),
                family_lists(fam_name, len(owners)),
            )
        finally:
            faiss.omp_set_num_threads(1)
        kind = "ivf" if isinstance(index, faiss.IndexBinaryIVF) else "flat"
        faiss.write_index_binary(index, str(tmp / f"{fam_name}.faissb"))
        np.save(tmp / f"{fam_name}.owners.npy", owners)
        infos[fam_name] = {"bits": bits, "rows": len(owners), "kind": kind}
        pictures.update(np.unique(owners).tolist())
        del index
    (tmp / LOG).touch()
    for path in tmp.iterdir():
        with open(path, "rb") as fh:
            os.fsync(fh.fileno())
    os.rename(tmp, folder / name)
    build_seconds = time.perf_counter() - t0
    report = RebuildReport(
        name, seq, len(pictures), infos, read_seconds, build_seconds, stale=stale
    )
    report.bytes_on_disk = sum(p.stat().st_size for p in (folder / name).iterdir())
    with FileLock(str(folder / "lock"), timeout=LOCK_TIMEOUT):
        current = Manifest.read(folder)
        if current is not None and current.seq > seq:
            report.switched = False
        else:
            # What was added while we built goes into the new generation's log first.
            append_from_store(folder / name, seq, store, store.library_version()[0])
            number = current.number + 1 if current else 1
            Manifest(name, number, seq, infos, time.time(), codeset=now, stale=stale).write(folder)
        keep = {name, current.generation if current else ""}
        if not report.switched:
            keep = {current.generation}
    # Processes that still map an older generation keep their open files (POSIX unlink
    # semantics); they switch at their next search.
    for old in folder.iterdir():
        if old.is_dir() and old.name.startswith(("g-", ".tmp-g-")) and old.name not in keep:
            if old.name.startswith(".tmp-") and time.time() - old.stat().st_mtime < 86400:
                continue  # another rebuild may be writing it
            shutil.rmtree(old, ignore_errors=True)
    return report
