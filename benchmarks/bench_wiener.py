#!/usr/bin/env python
"""Benchmark ``restore.wiener`` against the FFT round trip it is built on, scikit-image,
the ``deconvkit deblur`` command line and a DCT (reflective-boundary) deconvolution.

Run from the repository root::

    .venv/bin/python benchmarks/bench_wiener.py [--sizes 1,12,24] [--repeats 5]
                                                [--out DIR] [--quick] [--all]

Markdown tables go to stdout, progress to stderr, and the same data to
``DIR/bench_wiener.json`` (default ``benchmarks/results``).

Method
------
- Every timing is ``time.perf_counter`` wall time: one warm-up run, then ``--repeats``
  runs (>= 5 by default); we report the median and the spread (min, max).
- The cases that are compared with each other are *interleaved* (one run of each per
  round, the order rotated every round), so that a ratio is measured under the same
  machine conditions; ratios are the ratio of the medians (the median of the per-round
  ratios is in the JSON as well).
- Test images are seeded, smooth random float32 data (noise low-pass filtered at two
  scales); the PSF is ``restore.motion_psf(21, 30)`` unless said otherwise.
- The round-trip baseline is the bare ``scipy.fft.rfft2`` + ``irfft2`` of an array of the
  FFT grid ``restore.wiener`` uses (``restore.boundary.symmetric_padding``), float32,
  ``workers=2``: the floor for any DFT Wiener filter on that grid.
- The DCT comparison (Ng, Chan & Tang 1999) is implemented here only. It is exact for
  PSFs symmetric about *both* axes (``p[i, j] = p[-i, j] = p[i, -j]``), where the
  reflective-boundary blur (``scipy.ndimage`` mode ``'reflect'``, half-sample symmetric)
  is diagonalised by the DCT-II; point symmetry is not enough (``motion_psf(21, 30)`` is
  shown failing). It is checked before it is timed, on ``defocus_psf(10)``; if the check
  fails the timing is not published.
- Contention: the CPU time other processes used during the run is recorded; above 5 % of
  the machine the output says the timings are contaminated.
- The timing, statistics, contention and metadata code is shared with the other benchmarks
  (``benchmarks/_harness.py``).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import scipy.fft as sfft
import scipy.ndimage as ndi

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
    walls,
)

import restore  # noqa: E402
from restore.boundary import symmetric_padding  # noqa: E402
from restore.otf import is_point_symmetric  # noqa: E402
from restore.psf import check_psf  # noqa: E402
from restore.wiener import _fill_symmetric, _gain  # noqa: E402

NSR = 1e-2
WORKERS = 2
PSF_LENGTH, PSF_ANGLE = 21, 30
# 4:3 sizes named in the issue (height, width).
NAMED_SIZES = {1: (864, 1152), 12: (3000, 4000), 24: (4242, 5656)}
TARGETS = {
    "wiener_over_roundtrip_max": 1.3,
    "skimage_over_wiener_min": 2.5,  # at 12 MP
    "cli_12mp_seconds_max": 1.2,
    "cli_24mp_peak_bytes_max": 1.5e9,  # 1.5 GB (decimal)
}


# --------------------------------------------------------------------------- helpers


def size_for(mp: float) -> tuple[int, int]:
    """(height, width) of a 4:3 image of about ``mp`` megapixels."""
    if mp in NAMED_SIZES:
        return NAMED_SIZES[mp]
    h = int(round(math.sqrt(mp * 1e6 * 3 / 4)))
    return h, int(round(h * 4 / 3))


def smooth_image(shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Seeded smooth random float32 image in [0, 1]: Gaussian-filtered noise at two scales,
    upsampled (bicubic) to ``shape`` (H, W) or (H, W, C)."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = shape[:2]
    extra = tuple(shape[2:])
    out = np.zeros(shape, dtype=np.float32)
    for factor, sigma, weight in ((16, 1.5, 0.7), (2, 1.0, 0.3)):
        lh, lw = max(h // factor, 4), max(w // factor, 4)
        low = rng.standard_normal((lh, lw) + extra).astype(np.float32)
        low = ndi.gaussian_filter(low, sigma=(sigma, sigma) + (0,) * len(extra))
        low /= low.std() + 1e-12
        up = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC)
        out += weight * up.reshape(shape)
    lo, hi = np.percentile(out[::7, ::7], [0.5, 99.5])
    np.clip((out - lo) / (hi - lo), 0.0, 1.0, out=out)
    return out


def roundtrip(x: np.ndarray) -> Callable[[], np.ndarray]:
    """The bare real-FFT round trip of ``x`` (same calls and flags as restore.wiener)."""
    shape = x.shape

    def run() -> np.ndarray:
        return sfft.irfft2(sfft.rfft2(x, workers=WORKERS), s=shape, workers=WORKERS, overwrite_x=True)

    return run


# --------------------------------------------------------------------------- metadata


def case_metadata(args: argparse.Namespace) -> dict:
    import skimage

    try:
        import cv2

        cv2_version = cv2.__version__
    except ImportError:  # pragma: no cover
        cv2_version = None
    return {
        "skimage": skimage.__version__,
        "opencv": cv2_version,
        "repeats": args.repeats,
        "quick": args.quick,
        "all": args.all,
        "sizes_mp": args.sizes,
        "fft_workers": WORKERS,
        "psf": f"restore.motion_psf({PSF_LENGTH}, {PSF_ANGLE})",
        "nsr": NSR,
    }


# --------------------------------------------------------------------------- gray images


def bench_gray(mp: float, repeats: int, with_skimage: bool) -> dict:
    from skimage import restoration

    h, w = size_for(mp)
    img = smooth_image((h, w), seed=1000 + int(mp))
    psf = restore.motion_psf(PSF_LENGTH, PSF_ANGLE)
    grid, pad = symmetric_padding(img.shape, psf.shape)
    padded = np.ascontiguousarray(np.pad(img, pad, mode="symmetric"))
    assert padded.shape == tuple(grid) and padded.dtype == np.float32
    reg = np.ones((1, 1))
    cases = {
        "wiener_symmetric": lambda: restore.wiener(img, psf, nsr=NSR, boundary="symmetric", workers=WORKERS),
        "roundtrip_padded": roundtrip(padded),
        "wiener_wrap": lambda: restore.wiener(img, psf, nsr=NSR, boundary="wrap", workers=WORKERS),
        "roundtrip_unpadded": roundtrip(img),
    }
    if with_skimage:
        cases["skimage_wiener"] = lambda: restoration.wiener(img, psf, NSR, reg=reg, clip=False)
    log(f"gray {mp:g} MP {w}x{h}, FFT grid {grid[1]}x{grid[0]}: {len(cases)} cases x {repeats + 1} runs")
    runs = time_interleaved(cases, repeats, cpu=True)
    ratios = {
        "wiener_symmetric/roundtrip_padded": ratio(runs, "wiener_symmetric", "roundtrip_padded"),
        "wiener_wrap/roundtrip_unpadded": ratio(runs, "wiener_wrap", "roundtrip_unpadded"),
    }
    if with_skimage:
        ratios["skimage_wiener/wiener_symmetric"] = ratio(runs, "skimage_wiener", "wiener_symmetric")
        ratios["skimage_wiener/wiener_wrap"] = ratio(runs, "skimage_wiener", "wiener_wrap")
    # Sanity: skimage and our wrap mode compute the same thing.
    check = None
    if with_skimage and mp <= 1.5:
        a = restoration.wiener(img, psf, NSR, reg=reg, clip=False)
        b = restore.wiener(img, psf, nsr=NSR, boundary="wrap")
        check = float(np.abs(a - b).max())
    return {
        "mp": mp,
        "megapixels": h * w / 1e6,
        "shape_hw": [h, w],
        "fft_grid_symmetric_hw": list(grid),
        "pad_width": [list(p) for p in pad],
        "psf_shape": list(psf.shape),
        "timings": {k: stats(v) for k, v in runs.items()},
        "ratios": ratios,
        "skimage_vs_wrap_max_abs_diff": check,
    }


# --------------------------------------------------------------------------- colour


def bench_color(mp: float, repeats: int) -> dict:
    h, w = size_for(mp)
    img = smooth_image((h, w, 3), seed=2000 + int(mp))
    psf = restore.motion_psf(PSF_LENGTH, PSF_ANGLE)
    grid, pad = symmetric_padding((h, w), psf.shape)
    planes = [np.ascontiguousarray(np.pad(img[..., c], pad, mode="symmetric")) for c in range(3)]

    trips = [roundtrip(p) for p in planes]

    def three_roundtrips() -> None:
        for trip in trips:  # each result dropped at once, as restore.wiener does per channel
            trip()

    cases = {
        "wiener_symmetric_rgb": lambda: restore.wiener(img, psf, nsr=NSR, boundary="symmetric", workers=WORKERS),
        "roundtrip_padded_x3": three_roundtrips,
    }
    log(f"colour {mp:g} MP {w}x{h}x3: {len(cases)} cases x {repeats + 1} runs")
    runs = time_interleaved(cases, repeats, cpu=True)
    return {
        "mp": mp,
        "shape_hwc": [h, w, 3],
        "fft_grid_symmetric_hw": list(grid),
        "timings": {k: stats(v) for k, v in runs.items()},
        "ratios": {"wiener_symmetric_rgb/roundtrip_padded_x3": ratio(runs, "wiener_symmetric_rgb", "roundtrip_padded_x3")},
    }


# --------------------------------------------------------------------------- breakdown


def bench_breakdown(mp: float, repeats: int) -> dict:
    """Time the steps of restore.wiener (gray, symmetric, float32, point-symmetric PSF) one by one.

    The steps are what ``restore.wiener(img, psf, nsr=NSR, boundary="symmetric",
    workers=WORKERS)`` runs, with the same functions and arguments:

    1. validation: ``as_float_image`` (no copy for float32; one ``np.sum``, and the exact
       ``isfinite`` pass only if that sum overflows);
    2. the filter: ``restore.wiener._gain``, the real gain ``H / (H² + nsr)`` built block by
       block from ``restore.otf.otf_row_blocks`` (so it includes the OTF);
    3. the padding: ``np.empty`` of the FFT grid + ``restore.wiener._fill_symmetric`` (its
       first-touch page faults land here); the same fill into an already-touched buffer is
       timed as well, for reference only;
    4. ``scipy.fft.rfft2`` into a new spectrum;
    5. the product ``np.multiply(spectrum, gain, out=spectrum)`` in place (the spectrum is
       restored, untimed, before each run: repeated products would drift into denormals);
    6. ``irfft2(..., overwrite_x=True)``, timed on a copy of the product, minus the cost of
       that copy (also timed);
    7. the crop copied into the output, which for a grayscale image is the (already touched)
       padding buffer.

    The PSF checks (``check_psf`` on a 21x21 array), ``resolve_nsr``, the choice checks and
    ``fft_grid`` take microseconds and are not timed. The sum of the steps is what the work
    costs one step at a time; the gap to the measured total is the cost of running them
    together (caches, allocator state, thread hand-offs). Each step also records its minor
    page faults (``ru_minflt`` delta): first touches of fresh memory, a large share of the
    time on VMs.
    """
    from deconvkit._validation import as_float_image

    h, w = size_for(mp)
    img = smooth_image((h, w), seed=1000 + int(mp))
    k = check_psf(restore.motion_psf(PSF_LENGTH, PSF_ANGLE)).astype(np.float32)  # as restore.wiener
    if not is_point_symmetric(k):
        raise RuntimeError(f"the breakdown mirrors the real-gain path; {PSF_LENGTH}, {PSF_ANGLE} is not point-symmetric")
    grid, pad = symmetric_padding(img.shape, k.shape)  # = restore.boundary.fft_grid(..., "symmetric")
    (top, _), (left, _) = pad
    f32 = np.dtype(np.float32)
    gain = _gain(k, grid, NSR, "identity", f32, WORKERS)
    assert gain.dtype == np.float32  # real gain: point-symmetric PSF
    padded = np.empty(grid, dtype=np.float32)
    _fill_symmetric(padded, img, pad)
    assert np.array_equal(padded, np.pad(img, pad, mode="symmetric"))
    spectrum = sfft.rfft2(padded, workers=WORKERS)
    work = spectrum.copy()  # the product's in-place target, restored before each run
    product = spectrum * gain
    restored = sfft.irfft2(product.copy(), s=grid, workers=WORKERS, overwrite_x=True)
    touched = np.zeros(grid, dtype=np.float32)  # an already-touched buffer, like the padding buffer
    out = touched.reshape(-1)[: h * w].reshape(h, w)  # where restore.wiener puts a gray result
    reference = restore.wiener(img, k, nsr=NSR, boundary="symmetric", workers=WORKERS)
    out[...] = restored[top : top + h, left : left + w]
    if not np.allclose(out, reference, rtol=0, atol=1e-5):
        raise RuntimeError("the breakdown's steps do not reproduce restore.wiener")

    def fill_fresh() -> np.ndarray:
        buf = np.empty(grid, dtype=np.float32)
        _fill_symmetric(buf, img, pad)
        return buf

    def fill_touched() -> np.ndarray:
        _fill_symmetric(touched, img, pad)
        return touched

    def crop() -> np.ndarray:
        out[...] = restored[top : top + h, left : left + w]
        return out

    names = {
        "total": "total: restore.wiener",
        "validation": "validation: as_float_image (one sum; exact isfinite only if it overflows)",
        "filter": "filter: real gain H/(H²+nsr), blocked (incl. OTF)",
        "pad": "padding: np.empty + _fill_symmetric (fresh buffer)",
        "pad_touched": "  for reference: _fill_symmetric into an already-touched buffer (not in sum)",
        "rfft2": "rfft2 (new spectrum)",
        "mul": "product: spectrum *= gain (in place)",
        "irfft2": "irfft2, overwrite_x (+ spectrum copy)",
        "copy": "  spectrum-size copy (to subtract)",
        "crop": "crop into output (the touched padding buffer)",
    }
    cases = {
        names["total"]: lambda: restore.wiener(img, k, nsr=NSR, boundary="symmetric", workers=WORKERS),
        names["validation"]: lambda: as_float_image(img),
        names["filter"]: lambda: _gain(k, grid, NSR, "identity", f32, WORKERS),
        names["pad"]: fill_fresh,
        names["pad_touched"]: fill_touched,
        names["rfft2"]: lambda: sfft.rfft2(padded, workers=WORKERS),
        names["mul"]: lambda: np.multiply(work, gain, out=work),
        names["irfft2"]: lambda: sfft.irfft2(product.copy(), s=grid, workers=WORKERS, overwrite_x=True),
        names["copy"]: lambda: product.copy(),
        names["crop"]: crop,
    }
    setup = {names["mul"]: lambda: np.copyto(work, spectrum)}
    log(f"breakdown {mp:g} MP: {len(cases)} steps x {repeats + 1} runs")
    runs = time_interleaved(cases, repeats, setup=setup, cpu=True)
    med = {key: statistics.median(walls(runs[label])) for key, label in names.items()}
    flt = {key: statistics.median(r["minflt"] for r in runs[label]) for key, label in names.items()}
    parts = {
        "validation": "validation",
        "filter": "filter",
        "pad_fill": "pad",
        "rfft2": "rfft2",
        "multiply": "mul",
        "irfft2": "irfft2",
        "crop": "crop",
    }
    steps = {step: med[key] for step, key in parts.items()}
    steps["irfft2"] -= med["copy"]
    faults = {step: flt[key] for step, key in parts.items()}
    faults["irfft2"] -= flt["copy"]
    return {
        "mp": mp,
        "shape_hw": [h, w],
        "fft_grid_hw": list(grid),
        "gain_dtype": str(gain.dtype),
        "spectrum_bytes": int(spectrum.nbytes),
        "grid_buffer_bytes": int(padded.nbytes),
        "page_size_bytes": resource.getpagesize(),
        "timings": {label: stats(v) for label, v in runs.items()},
        "steps_median_s": steps,
        "sum_of_steps_s": sum(steps.values()),
        "fft_share_of_sum": (steps["rfft2"] + steps["irfft2"]) / sum(steps.values()),
        "steps_minor_faults_median": faults,
        "sum_of_steps_minor_faults": sum(faults.values()),
    }


# --------------------------------------------------------------------------- DCT


def _psf_corner(psf: np.ndarray) -> np.ndarray:
    """First column of the reflective-boundary blur matrix, as an image: the blur of a unit
    impulse at pixel (0, 0) with half-sample symmetric extension. The extended impulse has
    ones at (0, 0), (-1, 0), (0, -1), (-1, -1), so ``c[i, j] = sum_{r,s in {0,1}}
    p[a+i+r, b+j+s]`` for ``0 <= i <= a``, ``0 <= j <= b`` (``(a, b)`` the PSF centre)."""
    kh, kw = psf.shape
    if kh % 2 == 0 or kw % 2 == 0:
        raise ValueError("the DCT helper needs an odd-sized, centred PSF")
    a, b = kh // 2, kw // 2
    p = np.zeros((kh + 1, kw + 1))
    p[:kh, :kw] = psf
    q = p[a:, b:]
    return q[:-1, :-1] + q[1:, :-1] + q[:-1, 1:] + q[1:, 1:]


def dct_eigenvalues_reference(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Ng-Chan-Tang: ``lambda = dct2(A e1) / dct2(e1)`` with full-size DCT-II transforms."""
    c = _psf_corner(psf)
    ae1 = np.zeros(shape)
    ae1[: c.shape[0], : c.shape[1]] = c
    e1 = np.zeros(shape)
    e1[0, 0] = 1.0
    return sfft.dctn(ae1, type=2) / sfft.dctn(e1, type=2)


