"""Resize ``(N, C, H, W)`` arrays by interpolation, as PyTorch's ``F.interpolate`` does.

Conventions
-----------
- **Layout**: arrays are NCHW like PyTorch, ``(N, C, H, W)``; only the last two axes are
  resized. float32 (and float16) input is computed and returned in float32, every other
  dtype in float64.
- **Coordinates**: output pixel ``i`` samples the input at

  - ``src = (i + 0.5) · step - 0.5`` (half-pixel centres, ``align_corners=False``, the
    default, as PyTorch, OpenCV and PIL; ``step`` is input pixels per output pixel, i.e.
    ``1 / scale_factor`` in the conventions' ``(dst + 0.5) / scale - 0.5``), or
  - ``src = i · (in - 1) / (out - 1)`` (``align_corners=True``: the corner pixels' centres
    map onto each other; only for ``"bilinear"`` and ``"bicubic"``, as PyTorch).

- **Step**: with ``size``, ``step = in / out``. With ``scale_factor`` ``s``, the output
  size is ``floor(in · s)`` and the coordinates use ``step = 1 / s``, not ``in / out``
  (PyTorch with ``recompute_scale_factor=None`` or ``False``, OpenCV with ``fx, fy``).
  The two differ when ``in · s`` is not an integer: ``scale_factor=1.5`` on 7 pixels gives
  10 pixels sampled with ``step = 0.667``, ``size=10`` samples them with ``0.7``.
- **Borders**: out-of-range taps read the nearest edge pixel (indices are clamped), as
  PyTorch and OpenCV; PIL instead drops them and renormalises the rest (see below).
- **Precision**: coordinates and weights are computed in the working dtype with PyTorch's
  formulas (in float32 for float32 input, with PyTorch's fused multiply-adds; the nearest
  modes always in float32, as PyTorch), so that the discrete choices (which pixel is
  nearest) are PyTorch's and float32 results differ from it by float32 rounding only.
- **No antialiasing**: downscaling with ``"bilinear"`` or ``"bicubic"`` samples the input
  (PyTorch's default ``antialias=False``, OpenCV ``INTER_LINEAR``/``INTER_CUBIC``); use
  ``"area"`` to average.

Modes
-----
``"nearest"``
    PyTorch's legacy rule ``src = floor(i · scale)`` (OpenCV ``INTER_NEAREST``): shifted by
    half an input pixel towards the origin when downscaling.
``"nearest-exact"``
    ``src = floor((i + 0.5) · scale)``, the pixel whose centre is nearest (rounding half up;
    PyTorch ``nearest-exact``, PIL ``NEAREST``, OpenCV ``INTER_NEAREST_EXACT``).
``"bilinear"``
    Linear in each axis (PyTorch ``bilinear``, OpenCV ``INTER_LINEAR``).
``"bicubic"``
    Keys' cubic convolution kernel with parameter ``a = cubic_a``: ``-0.75`` (default,
    PyTorch and OpenCV ``INTER_CUBIC``) or ``-0.5`` (PIL, TensorFlow, JAX).
``"area"``
    Adaptive average pooling (PyTorch ``area`` = ``adaptive_avg_pool2d``): output pixel
    ``i`` is the mean of inputs ``floor(i · in / out)`` to ``ceil((i + 1) · in / out) - 1``.

Agreement with other libraries, measured and kept true by ``tests/test_learned_interpolate.py``
("equal": to float32 rounding, at most about 1e-6 on [0, 1] data when the scale is a power
of two, see the first note otherwise):

====================================  ==========================================  ================
other library                         our call                                    agreement
====================================  ==========================================  ================
``torch.nn.functional.interpolate``   every mode, ``align_corners``, any size     equal
OpenCV ``INTER_LINEAR``               ``"bilinear"``, up- and downscaling         equal
OpenCV ``INTER_CUBIC`` (float images) ``"bicubic"`` (``a = -0.75``)              equal
OpenCV ``INTER_AREA``                 ``"area"``, integer factors (down or up)    equal
OpenCV ``INTER_AREA``                 ``"area"``, other factors                   differs mostly
OpenCV ``INTER_NEAREST``              ``"nearest"``                               equal but ties
OpenCV ``INTER_NEAREST_EXACT``        ``"nearest-exact"``                         equal but ties
OpenCV ``fx=s, fy=s`` (no ``dsize``)  ``scale_factor=s``                          size may differ
PIL ``NEAREST`` (mode ``"F"``)        ``"nearest-exact"``                         equal but ties
PIL ``BILINEAR`` (mode ``"F"``)       ``"bilinear"``, upscaling                   equal
PIL ``BICUBIC`` (mode ``"F"``)        ``"bicubic"``, ``cubic_a=-0.5``, upscaling  equal but borders
====================================  ==========================================  ================

- **Coordinate precision.** PyTorch (and we) round ``scale`` to float32 for float32 data;
  OpenCV and PIL keep it in double. When ``scale`` is not a power of two the source
  coordinates then differ by up to about ``out · 2⁻²⁴`` pixels: values differ by up to
  ~5e-6 on 200-pixel outputs of random [0, 1] data.
- **Nearest ties.** OpenCV computes nearest indices in double precision
  (``INTER_NEAREST``) or 16.16 fixed point (``INTER_NEAREST_EXACT``), PyTorch and we in
  float32. Indices only differ where the exact source position (``i · in / out``, or
  ``(i + 0.5) · in / out``) is an integer, a tie that each library's rounding breaks its
  own way, and then by one pixel. Over all sizes 1 to 256 along one axis, 6 % of the
  ``(in, out)`` pairs have such an output for ``INTER_NEAREST`` (e.g. 6 -> 34, output 17)
  and 19 % for ``INTER_NEAREST_EXACT`` (e.g. 2 -> 7, output 3); PIL's ``NEAREST``
  (double precision) is in the same case as ``"nearest-exact"`` (18 % of pairs up to 128).
  Nobody is "right": each library misses the exact floor at some ties.
- **Area.** ``INTER_AREA`` weighs the *fractional* overlap of pixel areas; adaptive pooling
  takes whole pixels, so a pixel cut by a window boundary counts fully in both windows.
  They differ by tenths on random [0, 1] data, except for integer factors (box means
  down, pixel copies up) and upscaling by ``k + 1/2``, where every output pixel that
  straddles two input pixels covers both equally (``3 -> 4`` differs, ``2 -> 3`` agrees).
- **OpenCV's output size.** ``cv2.resize(img, None, fx=s, fy=s)`` *rounds* ``in · s``
  (``5 · 1.5 -> 8``); PyTorch and we floor it (``7``). Its coordinates still use ``1 / s``.
- **PIL's borders.** PIL drops kernel taps that fall outside the image and renormalises the
  rest instead of repeating the edge pixel. For bilinear upscaling that is the same thing;
  for bicubic the outer ``ceil(1.5 · s)`` output pixels at each border differ, by up to
  ~0.07 on random [0, 1] data. Inside, ``cubic_a=-0.5`` equals PIL.
- **Keys' a.** ``a = -0.5`` and ``a = -0.75`` give visibly different results on sharp
  [0, 1] images: 0.035 across a straight step edge upscaled 2x (at most 0.047 along one
  axis, for any [0, 1] data), 0.08 on a one-pixel checkerboard or random pixels, where
  both axes add up. The default follows PyTorch and OpenCV. scikit-image ``order=3`` is a
  cubic B-spline, which is neither.
- **Size 0.** PyTorch returns an empty array for ``"area"`` when ``floor(in · s) = 0``; we
  refuse it like every other mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from deconvkit._validation import as_float_array, check_choice, check_number, to_array
from deconvkit.errors import InvalidParameterError

__all__ = ["interpolate", "MODES"]

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic", "area")
_ALIGNABLE = ("bilinear", "bicubic")

# OpenBLAS runs a product of M·N·K multiply-adds <= 65536 * 4 on the calling thread; every
# product here is cut below that. Measured on the benchmark (2 vCPUs): OpenBLAS's own
# threads on these small products were at best 1.1x faster when the machine was idle and
# several times slower when another process was busy (they spin); two Python threads
# calling OpenBLAS were no faster than one. So the code runs on one thread, predictably.
# Only speed depends on this constant, never results.
_BLAS_ONE_THREAD_WORK = 65536 * 4
# Output pixels per tile of the fast path along each axis (a multiple of the period).
_TILE_WIDTH = 32
_TILE_HEIGHT = 16
# Outputs per block of the general (non-periodic) path.
_BLOCK = 64
# Output pixels per plane from which the tiled path is used: below it, per-strip overhead
# dominates and the axis-by-axis path, which treats all planes in one call per block, was
# measured faster (1.5-9x on batches of 32x32 to 256x256 planes; equal at 1024x1024).
_TILED_MIN_PLANE = 1 << 20


# --------------------------------------------------------------------------- public


def interpolate(
    x: Any,
    *,
    scale_factor: float | Sequence[float] | None = None,
    size: int | Sequence[int] | None = None,
    mode: str = "nearest",
    align_corners: bool = False,
    cubic_a: float = -0.75,
) -> np.ndarray:
    """Resize the last two axes of an ``(N, C, H, W)`` array by interpolation.

    Parameters
    ----------
    x : (N, C, H, W) array_like
        Input batch, real numbers, finite. Other ranks are refused: add the missing axes
        (``image[None, None]`` for an ``(H, W)`` image, ``image.transpose(2, 0, 1)[None]``
        for ``(H, W, C)``).
    scale_factor : float or (float, float), optional
        Factor per axis (``(s_h, s_w)``) or one for both, > 0. The output is
        ``floor(H · s_h) × floor(W · s_w)`` and the coordinates use ``1 / s`` (module doc).
    size : int or (int, int), optional
        Output ``(out_h, out_w)``, or one int for both. Exactly one of ``size`` and
        ``scale_factor`` must be given.
    mode : {"nearest", "nearest-exact", "bilinear", "bicubic", "area"}, optional
        Interpolation (module doc). Default ``"nearest"``, as PyTorch.
    align_corners : bool, optional
        Map corner pixel centres onto each other instead of using half-pixel centres. Only
        for ``"bilinear"`` and ``"bicubic"``; default False.
    cubic_a : float, optional
        Keys' parameter ``a`` of the ``"bicubic"`` kernel (ignored by the other modes):
        ``-0.75`` (default; PyTorch, OpenCV) or ``-0.5`` (PIL, TensorFlow).

    Returns
    -------
    y : (N, C, out_h, out_w) ndarray
        float32 for float16/float32 input, float64 otherwise; a new array.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For an input that is not 4-D, non-finite or empty; both or neither of ``size`` and
        ``scale_factor``; a size or factor that is not positive or gives an empty output;
        an unknown ``mode``; ``align_corners=True`` with a mode that does not interpolate.

    Notes
    -----
    Every mode is separable: ``y[n, c] = A_h · x[n, c] · A_wᵀ`` with ``A`` an
    ``(out, in)`` matrix per axis, built from the source coordinate ``src`` of each output
    pixel (module doc). With ``i = floor(src)`` and ``t = src - i``:

    - bilinear: ``y = (1 - t) · x[i] + t · x[i + 1]``;
    - bicubic: ``y = Σ_{k=-1..2} W(t - k) · x[i + k]`` with Keys' kernel

      .. math::

         W(d) = \\begin{cases} (a + 2)|d|^3 - (a + 3)|d|^2 + 1 & |d| \\le 1 \\\\
                a|d|^3 - 5a|d|^2 + 8a|d| - 4a & 1 < |d| < 2 \\\\ 0 & \\text{otherwise,} \\end{cases}

      whose weights sum to 1 for every ``a``;
    - nearest: one weight 1; area: ``1 / window length`` over the window.

    Indices outside ``[0, in - 1]`` are clamped. ``A`` is banded, so it is applied in
    blocks of rows with small dense matrix products, never as a full ``(out, in)`` matrix.
    When the weights repeat exactly along both axes (scale factors 2, 4, 1/2, ...: period
    ``(P, Q)``, every ``P`` outputs the taps move by ``Q`` inputs) and the planes are large
    (a megapixel of output or more), the whole resize runs tile by tile: one small
    ``(P, span)`` matrix per axis, the intermediate result kept in cache and the output
    written once. Everything runs on the calling thread (see ``_BLAS_ONE_THREAD_WORK``).

    References
    ----------
    .. [1] R. Keys, "Cubic convolution interpolation for digital image processing",
       IEEE Trans. Acoustics, Speech, and Signal Processing 29(6), 1153--1160, 1981.
    .. [2] PyTorch, ``torch.nn.functional.interpolate`` and ``aten/src/ATen/native/UpSample.h``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    >>> interpolate(x, scale_factor=2)[0, 0, :2]
    array([[1., 1., 2., 2., 3., 3.],
           [1., 1., 2., 2., 3., 3.]])
    >>> interpolate(x, size=(2, 2), mode="area")[0, 0]
    array([[3., 4.],
           [6., 7.]])
    """
    mode = check_choice("mode", mode, MODES)
    if not isinstance(align_corners, (bool, np.bool_)):
        raise InvalidParameterError(f"align_corners must be True or False, got {align_corners!r}")
    if align_corners and mode not in _ALIGNABLE:
        raise InvalidParameterError(
            f"align_corners=True is only defined for the interpolating modes 'bilinear' and 'bicubic', got mode={mode!r}"
        )
    a = float(check_number("cubic_a", cubic_a))
    arr = np.ascontiguousarray(_as_nchw(x))  # the matrix products below need unit-stride rows
    in_hw = arr.shape[2:]
    out_hw, factors = _output_size(in_hw, size, scale_factor)
    dt = arr.dtype
    ops = [
        _axis_operator(n_in, n_out, factor, mode, bool(align_corners), a, dt, tile)
        for n_in, n_out, factor, tile in zip(in_hw, out_hw, factors, (_TILE_HEIGHT, _TILE_WIDTH))
    ]
    if ops[0].tiled is not None and ops[1].tiled is not None and out_hw[0] * out_hw[1] >= _TILED_MIN_PLANE:
        return _resize_tiled(arr, ops[0].tiled, ops[1].tiled, out_hw)
    # One axis at a time, the cheaper order first (the first pass sets the intermediate size).
    cost_h_first = out_hw[0] * in_hw[1] * ops[0].taps + out_hw[0] * out_hw[1] * ops[1].taps
    cost_w_first = in_hw[0] * out_hw[1] * ops[1].taps + out_hw[0] * out_hw[1] * ops[0].taps
    order = (2, 3) if cost_h_first <= cost_w_first else (3, 2)
    y = arr
    for axis in order:
        y = ops[axis - 2].apply(y, axis)
    if y is arr:
        y = arr.copy()
    return y


# --------------------------------------------------------------------------- checks


def _as_nchw(x: Any) -> np.ndarray:
    x = to_array(x, name="x")
    shape = np.shape(x)
    if len(shape) != 4:
        hint = ""
        if len(shape) == 2:
            hint = "; for one (H, W) image pass image[None, None]"
        elif len(shape) == 3:
            hint = "; for an (H, W, C) image pass image.transpose(2, 0, 1)[None], for (C, H, W) pass image[None]"
        raise InvalidParameterError(f"x must be a 4-D (N, C, H, W) array, got shape {tuple(shape)}{hint}")
    return as_float_array(x, name="x", ndim=(4,))


def _pair(name: str, value: Any) -> tuple[Any, Any]:
    if isinstance(value, (str, bytes)):
        raise InvalidParameterError(f"{name} must be a number or a pair of numbers, got {value!r}")
    if isinstance(value, Sequence) or isinstance(value, np.ndarray):
        items = tuple(value)
        if len(items) != 2:
            raise InvalidParameterError(f"{name} must be one value or a pair (height, width), got {value!r}")
        return items[0], items[1]
    return value, value


def _output_size(
    in_hw: tuple[int, int], size: Any, scale_factor: Any
) -> tuple[tuple[int, int], tuple[float | None, float | None]]:
    """Output ``(out_h, out_w)`` and the per-axis scale factors (None when ``size`` was given)."""
    if (size is None) == (scale_factor is None):
        raise InvalidParameterError(
            f"give exactly one of size and scale_factor, got size={size!r} and scale_factor={scale_factor!r}"
        )
    if size is not None:
        pair = _pair("size", size)
        out = []
        for v in pair:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidParameterError(f"size must be positive integers, got {size!r}")
            out.append(int(v))
        return (out[0], out[1]), (None, None)
    pair = _pair("scale_factor", scale_factor)
    factors = []
    for v in pair:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
            raise InvalidParameterError(f"scale_factor must be positive numbers, got {scale_factor!r}")
        f = float(v)
        if not math.isfinite(f) or f <= 0:
            raise InvalidParameterError(f"scale_factor must be positive and finite, got {scale_factor!r}")
        factors.append(f)
    out_hw = tuple(int(math.floor(n * f)) for n, f in zip(in_hw, factors))
    for axis, n, f, o in zip(("height", "width"), in_hw, factors, out_hw):
        if o < 1:
            raise InvalidParameterError(
                f"scale_factor {f!r} gives an output {axis} of floor({n} * {f!r}) = {o}; it must be at least 1"
            )
    return (out_hw[0], out_hw[1]), (factors[0], factors[1])


# --------------------------------------------------------------------------- 1-D weights


def _torch_scale(n_in: int, n_out: int, align_corners: bool, factor: float | None, dt: np.dtype) -> np.floating:
    """``area_pixel_compute_scale`` of PyTorch, in the working dtype ``dt``."""
    t = dt.type
    if align_corners:
        return t(n_in - 1) / t(n_out - 1) if n_out > 1 else t(0)
    if factor is not None:
        return t(1.0 / factor)
    return t(n_in) / t(n_out)


def _source(n_out: int, scale: np.floating, align_corners: bool, dt: np.dtype) -> np.ndarray:
    """Source coordinate of every output pixel, as PyTorch's CPU kernels compute it.

    Those evaluate ``scale · (i + 0.5) - 0.5`` as a fused multiply-add (one rounding). In
    float32 that matters: near ``src = 16`` one rounding step is 1e-6, which moves a bicubic
    weight by as much. The float32 FMA is reproduced exactly in float64 (the product of two
    float32 values and the sum with 0.5 are exact there), then rounded once.
    """
    dst = np.arange(n_out, dtype=dt)
    if align_corners:
        return scale * dst
    if dt == np.float32:
        return (np.float64(scale) * (np.arange(n_out, dtype=np.float64) + 0.5) - 0.5).astype(np.float32)
    return scale * (dst + 0.5) - 0.5


def _nearest_index(n_in: int, n_out: int, factor: float | None, exact: bool) -> np.ndarray:
    """PyTorch's nearest indices, computed in float32 as PyTorch does for every dtype."""
    if not exact:
        if n_out == n_in:
            return np.arange(n_out)
        if n_out == 2 * n_in:
            return np.arange(n_out) >> 1
    scale = np.float32(1.0 / factor) if factor is not None else np.float32(n_in) / np.float32(n_out)
    if exact:
        # floorf((i + 0.5) * scale): the product in double, rounded to float, floored.
        pos = ((np.arange(n_out, dtype=np.float64) + 0.5) * np.float64(scale)).astype(np.float32)
    else:
        pos = np.arange(n_out, dtype=np.float32) * scale
    return np.minimum(np.floor(pos).astype(np.int64), n_in - 1)


