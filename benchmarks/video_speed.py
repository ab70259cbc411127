"""How long checking one minute of 720p video takes, matching excluded: probe, decode and
sample (verifiers.video), then the perceptual print of every sampled frame.

    .venv/bin/python benchmarks/video_speed.py [--runs 3] [--dir DIR]

The clip is made by fixtures/videos/make_videos.py (60 s, 1280x720, 30 fps, H.264 at
2.5 Mbit/s with grain, a keyframe at least every 3 s, AAC audio) in a temporary folder,
or in --dir if given (kept there, and reused when present). Target: well under 10 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from postcheck.verifiers import perceptual, video

ROOT = Path(__file__).parents[1]
CLIP = "bench-720p-60s.mp4"


def make_clip(folder: Path, photos: Path | None = None) -> Path:
    path = folder / CLIP
    if not path.exists():
        spec = importlib.util.spec_from_file_location(
            "make_videos", ROOT / "fixtures" / "videos" / "make_videos.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.make_bench(folder, photo_dir=photos, clips=0)
    return path


def one_run(path: Path, all_frames: bool) -> dict[str, float]:
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    info = video.probe(path, max_duration=600)
    t1 = time.perf_counter()
    sampler = video.sample_frames(path, max_duration=600, all_frames=all_frames)
    frames = list(sampler)
    t2 = time.perf_counter()
    for frame in frames:
        perceptual.query_print(frame.image)
    t3 = time.perf_counter()
    cpu = time.process_time() - cpu0
    for frame in frames:
        perceptual.fingerprint(frame.image)
    t4 = time.perf_counter()
    return {
        "probe": t1 - t0,
        "sample": t2 - t1,
        "query": t3 - t2,
        "library": t4 - t3,
        "cpu": cpu,
        "decoded": sampler.decoded,
        "sampled": len(frames),
        "minutes": info.duration / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--dir", type=Path, help="make (or reuse) the clip here")
    parser.add_argument(
        "--photos", type=Path, help="real photos for the clip (default: scikit-image's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        path = make_clip(folder, args.photos)
        made = time.perf_counter() - t0
        info = video.probe(path, max_duration=600)
        perceptual.query_print(next(iter(video.sample_frames(path, max_duration=5))).image)
        results = {
            mode: [one_run(path, all_frames) for _ in range(args.runs)]
            for mode, all_frames in (("reference frames (default)", False), ("every frame", True))
        }
    med = statistics.median
    table = Table(
        title=(
            f"{CLIP}: {info.width}x{info.height}, {info.fps:g} fps, {info.duration:.0f} s, "
            f"{path.stat().st_size / 1e6:.1f} MB ({made:.0f} s to make); median of {args.runs} "
            f"runs; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )
    )
    for col in (
        "decode",
        "frames decoded",
        "frames sampled / min",
        "probe+sample s",
        "+ query prints s",
        "check total s",
        "check CPU s",
        "(library prints s)",
    ):
        table.add_column(col, justify="right")
    for mode, runs in results.items():
        probe_sample = [r["probe"] + r["sample"] for r in runs]
        total = [r["probe"] + r["sample"] + r["query"] for r in runs]
        table.add_row(
            mode,
            f"{med(r['decoded'] for r in runs):.0f}",
            f"{med(r['sampled'] / r['minutes'] for r in runs):.0f}",
            f"{med(probe_sample):.2f} (min {min(probe_sample):.2f})",
            f"{med(r['query'] for r in runs):.2f}",
            f"{med(total):.2f} (max {max(total):.2f})",
            f"{med(r['cpu'] for r in runs):.2f}",
            f"{med(r['library'] for r in runs):.2f}",
        )
    console = Console(width=160)
    console.print(table)
    console.print(
        "query prints: perceptual.query_print per sampled frame (what a checked video's "
        "frames go through before matching). check CPU: process CPU time of the check, all "
        "threads (other processes on the machine slow the wall clock, not this). library "
        "prints: perceptual.fingerprint per frame (what indexing a known video costs), "
        "not part of a check."
    )


if __name__ == "__main__":
    main()