def dct_eigenvalues(psf: np.ndarray, shape: tuple[int, int], dtype=np.float64) -> np.ndarray:
    """The same eigenvalues by two small matrix products (A e1 is non-zero only in an
    ``(a+1, b+1)`` corner): ``lambda[k, l] = sum_ij c[i, j] C_M[k, i] C_N[l, j]`` with
    ``C_M[k, i] = cos(pi k (2i+1) / 2M) / cos(pi k / 2M)``."""
    c = _psf_corner(psf)
    m, n = shape

    def basis(size: int, taps: int) -> np.ndarray:
        kk = np.arange(size, dtype=np.float64)[:, None]
        ii = np.arange(taps, dtype=np.float64)[None, :]
        return np.cos(np.pi * kk * (2 * ii + 1) / (2 * size)) / np.cos(np.pi * kk / (2 * size))

    return (basis(m, c.shape[0]) @ c @ basis(n, c.shape[1]).T).astype(dtype, copy=False)


def dct_wiener(y: np.ndarray, psf: np.ndarray, nsr: float, workers: int | None = None) -> np.ndarray:
    """Wiener deconvolution with reflective (half-sample symmetric) boundaries via DCT-II.

    Exact only for PSFs symmetric about both axes (``p[i, j] = p[-i, j] = p[i, -j]``):
    then the blur matrix is ``C^T diag(lambda) C`` with the orthonormal 2-D DCT-II ``C``
    (Ng, Chan & Tang 1999). ``dctn``/``idctn`` with ``norm=None`` are ``S C`` and
    ``C^T S^-1`` with a diagonal ``S``, which commutes with the diagonal filter."""
    lam = dct_eigenvalues(psf, y.shape, dtype=y.dtype)
    gain = lam / (lam * lam + y.dtype.type(nsr))
    spec = sfft.dctn(y, type=2, workers=workers)
    spec *= gain
    return sfft.idctn(spec, type=2, workers=workers, overwrite_x=True)