def _cubic_weights(t: np.ndarray, a: float, dt: np.dtype) -> np.ndarray:
    """Keys weights of the taps ``i-1, i, i+1, i+2`` for fractions ``t`` (PyTorch's forms)."""
    a_ = dt.type(a)
    one = dt.type(1)
    if dt == np.float32:
        # PyTorch's float32 kernels evaluate these polynomials with fused multiply-adds; the
        # far branch cancels (terms near 4 sum to about -0.05), so plain float32 steps would
        # differ from them by 1e-6. fma(x, y, z) of float32 values is exact in float64.
        def fma(x: Any, y: Any, z: Any) -> np.ndarray:
            return (np.float64(x) * np.asarray(y, dtype=np.float64) + np.float64(z)).astype(np.float32)

        def near(d: np.ndarray) -> np.ndarray:
            return fma(fma(a_ + 2, d, -(a_ + 3)) * d, d, one)

        def far(d: np.ndarray) -> np.ndarray:
            return fma(fma(fma(a_, d, -5 * a_), d, 8 * a_), d, -4 * a_)

    else:

        def near(d: np.ndarray) -> np.ndarray:  # |d| <= 1
            return ((a_ + 2) * d - (a_ + 3)) * d * d + one

        def far(d: np.ndarray) -> np.ndarray:  # 1 < |d| < 2
            return ((a_ * d - 5 * a_) * d + 8 * a_) * d - 4 * a_

    u = one - t
    return np.stack([far(t + one), near(t), near(u), far(u + one)], axis=-1).astype(dt, copy=False)


