"""The deep-crop fallback's index (family orbkp: 32 ORB descriptors per known picture) at
archive scale: size per picture, build time, and the cost and recall of one lookup.

    .venv/bin/python benchmarks/deep_index_scale.py [--sizes 100000,1000000] [--queries 60]

The library is the 80 real benchmark originals (benchmarks/data, as robustness.py uses)
among synthetic pictures whose descriptors are real ORB descriptors of a quarter of the unrelated photos
with 40 of their 256 bits flipped (so they are spread as real descriptors are, not
uniformly). Each size is built as the on-disk index builds a family
(known_index.build_family: IVF once past index_ivf_min_codes, about 4 sqrt(n) lists); a
lookup is a query's 200 most distinctive descriptors (crop60 edits of the originals),
range-searched at the family's threshold, votes counted per picture as the matcher does.
Reported per size and nprobe: lookup median and p95, the share of queries whose original
still gets the votes it needs (against the exact flat search at the same size), and the
false candidates (other pictures with enough votes) per query, which ORB must refuse: at
most DEEP_SHORTLIST (3) of them are verified.
"""

from __future__ import annotations

import argparse
import json
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


def votes(index, owners: np.ndarray, queries: np.ndarray, radius: int) -> dict[int, int]:
    """The on-disk index's own vote count (known_index.add_votes), on one table."""
    voters: dict[int, set[int]] = {}
    add_votes(index, owners, np.ascontiguousarray(queries), radius, voters)
    return {o: len(v) for o, v in voters.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--nprobe", default="16,64")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--ivf-min",
        type=int,
        help="codes from which the family is an IVF index (default: "
        "the on-disk index's setting, index_ivf_min_codes)",
    )
    args = parser.parse_args()
    from postcheck.known_index import build_family
    from postcheck.settings import Settings
    from postcheck.verifiers.families.orbkp import OrbKP

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
    ivf_min = args.ivf_min or Settings().index_ivf_min_codes
    console = Console()
    table = Table(
        title=f"orbkp lookups: {len(crops)} crop60 queries ({fam.threshold} bits, "
        f"{fam.min_votes} votes), 32 codes a picture"
    )
    for col in (
        "pictures",
        "codes",
        "index MiB",
        "bytes/picture",
        "build s",
        "kind",
        "nprobe",
        "lookup p50 ms",
        "p95 ms",
        "original found",
        "false cand./query",
    ):
        table.add_column(col, justify="right")
    rng = np.random.default_rng(0)
    faiss.omp_set_num_threads(1)
    for n in [int(s) for s in args.sizes.split(",")]:
        fill = n - len(lib)
        rows = rng.integers(0, len(pool_des), fill * 32)
        codes = pool_des[rows]
        bits = np.unpackbits(codes, axis=1)
        flips = rng.random(bits.shape).argsort(axis=1)[:, :40]  # 40 bits of 256 flipped
        np.put_along_axis(bits, flips, 1 - np.take_along_axis(bits, flips, axis=1), axis=1)
        codes = np.packbits(bits, axis=1)
        del bits, flips
        owners = np.concatenate(
            [
                np.repeat(np.arange(len(lib)), [len(c) for c in lib]),
                len(lib) + np.repeat(np.arange(fill), 32),
            ]
        ).astype(np.int64)
        allcodes = np.ascontiguousarray(np.concatenate([*lib, codes]))
        del codes
        t0 = time.perf_counter()
        faiss.omp_set_num_threads(2)
        index = build_family(allcodes, 256, ivf_min, 64)
        faiss.omp_set_num_threads(1)
        build = time.perf_counter() - t0
        kind = "ivf" if isinstance(index, faiss.IndexBinaryIVF) else "flat"
        size_mib = (allcodes.nbytes + 4 * len(owners)) / 2**20
        exact = None
        if kind == "ivf" and n <= 200_000:
            flat = faiss.IndexBinaryFlat(256)
            flat.add(allcodes)
            exact = [votes(flat, owners, q, fam.threshold) for q in queries]
        for nprobe in [int(p) for p in args.nprobe.split(",")] if kind == "ivf" else [0]:
            if kind == "ivf":
                index.nprobe = nprobe
            times, found, false = [], 0, 0
            for q, truth in zip(queries, truths, strict=True):
                t0 = time.perf_counter()
                v = votes(index, owners, q, fam.threshold)
                times.append(time.perf_counter() - t0)
                found += v.get(truth, 0) >= fam.min_votes
                false += sum(1 for o, c in v.items() if o != truth and c >= fam.min_votes)
            exact_found = (
                sum(e.get(t, 0) >= fam.min_votes for e, t in zip(exact, truths, strict=True))
                if exact
                else None
            )
            table.add_row(
                f"{n:,}",
                f"{len(allcodes):,}",
                f"{size_mib:.0f}",
                f"{(allcodes.nbytes + 4 * len(owners)) / n:.0f}",
                f"{build:.0f}",
                kind,
                str(nprobe or "-"),
                f"{1000 * np.median(times):.1f}",
                f"{1000 * np.percentile(times, 95):.1f}",
                f"{found}/{len(queries)}"
                + (f" (exact {exact_found})" if exact_found is not None else ""),
                f"{false / len(queries):.2f}",
            )
        del index, allcodes, owners
        console.print(table)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