def dct_verify() -> dict:
    """Check the DCT path on small float64 images before timing it."""
    rng = np.random.default_rng(7)
    x = rng.random((97, 131))
    psfs = {
        "motion_psf(21, 0)": restore.motion_psf(21, 0),
        "defocus_psf(5)": restore.defocus_psf(5),
        "defocus_psf(10)": restore.defocus_psf(10),
        f"motion_psf({PSF_LENGTH}, {PSF_ANGLE})": restore.motion_psf(PSF_LENGTH, PSF_ANGLE),
    }
    out = {}
    for name, p in psfs.items():
        lam = dct_eigenvalues_reference(p, x.shape)
        entry = {
            "doubly_symmetric": bool(np.allclose(p, p[::-1, :], atol=1e-12) and np.allclose(p, p[:, ::-1], atol=1e-12)),
            "point_symmetric": bool(np.allclose(p, p[::-1, ::-1], atol=1e-12)),
            "eig_fast_vs_reference_max_abs": float(np.abs(dct_eigenvalues(p, x.shape) - lam).max()),
            "min_abs_eigenvalue": float(np.abs(lam).min()),
            "forward_max_abs_err": {},
        }
        # Which scipy.ndimage boundary mode does multiplication by lambda in DCT-II space
        # reproduce? ('reflect' = d c b a | a b c d, half-sample symmetric.)
        fwd = sfft.idctn(lam * sfft.dctn(x, type=2), type=2)
        for mode in ("reflect", "mirror", "nearest", "wrap"):
            entry["forward_max_abs_err"][mode] = float(np.abs(fwd - ndi.convolve(x, p, mode=mode)).max())
        y = ndi.convolve(x, p, mode="reflect")
        entry["inverse_nsr"] = 1e-20
        entry["inverse_max_abs_err"] = float(np.abs(dct_wiener(y, p, 1e-20) - x).max())
        out[name] = entry
    return out