def _taps(
    n_in: int, n_out: int, factor: float | None, mode: str, align_corners: bool, a: float, dt: np.dtype
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Tap indices and weights ``(n_out, T)`` of one axis, clamped as PyTorch, and the same
    taps before clamping (for the periodic test), or None when they cannot be periodic."""
    t = dt.type
    if mode == "area":
        o = np.arange(n_out, dtype=np.int64)
        start = (o * n_in) // n_out
        stop = ((o + 1) * n_in + n_out - 1) // n_out
        length = stop - start
        width = int(length.max())
        k = np.arange(width)
        idx = start[:, None] + k[None, :]
        valid = k[None, :] < length[:, None]
        w = np.where(valid, (t(1) / length.astype(dt))[:, None], t(0)).astype(dt)
        idx = np.minimum(idx, n_in - 1)
        return idx, w, idx, w
    scale = _torch_scale(n_in, n_out, align_corners, factor, dt)
    src = _source(n_out, scale, align_corners, dt)
    if mode == "bilinear":
        if n_out == n_in and not align_corners:
            i = np.arange(n_out)
            return np.stack([i, i], 1), np.tile(np.array([1, 0], dtype=dt), (n_out, 1)), None, None
        s = src if align_corners else np.maximum(src, t(0))
        i0 = np.minimum(np.floor(s).astype(np.int64), n_in - 1)
        lam = np.clip(s - i0.astype(dt), t(0), t(1))
        i1 = i0 + (i0 < n_in - 1)
        idx = np.stack([i0, i1], 1)
        w = np.stack([t(1) - lam, lam], 1)
        iu = np.floor(src).astype(np.int64)
        lu = src - iu.astype(dt)
        return idx, w, np.stack([iu, iu + 1], 1), np.stack([t(1) - lu, lu], 1)
    # bicubic (guard_index_and_lambda, then clamp every tap)
    fl = np.floor(src).astype(np.int64)
    i = np.minimum(fl, n_in - 1)
    lam = np.clip(src - i.astype(dt), t(0), t(1))
    offsets = np.arange(-1, 3)
    idx = np.clip(i[:, None] + offsets, 0, n_in - 1)
    w = _cubic_weights(lam, a, dt)
    unclamped = fl[:, None] + offsets
    return idx, w, unclamped, _cubic_weights(src - fl.astype(dt), a, dt)


def _axis_operator(
    n_in: int, n_out: int, factor: float | None, mode: str, align_corners: bool, a: float, dt: np.dtype, tile: int
) -> _Gather | _Banded:
    """The resampling of one axis: a gather (nearest modes, exact copies) or a banded
    matrix, with its tiled form attached when its taps repeat exactly."""
    if mode in ("nearest", "nearest-exact"):
        return _Gather(_nearest_index(n_in, n_out, factor, mode == "nearest-exact"), n_in)
    idx, w, idx_u, w_u = _taps(n_in, n_out, factor, mode, align_corners, a, dt)
    if n_out == n_in:
        on_self = idx == np.arange(n_out)[:, None]
        if np.all(np.where(on_self, w, 0).sum(axis=1) == 1) and not np.where(on_self, 0, w).any():
            return _Gather(np.arange(n_in), n_in)  # an exact copy (PyTorch's scale-1 shortcut)
    tiled = None
    if idx_u is not None:
        period = _candidate_period(n_in, n_out, factor, mode, align_corners, dt)
        if period is not None and _is_periodic(idx_u, w_u, *period):
            tiled = _Tiled.build(idx_u, w_u, period, n_out, dt, tile)
    return _Banded(idx, w, tiled)


def _candidate_period(
    n_in: int, n_out: int, factor: float | None, mode: str, align_corners: bool, dt: np.dtype
) -> tuple[int, int] | None:
    """``(P, Q)`` such that the taps may repeat every P outputs, moved by Q inputs."""
    if mode == "area":
        if n_in % n_out == 0:
            return 1, n_in // n_out
        if n_out % n_in == 0:
            return n_out // n_in, 1
        return None
    scale = float(_torch_scale(n_in, n_out, align_corners, factor, dt))
    if scale <= 0:
        return None
    if scale >= 1 and scale.is_integer():
        return 1, int(scale)
    inv = 1.0 / scale
    if inv.is_integer():
        return int(inv), 1
    return None


def _is_periodic(idx: np.ndarray, w: np.ndarray, p: int, q: int) -> bool:
    """True if every output's taps equal those ``p`` outputs earlier moved by ``q`` (exactly)."""
    if idx.shape[0] <= p:
        return True
    return bool(np.array_equal(idx[p:], idx[:-p] + q) and np.array_equal(w[p:], w[:-p]))


# --------------------------------------------------------------------------- operators


def _matmul_rows(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a @ b`` for 2-D arrays, cut in row pieces small enough for one BLAS thread."""
    rows = max(1, _BLAS_ONE_THREAD_WORK // max(1, a.shape[1] * b.shape[1]))
    for r in range(0, a.shape[0], rows):
        np.matmul(a[r : r + rows], b, out=out[r : r + rows])


def _matmul_cols(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """``out = a @ b`` (``a`` 2-D, ``b`` and ``out`` stacks of matrices), cut in column
    pieces small enough for one BLAS thread."""
    cols = max(1, _BLAS_ONE_THREAD_WORK // max(1, a.shape[0] * a.shape[1]))
    for c in range(0, b.shape[-1], cols):
        np.matmul(a, b[..., c : c + cols], out=out[..., c : c + cols])


class _Gather:
    """Each output copies one input (nearest modes, and exact copies)."""

    taps = 1
    tiled = None

    def __init__(self, index: np.ndarray, n_in: int) -> None:
        self.index = index
        self.identity = index.shape[0] == n_in and bool(np.array_equal(index, np.arange(n_in)))

    def apply(self, a: np.ndarray, axis: int) -> np.ndarray:
        return a if self.identity else np.take(a, self.index, axis=axis)


class _Banded:
    """A banded ``(out, in)`` matrix kept as dense blocks of rows ``(o0, o1, lo, D)``:
    ``D`` holds the weights of outputs ``o0:o1`` on inputs ``lo:lo + D.shape[1]``."""

    def __init__(self, idx: np.ndarray, w: np.ndarray, tiled: _Tiled | None = None) -> None:
        n_out, taps = idx.shape
        self.n_out, self.taps, self.tiled = n_out, taps, tiled
        self._idx, self._w = idx, w
        self._blocks: list[tuple[int, int, int, np.ndarray]] | None = None

    @property
    def blocks(self) -> list[tuple[int, int, int, np.ndarray]]:
        if self._blocks is None:
            blocks = []
            for o0 in range(0, self.n_out, _BLOCK):
                o1 = min(self.n_out, o0 + _BLOCK)
                bi, bw = self._idx[o0:o1], self._w[o0:o1]
                lo, hi = int(bi.min()), int(bi.max()) + 1
                d = np.zeros((o1 - o0, hi - lo), dtype=bw.dtype)
                np.add.at(d, (np.repeat(np.arange(o1 - o0), self.taps), (bi - lo).ravel()), bw.ravel())
                blocks.append((o0, o1, lo, d))
            self._blocks = blocks
        return self._blocks

    def apply(self, a: np.ndarray, axis: int) -> np.ndarray:
        n, c, h, w = a.shape
        if axis == 3:
            src = np.ascontiguousarray(a).reshape(n * c * h, w)
            out = np.empty((n * c * h, self.n_out), dtype=a.dtype)
            for o0, o1, lo, d in self.blocks:
                _matmul_rows(src[:, lo : lo + d.shape[1]], d.T, out[:, o0:o1])
            return out.reshape(n, c, h, self.n_out)
        out4 = np.empty((n, c, self.n_out, w), dtype=a.dtype)
        for o0, o1, lo, d in self.blocks:  # one call per block: NumPy loops over the planes
            _matmul_cols(d, a[:, :, lo : lo + d.shape[1]], out4[:, :, o0:o1])
        return out4


@dataclass(frozen=True)
class _Tiled:
    """A periodic axis: outputs ``t·p + i`` (``i < p``) are ``Σ_j d[i, j] · e[t·q + start + j]``
    with ``e`` the input extended by repeating its edge pixels (what clamping indices does)."""

    p: int
    q: int
    start: int
    d: np.ndarray
    n_out: int

    @property
    def span(self) -> int:
        return self.d.shape[1]

    @property
    def tiles(self) -> int:
        return -(-self.n_out // self.p)

    @classmethod
    def build(cls, idx: np.ndarray, w: np.ndarray, period: tuple[int, int], n_out: int, dt: np.dtype, target: int) -> _Tiled:
        """Tiles of about ``target`` outputs (whole periods ``(p0, q0)``), from the taps
        ``idx, w`` before clamping."""
        p0, q0 = period
        reps = min(max(1, target // p0), max(1, -(-n_out // p0)))
        p, q = p0 * reps, q0 * reps
        rows = min(p, n_out)
        first = idx[:rows]
        start = int(first.min())
        d = np.zeros((p, int(first.max()) - start + 1), dtype=dt)
        np.add.at(d, (np.repeat(np.arange(rows), idx.shape[1]), (first - start).ravel()), w[:rows].ravel())
        return cls(p, q, start, d, n_out)


def _resize_tiled(x: np.ndarray, oh: _Tiled, ow: _Tiled, out_hw: tuple[int, int]) -> np.ndarray:
    """Both axes periodic: resize strip by strip of output rows, in cache.

    For each strip of ``oh.p`` output rows: rows pass ``T = D_h · x[rows]`` (``(p_h, W)``),
    extended by the edge columns; the columns are cut into overlapping tiles of
    ``ow.span`` (one copy, ``(p_h · tiles, span)``), and one product with ``D_wᵀ`` gives the
    strip's output rows, written in place when the tiles fill the output width.
    """
    n, c, h, w = x.shape
    out_h, out_w = out_hw
    dt = x.dtype
    y = np.empty((n, c, out_h, out_w), dtype=dt)
    ph, dh = oh.p, oh.d
    pw, qw, span_w, nt = ow.p, ow.q, ow.span, ow.tiles
    left = max(0, -ow.start)
    right = max(0, (nt - 1) * qw + ow.start + span_w - w)
    width = left + w + right
    first_col = ow.start + left
    direct = nt * pw == out_w
    dwt = np.ascontiguousarray(ow.d.T)
    t0 = np.empty((ph, width), dtype=dt)
    tiles = np.empty((ph, nt, span_w), dtype=dt)
    scratch = None if direct else np.empty((ph * nt, pw), dtype=dt)
    view = np.lib.stride_tricks.as_strided(
        t0[:, first_col:], shape=(ph, nt, span_w), strides=(t0.strides[0], qw * t0.itemsize, t0.itemsize), writeable=False
    )
    for i in range(n):
        for j in range(c):
            plane = x[i, j]
            for s in range(oh.tiles):
                r0 = s * ph
                v = min(ph, out_h - r0)
                lo = s * oh.q + oh.start
                hi = lo + oh.span
                rows = plane[lo:hi] if lo >= 0 and hi <= h else plane.take(np.clip(np.arange(lo, hi), 0, h - 1), axis=0)
                _matmul_cols(dh[:v], rows, t0[:v, left : left + w])
                if left:
                    t0[:v, :left] = t0[:v, left : left + 1]
                if right:
                    t0[:v, left + w :] = t0[:v, left + w - 1 : left + w]
                np.copyto(tiles[:v], view[:v])
                flat = tiles[:v].reshape(v * nt, span_w)
                if direct:
                    _matmul_rows(flat, dwt, y[i, j, r0 : r0 + v].reshape(v * nt, pw))
                else:
                    _matmul_rows(flat, dwt, scratch[: v * nt])
                    y[i, j, r0 : r0 + v] = scratch[: v * nt].reshape(v, nt * pw)[:, :out_w]
    return y
