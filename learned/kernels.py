"""Fixed kernels that make a transposed convolution interpolate, and where its copies overlap.

A stride-``s`` transposed convolution scatters one copy of its kernel, scaled by the input
value, every ``s`` output pixels (PyTorch: ``out[i*s - p + m] += x[i] * k[m]``). With the
right kernel and padding it *is* an interpolation:

- :func:`bilinear_kernel` is FCN's ``get_upsampling_weight`` (Long, Shelhamer & Darrell
  2015), the usual initialisation of learned upsampling layers;
- :func:`bicubic_kernel` is its Keys-kernel (bicubic) counterpart;
- :func:`upsample_padding` gives the padding that lines either one up with
  ``torch.nn.functional.interpolate(..., align_corners=False)``;
- :func:`overlap_map` counts how many kernel copies land on each output pixel — uneven
  counts are the "checkerboard artifacts" of Odena, Dumoulin & Olah (2016).

The bridge (tested against PyTorch)
-----------------------------------
For an integer scale ``s``, a kernel ``k`` of size ``K`` from :func:`bilinear_kernel` or
:func:`bicubic_kernel`, and an input of size ``n``::

    e = 1 (bilinear) or 2 (bicubic)
    xp = F.pad(x, (e, e, e, e), mode="replicate")            # edge-pad by e pixels
    y = F.conv_transpose2d(xp, k, stride=s, padding=(K - s) // 2 + e * s)

gives ``y.shape[-1] == s * n`` and ``y == F.interpolate(x, scale_factor=s, mode="bilinear"
or "bicubic", align_corners=False)`` **everywhere**, to rounding (about 1e-15 in float64).
Why: half-pixel centres map output ``j`` to ``src = (j + 0.5) / s - 0.5``, so input ``i``
gets the weight ``w((j + 0.5 - s/2 - i s) / s)``; with ``m = j + p - i s`` this is
``k[m] = w((m - c) / s)`` for the kernel centre ``c = p - 1/2 + s/2``, i.e. ``c = (K - 1) / 2``
and ``p = (K - s) / 2``. PyTorch clamps source indices at the borders, which is exactly
edge (replicate) padding; the bilinear taps reach one input pixel beyond the image, the
bicubic taps two, hence ``e``. The extra ``e * s`` of padding crops the output that the
padded pixels would add. Without the edge padding (``padding=(K - s) // 2`` on ``x`` itself)
the interior still matches and the outermost ``s // 2`` (bilinear) or up to ``ceil(3 s / 2)``
(bicubic) output rows and columns lose the weight of the missing neighbours (dark borders).

:func:`learned.conv_transpose.conv_transpose2d` (NumPy) follows PyTorch's definition, so
the same recipe applies to it, and :func:`learned.shapes.conv_transpose_output_size` states
the size formula; the tests of this module use PyTorch as the reference, never another
deconvkit function.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from deconvkit._validation import check_number
from deconvkit.errors import InvalidParameterError

__all__ = ["bilinear_kernel", "bicubic_kernel", "keys_cubic", "upsample_padding", "overlap_map"]


def _check_scale(scale: int) -> int:
    return check_number("scale", scale, low=1, integer=True)


def bilinear_kernel(scale: int) -> np.ndarray:
    """FCN's bilinear upsampling kernel for an integer factor (``get_upsampling_weight``).

    Parameters
    ----------
    scale : int
        Upsampling factor ``s >= 1`` (the stride of the transposed convolution).

    Returns
    -------
    kernel : (K, K) ndarray of float64
        ``K = 2 s - s % 2``. Separable: the outer product of ``1 - |m - c| / f`` with
        ``f = (K + 1) // 2`` (equal to ``s``) and ``c = f - 1`` for odd ``K``, ``f - 1/2`` for
        even ``K`` (that is, ``c = (K - 1) / 2``, the kernel's centre).

    Notes
    -----
    Reproduces the formula of the FCN reference code (``surgery.py``, Long et al. 2015)::

        factor = (size + 1) // 2
        center = factor - 1 if size % 2 == 1 else factor - 0.5
        og = np.ogrid[:size, :size]
        (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)

    FCN fills it on the diagonal of a ``(C, C, K, K)`` weight; this function returns the 2-D
    kernel only. Each output pixel receives weights summing to 1 from the copies that land
    on it. With stride ``s``, padding ``(K - s) // 2 = s // 2`` and one pixel of edge padding
    it equals PyTorch's bilinear interpolation (module docstring).

    References
    ----------
    J. Long, E. Shelhamer, T. Darrell, "Fully Convolutional Networks for Semantic
    Segmentation", CVPR 2015.

    Examples
    --------
    >>> bilinear_kernel(2)[0]
    array([0.0625, 0.1875, 0.1875, 0.0625])
    """
    s = _check_scale(scale)
    size = 2 * s - s % 2
    factor = (size + 1) // 2
    center = factor - 1 if size % 2 == 1 else factor - 0.5
    og = np.ogrid[:size, :size]
    return (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)


def keys_cubic(x: np.ndarray | float, a: float = -0.75) -> np.ndarray:
    """Keys' cubic convolution kernel ``W(x)`` (support ``|x| < 2``).

    ``W(x) = (a + 2)|x|³ - (a + 3)|x|² + 1`` for ``|x| <= 1``,
    ``a|x|³ - 5a|x|² + 8a|x| - 4a`` for ``1 < |x| < 2``, 0 beyond. ``a = -0.75`` is PyTorch's
    and OpenCV's ``INTER_CUBIC``; ``a = -0.5`` is PIL's, JAX's and TensorFlow's.
    """
    t = np.abs(np.asarray(x, dtype=np.float64))
    inner = ((a + 2) * t - (a + 3)) * t * t + 1
    outer = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return np.where(t <= 1, inner, np.where(t < 2, outer, 0.0))


def bicubic_kernel(scale: int, *, a: float = -0.75) -> np.ndarray:
    """Bicubic (Keys) upsampling kernel for a stride-``scale`` transposed convolution.

    Parameters
    ----------
    scale : int
        Upsampling factor ``s >= 1``.
    a : float, optional
        Keys' parameter, default -0.75 (PyTorch, OpenCV). -0.5 gives PIL's kernel.

    Returns
    -------
    kernel : (K, K) ndarray of float64
        ``K = 4 s - s % 2``; the outer product of ``W((m - c) / s)``, ``m = 0..K-1``,
        ``c = (K - 1) / 2``, with ``W`` from :func:`keys_cubic`. These are the phase offsets
        of :func:`bilinear_kernel`, with the cubic in place of the tent: the taps reach twice
        as far, so the kernel is twice as large.

    Notes
    -----
    With stride ``s``, padding ``(K - s) // 2`` (``= 3 s // 2``) and two pixels of edge
    padding, the transposed convolution equals ``F.interpolate(mode="bicubic",
    align_corners=False)`` everywhere (module docstring). The taps that land on one output
    pixel sum to 1 for any ``a``; some are negative (the kernel overshoots at edges).

    References
    ----------
    R. Keys, "Cubic convolution interpolation for digital image processing", IEEE Trans.
    Acoustics, Speech, and Signal Processing 29(6), 1981.

    Examples
    --------
    >>> bicubic_kernel(2).shape
    (8, 8)
    """
    s = _check_scale(scale)
    check_number("a", a)
    size = 4 * s - s % 2
    taps = keys_cubic((np.arange(size) - (size - 1) / 2) / s, a=float(a))
    return np.outer(taps, taps)


def upsample_padding(kernel_size: int, scale: int, *, edge: int = 0) -> tuple[int, int]:
    """Padding and output padding of a transposed convolution that upsamples by exactly ``scale``.

    Parameters
    ----------
    kernel_size : int
        Kernel size ``K >= 1`` along one axis.
    scale : int
        Stride ``s >= 1``.
    edge : int, optional
        Number of pixels by which the input was edge-padded on each side beforehand
        (default 0). The padding then also crops the output those pixels add.

    Returns
    -------
    padding, output_padding : int
        With them, ``conv_transpose2d`` maps an input of size ``n + 2 edge`` to ``s n``:
        ``(n + 2 edge - 1) s - 2 padding + K + output_padding = s n``. The output is centred:
        output ``j`` sits at ``j + padding - edge s`` in the uncropped result, which for the
        kernels of this module (``K - s`` even) is exactly interpolation's half-pixel grid.
        When ``K - s`` is odd, ``output_padding = 1`` and the kernel's centre is half a pixel
        off that grid (unavoidable for that size). A kernel smaller than the stride (with
        ``edge = 0``) gets ``padding = 0`` and ``output_padding = s - K``.

    Raises
    ------
    InvalidParameterError
        If ``scale = 1`` and ``K`` is even (PyTorch needs ``output_padding < stride``).

    Examples
    --------
    >>> upsample_padding(4, 2)  # FCN / common practice: k=4, s=2, p=1
    (1, 0)
    >>> upsample_padding(4, 2, edge=1)
    (3, 0)
    """
    k = check_number("kernel_size", kernel_size, low=1, integer=True)
    s = _check_scale(scale)
    e = check_number("edge", edge, low=0, integer=True)
    total = (2 * e - 1) * s + k  # = 2 * padding - output_padding
    if total >= 0:
        padding = (total + 1) // 2
        output_padding = 2 * padding - total
    else:  # kernel smaller than the stride, no edge: extend the end instead of cropping
        padding, output_padding = 0, -total
    if output_padding >= s:
        raise InvalidParameterError(
            f"kernel_size {k} cannot upsample by exactly scale {s}: it needs output_padding "
            f"{output_padding}, which must be < stride; use an odd kernel_size"
        )
    return padding, output_padding


def _pair(name: str, value: int | Sequence[int], low: int) -> tuple[int, int]:
    if isinstance(value, Sequence) and not isinstance(value, str):
        if len(value) != 2:
            raise InvalidParameterError(f"{name} must be an int or a pair of ints, got {value!r}")
        return tuple(check_number(name, v, low=low, integer=True) for v in value)  # type: ignore[return-value]
    v = check_number(name, value, low=low, integer=True)
    return v, v


def _overlap_1d(k: int, s: int, n: int | None, p: int, op: int) -> np.ndarray:
    if n is None:
        # Interior, infinite input: output j (uncropped index t = j + p) receives the taps
        # m in [0, k) with m ≡ t (mod s).
        t = np.arange(s) + p
        return np.array([len(range((ti % s), k, s)) for ti in t], dtype=np.int64)
    full = (n - 1) * s + k + op
    counts = np.zeros(full, dtype=np.int64)
    for m in range(k):  # one slice per tap, as in the scatter-add form
        counts[m : m + (n - 1) * s + 1 : s] += 1
    out = counts[p : full - p]
    if out.size == 0:
        raise InvalidParameterError(
            f"padding {p} leaves no output for input size {n}, kernel {k}, stride {s}"
        )
    return out


def overlap_map(
    kernel_size: int | Sequence[int],
    stride: int | Sequence[int],
    *,
    input_size: int | Sequence[int] | None = None,
    padding: int | Sequence[int] = 0,
    output_padding: int | Sequence[int] = 0,
) -> np.ndarray:
    """How many kernel copies a 2-D transposed convolution adds up on each output pixel.

    Parameters
    ----------
    kernel_size, stride : int or (int, int)
        Kernel size ``K >= 1`` and stride ``s >= 1`` (per axis when pairs).
    input_size : int or (int, int), optional
        Input size ``(h, w)``. When given, the map covers the whole output, borders included:
        it equals ``conv_transpose2d`` of an all-ones ``(h, w)`` input with an all-ones kernel
        and the same ``stride``/``padding``/``output_padding``. When omitted (default), one
        period ``(s_h, s_w)`` of the interior pattern is returned, as if the input were
        infinite; entry ``[r, q]`` is the count at the output pixels ``(i, j)`` with
        ``i ≡ r (mod s_h)`` and ``j ≡ q (mod s_w)``.
    padding, output_padding : int or (int, int), optional
        As in PyTorch (default 0). ``padding`` only shifts the phase of the period.

    Returns
    -------
    counts : ndarray of int64
        Separable: the outer product of the 1-D counts. In the interior each axis gets
        ``ceil(K / s)`` or ``floor(K / s)`` copies, so the counts are uniform exactly when
        ``s`` divides ``K``.

    Notes
    -----
    Uneven counts are what produces checkerboard patterns in images generated with
    transposed convolutions (Odena, Dumoulin & Olah, "Deconvolution and Checkerboard
    Artifacts", Distill 2016): ``K = 3, s = 2`` gives the period ``[[4, 2], [2, 1]]``
    (``K = 3`` taps, ``m = 0, 2`` on even pixels and ``m = 1`` on odd ones, per axis);
    ``K = 4, s = 2`` gives 4 everywhere in the interior.

    Examples
    --------
    >>> overlap_map(3, 2)
    array([[4, 2],
           [2, 1]])
    >>> overlap_map(4, 2, input_size=3)
    array([[1, 1, 2, 2, 2, 2, 1, 1],
           [1, 1, 2, 2, 2, 2, 1, 1],
           [2, 2, 4, 4, 4, 4, 2, 2],
           [2, 2, 4, 4, 4, 4, 2, 2],
           [2, 2, 4, 4, 4, 4, 2, 2],
           [2, 2, 4, 4, 4, 4, 2, 2],
           [1, 1, 2, 2, 2, 2, 1, 1],
           [1, 1, 2, 2, 2, 2, 1, 1]])
    """
    ks = _pair("kernel_size", kernel_size, 1)
    ss = _pair("stride", stride, 1)
    ps = _pair("padding", padding, 0)
    ops = _pair("output_padding", output_padding, 0)
    for op, s in zip(ops, ss):
        if op >= s:
            raise InvalidParameterError(f"output_padding must be < stride, got {op} with stride {s}")
    ns: tuple[int | None, int | None] = (None, None) if input_size is None else _pair("input_size", input_size, 1)
    rows, cols = (_overlap_1d(k, s, n, p, op) for k, s, n, p, op in zip(ks, ss, ns, ps, ops))
    return np.outer(rows, cols)