def bench_dct(mp: float, repeats: int, verification: dict) -> dict:
    name = "defocus_psf(10)"
    v = verification[name]
    ok = (
        v["doubly_symmetric"]
        and v["forward_max_abs_err"]["reflect"] < 1e-10
        and v["inverse_max_abs_err"] < 1e-6
        and v["eig_fast_vs_reference_max_abs"] < 1e-10
    )
    result: dict = {"psf": name, "verified": bool(ok)}
    if not ok:
        log("DCT path failed its verification: timing not published")
        return result
    h, w = size_for(mp)
    img = smooth_image((h, w), seed=3000 + int(mp))
    psf = restore.defocus_psf(10)
    motion = restore.motion_psf(PSF_LENGTH, PSF_ANGLE)
    grid, _ = symmetric_padding(img.shape, psf.shape)
    cases = {
        "dct_wiener": lambda: dct_wiener(img, psf, NSR, workers=WORKERS),
        "wiener_symmetric_same_psf": lambda: restore.wiener(img, psf, nsr=NSR, boundary="symmetric", workers=WORKERS),
        "wiener_symmetric_motion_psf": lambda: restore.wiener(img, motion, nsr=NSR, boundary="symmetric", workers=WORKERS),
    }
    log(f"DCT {mp:g} MP {w}x{h}: {len(cases)} cases x {repeats + 1} runs")
    runs = time_interleaved(cases, repeats, cpu=True)
    a = dct_wiener(img, psf, NSR, workers=WORKERS)
    b = restore.wiener(img, psf, nsr=NSR, boundary="symmetric", workers=WORKERS)
    diff = np.abs(a.astype(np.float64) - b)
    m = 4 * max(psf.shape)
    result.update(
        {
            "mp": mp,
            "shape_hw": [h, w],
            "dct_grid_hw": [h, w],
            "fft_grid_symmetric_hw_same_psf": list(grid),
            "output_dtype": str(a.dtype),
            "timings": {k: stats(v) for k, v in runs.items()},
            "ratios": {
                "dct_wiener/wiener_symmetric_same_psf": ratio(runs, "dct_wiener", "wiener_symmetric_same_psf"),
                "dct_wiener/wiener_symmetric_motion_psf": ratio(runs, "dct_wiener", "wiener_symmetric_motion_psf"),
            },
            "max_abs_diff_vs_wiener_symmetric": float(diff.max()),
            "max_abs_diff_vs_wiener_symmetric_interior": float(diff[m:-m, m:-m].max()),
            "interior_margin_px": m,
        }
    )
    return result


