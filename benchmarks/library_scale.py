"""The known library at archive scale: a fresh-process `postcheck check` against 100k and
1M known pictures, end to end, with a running Prefect server.

    .venv/bin/python benchmarks/library_scale.py [--sizes 100000,1000000] [--keep]
        [--database-url URL] [--queries 300] [--import-files 300]

For each size, in benchmarks/data/scale-<n>/ (deleted afterwards unless --keep):

1. build: synthetic pictures (random codes, as benchmarks/planted.py makes them) through
   the store's bulk path (Store.add_known_many, what `known import` writes with), then the
   40 real benchmark originals by `known import`, then `postcheck known reindex`;
2. disk: the database, the index folder;
3. check: `postcheck check <edited copy of a planted photo> --json` in a fresh process, for
   five edits; wall time and peak RSS of the process tree; where the time went, from
   Prefect's own task runs (hash-media, match-media, read-metadata, record-check,
   publish-report) and a separate fresh-process import of the CLI;
4. probe (a fresh process): index open, query features, query (candidates from the index,
   their codes from the store, stage 2 of the matcher) p50/p95 over --queries edited
   copies; recall against the same queries matched exactly against the 40 originals alone;
   one addition (store + index append), and that it rebuilt nothing;
5. import: `known import` of --import-files new pictures into this library and into an
   empty one (seconds per picture), and 10,000 pictures through the import's write path.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import planted as P

HERE = Path(__file__).parent
QUERY_FAMILIES = ["jpeg", "crop", "mirror", "caption", "screenshot"]


def du(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def run_measured(cmd: list[str], env: dict[str, str], timeout: float = 7200) -> dict:
    """Wall time and peak RSS (sum over the process and its children, sampled)."""
    import psutil

    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    ps = psutil.Process(proc.pid)
    peak = 0
    out_chunks: list[str] = []
    import threading

    def drain() -> None:
        out_chunks.append(proc.stdout.read())

    reader = threading.Thread(target=drain)
    reader.start()
    while proc.poll() is None:
        try:
            rss = ps.memory_info().rss + sum(
                c.memory_info().rss for c in ps.children(recursive=True)
            )
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.1)
        if time.perf_counter() - t0 > timeout:
            proc.kill()
    reader.join()
    err = proc.stderr.read()
    return {
        "seconds": time.perf_counter() - t0,
        "peak_mb": peak / 2**20,
        "code": proc.returncode,
        "stdout": "".join(out_chunks),
        "stderr": err,
    }


# --- building ----------------------------------------------------------------------------


def synthetic_items(n: int, seed: int):
    from postcheck.domain import Fingerprint, StoredMedia
    from postcheck.store.store import NewKnown
    from postcheck.verifiers.families import codeset, families

    layout = P.code_layout()
    fams = families()
    from postcheck.verifiers.regions import WINDOWS

    variants = ["", "trim", *WINDOWS]
    rng = np.random.default_rng(seed)
    shas = rng.integers(0, 256, size=(n, 32), dtype=np.uint8)
    blocks = {
        name: rng.integers(0, 256, size=(n, per, bits // 8), dtype=np.uint8)
        for name, (bits, per) in layout.items()
    }
    for i in range(n):
        hashes = {}
        for name, block in blocks.items():
            if fams[name].codes_per_value > 1:  # packed into one stored value (orbkp)
                hashes[name] = block[i].tobytes().hex()
                continue
            for j in range(block.shape[1]):
                v = variants[j] if block.shape[1] > 1 else ""
                hashes[f"{name}@{v}" if v else name] = block[i, j].tobytes().hex()
        yield NewKnown(
            StoredMedia(
                sha256=shas[i].tobytes().hex(),
                path="",
                size=1,
                format="JPEG",
                mime="image/jpeg",
                width=1024,
                height=768,
            ),
            # the current code set: the synthetic codes stand for codes taken now
            Fingerprint(hashes=hashes, quality=0.5, colourfulness=10.0, codeset=codeset()),
            origin="import",
            source_url=f"https://archive.example/{seed}/{i}",
        )


def bulk_insert(store, n: int, seed: int, batch: int = 5000) -> float:
    t0 = time.perf_counter()
    items = []
    for item in synthetic_items(n, seed):
        items.append(item)
        if len(items) >= batch:
            store.add_known_many(items)
            items = []
    if items:
        store.add_known_many(items)
    return time.perf_counter() - t0


def env_for(folder: Path, api: str, db_url: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "POSTCHECK_DATA_DIR": str(folder / "data"),
            "PREFECT_API_URL": api,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        }
    )
    if db_url:
        env["POSTCHECK_DATABASE_URL"] = db_url
    else:
        env.pop("POSTCHECK_DATABASE_URL", None)
    return env


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "postcheck.cli", *args]


# --- the probe (a fresh process on the built library) ---------------------------------------


def vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def probe(n_queries: int) -> dict:
    from postcheck.known_index import Manifest
    from postcheck.services import services
    from postcheck.verifiers import perceptual
    from postcheck.verifiers.matcher import IndexEntry, LibraryIndex, match

    data = P.planted()
    _, queries_dir = P.ensure_photos()
    svc = services()
    t0 = time.perf_counter()
    svc.library.refresh()
    open_s = time.perf_counter() - t0
    rss_open = vm("VmRSS")
    # The planted originals' known ids, by their file names.
    names = {k.original_name: k.id for k in _known_named(svc, data["originals"])}
    truth_ids = [names.get(f) for f in data["originals"]]
    # The exact reference: the same matcher over the 40 originals alone, with their ORB
    # features from their files as the real path takes them.
    photos, _ = P.ensure_photos()
    exact = LibraryIndex(
        IndexEntry(i, f"o{i}", codes, colour) for i, (codes, colour) in enumerate(data["library"])
    )
    feats = [perceptual.library_view(photos / f).features for f in data["originals"]]
    picked = [q for q in data["queries"] if q["truth"] is not None]
    picked = picked[:: max(1, len(picked) // n_queries)][:n_queries]
    feat_t, query_t, index_t, found, found_exact = [], [], [], 0, 0
    for q in picked:
        t0 = time.perf_counter()
        qp = perceptual.query_print(str(queries_dir / q["file"]))
        t1 = time.perf_counter()
        index = svc.library.candidates(qp)
        t_index = time.perf_counter()
        matches = match(qp, index, svc.library.features, k=3)
        t2 = time.perf_counter()
        feat_t.append(t1 - t0)
        query_t.append(t2 - t1)
        index_t.append(t_index - t1)
        found += any(m.is_match and m.known.id == truth_ids[q["truth"]] for m in matches)
        ex = match(qp, exact, lambda e, v: feats[e.known_id], k=1)
        found_exact += any(m.known.id == q["truth"] for m in ex if m.is_match)
    # One addition: the store's transaction and the index append, no rebuild.
    before = Manifest.read(svc.settings.index_path)
    adds = []
    for item in synthetic_items(20, 99):
        t0 = time.perf_counter()
        svc.store.add_known_many([item])
        svc.library.added()
        adds.append(time.perf_counter() - t0)
    after = Manifest.read(svc.settings.index_path)
    return {
        "open_s": open_s,
        "rss_open_mb": rss_open,
        "peak_mb": vm("VmHWM"),
        "features_p50_ms": 1000 * statistics.median(feat_t),
        "query_p50_ms": 1000 * statistics.median(query_t),
        "query_p95_ms": 1000 * float(np.percentile(query_t, 95)),
        # The index's part: its search and the candidates' codes from the store.
        "index_p50_ms": 1000 * statistics.median(index_t),
        "index_p95_ms": 1000 * float(np.percentile(index_t, 95)),
        "recall": found / len(picked),
        "recall_exact": found_exact / len(picked),
        "queries": len(picked),
        "add_p50_ms": 1000 * statistics.median(adds),
        "rebuilt": after.generation != before.generation,
    }


def _known_named(svc, files: list[str]):
    from sqlalchemy import select

    from postcheck.store.models import KnownImageRow

    with svc.store.session() as session:
        rows = session.scalars(
            select(KnownImageRow).where(KnownImageRow.original_name.in_(files))
        ).all()
        return list(rows)


def write_path_probe(n: int) -> dict:
    """n synthetic pictures through the import's write path (batches of IMPORT_BATCH, each
    appended to the index): milliseconds per picture."""
    from postcheck.library import IMPORT_BATCH
    from postcheck.services import services

    svc = services()
    svc.library.refresh()
    items = list(synthetic_items(n, 4242))
    t0 = time.perf_counter()
    for i in range(0, n, IMPORT_BATCH):
        svc.store.add_known_many(items[i : i + IMPORT_BATCH])
        svc.library.added()
    return {"ms_per_picture": 1000 * (time.perf_counter() - t0) / n}


# --- the whole run -------------------------------------------------------------------------


def task_times(api: str, flow_run_id: str) -> dict[str, float]:
    import httpx

    runs = httpx.post(
        f"{api}/task_runs/filter",
        json={"task_runs": {"flow_run_id": {"any_": [flow_run_id]}}},
        timeout=30,
    ).json()
    flow = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30).json()
    out: dict[str, float] = {"flow run": float(flow.get("total_run_time") or 0.0)}
    for r in runs:
        name = re.sub(r"-[0-9a-f]{3}$", "", r["name"])  # Prefect's default run names
        out[name] = out.get(name, 0.0) + float(r.get("total_run_time") or 0.0)
    return out


def make_import_files(folder: Path, count: int) -> Path:
    """`count` new pictures: crops and tints of the unrelated benchmark photos."""
    from PIL import Image, ImageEnhance

    photos, _ = P.ensure_photos()
    data = P.planted()
    unrelated = sorted(set(os.listdir(photos)) - set(data["originals"]))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    for i in range(count):
        with Image.open(photos / unrelated[i % len(unrelated)]) as im:
            im = im.convert("RGB")
            im.thumbnail((1600, 1600))
            w, h = im.size
            x0, y0 = int(rng.uniform(0, 0.2) * w), int(rng.uniform(0, 0.2) * h)
            im = im.crop((x0, y0, x0 + int(0.8 * w), y0 + int(0.8 * h)))
            im = ImageEnhance.Color(im).enhance(float(rng.uniform(0.6, 1.4)))
            im.save(folder / f"new-{i:05d}.jpg", quality=88)
    return folder


def measure(n: int, args, api: str, console) -> dict:
    from postcheck.store import Store

    folder = P.DATA / f"scale-{n}"
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data").mkdir(parents=True)
    env = env_for(folder, api, args.database_url)
    db_url = args.database_url or f"sqlite:///{folder / 'data' / 'postcheck.db'}"
    res: dict = {"pictures": n}
    store = Store(db_url)
    res["bulk_s"] = bulk_insert(store, n - 40, seed=n)
    store.close()
    photos, queries_dir = P.ensure_photos()
    originals = folder / "originals"
    originals.mkdir()
    for f in P.planted()["originals"]:
        os.symlink(photos / f, originals / f)
    imp = run_measured(cli("known", "import", str(originals)), env)
    assert imp["code"] == 0, imp["stderr"]
    reindex = run_measured(cli("known", "reindex"), env)
    assert reindex["code"] == 0, reindex["stderr"]
    res["reindex_s"], res["reindex_peak_mb"] = reindex["seconds"], reindex["peak_mb"]
    res["reindex_msg"] = reindex["stdout"].strip()
    data_dir = folder / "data"
    res["db_mb"] = du(data_dir / "postcheck.db") / 2**20 if not args.database_url else None
    res["index_mb"] = du(data_dir / "index") / 2**20
    console.print(f"[{n:,}] built: {res}")
    # Fresh-process checks of edited copies of planted photos.
    manifest = json.loads((queries_dir / "manifest.json").read_text())
    picks = [
        next(q for q in manifest["queries"] if q["family"] == fam and q["truth"])
        for fam in QUERY_FAMILIES
    ]
    imports = run_measured(
        [
            sys.executable,
            "-c",
            "import postcheck.cli, postcheck.flows.check_image, postcheck.services",
        ],
        env,
    )
    res["imports_s"] = imports["seconds"]
    checks = []
    for q in picks:
        r = run_measured(cli("check", str(queries_dir / q["file"]), "--json"), env)
        assert r["code"] == 0, r["stderr"][-2000:]
        report = json.loads(r["stdout"])
        matched = [m for m in report["images"][0]["matches"] if m["is_match"]]
        run_id = report["prefect_run_url"].rsplit("/", 1)[-1]
        checks.append(
            {
                "family": q["family"],
                "seconds": r["seconds"],
                "peak_mb": r["peak_mb"],
                "verdict": report["verdict"],
                "found": bool(matched),
                "tasks": task_times(api, run_id),
            }
        )
        console.print(f"[{n:,}] check {q['family']}: {checks[-1]}")
    res["checks"] = checks
    pr = run_measured([sys.executable, __file__, "--probe", str(args.queries)], env)
    assert pr["code"] == 0, pr["stderr"][-3000:]
    res["probe"] = json.loads(pr["stdout"].strip().splitlines()[-1])
    console.print(f"[{n:,}] probe: {res['probe']}")
    # Imports: into this library, and into an empty one.
    files = make_import_files(P.DATA / "import-files", args.import_files)
    into = run_measured(cli("known", "import", str(files)), env)
    empty_folder = P.DATA / f"scale-empty-{n}"
    shutil.rmtree(empty_folder, ignore_errors=True)
    (empty_folder / "data").mkdir(parents=True)
    empty_env = env_for(empty_folder, api, None)
    into_empty = run_measured(cli("known", "import", str(files)), empty_env)
    res["import_s_per_picture"] = into["seconds"] / args.import_files
    res["import_empty_s_per_picture"] = into_empty["seconds"] / args.import_files
    wp = run_measured([sys.executable, __file__, "--write-path", "10000"], env)
    wp_empty = run_measured([sys.executable, __file__, "--write-path", "10000"], empty_env)
    res["write_ms"] = json.loads(wp["stdout"].strip().splitlines()[-1])["ms_per_picture"]
    res["write_empty_ms"] = json.loads(wp_empty["stdout"].strip().splitlines()[-1])[
        "ms_per_picture"
    ]
    shutil.rmtree(empty_folder, ignore_errors=True)
    res["data_mb"] = du(data_dir) / 2**20
    console.print(
        f"[{n:,}] imports: {res['import_s_per_picture']:.3f} s/picture here, "
        f"{res['import_empty_s_per_picture']:.3f} into an empty library; write path "
        f"{res['write_ms']:.2f} / {res['write_empty_ms']:.2f} ms"
    )
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return res


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--import-files", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--probe", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-path", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.probe:
        print(json.dumps(probe(args.probe)))
        return
    if args.write_path:
        print(json.dumps(write_path_probe(args.write_path)))
        return
    from rich.console import Console
    from rich.table import Table

    from postcheck.prefect_local import LocalPrefectServer

    console = Console(width=180, stderr=True)
    P.planted()
    results = []
    with LocalPrefectServer(P.DATA / "scale-prefect-home") as server:
        for n in [int(s) for s in args.sizes.split(",")]:
            results.append(measure(n, args, server.api_url, console))
            (P.DATA / "library_scale.json").write_text(json.dumps(results, indent=1))
    table = Table(
        title="fresh-process `postcheck check` against a large library (running Prefect server)"
    )
    table.add_column("")
    for r in results:
        table.add_column(f"{r['pictures']:,} pictures", justify="right")

    def row(label, fn):
        table.add_row(label, *[fn(r) for r in results])

    med = lambda r, key: statistics.median(c[key] for c in r["checks"])  # noqa: E731
    row("bulk insert (pictures/s)", lambda r: f"{r['pictures'] / r['bulk_s']:,.0f}")
    row("reindex s (peak RSS MiB)", lambda r: f"{r['reindex_s']:.0f} ({r['reindex_peak_mb']:.0f})")
    row("database MiB / index MiB", lambda r: f"{r['db_mb'] or 0:.0f} / {r['index_mb']:.0f}")
    row(
        "check end to end s: median (max)",
        lambda r: f"{med(r, 'seconds'):.2f} ({max(c['seconds'] for c in r['checks']):.2f})",
    )
    row(
        "check peak RSS MiB: median (max)",
        lambda r: f"{med(r, 'peak_mb'):.0f} ({max(c['peak_mb'] for c in r['checks']):.0f})",
    )
    row(
        "edited planted photo found",
        lambda r: f"{sum(c['found'] for c in r['checks'])}/{len(r['checks'])}",
    )
    row("  imports s (fresh process)", lambda r: f"{r['imports_s']:.2f}")
    for task in (
        "flow run",
        "hash-media",
        "match-media",
        "read-metadata",
        "record-check",
        "publish-report",
    ):
        row(
            f"  {task} s",
            lambda r, t=task: (
                f"{statistics.median(c['tasks'].get(t, 0.0) for c in r['checks']):.2f}"
            ),
        )
    row("index open + catch-up s", lambda r: f"{r['probe']['open_s']:.3f}")
    row("RSS after open MiB", lambda r: f"{r['probe']['rss_open_mb']:.0f}")
    row("query features p50 ms", lambda r: f"{r['probe']['features_p50_ms']:.0f}")
    row(
        "query p50 / p95 ms: index and store",
        lambda r: f"{r['probe']['index_p50_ms']:.1f} / {r['probe']['index_p95_ms']:.1f}",
    )
    row(
        "query p50 / p95 ms: with stage 2 (ORB)",
        lambda r: f"{r['probe']['query_p50_ms']:.1f} / {r['probe']['query_p95_ms']:.1f}",
    )
    row(
        "recall: index / exact (40 alone)",
        lambda r: (
            f"{r['probe']['recall']:.3f} / {r['probe']['recall_exact']:.3f} ({r['probe']['queries']})"
        ),
    )
    row(
        "add one picture ms (rebuilt?)",
        lambda r: f"{r['probe']['add_p50_ms']:.1f} ({'yes' if r['probe']['rebuilt'] else 'no'})",
    )
    row(
        "known import s/picture: here / empty",
        lambda r: f"{r['import_s_per_picture']:.3f} / {r['import_empty_s_per_picture']:.3f}",
    )
    row(
        "write path ms/picture: here / empty",
        lambda r: f"{r['write_ms']:.2f} / {r['write_empty_ms']:.2f}",
    )
    Console(width=180).print(table)


if __name__ == "__main__":
    main()
