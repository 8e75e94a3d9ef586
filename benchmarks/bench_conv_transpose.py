#!/usr/bin/env python
"""Benchmark ``learned.conv_transpose2d`` (NumPy) against ``torch.nn.functional.conv_transpose2d``.

Run from the repository root::

    .venv/bin/python benchmarks/bench_conv_transpose.py [--repeats 5] [--out DIR] [--quick]

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
- ``--quick`` is a smoke test: the main case shrunk to ``1×16×64×64`` (16 output channels),
  3 repeats; the target is then not judged.
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
    numpy_blas,
    ratio,
    stats,
    time_interleaved,
    verdict,
)

from learned.conv_transpose import conv_transpose2d  # noqa: E402

THREADS = 2
TARGET_RATIO = 2.0  # numpy default method / torch channels_last, main case
CASES = {
    # name: (N, C_in, H, W, C_out, k, stride, padding)
    "main": (1, 64, 256, 256, 64, 4, 2, 1),
    "small": (1, 8, 32, 32, 8, 4, 2, 1),
}
QUICK_MAIN = (1, 16, 64, 64, 16, 4, 2, 1)  # --quick: a smoke test, not the case


# --------------------------------------------------------------------------- metadata


def case_metadata(args: argparse.Namespace) -> dict:
    import torch

    return {
        "numpy_blas": numpy_blas(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "repeats": args.repeats,
        "quick": args.quick,
        "dtype": "float32",
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
    runs = time_interleaved(cases, repeats)
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
    return fmt_seconds(t, ms_digits=1)


def markdown(res: dict) -> str:
    meta = res["metadata"]
    lines: list[str] = []
    add = lines.append
    add(f"## bench_conv_transpose: learned.conv_transpose2d vs PyTorch, {meta['date_utc']}")
    add("")
    add(
        f"{fmt_commit(meta)}, Python {meta['python']}, NumPy {meta['numpy']}, SciPy {meta['scipy']}, PyTorch {meta['torch']} "
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
            rtxt = fmt_ratio(r, "×") if r else "1"
            err = case["max_rel_error_vs_torch"].get(key.removeprefix("numpy "))
            etxt = f"{err:.1e}" if err is not None else ""
            add(f"| {key} | {fmt_s(st['median_s'])} | {fmt_s(st['min_s'])} | {fmt_s(st['max_s'])} | {rtxt} | {etxt} |")
        for key, why in case["not_timed"].items():
            add(f"| {key} | not timed | | | | {why} |")
    add("")
    for method in ("subpixel", "scatter"):
        r = res["cases"]["main"]["ratios"][f"numpy {method} / torch channels_last"]
        ok = None if meta.get("quick") else r["ratio_of_medians"] <= TARGET_RATIO
        label = "default method (subpixel)" if method == "subpixel" else "col2im method (scatter)"
        add(
            f"Target: {label} ≤ {TARGET_RATIO:g}× torch channels_last on the main case: "
            f"{r['ratio_of_medians']:.2f}× — {verdict(ok)}{' (--quick: reduced main case)' if ok is None else ''}."
        )
    note = contention_note(meta)
    if note:
        add(note)
    add(f"Total benchmark time: {res['elapsed_s']:.0f} s.")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_common_args(
        ap, "bench_conv_transpose.json", f"smoke test: main case shrunk to {QUICK_MAIN[:4]}, 3 repeats, target not judged"
    )
    args = ap.parse_args(argv)
    check_repeats(ap, args, minimum=5)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import torch

    if args.quick:
        CASES["main"] = QUICK_MAIN
    torch.set_num_threads(THREADS)
    start = contention_start()
    res: dict = {"metadata": metadata(case_metadata(args)), "target_ratio": TARGET_RATIO}
    res["cases"] = {
        "main": run_case("main", ("subpixel", "scatter", "zero_insertion"), args.repeats),
        "small": run_case("small", ("subpixel", "scatter", "zero_insertion", "matrix"), args.repeats),
    }
    return finish_run(res, start, args.out / "bench_conv_transpose.json", markdown)


if __name__ == "__main__":
    sys.exit(main())
