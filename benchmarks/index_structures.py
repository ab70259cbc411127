"""Which structure should hold the known library's codes on disk? Measured at 1M pictures.

    .venv/bin/python benchmarks/index_structures.py [--pictures 1000000] [--small 100000]

A synthetic library (random codes: 16 DCT256 codes, one BoW1024, pHash and dHash per
picture) with the 40 real benchmark originals planted in it; the queries are the 1,480
real edited copies of those originals and the 415 unrelated ones (benchmarks/robustness.py's
set, benchmarks/planted.py). For each structure, every family's codes are written to disk,
then a fresh process opens them and runs every query as the matcher's first stage does
(all codes within each family's threshold, and the 8 nearest pictures per family):

- open: seconds to open every family's files; RSS after opening and at the end;
- p50 / p95: milliseconds per query (every family);
- recall: edited copies whose original is among the candidates, against an exact search
  (exact: the original has a code within a family's threshold of a query code);
- add: milliseconds to add one picture's 19 codes without a rebuild.

Graph indexes (faiss HNSW, usearch) and faiss multi-hash are measured at --small pictures:
their build (or memory) at 1M is out of reach on this machine, as the table says.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import planted as P

WORK = P.DATA / "index_structures"


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory (VmRSS) or its peak (VmHWM, reset at exec, unlike ru_maxrss)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def library(n: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """family -> (codes, owner picture of each row), originals planted."""
    from postcheck.verifiers.families import families

    data = P.planted()
    spots = P.plant_positions(n, len(data["library"]))
    out = {}
    for seed, (family, (bits, per)) in enumerate(P.code_layout().items()):
        codes = P.synthetic_family(n, bits, per, seed)
        owners = np.repeat(np.arange(n, dtype=np.int32), per)
        extra_codes, extra_owners = [], []
        fam = families()[family]
        for spot, (lib, _) in zip(spots, data["library"], strict=True):
            mine = [
                one for k, c in lib.items() if k.partition("@")[0] == family for one in fam.split(c)
            ]
            # The original's codes replace its slot's random ones (any surplus appended).
            rows = (
                np.flatnonzero(owners == spot)
                if per == 1
                else np.arange(spot * per, spot * per + per)
            )
            for row, code in zip(rows, mine, strict=False):
                codes[row] = np.frombuffer(code, np.uint8)
            for code in mine[len(rows) :]:
                extra_codes.append(np.frombuffer(code, np.uint8))
                extra_owners.append(spot)
        if extra_codes:
            codes = np.vstack([codes, np.array(extra_codes)])
            owners = np.concatenate([owners, np.array(extra_owners, np.int32)])
        out[family] = (codes, owners)
    return out


# --- building ------------------------------------------------------------------------------


def build(kind: str, lib: dict, folder: Path, ivf_min: int) -> float:
    import faiss

    faiss.omp_set_num_threads(os.cpu_count() or 1)

    from postcheck.known_index import build_family

    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    for family, (codes, owners) in lib.items():
        bits = codes.shape[1] * 8
        np.save(folder / f"{family}.owners.npy", owners)
        if kind == "exact":
            index = faiss.IndexBinaryFlat(bits)
            index.add(codes)
            faiss.write_index_binary(index, str(folder / f"{family}.faissb"))
        elif kind == "ivf":
            index = build_family(codes, bits, ivf_min, 64)
            faiss.write_index_binary(index, str(folder / f"{family}.faissb"))
        elif kind == "hnsw":
            index = faiss.IndexBinaryHNSW(bits, 16)
            index.hnsw.efConstruction = 64
            index.add(codes)
            faiss.write_index_binary(index, str(folder / f"{family}.faissb"))
        elif kind == "multihash":
            index = faiss.IndexBinaryMultiHash(bits, 8, bits // 8 if bits > 64 else 8)
            index.add(codes)
            faiss.write_index_binary(index, str(folder / f"{family}.faissb"))
        elif kind == "usearch":
            from usearch.index import Index, MetricKind, ScalarKind

            index = Index(
                ndim=bits,
                metric=MetricKind.Hamming,
                dtype=ScalarKind.B1,
                connectivity=16,
                expansion_add=64,
                expansion_search=128,
            )
            index.add(np.arange(len(codes)), codes, threads=os.cpu_count() or 1)
            index.save(str(folder / f"{family}.usearch"))
        del index
    return time.perf_counter() - t0


# --- probing (in a fresh process) ----------------------------------------------------------


class Opened:
    def __init__(self, kind: str, folder: Path, family: str, nprobe: int) -> None:
        import faiss

        self.kind = kind
        self.owners = np.load(folder / f"{family}.owners.npy", mmap_mode="r")
        if kind == "usearch":
            from usearch.index import Index

            self.index = Index.restore(str(folder / f"{family}.usearch"), view=True)
            return
        path = str(folder / f"{family}.faissb")
        flags = {"exact": faiss.IO_FLAG_MMAP_IFC, "ivf": faiss.IO_FLAG_MMAP}.get(kind, 0)
        self.index = faiss.read_index_binary(path, flags)
        if isinstance(self.index, faiss.IndexBinaryIVF):
            self.index.nprobe = nprobe
        if kind == "hnsw":
            self.index.hnsw.efSearch = 128
        if kind == "multihash":
            self.index.nflip = 2

    def search(self, queries: np.ndarray, radius: int) -> set[int]:
        """Pictures with a code within `radius` (the candidates; the 8 nearest pictures
        are looked up too, as the matcher does for context, but do not count)."""
        if self.kind == "usearch":
            found = self.index.search(queries, 64)
            keys, dist = np.atleast_2d(found.keys), np.atleast_2d(found.distances)
            return set(self.owners[keys[dist <= radius].astype(np.int64)].tolist())
        if self.kind == "hnsw":
            dist, rows = self.index.search(queries, 64)
            return set(self.owners[rows[(dist <= radius) & (rows >= 0)]].tolist())
        _, _, rows = self.index.range_search(queries, radius + 1)
        if self.kind != "multihash":
            self.index.search(queries, 32)
        return set(self.owners[rows].tolist())


def addition_ms(opened: dict[str, Opened], lib_row: dict[str, list[bytes]]) -> float:
    """One picture's codes into a delta beside the opened files (as postcheck does)."""
    import faiss

    deltas = {}
    for family, o in opened.items():
        if o.kind == "usearch":
            from usearch.index import Index, MetricKind, ScalarKind

            deltas[family] = Index(
                ndim=o.index.ndim, metric=MetricKind.Hamming, dtype=ScalarKind.B1
            )
        elif isinstance(o.index, faiss.IndexBinaryIVF):
            deltas[family] = faiss.IndexBinaryIVF(o.index.quantizer, o.index.d, o.index.nlist)
        elif o.kind == "hnsw":
            deltas[family] = faiss.IndexBinaryHNSW(o.index.d, 16)
        else:
            deltas[family] = faiss.IndexBinaryFlat(o.index.d)
    times = []
    for i in range(50):
        t0 = time.perf_counter()
        for family, codes in lib_row.items():
            matrix = P.query_matrix(codes)
            delta = deltas[family]
            if hasattr(delta, "ntotal"):
                delta.add(matrix)
            else:
                delta.add(np.arange(i * 32, i * 32 + len(matrix)), matrix)
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def probe(kind: str, folder: Path, nprobe: int) -> dict:
    import faiss

    from postcheck.verifiers.families import families

    faiss.omp_set_num_threads(1)  # as postcheck searches (postcheck.known_index)

    data = P.planted()
    n = int(json.loads((folder / "info.json").read_text())["pictures"])
    spots = P.plant_positions(n, len(data["library"]))
    fams = families()
    t0 = time.perf_counter()
    opened = {f: Opened(kind, folder, f, nprobe) for f in fams}
    open_s = time.perf_counter() - t0
    rss_open = rss_mb()
    times, found, truths = [], 0, 0
    queries = data["queries"]
    if kind == "exact":  # slow at scale: timed on a sample; its recall is known exactly
        queries = queries[:: max(1, len(queries) // 60)]
    for q in queries:
        t0 = time.perf_counter()
        ids: set[int] = set()
        for family, codes in q["codes"].items():
            if codes:
                ids |= opened[family].search(P.query_matrix(codes), fams[family].threshold)
        times.append(time.perf_counter() - t0)
        if q["truth"] is not None:
            truths += 1
            found += int(spots[q["truth"]]) in ids
    lib0 = {}
    for key, code in data["library"][0][0].items():
        lib0.setdefault(key.partition("@")[0], []).append(code)
    return {
        "open_s": open_s,
        "rss_open": rss_open,
        "rss_peak": rss_mb("VmHWM"),
        "p50": 1000 * statistics.median(times),
        "p95": 1000 * float(np.percentile(times, 95)),
        "recall": exact_recall() if kind == "exact" else found / truths,
        "add_ms": addition_ms(opened, lib0),
    }


def exact_recall() -> float:
    data = P.planted()
    truths = [q for q in data["queries"] if q["truth"] is not None]
    hits = sum(P.exact_hit(q["codes"], data["library"][q["truth"]][0]) for q in truths)
    return hits / len(truths)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pictures", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--ivf-min-codes", type=int, default=1_000_000)
    parser.add_argument("--kinds", default="exact,ivf,hnsw,usearch,multihash")
    parser.add_argument("--probe", nargs=3, metavar=("KIND", "FOLDER", "NPROBE"))
    parser.add_argument("--keep", action="store_true", help="keep the built files")
    args = parser.parse_args()
    if args.probe:
        kind, folder, nprobe = args.probe
        print(json.dumps(probe(kind, Path(folder), int(nprobe))))
        return
    from rich.console import Console
    from rich.table import Table

    P.planted()  # hash the queries once, before any timing
    reference = exact_recall()
    plans = []
    for kind in args.kinds.split(","):
        n = args.pictures if kind in ("exact", "ivf") else args.small
        nprobes = [32, 64, 128, 256] if kind == "ivf" else [0]
        plans.append((kind, n, nprobes))
    rows = []
    libs: dict[int, dict] = {}
    for kind, n, nprobes in plans:
        if n not in libs:
            libs.clear()
            libs[n] = library(n)
        folder = WORK / f"{kind}-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        seconds = build(kind, libs[n], folder, args.ivf_min_codes)
        (folder / "info.json").write_text(json.dumps({"pictures": n}))
        disk = sum(p.stat().st_size for p in folder.iterdir()) / 2**20
        for nprobe in nprobes:
            out = subprocess.run(
                [sys.executable, __file__, "--probe", kind, str(folder), str(nprobe)],
                capture_output=True,
                text=True,
                check=True,
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            label = f"{kind} nprobe {nprobe}" if nprobe else kind
            rows.append((label, n, seconds, disk, result))
            print(label, n, f"{seconds:.0f}s", result, file=sys.stderr, flush=True)
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    table = Table(
        title=f"first stage over every family; exact search finds {reference:.3f} of the "
        "edited copies' originals"
    )
    for col in (
        "structure",
        "pictures",
        "build s",
        "disk MiB",
        "open s",
        "RSS open MiB",
        "peak RSS MiB",
        "p50 ms",
        "p95 ms",
        "recall",
        "add ms",
    ):
        table.add_column(col, justify="right")
    for label, n, seconds, disk, r in rows:
        table.add_row(
            label,
            f"{n:,}",
            f"{seconds:.0f}",
            f"{disk:.0f}",
            f"{r['open_s']:.3f}",
            f"{r['rss_open']:.0f}",
            f"{r['rss_peak']:.0f}",
            f"{r['p50']:.1f}",
            f"{r['p95']:.1f}",
            f"{r['recall']:.3f}",
            f"{r['add_ms']:.2f}",
        )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
