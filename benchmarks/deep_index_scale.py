"""The deep-crop fallback's index (family orbkp: 32 ORB descriptors per known picture) at
archive scale: size, build time, and what one lookup costs a fresh process and finds.

    .venv/bin/python benchmarks/deep_index_scale.py [--sizes 100000,1000000] [--queries 60]
        [--lists auto|4096,16384] [--nprobe 8,16,32]

The library is the 80 real benchmark originals (benchmarks/data, as robustness.py uses)
among synthetic pictures whose descriptors are real ORB descriptors of a quarter of the
unrelated photos with about 40 of their 256 bits flipped (spread as real descriptors are,
not uniformly; made a chunk at a time, so 10^6 pictures fit in memory). Each size and list
count is built as the on-disk index builds the family (known_index.build_family), written
to a file and mapped as a process maps it (IO_FLAG_MMAP). A lookup is the 200 descriptors the
family takes of a query (crop60 edits of the originals; coarser pyramid levels first, then
the most distinctive: OrbKP.query_codes), and again with its mirror image's 100 (what the
matcher looks up: 300 codes), range-searched at the family's
threshold, votes counted per picture as the index does (known_index.add_votes).

Reported per size, lists and nprobe: the first lookup after the page cache was dropped
(what a process pays that finds the file on disk, not in memory; root only, "-" else),
then CPU (thread time: faiss runs one thread, as in postcheck) and wall time per lookup,
the process's RSS, how many originals still get the votes they need (the exact search's
count is in the title: it depends on the original's own codes only) and how many of them
are among the DEEP_SHORTLIST most voted, so verified (votes per orientation, ties
against it), and the false
candidates (other pictures with enough votes) per query, which ORB must refuse: at most
DEEP_SHORTLIST (3) of them are verified.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import faiss
import numpy as np
from rich.console import Console
from rich.table import Table

from postcheck.known_index import add_votes

HERE = Path(__file__).parent


def _library(path: str) -> np.ndarray:
    from postcheck.verifiers import perceptual
    from postcheck.verifiers.families.orbkp import OrbKP

    codes = OrbKP().library_codes(perceptual.library_view(path))
    return np.frombuffer(b"".join(codes.values()), np.uint8).reshape(-1, 32)


def _pool(path: str) -> np.ndarray:
    from postcheck.verifiers import perceptual

    return perceptual.library_view(path).features.des


def _query(path: str) -> np.ndarray:
    from postcheck.verifiers import perceptual
    from postcheck.verifiers.families.orbkp import OrbKP

    codes = OrbKP().query_codes(perceptual.query_view(path))
    return np.frombuffer(b"".join(c.code for c in codes), np.uint8).reshape(-1, 32)


def in_shortlist(index, owners: np.ndarray, q: np.ndarray, truth: int, fam) -> bool:
    """Whether the matcher would verify the original: its votes, counted per orientation
    as the matcher counts them (the first QUERY_KEEP codes as the query is, the rest its
    mirror image's), among the DEEP_SHORTLIST most voted (ties counted against it)."""
    from postcheck.verifiers.families.orbkp import QUERY_KEEP
    from postcheck.verifiers.matcher import DEEP_SHORTLIST

    ranked = []
    for flip, part in ((False, q[:QUERY_KEEP]), (True, q[QUERY_KEEP:])):
        if len(part):
            v = votes(index, owners, part, fam.threshold)
            ranked += [(c, o == truth and not flip) for o, c in v.items() if c >= fam.min_votes]
    mine = max((c for c, hit in ranked if hit), default=0)
    return mine > 0 and sum(1 for c, hit in ranked if not hit and c >= mine) < DEEP_SHORTLIST


def votes(index, owners: np.ndarray, queries: np.ndarray, radius: int) -> dict[int, int]:
    """The on-disk index's own vote count (known_index.add_votes), on one table."""
    voters: dict[int, set[int]] = {}
    add_votes(index, owners, np.ascontiguousarray(queries), radius, voters)
    return {o: len(v) for o, v in voters.items()}


def synthetic(pool_des: np.ndarray, rows: int, rng, chunk: int = 1 << 19) -> np.ndarray:
    """`rows` real descriptors drawn from the pool, each with about 40 of its 256 bits
    flipped (each bit with p = 40/256), made a chunk at a time (a million pictures are 32
    million codes: unpacked at once they would need tens of GB)."""
    out = np.empty((rows, 32), np.uint8)
    for start in range(0, rows, chunk):
        n = min(chunk, rows - start)
        flips = np.packbits(rng.random((n, 256), dtype=np.float32) < 40 / 256, axis=1)
        out[start : start + n] = pool_des[rng.integers(0, len(pool_des), n)] ^ flips
    return out


def drop_page_cache() -> bool:
    """Forget the mapped index's pages, as a machine that has not searched it lately has
    (root only): the first lookup then reads what it probes from disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument(
        "--lists",
        default="auto",
        help="comma-separated IVF list counts to try ('auto': the family's own rule)",
    )
    parser.add_argument("--nprobe", default="8,16,32")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--work", type=Path, default=HERE / "data" / "deep-scale")
    args = parser.parse_args()
    from postcheck.known_index import build_family, family_lists
    from postcheck.verifiers.families.orbkp import QUERY_KEEP, OrbKP

    fam = OrbKP()
    manifest = json.loads((args.data / "queries" / "manifest.json").read_text())
    originals = manifest["originals"]
    photos = args.data / "photos"
    crops = [q for q in manifest["queries"] if q["family"] == "crop60"]
    crops = crops[:: max(1, len(crops) // args.queries)][: args.queries]
    with ProcessPoolExecutor(args.jobs) as pool:
        lib = list(pool.map(_library, [str(photos / f) for f in originals]))
        pool_des = np.concatenate(
            list(
                pool.map(_pool, [str(photos / f) for f in manifest["unrelated"][::4]], chunksize=8)
            )
        )
        queries = list(pool.map(_query, [str(args.data / "queries" / q["file"]) for q in crops]))
    truths = [originals.index(q["truth"]) for q in crops]
    # The exact search's answer for the original: its votes depend on its own codes only.
    exact_found = 0
    for q, t in zip(queries, truths, strict=True):
        flat = faiss.IndexBinaryFlat(256)
        flat.add(lib[t])
        own = votes(flat, np.zeros(len(lib[t]), np.int32), q, fam.threshold)
        exact_found += own.get(0, 0) >= fam.min_votes
    console = Console(width=200)
    table = Table(
        title=f"orbkp lookups: {len(crops)} crop60 queries ({fam.threshold} bits, "
        f"{fam.min_votes} votes), 32 codes a picture; the exact search finds "
        f"{exact_found} of the originals"
    )
    for col in (
        "pictures",
        "codes",
        "lists",
        "index MiB",
        "build s",
        "nprobe",
        "query codes",
        "cold first ms",
        "cpu p50 ms",
        "cpu p95 ms",
        "wall p50 ms",
        "RSS MiB",
        "original found",
        "in the top 3",
        "false cand./query",
    ):
        table.add_column(col, justify="right")
    rng = np.random.default_rng(0)
    args.work.mkdir(parents=True, exist_ok=True)
    for n in [int(s) for s in args.sizes.split(",")]:
        fill = n - len(lib)
        allcodes = np.concatenate([*lib, synthetic(pool_des, fill * 32, rng)])
        owners = np.concatenate(
            [
                np.repeat(np.arange(len(lib)), [len(c) for c in lib]),
                len(lib) + np.repeat(np.arange(fill), 32),
            ]
        ).astype(np.int32)
        lists = (
            [family_lists(fam.name, len(allcodes))]
            if args.lists == "auto"
            else [int(x) for x in args.lists.split(",")]
        )
        for nlist in lists:
            t0 = time.perf_counter()
            faiss.omp_set_num_threads(args.jobs)
            index = build_family(allcodes, 256, 1, 64, nlist=nlist)
            faiss.omp_set_num_threads(1)
            build = time.perf_counter() - t0
            path = args.work / f"orbkp-{n}-{nlist}.faissb"
            faiss.write_index_binary(index, str(path))
            del index
            size_mib = (path.stat().st_size + 4 * len(owners)) / 2**20
            for nprobe, take in [
                (int(p), t) for p in args.nprobe.split(",") for t in (QUERY_KEEP, None)
            ]:
                # The first QUERY_KEEP codes are the query as it is; the rest its mirror
                # image's (which a crop that is not mirrored gets no votes from, but pays).
                looked = [q[:take] for q in queries]
                cold = drop_page_cache()
                t0 = time.perf_counter()
                index = faiss.read_index_binary(str(path), faiss.IO_FLAG_MMAP)
                index.nprobe = nprobe
                votes(index, owners, looked[0], fam.threshold)
                first = time.perf_counter() - t0
                cpu, wall, found, top, false = [], [], 0, 0, 0
                for q, truth in zip(looked, truths, strict=True):
                    c0, t0 = time.thread_time(), time.perf_counter()
                    v = votes(index, owners, q, fam.threshold)
                    cpu.append(time.thread_time() - c0)
                    wall.append(time.perf_counter() - t0)
                    found += v.get(truth, 0) >= fam.min_votes
                    false += sum(1 for o, c in v.items() if o != truth and c >= fam.min_votes)
                    top += in_shortlist(index, owners, q, truth, fam)
                table.add_row(
                    f"{n:,}",
                    f"{len(allcodes):,}",
                    f"{nlist:,}",
                    f"{size_mib:.0f}",
                    f"{build:.0f}",
                    str(nprobe),
                    str(len(looked[0])),
                    f"{1000 * first:.0f}" if cold else "-",
                    f"{1000 * np.median(cpu):.1f}",
                    f"{1000 * np.percentile(cpu, 95):.1f}",
                    f"{1000 * np.median(wall):.1f}",
                    f"{rss_mib():.0f}",
                    f"{found}/{len(queries)}",
                    f"{top}/{len(queries)}",
                    f"{false / len(queries):.2f}",
                )
                del index
            path.unlink()
        del allcodes, owners
        console.print(table)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
