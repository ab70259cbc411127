"""Where a query's matching time goes: features and matching CPU time per query, and the
matching time split by stage, on robustness.py's library and queries, in one process.

    .venv/bin/python benchmarks/match_speed.py [--every 3] [--families crop60,unrelated]
        [--limit N] [--save out.json] [--dense-log dense.jsonl]

The library (robustness.py's originals) is built once, in this process; each query is then
fingerprinted (features) and matched against it (matching), timed with process_time (CPU
time of this process: another process on the machine does not inflate it, as it does wall
time). Inside matching, each stage is timed where the matcher calls it:

    candidates   LibraryIndex.candidates: stage 1, every family's index lookup
    ORB verify   orb.verify: one-to-one ratio-test matches + RANSAC, per call
    query ORB    QueryView.feature when it has to take a region's keypoints then (tiles)
    dense        dense.compare: ECC alignment + band-passed NCC, per call
    fallback     QueryPrint.deep_codes + LibraryIndex.deep_candidates (deep-crop families)
    nearest      LibraryIndex.nearest (the nearest others, when fewer than k were found)
    other        what is left: ranking, edits, labels

--save writes robustness.py's --save format (plus each query's stage times), so
benchmarks/compare_saves.py can compare two runs' outcomes. --dense-log writes one JSON
line per dense check attempt (matcher._dense call): the keypoint counts and the detail
(mean_step of the thumbs) on both sides, the candidate's lead code, the ORB inliers found
before it, and what the dense check said. --paired matches each query a second time
with the code as it was before issue 17's speed work (class Reference), in the same
process and alternating which goes first, so the machine's load weighs on both alike,
and says whether any query's outcome differs.
"""

from __future__ import annotations

import argparse
import collections
import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))
from robustness import ensure_data, library_entries, library_item, selected_queries

HERE = Path(__file__).parent
STAGES = ["candidates", "ORB verify", "query ORB", "dense", "fallback", "nearest"]


