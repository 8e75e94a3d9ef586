#!/usr/bin/env python
"""Benchmark ``learned.interpolate`` (NumPy) against ``cv2.resize`` and PyTorch's
``F.interpolate``: 2x bilinear and bicubic upscaling of a 3x2048x2048 float32 image.

Run from the repository root::

    .venv/bin/python benchmarks/bench_interpolate.py [--repeats 5] [--out DIR] [--size 2048]
                                                     [--pause 0] [--quick]

A Markdown table goes to stdout, progress to stderr, and the same data to
``DIR/bench_interpolate.json`` (default ``benchmarks/results``).

Method
------
- The image is seeded smooth random float32 data in [0, 1]: ``(1, 3, H, W)`` for NumPy and
  PyTorch, the same values as a contiguous ``(H, W, 3)`` array for OpenCV (its layout).
  Every case returns a new ``(2H, 2W)`` result, so every case pays for allocating and
  first touching its output (~200 MB at 2048).
- Wall time by ``time.perf_counter``: one untimed warm-up round, then ``--repeats`` timed
  rounds (>= 5). All cases are *interleaved*, one run of each per round with the order
  rotated every round, so that the ratios compare runs made under the same machine
  conditions. We report median, min and max; ratios are ratios of medians (the median of
  per-round ratios is in the JSON).
- ``--pause S`` sleeps before every run (default 0): a way to check whether the worker
  threads OpenCV and PyTorch leave spinning after a call slow the next case. On the 2-vCPU
  VM this benchmark was written on, it did not make the medians better, only noisier.
- On that VM the same call varied by +-30 % from minute to minute (memory faults,
  neighbours); the interleaving keeps ratios fair, but absolute times move between runs.
- Threads: the NumPy path runs on one thread (its small matrix products are kept below
  OpenBLAS's threading threshold; see ``learned/interpolate.py``). OpenCV runs with its
  default thread count and with 1 (``cv2.setNumThreads`` before each run), so both the
  headline ratio (vs OpenCV's default) and the like-for-like one-thread ratio are shown;
  PyTorch with ``torch.set_num_threads(2)`` (reference only).
- Correctness is checked before timing: NumPy vs ``cv2.resize`` and vs PyTorch, max abs
  difference (in the JSON and below the table).
- Contention: CPU time used by other processes during the run is recorded (from
  ``/proc/stat``); above 5 % of the machine the output says the timings are contaminated.
- ``--quick`` is a smoke test: a 256x256 image, 3 repeats; the targets are then not judged.
- The timing, statistics, contention and metadata code is shared with the other benchmarks
  (``benchmarks/_harness.py``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):  # the repository (run without installing) and _harness.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _harness import (  # noqa: E402
    add_common_args,
    check_repeats,
    contention_note,
    contention_start,
    finish_run,
    fmt_commit,
    fmt_ratio,
    fmt_seconds,
    log,
    metadata,
    ratio,
    stats,
    time_interleaved,
    verdict,
)

from learned.interpolation import interpolate  # noqa: E402

TARGET_RATIO = 3.0  # NumPy / OpenCV (default threads), per mode
TORCH_THREADS = 2
QUICK_SIZE = 256  # --quick: image height and width


def smooth_image(size: int, seed: int) -> np.ndarray:
    """Seeded smooth float32 ``(1, 3, size, size)`` image in [0, 1]: low-pass noise plus edges."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    low = rng.standard_normal((3, size // 8, size // 8)).astype(np.float32)
    low = ndimage.gaussian_filter(low, sigma=(0, 1.5, 1.5))
    img = ndimage.zoom(low, (1, 8, 8), order=1)[:, :size, :size]
    img += 0.1 * rng.standard_normal(img.shape).astype(np.float32)
    img[:, size // 3 : size // 2, size // 4 : size // 2] += 1.0  # a sharp rectangle
    lo, hi = np.percentile(img, [0.5, 99.5])
    return np.clip((img - lo) / (hi - lo), 0, 1).astype(np.float32)[None]


def case_metadata(args: argparse.Namespace, threads: dict) -> dict:
    import cv2
    import PIL
    import torch

    return {
        "opencv": cv2.__version__,
        "torch": torch.__version__,
        "pillow": PIL.__version__,
        "repeats": args.repeats,
        "quick": args.quick,
        "pause_before_run_s": args.pause,
        "image_shape_nchw": [1, 3, args.size, args.size],
        "dtype": "float32",
        "threads": threads,
    }


def markdown(res: dict) -> str:
    meta = res["metadata"]
    th = meta["threads"]
    lines = [
        f"## bench_interpolate: 2x upscaling of a 3x{meta['image_shape_nchw'][2]}x{meta['image_shape_nchw'][3]} "
        f"float32 image, {meta['date_utc']}",
        "",
        f"{fmt_commit(meta)}, Python {meta['python']}, NumPy {meta['numpy']}, OpenCV {meta['opencv']}, torch {meta['torch']}, "
        f"{meta['cpu_count']} CPUs ({meta['cpu_model']}); median [min, max] of {meta['repeats']} interleaved runs "
        f"after 1 warm-up. Threads: NumPy path 1, OpenCV {th['opencv_default']} (and 1), torch {th['torch']}.",
        "",
        "| case | mode | median | min | max | / OpenCV (same mode, default threads) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    t = res["timings"]
    for mode in ("bilinear", "bicubic"):
        base = t[f"opencv_{mode}"]["median_s"]
        for label, key in (
            ("learned.interpolate (NumPy, 1 thread)", f"numpy_{mode}"),
            (f"cv2.resize, {th['opencv_default']} threads", f"opencv_{mode}"),
            ("cv2.resize, 1 thread", f"opencv1_{mode}"),
            (f"torch F.interpolate, {th['torch']} threads", f"torch_{mode}"),
        ):
            s = t[key]
            lines.append(f"| {label} | {mode} | {fmt_seconds(s['median_s'])} | {fmt_seconds(s['min_s'])} | "
                         f"{fmt_seconds(s['max_s'])} | {s['median_s'] / base:.2f} |")
    lines += ["", "| ratio | value (paired) | target | verdict |", "|---|---:|---|---|"]
    for key, r in res["ratios"].items():
        target = f"<= {TARGET_RATIO:g}" if key in res["targets"] else "report"
        ok = None if meta.get("quick") else r["ratio_of_medians"] <= TARGET_RATIO
        judged = verdict(ok) if key in res["targets"] else ""
        lines.append(f"| {key} | {fmt_ratio(r)} | {target} | {judged} |")
    lines.append("")
    chk = res["check_max_abs_diff"]
    lines.append("Max |NumPy - other| on this image: " + ", ".join(f"{k} {v:.1e}" for k, v in chk.items()) + ".")
    note = contention_note(meta)
    if note:
        lines.append(note)
    lines.append(f"Total benchmark time: {res['elapsed_s']:.0f} s.")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_args(ap, "bench_interpolate.json", f"smoke test: a {QUICK_SIZE}x{QUICK_SIZE} image, 3 repeats, "
                    "targets not judged")
    ap.add_argument("--size", type=int, default=2048, help="image height and width (default 2048)")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds of sleep before each run, to let the previous case's worker threads stop "
                         "spinning (default 0)")
    args = ap.parse_args(argv)
    check_repeats(ap, args, minimum=5)
    if args.quick:
        args.size = QUICK_SIZE
    if args.size < 8:
        ap.error("--size must be >= 8")
    if args.pause < 0:
        ap.error("--pause must be >= 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import cv2
    import torch
    import torch.nn.functional as F

    start = contention_start()
    torch.set_num_threads(TORCH_THREADS)
    cv_threads = cv2.getNumThreads()
    threads = {"numpy": 1, "opencv_default": cv_threads, "torch": TORCH_THREADS}
    res: dict = {"metadata": metadata(case_metadata(args, threads))}

    x = smooth_image(args.size, seed=2048)
    hwc = np.ascontiguousarray(x[0].transpose(1, 2, 0))
    xt = torch.from_numpy(x)
    out_hw = (2 * args.size, 2 * args.size)
    flags = {"bilinear": cv2.INTER_LINEAR, "bicubic": cv2.INTER_CUBIC}

    def cv_case(flag: int, n: int) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            cv2.setNumThreads(n)
            return cv2.resize(hwc, (out_hw[1], out_hw[0]), interpolation=flag)

        return run

    cases: dict[str, Callable[[], object]] = {}
    check: dict[str, float] = {}
    for mode, flag in flags.items():
        ours = interpolate(x, scale_factor=2, mode=mode)
        theirs = cv2.resize(hwc, (out_hw[1], out_hw[0]), interpolation=flag)
        check[f"{mode} vs cv2"] = float(np.abs(ours[0].transpose(1, 2, 0) - theirs).max())
        check[f"{mode} vs torch"] = float(np.abs(ours - F.interpolate(xt, scale_factor=2, mode=mode).numpy()).max())
        del ours, theirs
        cases[f"numpy_{mode}"] = lambda m=mode: interpolate(x, scale_factor=2, mode=m)
        cases[f"opencv_{mode}"] = cv_case(flag, cv_threads)
        cases[f"opencv1_{mode}"] = cv_case(flag, 1)
        cases[f"torch_{mode}"] = lambda m=mode: F.interpolate(xt, scale_factor=2, mode=m)
    log(f"{len(cases)} cases x {args.repeats + 1} runs, image 1x3x{args.size}x{args.size} float32")
    runs = time_interleaved(cases, args.repeats, pause=args.pause, progress=True)
    cv2.setNumThreads(cv_threads)
    res["timings"] = {k: stats(v) for k, v in runs.items()}
    res["ratios"] = {}
    res["targets"] = {}
    for mode in flags:
        key = f"numpy_{mode} / opencv_{mode}"
        res["ratios"][key] = ratio(runs, f"numpy_{mode}", f"opencv_{mode}")
        res["targets"][key] = TARGET_RATIO
        res["ratios"][f"numpy_{mode} / opencv1_{mode} (one thread each)"] = ratio(runs, f"numpy_{mode}", f"opencv1_{mode}")
        res["ratios"][f"torch_{mode} / numpy_{mode}"] = ratio(runs, f"torch_{mode}", f"numpy_{mode}")
    res["check_max_abs_diff"] = check
    return finish_run(res, start, args.out / "bench_interpolate.json", markdown)


if __name__ == "__main__":
    sys.exit(main())