# --------------------------------------------------------------------------- CLI


def deconvkit_exe() -> Path:
    exe = Path(sys.executable).parent / "deconvkit"
    if not exe.exists():
        raise SystemExit(f"no deconvkit executable next to {sys.executable}")
    return exe


def write_jpeg(path: Path, shape: tuple[int, int, int], seed: int) -> None:
    import cv2

    rgb = smooth_image(shape, seed=seed)
    arr = np.rint(rgb * 255).astype(np.uint8)
    if not cv2.imwrite(str(path), arr[..., ::-1].copy(), [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise RuntimeError(f"could not write {path}")


def run_child(cmd: list[str]) -> dict:
    """Run ``cmd``; return its wall time and the resource usage of that child alone.

    ``os.wait4`` gives the usage of exactly this child (unlike
    ``getrusage(RUSAGE_CHILDREN)``, the maximum over all children so far); on Linux
    ``ru_maxrss`` is in KiB.
    """
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err.read().decode(errors='replace')}")
    return {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "minflt": usage.ru_minflt,
        "maxrss_bytes": int(usage.ru_maxrss) * 1024,
    }


def child_peak_rss(cmd: list[str]) -> int | None:
    """Peak RSS in bytes of ``cmd`` alone, measured by GNU time (None if it is missing).

    ``ru_maxrss`` of a child forked from this (large) benchmark process is inflated: the
    forked copy of our address space counts towards the child's high-water mark until it
    execs. GNU time forks the command from its own small process, so its ``%M`` is the
    command's own peak.
    """
    gnu_time = Path("/usr/bin/time")
    if not gnu_time.exists():
        return None
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run([str(gnu_time), "-f", "%M", "-o", out.name, *cmd], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(out.read().split()[-1]) * 1024


def bench_cli(mp: float, repeats: int, mem_mp: float | None) -> dict:
    from deconvkit.io import read_image, write_image

    exe = str(deconvkit_exe())
    result: dict = {"executable": exe}
    with tempfile.TemporaryDirectory(prefix="bench_wiener_") as tmp:
        tmpd = Path(tmp)
        h, w = size_for(mp)
        src, dst = tmpd / "in.jpg", tmpd / "out.jpg"
        write_jpeg(src, (h, w, 3), seed=4000 + int(mp))
        cmd = [exe, "deblur", str(src), "-o", str(dst), "--blur", "motion", "--length", str(PSF_LENGTH),
               "--angle", str(PSF_ANGLE), "--overwrite"]
        log(f"CLI {mp:g} MP {w}x{h} colour JPEG ({src.stat().st_size / 1e6:.1f} MB): {repeats + 1} runs")
        cli_runs = [run_child(cmd) for _ in range(repeats + 1)][1:]
        startup = [run_child([exe, "--version"]) for _ in range(4)][1:]
        imp_cmd = [sys.executable, "-c", "import numpy, scipy.fft, cv2, PIL.Image, click, tqdm, restore, deconvkit.io"]
        imports = [run_child(imp_cmd) for _ in range(4)][1:]

        # The same work in this process, step by step (no start-up, no imports).
        psf = restore.motion_psf(PSF_LENGTH, PSF_ANGLE)
        cores = os.cpu_count() or 1
        image = read_image(src, dtype=np.float32)
        restored = restore.wiener(image, psf, boundary="symmetric", workers=cores)
        tmp_out = tmpd / "inproc.jpg"
        steps = time_interleaved(
            {
                "read_image (JPEG decode + float32)": lambda: read_image(src, dtype=np.float32),
                f"restore.wiener (3 channels, workers={cores})": lambda: restore.wiener(
                    image, psf, boundary="symmetric", workers=cores
                ),
                "write_image (clip, uint8, JPEG encode, fsync)": lambda: write_image(tmp_out, restored, overwrite=True),
            },
            repeats,
            cpu=True,
        )
        image = restored = None  # free before the memory measurement
        own_peak = [child_peak_rss(cmd) for _ in range(2)]
        result.update(
            {
                "mp": mp,
                "shape_hwc": [h, w, 3],
                "jpeg_bytes": src.stat().st_size,
                "command": ["deconvkit", *cmd[1:]],
                "wall": stats(cli_runs),
                "peak_rss_bytes": {
                    "median": int(statistics.median(r["maxrss_bytes"] for r in cli_runs)),
                    "max": max(r["maxrss_bytes"] for r in cli_runs),
                }
                if None in own_peak
                else {"median": int(statistics.median(own_peak)), "max": max(own_peak)},
                "startup_version_s": stats(startup),
                "python_imports_s": stats(imports),
                "in_process_steps": {k: stats(v) for k, v in steps.items()},
                "peak_rss_method": (
                    "os.wait4 ru_maxrss of the child (inflated by this process's forked pages)"
                    if None in own_peak
                    else "GNU time %M of the deconvkit command alone"
                ),
            }
        )
        if mem_mp is not None:
            mh, mw = size_for(mem_mp)
            big = tmpd / "big.jpg"
            write_jpeg(big, (mh, mw, 3), seed=5000 + int(mem_mp))
            bcmd = [exe, "deblur", str(big), "-o", str(tmpd / "big_out.jpg"), "--blur", "motion", "--length",
                    str(PSF_LENGTH), "--angle", str(PSF_ANGLE), "--overwrite"]
            log(f"CLI peak memory {mem_mp:g} MP {mw}x{mh} colour JPEG: 2 runs")
            peaks = [child_peak_rss(bcmd) for _ in range(2)]
            if None in peaks:
                peaks = [run_child(bcmd)["maxrss_bytes"] for _ in range(2)]
            result["memory"] = {
                "mp": mem_mp,
                "shape_hwc": [mh, mw, 3],
                "jpeg_bytes": big.stat().st_size,
                "peak_rss_bytes": max(peaks),
                "peak_rss_runs_bytes": peaks,
            }
    return result


# --------------------------------------------------------------------------- report


def markdown(res: dict) -> str:
    meta = res["metadata"]
    lines: list[str] = []
    add = lines.append
    add(f"## bench_wiener: restore.wiener, {meta['date_utc']}")
    add("")
    add(
        f"{fmt_commit(meta)}, Python {meta['python']}, NumPy {meta['numpy']}, SciPy {meta['scipy']}, scikit-image {meta['skimage']}, "
        f"{meta['cpu_count']} CPUs ({meta['cpu_model']}); float32, PSF {meta['psf']}, nsr={meta['nsr']}, "
        f"workers={meta['fft_workers']}; median [min, max] of {meta['repeats']} runs after 1 warm-up, "
        "compared cases interleaved."
    )
    add("")
    add("### Timings")
    add("")
    add("| case | image (WxH) | FFT grid (WxH) | median | min | max | CPU user / sys (median) |")
    add("|---|---|---|---:|---:|---:|---:|")

    def row(case: str, image: str, grid: str, s: dict) -> None:
        cpu = ""
        if "cpu_user_median_s" in s:
            cpu = f"{fmt_seconds(s['cpu_user_median_s'])} / {fmt_seconds(s['cpu_sys_median_s'])}"
        add(f"| {case} | {image} | {grid} | {fmt_seconds(s['median_s'])} | {fmt_seconds(s['min_s'])} | {fmt_seconds(s['max_s'])} | {cpu} |")

    for g in res["gray"]:
        h, w = g["shape_hw"]
        gh, gw = g["fft_grid_symmetric_hw"]
        img = f"{w}x{h} ({g['megapixels']:.1f} MP) gray"
        t = g["timings"]
        row("(a) restore.wiener, symmetric", img, f"{gw}x{gh}", t["wiener_symmetric"])
        row("(b) rfft2+irfft2 round trip", img, f"{gw}x{gh}", t["roundtrip_padded"])
        if "skimage_wiener" in t:
            row("(c) skimage wiener", img, f"{w}x{h}", t["skimage_wiener"])
        row("(d) restore.wiener, wrap", img, f"{w}x{h}", t["wiener_wrap"])
        row("(d) rfft2+irfft2 round trip", img, f"{w}x{h}", t["roundtrip_unpadded"])
    if res.get("color"):
        c = res["color"]
        h, w, _ = c["shape_hwc"]
        gh, gw = c["fft_grid_symmetric_hw"]
        img = f"{w}x{h}x3 ({h * w / 1e6:.1f} MP) RGB"
        row("restore.wiener, symmetric", img, f"{gw}x{gh} x3", c["timings"]["wiener_symmetric_rgb"])
        row("3 x round trip", img, f"{gw}x{gh} x3", c["timings"]["roundtrip_padded_x3"])
    d = res.get("dct")
    if d and d.get("verified"):
        h, w = d["shape_hw"]
        gh, gw = d["fft_grid_symmetric_hw_same_psf"]
        img = f"{w}x{h} gray"
        row(f"DCT-II Wiener, {d['psf']}", img, f"{w}x{h} (DCT)", d["timings"]["dct_wiener"])
        row(f"restore.wiener symmetric, {d['psf']}", img, f"{gw}x{gh}", d["timings"]["wiener_symmetric_same_psf"])
    cli = res.get("cli")
    if cli:
        h, w, _ = cli["shape_hwc"]
        row("CLI `deconvkit deblur` end to end", f"{w}x{h} JPEG q90", "", cli["wall"])
        row("  `deconvkit --version` (start-up only)", "", "", cli["startup_version_s"])
        row("  `python -c 'import numpy, scipy.fft, cv2, PIL, click, tqdm, restore, deconvkit.io'`", "", "", cli["python_imports_s"])
        for k, s in cli["in_process_steps"].items():
            row(f"  in-process: {k}", f"{w}x{h} JPEG", "", s)

    add("")
    add("CPU time is summed over all threads of the benchmark process (CLI rows: of the child process); "
        "a large system share is page-fault (first-touch) cost, which dominates the spread on VMs.")
    add("")
    add("### Ratios and targets (ratio of medians; median of paired per-round ratios in brackets)")
    add("")
    add("| ratio | image | value | target | verdict |")
    add("|---|---|---:|---|---|")
    for g in res["gray"]:
        h, w = g["shape_hw"]
        img = f"{w}x{h} gray"
        r = g["ratios"]["wiener_symmetric/roundtrip_padded"]
        ok = r["ratio_of_medians"] <= TARGETS["wiener_over_roundtrip_max"]
        add(f"| wiener symmetric / round trip (same grid) | {img} | {fmt_ratio(r)} | <= 1.3 | {verdict(ok)} |")
        r = g["ratios"]["wiener_wrap/roundtrip_unpadded"]
        add(f"| wiener wrap / round trip (unpadded) | {img} | {fmt_ratio(r)} | reference | |")
        if "skimage_wiener/wiener_symmetric" in g["ratios"]:
            r = g["ratios"]["skimage_wiener/wiener_symmetric"]
            target_here = g["mp"] == 12
            ok = r["ratio_of_medians"] >= TARGETS["skimage_over_wiener_min"] if target_here else None
            add(f"| skimage / wiener symmetric | {img} | {fmt_ratio(r)} | {'>= 2.5' if target_here else '(>= 2.5 at 12 MP)'} | {verdict(ok)} |")
            r = g["ratios"]["skimage_wiener/wiener_wrap"]
            add(f"| skimage / wiener wrap (like for like) | {img} | {fmt_ratio(r)} | reference | |")
    if res.get("color"):
        c = res["color"]
        h, w, _ = c["shape_hwc"]
        r = c["ratios"]["wiener_symmetric_rgb/roundtrip_padded_x3"]
        ok = r["ratio_of_medians"] <= TARGETS["wiener_over_roundtrip_max"]
        add(f"| wiener RGB / 3 x round trip | {w}x{h}x3 | {fmt_ratio(r)} | <= 1.3 (as gray) | {verdict(ok)} |")
    if d and d.get("verified"):
        h, w = d["shape_hw"]
        for key, label in (("dct_wiener/wiener_symmetric_same_psf", "DCT / wiener symmetric, same PSF"),
                           ("dct_wiener/wiener_symmetric_motion_psf", f"DCT / wiener symmetric, {meta['psf']}")):
            r = d["ratios"][key]
            add(f"| {label} | {w}x{h} gray | {fmt_ratio(r)} | report | |")
    if cli:
        h, w, _ = cli["shape_hwc"]
        t = cli["wall"]["median_s"]
        target_here = cli["mp"] == 12
        ok = t <= TARGETS["cli_12mp_seconds_max"] if target_here else None
        add(f"| CLI deblur wall time | {w}x{h} JPEG | {t:.2f} s | {'<= 1.2 s' if target_here else '(<= 1.2 s at 12 MP)'} | {verdict(ok)} |")
        pk = cli["peak_rss_bytes"]["max"]
        add(f"| CLI deblur peak RSS | {w}x{h} JPEG | {pk / 1e9:.2f} GB ({pk / 2**30:.2f} GiB) | | |")
        mem = cli.get("memory")
        if mem:
            mh, mw, _ = mem["shape_hwc"]
            pk = mem["peak_rss_bytes"]
            target_here = mem["mp"] == 24
            ok = pk <= TARGETS["cli_24mp_peak_bytes_max"] if target_here else None
            add(f"| CLI deblur peak RSS | {mw}x{mh} JPEG | {pk / 1e9:.2f} GB ({pk / 2**30:.2f} GiB) | {'<= 1.5 GB' if target_here else '(<= 1.5 GB at 24 MP)'} | {verdict(ok)} |")

    bd = res.get("breakdown")
    if bd:
        h, w = bd["shape_hw"]
        gh, gw = bd["fft_grid_hw"]
        total = bd["timings"]["total: restore.wiener"]["median_s"]
        add("")
        add(f"### Where restore.wiener spends its time ({w}x{h} gray, grid {gw}x{gh}; steps timed separately)")
        add("")
        add("| step | median | min | max | CPU user / sys (median) | minor page faults (ru_minflt, median) | % of total median |")
        add("|---|---:|---:|---:|---:|---:|---:|")
        for k, st in bd["timings"].items():
            add(
                f"| {k} | {fmt_seconds(st['median_s'])} | {fmt_seconds(st['min_s'])} | {fmt_seconds(st['max_s'])} | "
                f"{fmt_seconds(st['cpu_user_median_s'])} / {fmt_seconds(st['cpu_sys_median_s'])} | {st['minor_faults_median']} | "
                f"{100 * st['median_s'] / total:.0f}% |"
            )
        add(f"| sum of steps (copy subtracted, reference row left out) | {fmt_seconds(bd['sum_of_steps_s'])} | | | | "
            f"{bd['sum_of_steps_minor_faults']:.0f} | {100 * bd['sum_of_steps_s'] / total:.0f}% |")
        add("")
        add(f"rfft2 + irfft2 are {100 * bd['fft_share_of_sum']:.0f}% of the sum of steps; the rest is the filter "
            "(OTF blocks + real gain, built block by block), the padding fill, the in-place product, the crop and "
            "validation.")
        page = bd["page_size_bytes"]
        add(f"Minor page faults are this process's first touches of fresh memory during a run (getrusage ru_minflt "
            f"delta, all threads, median; {page // 1024} KiB pages, fewer faults with transparent huge pages): a "
            f"float32 grid buffer is {bd['grid_buffer_bytes'] // page} pages, a complex64 spectrum "
            f"{bd['spectrum_bytes'] // page}.")

    dv = res.get("dct_verification")
    if dv:
        add("")
        add("### DCT-II path check (97x131 float64 random image; blur = scipy.ndimage.convolve)")
        add("")
        add("| PSF | doubly symmetric | max err vs convolve: reflect / mirror / nearest / wrap | inverse err (nsr 1e-20, mode reflect) | min abs eigenvalue |")
        add("|---|---|---|---:|---:|")
        for name, e in dv.items():
            f = e["forward_max_abs_err"]
            add(f"| {name} | {'yes' if e['doubly_symmetric'] else 'no (point-symmetric only)' if e['point_symmetric'] else 'no'} | "
                f"{f['reflect']:.1e} / {f['mirror']:.1e} / {f['nearest']:.1e} / {f['wrap']:.1e} | {e['inverse_max_abs_err']:.1e} | {e['min_abs_eigenvalue']:.1e} |")
        if d is not None:
            if d.get("verified"):
                add("")
                add(f"DCT vs symmetric-padded FFT Wiener, same PSF, {d['shape_hw'][1]}x{d['shape_hw'][0]}: max |diff| "
                    f"{d['max_abs_diff_vs_wiener_symmetric']:.2e} overall, {d['max_abs_diff_vs_wiener_symmetric_interior']:.2e} "
                    f"more than {d['interior_margin_px']} px from the border.")
            else:
                add("")
                add("The DCT path failed its check; no DCT timing is published.")
    add("")
    note = contention_note(meta)
    add(f"Total benchmark time: {res['elapsed_s']:.0f} s.{' ' + note if note else ''}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,12,24", help="gray image sizes in megapixels, comma-separated (default 1,12,24)")
    add_common_args(ap, "bench_wiener.json", "smoke test: every section at 1 MP only, 3 repeats")
    ap.add_argument("--all", action="store_true", help="also run scikit-image at sizes above 12 MP")
    args = ap.parse_args(argv)
    try:
        args.sizes = [float(s) if "." in s else int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes must be numbers separated by commas, got {args.sizes!r}")
    if not args.sizes or any(s <= 0 for s in args.sizes):
        ap.error("--sizes must be positive")
    check_repeats(ap, args, minimum=1)
    if args.quick:
        args.sizes = [1]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "torch" in sys.modules:  # pragma: no cover - guard: nothing here may import torch
        raise SystemExit("torch was imported; this benchmark must not load it")
    start = contention_start()
    res: dict = {"metadata": metadata(case_metadata(args)), "targets": TARGETS}
    main_mp = 1 if args.quick else 12
    res["gray"] = [bench_gray(mp, args.repeats, with_skimage=args.all or mp <= 12) for mp in args.sizes]
    res["color"] = bench_color(main_mp, args.repeats)
    res["breakdown"] = bench_breakdown(main_mp, args.repeats)
    res["dct_verification"] = dct_verify()
    res["dct"] = bench_dct(main_mp, args.repeats, res["dct_verification"])
    res["cli"] = bench_cli(main_mp, args.repeats, None if args.quick else 24)
    res["metadata"]["torch_imported"] = "torch" in sys.modules
    return finish_run(res, start, args.out / "bench_wiener.json", markdown)


if __name__ == "__main__":
    sys.exit(main())
