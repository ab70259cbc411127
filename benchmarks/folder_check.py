"""A folder of photos at once: a fresh-process `postcheck check FOLDER --json` of 100
photos against a 1,000-picture library, end to end, with a running Prefect server
(issue 14's target: < 30 s).

    .venv/bin/pip install -e ".[bench]"   # psutil, for peak RSS
    .venv/bin/python benchmarks/folder_check.py [--photos 100] [--library 1000] [--keep]

In benchmarks/data/folder-check/ (deleted afterwards unless --keep):

1. library: the fixture originals (fixtures/known, with their manifest) by `known
   import`, the rest synthetic pictures (random codes) through the store's bulk path
   (Store.add_known_many, as benchmarks/library_scale.py builds its libraries), then
   `known reindex`;
2. photos: generated variations (crops, tints, resizes, re-encodes, mirrors) of the
   fixture photos (fixtures/images and fixtures/known), so some match the library and
   most do not;
3. check: `postcheck check FOLDER --json` in a fresh process: wall time, per picture, and
   peak RSS of the process tree; the verdicts from its JSON Lines.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from library_scale import bulk_insert, cli, env_for, run_measured  # noqa: E402

FIX = HERE.parent / "fixtures"
DATA = HERE / "data" / "folder-check"
TARGET_S = 30.0


def make_photos(folder: Path, count: int, seed: int = 14) -> Path:
    """`count` variations of the fixture photos, in a nested folder."""
    from PIL import Image, ImageEnhance, ImageOps

    sources = sorted((FIX / "images").glob("*.jpg")) + sorted((FIX / "known").glob("*.jpg"))
    rng = np.random.default_rng(seed)
    for i in range(count):
        src = sources[i % len(sources)]
        with Image.open(src) as im:
            im = im.convert("RGB")
            w, h = im.size
            cut = rng.uniform(0.0, 0.15)
            x0, y0 = int(cut * w * rng.uniform()), int(cut * h * rng.uniform())
            im = im.crop((x0, y0, x0 + int((1 - cut) * w), y0 + int((1 - cut) * h)))
            im = ImageEnhance.Color(im).enhance(float(rng.uniform(0.7, 1.3)))
            scale = float(rng.uniform(0.6, 1.0))
            im = im.resize((max(64, int(im.width * scale)), max(64, int(im.height * scale))))
            if i % 7 == 3:
                im = ImageOps.mirror(im)
            sub = folder / f"batch-{i // 25}"
            sub.mkdir(parents=True, exist_ok=True)
            im.save(sub / f"{src.stem}-{i:03d}.jpg", quality=int(rng.integers(70, 95)))
    return folder


def task_times(api: str, flow_run_id: str) -> dict[str, float]:
    """Seconds per task name over every task run of the flow run (Prefect's filter
    answers 200 at a time), and the flow run's own time."""
    import httpx

    out: dict[str, float] = {}
    offset = 0
    while True:
        runs = httpx.post(
            f"{api}/task_runs/filter",
            json={
                "task_runs": {"flow_run_id": {"any_": [flow_run_id]}},
                "limit": 200,
                "offset": offset,
            },
            timeout=30,
        ).json()
        for r in runs:
            name = re.sub(r"-[0-9a-f]{3}$| item \d+$", "", r["name"])  # one name per task
            out[name] = out.get(name, 0.0) + float(r.get("total_run_time") or 0.0)
        if len(runs) < 200:
            break
        offset += 200
    flow = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30).json()
    out["flow run"] = float(flow.get("total_run_time") or 0.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--library", type=int, default=1000)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--profile",
        type=Path,
        help="run the check under py-spy (collapsed stacks, one a line, to this .txt file;"
        " wall time and RSS then include py-spy's)",
    )
    args = parser.parse_args()
    from rich.console import Console
    from rich.table import Table

    from postcheck.prefect_local import LocalPrefectServer
    from postcheck.store import Store

    console = Console(stderr=True)
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "data").mkdir(parents=True)
    originals = sorted((FIX / "known").glob("*.jpg"))
    with LocalPrefectServer(DATA / "prefect-home") as server:
        env = env_for(DATA, server.api_url, None)
        store = Store(f"sqlite:///{DATA / 'data' / 'postcheck.db'}")
        bulk_s = bulk_insert(store, args.library - len(originals), seed=args.library)
        store.close()
        known = FIX / "known"
        imp = run_measured(
            cli("known", "import", str(known), "--manifest", str(known / "manifest.csv")), env
        )
        assert imp["code"] == 0, imp["stderr"][-2000:]
        reindex = run_measured(cli("known", "reindex"), env)
        assert reindex["code"] == 0, reindex["stderr"][-2000:]
        console.print(f"library: {args.library:,} pictures ({bulk_s:.1f} s bulk insert)")
        photos = make_photos(DATA / "photos", args.photos)
        command = cli("check", str(photos), "--json")
        if args.profile:  # as benchmarks/recheck.py --profile-format txt
            spy = Path(sys.executable).with_name("py-spy")
            command = [str(spy), "record", "--idle", "--threads", "--format", "raw"]
            command += ["-o", str(args.profile), "--", *cli("check", str(photos), "--json")]
        run = run_measured(command, env, timeout=1800)
        assert run["code"] in (0, 1), run["stderr"][-3000:]
        lines = run["stdout"].splitlines()  # py-spy says a word or two on stdout too
        reports = [json.loads(line) for line in lines if line.startswith("{")]
        # Where the time went: Prefect's own task runs, summed per task (over threads).
        spent = task_times(server.api_url, reports[0]["flow_run_id"]) if reports else {}
    assert len(reports) == args.photos, (len(reports), run["stderr"][-2000:])
    verdicts = Counter(r["verdict"] for r in reports)
    runs = {r["flow_run_id"] for r in reports}
    table = Table(title="fresh-process `postcheck check FOLDER --json` (running Prefect server)")
    for col in ("photos", "library", "wall s", "s per photo", "peak RSS MiB", "target"):
        table.add_column(col, justify="right")
    table.add_row(
        str(args.photos),
        f"{args.library:,}",
        f"{run['seconds']:.1f}",
        f"{run['seconds'] / args.photos:.3f}",
        f"{run['peak_mb']:.0f}",
        f"< {TARGET_S:.0f} s: {'met' if run['seconds'] < TARGET_S else 'MISSED'}",
    )
    Console().print(table)
    print(f"verdicts: {dict(sorted(verdicts.items()))}; flow runs: {len(runs)}")
    print(
        "task run time, summed: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(spent.items(), key=lambda kv: -kv[1]))
    )
    (DATA.parent / "folder_check.json").write_text(
        json.dumps(
            {
                "photos": args.photos,
                "library": args.library,
                "seconds": run["seconds"],
                "peak_mb": run["peak_mb"],
                "verdicts": verdicts,
                "flow_runs": len(runs),
                "task_seconds": spent,
            },
            indent=1,
        )
    )
    if not args.keep:
        shutil.rmtree(DATA, ignore_errors=True)


if __name__ == "__main__":
    main()
