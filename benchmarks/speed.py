"""Speed: (1) hashing 12-megapixel JPEGs, postcheck against plain imagehash.phash;
(2) one query against 10k, 100k and 1M known pictures (synthetic codes for the bulk of the
library, the 40 real benchmark originals planted in it, real edited queries).

    .venv/bin/python benchmarks/speed.py [--sizes 10000,100000,1000000] [--queries 100]
        [--rounds 4] [--skip-hashing]

Needs the benchmark photos and queries (benchmarks/robustness.py fetches and builds them).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from postcheck.verifiers import imaging, perceptual
from postcheck.verifiers.families import families

HERE = Path(__file__).parent
# The real 12-megapixel photos of the set (baseline and progressive JPEG).
BIG = [
    "digikam__body-background.jpg",
    "lomiri16__sunset_by_Aitzol_Berasategi.jpg",
    "lomiri16__Dragonfly_by_Bolly.jpg",
    "lomiri16__seeding_by_Clements_Engelhardt.jpg",
    "lomiri20__Kleiber_by_Lukas_Baubkus.jpg",
]


def best_of(fn, path, repeat=3) -> float:
    fn(path)  # warm the file cache
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
    return min(times)


# Module level, so the throughput run's worker processes can be handed them.
def _plain_phash(path: str) -> str:
    return str(imagehash.phash(Image.open(path)))


def _ours_phash(path: str) -> bytes:
    return families()["phash"].code(imaging.open_for_hashing(path))


def _ours_library(path: str):
    return perceptual.fingerprint(path).hashes


def hashing(photos: Path, console: Console) -> None:
    table = Table(title="hashing one 12-megapixel JPEG (single thread, best of 3)")
    for col in (
        "photo",
        "MP",
        "progressive",
        "imagehash.phash",
        "postcheck pHash",
        "x faster",
        "full library fingerprint",
        "x faster",
    ):
        table.add_column(col, justify="right")
    for name in BIG:
        path = photos / name
        if not path.exists():
            continue
        with Image.open(path) as img:
            mp = img.size[0] * img.size[1] / 1e6
            progressive = bool(img.info.get("progressive") or img.info.get("progression"))
        base, ph, lib = (best_of(f, path) for f in (_plain_phash, _ours_phash, _ours_library))
        table.add_row(
            name[:30],
            f"{mp:.1f}",
            "yes" if progressive else "no",
            f"{base * 1000:.0f} ms",
            f"{ph * 1000:.0f} ms",
            f"{base / ph:.1f}",
            f"{lib * 1000:.0f} ms",
            f"{base / lib:.1f}",
        )
    console.print(table)


def camera_quality_copies(photos: Path, out: Path) -> list[Path]:
    """The big photos re-saved at JPEG quality 85, 4:2:0: what phone cameras write. The set's
    own files are wallpapers saved at quality 95+, whose entropy decoding (which draft mode
    cannot skip) costs twice as much."""
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for name in BIG:
        src, dst = photos / name, out / f"q85-{name}"
        if src.exists():
            if not dst.exists():
                with Image.open(src) as img:
                    img.convert("RGB").save(dst, "JPEG", quality=85, subsampling=2)
            made.append(dst)
    return made


def throughput(photos: Path, console: Console, rounds: int) -> None:
    """Images per second over the big JPEGs, one process and a pool on every core (the pool
    `postcheck known import` uses)."""
    from concurrent.futures import ProcessPoolExecutor

    sets = {
        "set's own files": [photos / n for n in BIG if (photos / n).exists()],
        "re-saved at q85 (camera-like)": camera_quality_copies(photos, photos.parent / "q85"),
    }
    workers = os.cpu_count() or 1
    table = Table(title=f"hashing throughput on 12-20 MP JPEGs, images/s ({rounds} rounds)")
    for col in ("files", "method", "1 process", "x plain", f"{workers} processes", "x plain"):
        table.add_column(col, justify="right")
    for label, files in sets.items():
        if not files:
            continue
        jobs = [str(f) for f in files] * rounds
        base = None  # plain imagehash.phash, (1 process, every core)
        for method, fn in (
            ("imagehash.phash", _plain_phash),
            ("postcheck pHash", _ours_phash),
            ("postcheck full fingerprint", _ours_library),
        ):
            for f in files:  # warm the file cache
                fn(str(f))
            t0 = time.perf_counter()
            for j in jobs:
                fn(j)
            one = len(jobs) / (time.perf_counter() - t0)
            with ProcessPoolExecutor(max_workers=workers) as pool:
                list(pool.map(fn, [str(f) for f in files] * workers))  # start and warm workers
                t0 = time.perf_counter()
                list(pool.map(fn, jobs))
                many = len(jobs) / (time.perf_counter() - t0)
            base = base or (one, many)
            table.add_row(
                label,
                method,
                f"{one:.1f}",
                f"{one / base[0]:.1f}",
                f"{many:.1f}",
                f"{many / base[1]:.1f}",
            )
    console.print(table)


def synthetic_entries(n: int, start: int, rng: np.random.Generator):
    from postcheck.verifiers.matcher import IndexEntry
    from postcheck.verifiers.regions import WINDOWS

    variants = ["", "trim", *WINDOWS]
    dct = rng.integers(0, 256, size=(n, len(variants), 32), dtype=np.uint8)
    bow = rng.integers(0, 256, size=(n, 128), dtype=np.uint8)
    ph = rng.integers(0, 256, size=(n, 2, 8), dtype=np.uint8)
    for i in range(n):
        codes = {
            ("dct256@" + v if v else "dct256"): dct[i, j].tobytes() for j, v in enumerate(variants)
        }
        codes["bow1024"] = bow[i].tobytes()
        codes["phash"], codes["dhash"] = ph[i, 0].tobytes(), ph[i, 1].tobytes()
        yield IndexEntry(start + i, f"synthetic-{start + i}", codes, 10.0)


def latency(data: Path, sizes: list[int], n_queries: int, console: Console) -> None:
    from concurrent.futures import ProcessPoolExecutor

    import faiss

    from postcheck.verifiers.matcher import IndexEntry, LibraryIndex

    faiss.omp_set_num_threads(os.cpu_count() or 1)  # building the IVF index uses every core
    manifest = json.loads((data / "queries" / "manifest.json").read_text())
    originals = manifest["originals"]
    with ProcessPoolExecutor() as pool:
        prints = list(
            pool.map(perceptual.fingerprint, [str(data / "photos" / f) for f in originals])
        )
    real = [
        IndexEntry(
            i + 1,
            f"orig-{i + 1}",
            {k: bytes.fromhex(v) for k, v in fp.hashes.items()},
            fp.colourfulness,
        )
        for i, fp in enumerate(prints)
    ]
    rng = np.random.default_rng(0)
    picked = [q for q in manifest["queries"] if q["truth"]]
    picked = [
        picked[i] for i in rng.choice(len(picked), min(n_queries, len(picked)), replace=False)
    ]
    queries = [
        (perceptual.query_print(str(data / "queries" / q["file"])), originals.index(q["truth"]) + 1)
        for q in picked
    ]
    table = Table(
        title=f"one query (stage 1: every hash family's index), {len(queries)} real edited queries"
    )
    for col in (
        "known pictures",
        "codes",
        "index",
        "build s",
        "median ms",
        "p95 ms",
        "true original found",
    ):
        table.add_column(col, justify="right")
    for size in sizes:
        t0 = time.perf_counter()
        index = LibraryIndex(real)
        index.extend(synthetic_entries(size - len(real), len(real) + 1, rng))
        codes = sum(len(t) for t in index.tables.values())
        runs = [("exact (faiss flat)", None)] if size <= 100_000 else []
        runs += [(f"IVF, nprobe {n}", n) for n in (16, 64)]
        build = time.perf_counter() - t0
        for mode, nprobe in runs:
            if nprobe is not None:
                t0 = time.perf_counter()
                for table_ in index.tables.values():
                    if table_.ivf is None:
                        table_.build_ivf()
                    table_.ivf.nprobe = nprobe
                build_ivf = time.perf_counter() - t0
            times, found = [], 0
            for query, truth in queries:
                t0 = time.perf_counter()
                candidates = index.candidates(query)
                times.append(time.perf_counter() - t0)
                found += any(index.entries[e].known_id == truth for e in candidates)
            table.add_row(
                f"{size:,}",
                f"{codes:,}",
                mode,
                f"{build:.0f}" if nprobe is None else f"{build_ivf:.0f}",
                f"{1000 * statistics.median(times):.1f}",
                f"{1000 * float(np.percentile(times, 95)):.1f}",
                f"{found}/{len(queries)}",
            )
            build_ivf = 0.0
        del index
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--skip-hashing", action="store_true")
    parser.add_argument("--rounds", type=int, default=4, help="passes over the big JPEGs")
    args = parser.parse_args()
    console = Console()
    if not args.skip_hashing:
        hashing(args.data / "photos", console)
        throughput(args.data / "photos", console, args.rounds)
    latency(args.data, [int(s) for s in args.sizes.split(",")], args.queries, console)


if __name__ == "__main__":
    main()
