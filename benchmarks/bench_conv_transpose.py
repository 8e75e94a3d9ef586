#!/usr/bin/env python
"""Benchmark ``learned.conv_transpose2d`` (NumPy) against ``torch.nn.functional.conv_transpose2d``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_conv_transpose.py [--repeats 5] [--out DIR]

A Markdown table goes to stdout, progress to stderr, and the same data to
``DIR/bench_conv_transpose.json`` (default ``benchmarks/results``).

Method
------
- The main case is the one named in the issue: input ``1×64×256×256`` float32, weight
  ``64×64×4×4`` (64 output channels), stride 2, padding 1 → output ``1×64×512×512``.
  PyTorch gets a ``channels_last`` input (its fast oneDNN path) and
  ``torch.set_num_threads(2)``; NumPy's BLAS uses its default threads (2 on the reference
  machine; recorded in the JSON). PyTorch with a plain NCHW input is timed for reference.
- NumPy methods at full size: ``"subpixel"`` (the default), ``"scatter"`` (col2im) and
  ``"zero_insertion"``. ``"matrix"`` is *not* timed at full size: its sparse matrix would
  hold ``C_in·H_in·W_in·C_out·k²`` ≈ 4.3·10⁹ non-zeros. All four methods are timed on a
  small case (``1×8×32×32``, 8 output channels, same kernel, stride and padding) instead.
- Before timing, every method's output is compared with PyTorch's (max abs error relative
  to the largest output value, recorded).
- Every timing is ``time.perf_counter`` wall time: one warm-up round, then ``--repeats``
  rounds (>= 5); the cases of one size run *interleaved*, one run each per round with the
  order rotated, so that ratios are measured under the same machine conditions. We report
  median and spread (min, max); ratios are the ratio of the medians, with the median of
  the per-round (paired) ratios alongside.
- Contention: the CPU time other processes used during the run is recorded; above 5 % of
  the machine the output says the timings are contaminated.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

from learned.conv_transpose import conv_transpose2d  # noqa: E402

THREADS = 2
TARGET_RATIO = 2.0  # numpy default method / torch channels_last, main case
CASES = {
    # name: (N, C_in, H, W, C_out, k, stride, padding)
    "main": (1, 64, 256, 256, 64, 4, 2, 1),
    "small": (1, 8, 32, 32, 8, 4, 2, 1),
}


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing


def bench(cases: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> dict[str, list[float]]:
    """Run the cases interleaved (``warmup`` untimed rounds, then ``repeats`` timed ones,
    the order rotated every round); return the wall times per case."""
    names = list(cases)
    runs: dict[str, list[float]] = {name: [] for name in names}
    for r in range(warmup + repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            t0 = time.perf_counter()
            out = cases[name]()
            dt = time.perf_counter() - t0
            del out
            if r >= warmup:
                runs[name].append(dt)
    return runs


def stats(times: list[float]) -> dict:
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "runs_s": [round(t, 6) for t in times],
    }


def ratio(runs: dict[str, list[float]], num: str, den: str) -> dict:
    a, b = runs[num], runs[den]
    return {
        "numerator": num,
        "denominator": den,
        "ratio_of_medians": statistics.median(a) / statistics.median(b),
        "median_of_paired_ratios": statistics.median(x / y for x, y in zip(a, b)),
    }


# --------------------------------------------------------------------------- metadata


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (from /proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    except (OSError, ValueError, IndexError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def contention(start_busy: float | None, start_own: float, elapsed: float) -> dict:
    end_busy = machine_busy_seconds()
    if start_busy is None or end_busy is None:
        return {}
    other = max(0.0, (end_busy - start_busy) - (own_cpu_seconds() - start_own))
    return {
        "other_processes_cpu_s": other,
        "other_processes_share_of_machine": other / (elapsed * (os.cpu_count() or 1)),
        "loadavg_end": list(os.getloadavg()),
    }


def metadata(args: argparse.Namespace) -> dict:
    import torch

    commit = dirty = None
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True, text=True, timeout=10
        ).stdout
        dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    blas = None
    try:
        cfg = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        blas = {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception:  # noqa: BLE001 - metadata only, never fail the benchmark for it
        pass
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "numpy": np.__version__,
        "numpy_blas": blas,
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "git_commit": commit,
        "git_dirty_tracked_files": dirty,
        "repeats": args.repeats,
        "warmup_runs": 1,
        "dtype": "float32",
        "timer": "time.perf_counter (wall)",
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        "cases": {k: dict(zip(("n", "c_in", "h", "w", "c_out", "k", "stride", "padding"), v)) for k, v in CASES.items()},
    }


# --------------------------------------------------------------------------- cases


def run_case(name: str, methods: tuple[str, ...], repeats: int) -> dict:
    import torch
    import torch.nn.functional as F

    n, c_in, h, w, c_out, k, s, p = CASES[name]
    rng = np.random.default_rng(12345)
    x = rng.standard_normal((n, c_in, h, w), dtype=np.float32)
    weight = (rng.standard_normal((c_in, c_out, k, k), dtype=np.float32) / np.sqrt(c_in * k * k)).astype(np.float32)
    x_cl = torch.from_numpy(x).contiguous(memory_format=torch.channels_last)
    x_nchw = torch.from_numpy(x)
    w_t = torch.from_numpy(weight)

    def torch_run(xt: torch.Tensor) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return F.conv_transpose2d(xt, w_t, stride=s, padding=p)

        return run

    cases: dict[str, Callable[[], object]] = {
        f"numpy {m}": (lambda m=m: conv_transpose2d(x, weight, stride=s, padding=p, method=m)) for m in methods
    }
    cases["torch channels_last"] = torch_run(x_cl)
    cases["torch NCHW"] = torch_run(x_nchw)

    ref = torch_run(x_cl)().numpy()
    scale = float(np.abs(ref).max())
    errors = {}
    for m in methods:
        y = conv_transpose2d(x, weight, stride=s, padding=p, method=m)
        assert y.shape == ref.shape and y.dtype == np.float32
        errors[m] = float(np.abs(y - ref).max() / scale)
        del y
    log(f"{name}: {n}x{c_in}x{h}x{w} -> {tuple(ref.shape)}, {len(cases)} cases x {repeats + 1} runs")
    runs = bench(cases, repeats)
    return {
        "shape_in": [n, c_in, h, w],
        "shape_out": list(ref.shape),
        "weight_shape": [c_in, c_out, k, k],
        "stride": s,
        "padding": p,
        "max_rel_error_vs_torch": errors,
        "timings": {key: stats(v) for key, v in runs.items()},
        "ratios": {
            f"{key} / torch channels_last": ratio(runs, key, "torch channels_last") for key in runs if key.startswith("numpy")
        }
        | {"torch NCHW / torch channels_last": ratio(runs, "torch NCHW", "torch channels_last")},
        "not_timed": {} if "matrix" in methods else {"numpy matrix": "sparse matrix of ~4.3e9 non-zeros; infeasible"},
    }


# --------------------------------------------------------------------------- report


def fmt_s(t: float) -> str:
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def markdown(res: dict) -> str:
    meta = res["metadata"]
    lines: list[str] = []
    add = lines.append
    add(f"## bench_conv_transpose: learned.conv_transpose2d vs PyTorch, {meta['date_utc']}")
    add("")
    add(
        f"commit `{(meta['git_commit'] or 'unknown')[:12]}`{' (dirty)' if meta['git_dirty_tracked_files'] else ''}, "
        f"Python {meta['python']}, NumPy {meta['numpy']}, SciPy {meta['scipy']}, PyTorch {meta['torch']} "
        f"({meta['torch_threads']} threads), {meta['cpu_count']} CPUs ({meta['cpu_model']}); float32; median "
        f"[min, max] of {meta['repeats']} runs after 1 warm-up, cases of one size interleaved."
    )
    for name, case in res["cases"].items():
        n, c_in, h, w = case["shape_in"]
        _, c_out, ho, wo = case["shape_out"]
        k = case["weight_shape"][2]
        add("")
        add(
            f"### {name}: {n}×{c_in}×{h}×{w} → {n}×{c_out}×{ho}×{wo} (k={k}, s={case['stride']}, "
            f"p={case['padding']})"
        )
        add("")
        add("| implementation | median | min | max | / torch channels_last (paired) | max rel. error vs torch |")
        add("|---|---:|---:|---:|---:|---:|")
        for key, st in case["timings"].items():
            r = case["ratios"].get(f"{key} / torch channels_last")
            if key == "torch NCHW":
                r = case["ratios"]["torch NCHW / torch channels_last"]
            rtxt = f"{r['ratio_of_medians']:.2f}× ({r['median_of_paired_ratios']:.2f}×)" if r else "1"
            err = case["max_rel_error_vs_torch"].get(key.removeprefix("numpy "))
            etxt = f"{err:.1e}" if err is not None else ""
            add(f"| {key} | {fmt_s(st['median_s'])} | {fmt_s(st['min_s'])} | {fmt_s(st['max_s'])} | {rtxt} | {etxt} |")
        for key, why in case["not_timed"].items():
            add(f"| {key} | not timed | | | | {why} |")
    add("")
    for method in ("subpixel", "scatter"):
        r = res["cases"]["main"]["ratios"][f"numpy {method} / torch channels_last"]
        ok = r["ratio_of_medians"] <= TARGET_RATIO
        label = "default method (subpixel)" if method == "subpixel" else "col2im method (scatter)"
        add(
            f"Target: {label} ≤ {TARGET_RATIO:g}× torch channels_last on the main case: "
            f"{r['ratio_of_medians']:.2f}× — {'met' if ok else '**missed**'}."
        )
    cont = meta.get("contention") or {}
    if cont:
        share = cont["other_processes_share_of_machine"]
        add(
            f"Other processes used {cont['other_processes_cpu_s']:.1f} CPU-s during the run "
            f"({100 * share:.0f}% of the machine; load average {meta['loadavg_start'][0]:.2f} at start)"
            + (": **timings are contaminated, rerun on an idle machine**." if share > 0.05 else ".")
        )
    add(f"Total benchmark time: {res['elapsed_s']:.0f} s.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--repeats", type=int, default=5, help="timed runs per case after 1 warm-up (default 5)")
    ap.add_argument(
        "--out", type=Path, default=REPO / "benchmarks" / "results", help="folder for bench_conv_transpose.json"
    )
    args = ap.parse_args(argv)
    if args.repeats < 5:
        ap.error(f"--repeats must be >= 5 (medians and spread need several runs), got {args.repeats}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    torch.set_num_threads(THREADS)
    start = time.perf_counter()
    start_busy, start_own = machine_busy_seconds(), own_cpu_seconds()
    res: dict = {"metadata": metadata(args), "target_ratio": TARGET_RATIO}
    res["metadata"]["loadavg_start"] = list(os.getloadavg())
    res["cases"] = {
        "main": run_case("main", ("subpixel", "scatter", "zero_insertion"), args.repeats),
        "small": run_case("small", ("subpixel", "scatter", "zero_insertion", "matrix"), args.repeats),
    }
    res["elapsed_s"] = time.perf_counter() - start
    res["metadata"]["contention"] = contention(start_busy, start_own, res["elapsed_s"])
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "bench_conv_transpose.json"
    path.write_text(json.dumps(res, indent=2) + "\n")
    print(markdown(res))
    log(f"wrote {path} ({res['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
