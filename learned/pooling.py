"""Max pooling that remembers where the maxima were, and max-unpooling that puts them back.

Conventions
-----------
- **Layout**: ``(N, C, H, W)`` arrays, like PyTorch. float32 (and float16) values are
  returned in float32, every other dtype in float64; indices are int64.
- **Windows**: window ``(i, j)`` of the output covers input rows ``i·s_h - p_h`` to
  ``i·s_h - p_h + k_h - 1`` (and the same for columns), with ``p`` implicit ``-inf``
  padding: padded positions never win. The output has
  ``floor((H + 2 p_h - k_h) / s_h) + 1`` rows (PyTorch's ``ceil_mode=False``).
- **Indices**: PyTorch's convention, the flat position ``row · W + col`` of the maximum in
  its own ``(H, W)`` input plane (not in the padded plane, not in the whole array).
  Ties go to the first maximum in row-major order within the window, as PyTorch's CPU
  kernel.
- **Unpooling** (Zeiler & Fergus 2013 [1]_; SegNet [2]_): each value is written back at
  its index in an all-zero plane; every other position is zero. It needs the indices of
  the pooling it undoes: upsampling by copying (``interpolate``) does not know where the
  maxima were. It is *not* an inverse: the non-maximal values are lost.

References
----------
.. [1] M. D. Zeiler and R. Fergus, "Visualizing and understanding convolutional networks",
   ECCV 2014 (arXiv:1311.2901, 2013), section 2.1.
.. [2] V. Badrinarayanan, A. Kendall and R. Cipolla, "SegNet: A deep convolutional
   encoder-decoder architecture for image segmentation", IEEE TPAMI 39(12), 2017.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from deconvkit._validation import as_float_array, to_array
from deconvkit.errors import InvalidParameterError

__all__ = ["max_pool2d", "max_unpool2d", "pool_output_size", "unpool_output_size"]


def _pair(name: str, value: Any, *, low: int) -> tuple[int, int]:
    """An int or a pair of ints, each >= ``low``, as a pair."""
    items = tuple(value) if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str) else (value, value)
    if len(items) != 2:
        raise InvalidParameterError(f"{name} must be an int or a pair of ints, got {value!r}")
    out = []
    for v in items:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < low:
            raise InvalidParameterError(f"{name} must be integers >= {low}, got {value!r}")
        out.append(int(v))
    return out[0], out[1]


def _window_args(kernel_size: Any, stride: Any, padding: Any) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    k = _pair("kernel_size", kernel_size, low=1)
    s = k if stride is None else _pair("stride", stride, low=1)
    p = _pair("padding", padding, low=0)
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise InvalidParameterError(
            f"padding must be at most half the kernel size (as PyTorch), got padding={p} for kernel_size={k}"
        )
    return k, s, p


def _check_nchw(x: Any, name: str) -> np.ndarray:
    x = to_array(x, name=name)
    if np.ndim(x) != 4:
        raise InvalidParameterError(f"{name} must be a 4-D (N, C, H, W) array, got shape {np.shape(x)}")
    return as_float_array(x, name=name, ndim=(4,))


def pool_output_size(in_hw: Sequence[int], kernel_size: Any, *, stride: Any = None, padding: Any = 0) -> tuple[int, int]:
    """Output ``(rows, cols)`` of :func:`max_pool2d`: ``floor((n + 2p - k) / s) + 1`` per axis."""
    k, s, p = _window_args(kernel_size, stride, padding)
    out = tuple((int(n) + 2 * pp - kk) // ss + 1 for n, kk, ss, pp in zip(in_hw, k, s, p))
    if min(out) < 1:
        raise InvalidParameterError(
            f"kernel_size {k} is larger than the padded input {tuple(int(n) + 2 * pp for n, pp in zip(in_hw, p))}"
        )
    return out[0], out[1]


def unpool_output_size(in_hw: Sequence[int], kernel_size: Any, *, stride: Any = None, padding: Any = 0) -> tuple[int, int]:
    """Default output ``(rows, cols)`` of :func:`max_unpool2d`: ``(n - 1)·s - 2p + k`` per axis."""
    k, s, p = _window_args(kernel_size, stride, padding)
    out = tuple((int(n) - 1) * ss - 2 * pp + kk for n, kk, ss, pp in zip(in_hw, k, s, p))
    return out[0], out[1]


def max_pool2d(
    x: Any,
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    return_indices: bool = True,
) -> tuple[np.ndarray, np.ndarray] | np.ndarray:
    """Maximum over sliding windows of the last two axes, and where each maximum was.

    Parameters
    ----------
    x : (N, C, H, W) array_like
        Input batch, real and finite.
    kernel_size : int or (int, int)
        Window ``(k_h, k_w)``, >= 1.
    stride : int or (int, int), optional
        Step between windows, >= 1. Default: ``kernel_size`` (non-overlapping windows).
    padding : int or (int, int), optional
        Implicit ``-inf`` border on each side, at most half the kernel (as PyTorch).
    return_indices : bool, optional
        Return ``(values, indices)`` (default) or only the values.

    Returns
    -------
    values : (N, C, H_out, W_out) ndarray
        float32 for float16/float32 input, float64 otherwise.
    indices : (N, C, H_out, W_out) int64 ndarray
        Flat index ``row · W + col`` of each maximum in its own input plane (module doc).

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For an input that is not 4-D or not finite, non-positive sizes, padding above half
        the kernel, or a kernel larger than the padded input.

    Notes
    -----
    ``values[n, c, i, j] = max_{a < k_h, b < k_w} x_pad[n, c, i s_h + a, j s_w + b]``
    with ``H_out = floor((H + 2 p_h - k_h) / s_h) + 1``. The ``k_h · k_w`` window offsets
    are visited in row-major order and a value replaces the running maximum only if it is
    strictly larger, so ties keep the first position (PyTorch's CPU rule).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1., 5., 2., 0.], [3., 4., 8., 6.]]]])
    >>> values, indices = max_pool2d(x, 2)
    >>> values[0, 0], indices[0, 0]
    (array([[5., 8.]]), array([[1, 6]]))
    """
    arr = _check_nchw(x, "x")
    k, s, p = _window_args(kernel_size, stride, padding)
    n, c, h, w = arr.shape
    oh, ow = pool_output_size((h, w), k, stride=s, padding=p)
    if p == (0, 0):
        padded = arr
    else:
        padded = np.full((n, c, h + 2 * p[0], w + 2 * p[1]), -np.inf, dtype=arr.dtype)
        padded[:, :, p[0] : p[0] + h, p[1] : p[1] + w] = arr

    def window(a: int, b: int) -> np.ndarray:
        return padded[:, :, a : a + s[0] * (oh - 1) + 1 : s[0], b : b + s[1] * (ow - 1) + 1 : s[1]]

    best = window(0, 0).copy()
    offset = np.zeros(best.shape, dtype=np.int64) if return_indices else None
    for a in range(k[0]):
        for b in range(k[1]):
            if a == 0 and b == 0:
                continue
            cand = window(a, b)
            larger = cand > best
            np.copyto(best, cand, where=larger)
            if offset is not None:
                offset[larger] = a * k[1] + b
    if offset is None:
        return best
    a, b = np.divmod(offset, k[1])
    rows = (np.arange(oh) * s[0] - p[0])[:, None] + a
    cols = (np.arange(ow) * s[1] - p[1])[None, :] + b
    return best, rows * w + cols


def max_unpool2d(
    x: Any,
    indices: Any,
    kernel_size: int | Sequence[int],
    *,
    stride: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    output_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Put pooled values back where their maxima were, zeros elsewhere.

    Parameters
    ----------
    x : (N, C, h, w) array_like
        Pooled values (the first output of :func:`max_pool2d`).
    indices : (N, C, h, w) array_like of int
        Flat per-plane positions ``row · W + col`` (the second output of :func:`max_pool2d`).
    kernel_size, stride, padding
        Those of the pooling being undone (``stride`` defaults to ``kernel_size``).
    output_size : (H, W) or (N, C, H, W), optional
        Size of the unpooled planes; default ``((h - 1)·s_h - 2 p_h + k_h, ...)``. Pooling
        floors its output size, so several input sizes pool to the same ``h``: pass the
        original one here. As PyTorch, it must lie strictly within ``default ± stride``.

    Returns
    -------
    y : (N, C, H, W) ndarray
        Zeros except ``y.reshape(N, C, -1)[n, c, indices[n, c, i, j]] = x[n, c, i, j]``;
        where windows overlapped and two entries name the same position, they carry the same
        value. float32 for float16/float32 input, float64 otherwise.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For shapes that differ, non-integer indices, an index outside ``[0, H·W)``, or an
        ``output_size`` outside the accepted range.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[[[1., 5., 2., 0.], [3., 4., 8., 6.]]]])
    >>> max_unpool2d(*max_pool2d(x, 2), 2)[0, 0]
    array([[0., 5., 0., 0.],
           [0., 0., 8., 0.]])
    """
    vals = _check_nchw(x, "x")
    idx = np.asarray(indices)
    if idx.shape != vals.shape:
        raise InvalidParameterError(f"indices must have the shape of x {vals.shape}, got {idx.shape}")
    if idx.dtype.kind not in "iu":
        raise InvalidParameterError(f"indices must be integers, got dtype {idx.dtype}")
    k, s, p = _window_args(kernel_size, stride, padding)
    n, c, h, w = vals.shape
    default = unpool_output_size((h, w), k, stride=s, padding=p)
    if output_size is None:
        out_hw = default
    else:
        size = tuple(output_size) if isinstance(output_size, (Sequence, np.ndarray)) else (output_size,)
        if len(size) == 4:
            size = size[2:]
        if len(size) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in size):
            raise InvalidParameterError(f"output_size must be (H, W) or (N, C, H, W) integers, got {output_size!r}")
        for d in range(2):
            lo, hi = default[d] - s[d], default[d] + s[d]
            if not lo < size[d] < hi:
                raise InvalidParameterError(
                    f"output_size {tuple(int(v) for v in size)} is invalid: axis {d} must be strictly between {lo} and {hi}"
                )
        out_hw = (int(size[0]), int(size[1]))
    if min(out_hw) < 1:
        raise InvalidParameterError(f"the unpooled size {out_hw} is empty")
    plane = out_hw[0] * out_hw[1]
    flat = idx.reshape(n, c, -1).astype(np.int64, copy=False)
    if flat.size:
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= plane:
            bad = low if low < 0 else high
            raise InvalidParameterError(
                f"index {bad} is outside the unpooled {out_hw[0]}x{out_hw[1]} plane (valid: 0 to {plane - 1})"
            )
    out = np.zeros((n, c, plane), dtype=vals.dtype)
    np.put_along_axis(out, flat, vals.reshape(n, c, -1), axis=2)
    return out.reshape(n, c, out_hw[0], out_hw[1])