class Clock:
    """CPU time and calls per stage for the query being matched; nested calls of the
    same stage count once (the outer call)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = collections.defaultdict(float)
        self.calls: dict[str, int] = collections.defaultdict(int)
        self.per_call: dict[str, list[float]] = collections.defaultdict(list)
        self.active: set[str] = set()
        self.enabled = True  # off: the wrapped functions run untimed

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()

    def wrap(self, stage: str, fn):
        def timed(*args, **kwargs):
            if stage in self.active or not self.enabled:
                return fn(*args, **kwargs)
            self.active.add(stage)
            t0 = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                spent = time.process_time() - t0
                self.active.discard(stage)
                self.seconds[stage] += spent
                self.calls[stage] += 1
                self.per_call[stage].append(spent)

        return timed


def instrument(clock: Clock, dense_log: list | None) -> None:
    from postcheck.verifiers import dense, matcher, orb, perceptual

    orb.verify = clock.wrap("ORB verify", orb.verify)
    dense.compare = clock.wrap("dense", dense.compare)
    index = matcher.LibraryIndex
    index.candidates = clock.wrap("candidates", index.candidates)
    index.deep_candidates = clock.wrap("fallback", index.deep_candidates)
    index.nearest = clock.wrap("nearest", index.nearest)
    perceptual.QueryPrint.deep_codes = clock.wrap("fallback", perceptual.QueryPrint.deep_codes)
    taken = perceptual.QueryView.feature

    def feature(view, box, flip):
        if (box, flip) in view.features or flip or box not in view.boxes:
            return taken(view, box, flip)
        return clock.wrap("query ORB", taken)(view, box, flip)

    perceptual.QueryView.feature = feature
    if dense_log is None:
        return
    checked = matcher._dense

    def logged(query, by_family, lib):
        result = checked(query, by_family, lib)
        check, cand = result
        lead = min(by_family.values(), key=lambda c: c.score)
        region = view_features(query, (lead.box, False) if not lead.flip else ("full", True))
        full = view_features(query, ("full", False))
        dense_log.append(
            {
                "lib_keypoints": None if lib is None else len(lib.des),
                "region_keypoints": region,  # the region that found it (ORB tried it first)
                "full_keypoints": full,
                "orb_inliers": max(c.distances.get("orb_inliers", 0) for c in by_family.values()),
                "known": None,  # filled in by the caller
                "ncc": None if check is None else round(check.ncc, 3),
                "overlap": None if check is None else round(check.overlap, 3),
                "confirmed": bool(check is not None and check.confirmed),
                "lib_step": None if lib is None or lib.thumb is None else mean_step(lib.thumb),
                "region_step": mean_step(query.view.thumb(cand.box, cand.flip))
                if cand.box in query.view.boxes
                else None,
                "lead": [lead.family, lead.distance, round(lead.score, 3)],
                "box": cand.box,
                "flip": cand.flip,
                "entry": cand.entry,
            }
        )
        return result

    matcher._dense = logged


def mean_step(gray) -> float:
    """Mean grey step between neighbouring pixels (of a dense-check thumb): its detail."""
    g = gray.astype(np.float32)
    return round(
        float(np.abs(np.diff(g, axis=1)).mean() + np.abs(np.diff(g, axis=0)).mean()) / 2, 3
    )


class Reference:
    """The matcher as it was before issue 17's speed work, swapped in and out in this
    process: orb.verify by BFMatcher and a loop (tests/test_orb_matching.py keeps it, as
    the reference), and each query region handed to the dense check whole (its thumb made
    again for every candidate)."""

    def __init__(self) -> None:
        from postcheck.verifiers import orb, perceptual

        sys.path.insert(0, str(HERE.parent / "tests"))
        from test_orb_matching import reference_verify

        self.orb, self.view = orb, perceptual.QueryView
        self.current = (orb.verify, perceptual.QueryView.thumb)
        self.before = (reference_verify, _whole_region)

    def use(self, before: bool) -> None:
        self.orb.verify, self.view.thumb = self.before if before else self.current


def _whole_region(view, box: str, flip: bool):
    x0, y0, x1, y1 = view.boxes[box]
    region = view.gray[y0:y1, x0:x1]
    return np.ascontiguousarray(region[:, ::-1]) if flip else region


def _found(matches) -> list:
    return [(m.known.id, [e.value for e in m.edits], m.stage) for m in matches if m.is_match]


def view_features(query, key) -> int | None:
    """Keypoints already taken for a query region (None: not taken; nothing is computed)."""
    feats = query.view.features.get(key)
    return None if feats is None else len(feats.des)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=HERE / "data")
    parser.add_argument("--every", type=int, default=3, help="every n-th query (default 3)")
    parser.add_argument("--families", help="comma-separated edit families; 'unrelated' too")
    parser.add_argument("--limit", type=int, help="the first N queries (after --every)")
    parser.add_argument("--save", type=Path, help="robustness.py's --save format")
    parser.add_argument("--dense-log", type=Path, help="one JSON line per dense check")
    parser.add_argument(
        "--paired",
        action="store_true",
        help="also match each query with the code as it was before (Reference), in the "
        "same process, alternating which goes first: a before/after that the machine's "
        "load does not skew",
    )
    args = parser.parse_args()
    import faiss

    faiss.omp_set_num_threads(1)  # as postcheck's processes run it (known_index.OnDiskIndex)
    if args.paired and args.dense_log:
        parser.error("--dense-log would log both runs' dense checks: run it without --paired")

    photos, queries_dir = ensure_data(args.data)
    manifest = json.loads((queries_dir / "manifest.json").read_text())
    originals = manifest["originals"]
    queries = selected_queries(manifest["queries"], args.families, args.every)[: args.limit]

    from postcheck.verifiers import perceptual
    from postcheck.verifiers.matcher import LibraryIndex, match

    t0 = time.perf_counter()
    entries, features = library_entries([library_item(str(photos / n)) for n in originals])
    index = LibraryIndex(entries)
    library_s = time.perf_counter() - t0

    clock = Clock()
    dense_log: list | None = [] if args.dense_log else None
    instrument(clock, dense_log)
    reference = Reference() if args.paired else None
    rows = []
    t0 = time.perf_counter()
    for n, q in enumerate(queries, start=1):
        path = str(queries_dir / q["file"])
        f0 = time.process_time()
        query = perceptual.query_print(path)
        f1 = time.process_time()
        features_s = f1 - f0
        twin = copy.deepcopy(query) if reference else None  # lazily taken parts not shared
        clock.reset()
        logged = len(dense_log) if dense_log is not None else 0
        paired = {}
        if reference and n % 2:
            paired = _match_before(reference, clock, match, twin, index, features)
        f1 = time.process_time()
        matches = match(query, index, lambda e, v: features[e.known_id], k=1)
        f2 = time.process_time()
        row = {
            **q,
            "found": _found(matches),
            "features_s": features_s,
            "match_s": f2 - f1,
            "stages_s": dict(clock.seconds),
            "calls": dict(clock.calls),
        }
        if reference and not n % 2:
            paired = _match_before(reference, clock, match, twin, index, features)
        rows.append({**row, **paired})
        if dense_log is not None:
            truth = originals.index(q["truth"]) + 1 if q["truth"] else None
            for record in dense_log[logged:]:
                record["known"] = entries[record.pop("entry")].known_id
                record["query"] = q["file"]
                record["truth"] = truth
                record["texture"] = manifest["texture"].get(q.get("photo") or q["truth"] or "")
        if n % 200 == 0:
            print(f"{n}/{len(queries)} queries, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    if args.save:
        args.save.write_text(json.dumps(rows))
    if args.dense_log:
        args.dense_log.write_text("".join(json.dumps(r) + "\n" for r in dense_log))
    report(rows, clock, len(originals), library_s, time.perf_counter() - t0)


def _match_before(reference: Reference, clock: Clock, match, query, index, features) -> dict:
    reference.use(before=True)
    clock.enabled = False
    t0 = time.process_time()
    try:
        matches = match(query, index, lambda e, v: features[e.known_id], k=1)
    finally:
        spent = time.process_time() - t0
        clock.enabled = True
        reference.use(before=False)
    return {"found_before": _found(matches), "match_before_s": spent}


def report(rows: list[dict], clock: Clock, n_library: int, library_s: float, wall: float) -> None:
    ms = 1000.0
    feat = np.array([r["features_s"] for r in rows]) * ms
    match_ = np.array([r["match_s"] for r in rows]) * ms
    total = match_.sum()
    console = Console(width=max(Console().width, 132))
    head = Table(
        title=f"{len(rows)} queries against {n_library} library pictures "
        f"(built in {library_s:.0f} s; queries {wall:.0f} s wall) — CPU ms per query"
    )
    for col in ("", "median", "p95", "mean"):
        head.add_column(col, justify="right" if col else "left")
    for name, values in (("features", feat), ("matching", match_)):
        head.add_row(name, *_summary(values))
    for name, keep in (
        ("matching, matched queries", lambda r: r["found"]),
        ("matching, nothing found", lambda r: not r["found"]),
    ):
        values = np.array([r["match_s"] for r in rows if keep(r)]) * ms
        if len(values):
            head.add_row(f"{name} ({len(values)})", *_summary(values))
    console.print(head)

    table = Table(title="matching time by stage (CPU)")
    for col in (
        "stage",
        "calls / query",
        "queries calling",
        "ms / call median",
        "ms / call p95",
        "ms / query mean",
        "share of matching",
    ):
        table.add_column(col, justify="left" if col == "stage" else "right")
    accounted = 0.0
    for stage in STAGES:
        spent = sum(r["stages_s"].get(stage, 0.0) for r in rows) * ms
        calls = sum(r["calls"].get(stage, 0) for r in rows)
        callers = sum(1 for r in rows if r["calls"].get(stage))
        per_call = np.array(clock.per_call.get(stage, [0.0])) * ms
        accounted += spent
        table.add_row(
            stage,
            f"{calls / len(rows):.2f}",
            str(callers),
            f"{np.median(per_call):.2f}" if calls else "-",
            f"{np.percentile(per_call, 95):.2f}" if calls else "-",
            f"{spent / len(rows):.2f}",
            f"{100 * spent / total:.0f} %" if total else "-",
        )
    table.add_row(
        "other",
        "",
        "",
        "",
        "",
        f"{(total - accounted) / len(rows):.2f}",
        f"{100 * (total - accounted) / total:.0f} %" if total else "-",
    )
    table.add_row("matching", "", "", "", "", f"{total / len(rows):.2f}", "100 %")
    console.print(table)
    outcomes = collections.Counter(
        "dense" if any("dense check" in (f[2] or "") for f in r["found"]) else "other" for r in rows
    )
    console.print(f"queries proven through the dense check: {outcomes['dense']}")
    paired = [r for r in rows if "match_before_s" in r]
    if paired:
        before = np.array([r["match_before_s"] for r in paired]) * ms
        after = np.array([r["match_s"] for r in paired]) * ms
        table = Table(title="matching, the code before and now on the same queries (CPU ms)")
        for col in ("", "median", "p95", "mean"):
            table.add_column(col, justify="right" if col else "left")
        for name, values in (("before", before), ("now", after)):
            table.add_row(name, *_summary(values))
        console.print(table)
        differ = [r["file"] for r in paired if r["found"] != r["found_before"]]
        console.print(
            f"queries whose outcome differs (matches, edits, the stage's wording): "
            f"{len(differ)} of {len(paired)}" + (f": {', '.join(differ[:20])}" if differ else "")
        )


def _summary(values: np.ndarray) -> tuple[str, str, str]:
    """A table row's median, p95 and mean (ms)."""
    return (
        f"{np.median(values):.1f}",
        f"{np.percentile(values, 95):.1f}",
        f"{values.mean():.1f}",
    )


if __name__ == "__main__":
    main()
