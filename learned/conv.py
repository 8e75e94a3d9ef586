"""Convolution layers with PyTorch semantics, in NumPy: :func:`conv2d` and :func:`conv1d`.

Like every deep-learning framework, and unlike :mod:`restore` (whose blur is a true
convolution), these compute a **cross-correlation**: the kernel is *not* flipped,

``y[n, o, i, j] = b[o] + Σ_{c, m, q} w[o, c, m, q] · x_pad[n, g·C_g + c, i·s + m·d, j·s + q·d]``

where ``x_pad`` is ``x`` with ``p`` zeros on each side, ``g = o // (C_out / groups)`` is
the group of output channel ``o`` and ``C_g = C_in / groups``. Layout is NCHW, weights are
``(C_out, C_in / groups, kH, kW)``, as ``torch.nn.functional.conv2d``.

dtype policy (as the rest of deconvkit): float16 and float32 compute in float32, every
other dtype in float64; when the input and the weight differ, the wider one wins (float32
only if both are float32). The output has that dtype.

Implementation: im2col — the kernel-sized windows of a few output rows at a time are
copied into a ``(C_g·kH·kW, rows·W_out)`` matrix (``numpy.lib.stride_tricks.
sliding_window_view``) and multiplied by the ``(C_out/groups, C_g·kH·kW)`` weight matrix,
one BLAS matrix product per chunk and group. Chunks keep the copied windows near
:data:`_IM2COL_CHUNK` elements, so memory stays bounded for large inputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from deconvkit._validation import as_float_array, check_number, to_array
from deconvkit.errors import InvalidParameterError
from learned.shapes import _conv_sizes, _ntuple

__all__ = ["conv2d", "conv1d"]

IntOrPair = int | Sequence[int]

#: Elements of the im2col buffer per chunk (16 MiB in float32).
_IM2COL_CHUNK = 1 << 22


# --------------------------------------------------------------------------- checks


def _check_groups(groups: Any) -> int:
    return int(check_number("groups", groups, low=1, integer=True))


def _prepare(
    x: Any,
    weight: Any,
    bias: Any,
    *,
    groups: int,
    transposed: bool,
    spatial: int = 2,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Check ``x``, ``weight`` and ``bias`` of a (transposed) convolution; return them in
    the common computation dtype (see the module docstring)."""
    dims = "(N, C_in, H, W)" if spatial == 2 else "(N, C_in, L)"
    kdims = "kH, kW" if spatial == 2 else "k"
    wdims = f"(C_in, C_out/groups, {kdims})" if transposed else f"(C_out, C_in/groups, {kdims})"
    x, weight = to_array(x, name="x"), to_array(weight, name="weight")
    for name, arr, layout in (("x", x, dims), ("weight", weight, wdims)):
        nd = np.ndim(arr)
        if nd != spatial + 2:
            raise InvalidParameterError(
                f"{name} must be {spatial + 2}-D {layout}, got shape {np.shape(arr)}"
            )
    x = as_float_array(x, name="x", ndim=(spatial + 2,))
    weight = as_float_array(weight, name="weight", ndim=(spatial + 2,))
    c_in = x.shape[1]
    if transposed:
        if weight.shape[0] != c_in:
            raise InvalidParameterError(
                f"weight of shape {weight.shape} {wdims} expects weight.shape[0] = {weight.shape[0]} input "
                f"channels, got x with {c_in} channels (shape {x.shape})"
            )
        if c_in % groups:
            raise InvalidParameterError(
                f"groups={groups} must divide the {c_in} input channels (x shape {x.shape})"
            )
        c_out = weight.shape[1] * groups
    else:
        c_out = weight.shape[0]
        if c_in % groups or c_out % groups:
            raise InvalidParameterError(
                f"groups={groups} must divide both the {c_in} input channels (x shape {x.shape}) and the "
                f"{c_out} output channels (weight shape {weight.shape})"
            )
        if weight.shape[1] * groups != c_in:
            raise InvalidParameterError(
                f"weight of shape {weight.shape} {wdims} with groups={groups} expects "
                f"weight.shape[1]*groups = {weight.shape[1] * groups} input channels, got x with {c_in} "
                f"channels (shape {x.shape})"
            )
    dtype = np.result_type(x.dtype, weight.dtype)
    b = None
    if bias is not None:
        b = as_float_array(bias, name="bias", ndim=(1,))
        if b.shape != (c_out,):
            raise InvalidParameterError(f"bias must have shape ({c_out},) (one per output channel), got {b.shape}")
        b = b.astype(dtype, copy=False)  # the bias follows x and weight (a list bias stays float32)
    return x.astype(dtype, copy=False), weight.astype(dtype, copy=False), b


def _conv_params(
    stride: Any, padding: Any, dilation: Any, spatial: int = 2
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    return (
        _ntuple("stride", stride, spatial, low=1),
        _ntuple("padding", padding, spatial, low=0),
        _ntuple("dilation", dilation, spatial, low=1),
    )


# --------------------------------------------------------------------------- kernel


def _conv2d(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
) -> np.ndarray:
    """conv2d on checked arrays of one dtype (im2col + matmul, chunked over output rows)."""
    n, c_in, h, w = x.shape
    c_out, c_g, kh, kw = weight.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    h_out, w_out = _conv_sizes((h, w), (kh, kw), stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else x
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    # (N, C, H_out, W_out, kH, kW) view of all windows, then im2col order (N, C, kH, kW, H_out, W_out).
    windows = sliding_window_view(xp, span, axis=(2, 3))[:, :, ::sh, ::sw, ::dh, ::dw]
    windows = windows.transpose(0, 1, 4, 5, 2, 3)
    o_g = c_out // groups
    k = c_g * kh * kw
    wmat = weight.reshape(groups, o_g, k)
    out = np.empty((n, c_out, h_out, w_out), dtype=x.dtype)
    rows = max(1, _IM2COL_CHUNK // (n * k * w_out))
    for g in range(groups):
        for r0 in range(0, h_out, rows):
            r1 = min(h_out, r0 + rows)
            cols = np.ascontiguousarray(windows[:, g * c_g : (g + 1) * c_g, :, :, r0:r1]).reshape(n, k, -1)
            out[:, g * o_g : (g + 1) * o_g, r0:r1] = np.matmul(wmat[g], cols).reshape(n, o_g, r1 - r0, w_out)
    if bias is not None:
        out += bias[:, None, None]
    return out


# --------------------------------------------------------------------------- public


def conv2d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: IntOrPair = 1,
    padding: IntOrPair = 0,
    dilation: IntOrPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """2-D convolution layer (cross-correlation), as ``torch.nn.functional.conv2d``.

    Parameters
    ----------
    x : (N, C_in, H, W) array_like
        Input batch.
    weight : (C_out, C_in / groups, kH, kW) array_like
        Filters (not flipped: this is a cross-correlation, like every DL framework).
    bias : (C_out,) array_like, optional
        Added to each output channel.
    stride : int or (int, int), optional
        Step of the kernel over the (padded) input. Default 1.
    padding : int or (int, int), optional
        Zeros added on both sides of each spatial axis. Default 0.
    dilation : int or (int, int), optional
        Spacing between kernel taps. Default 1.
    groups : int, optional
        Channels are split into ``groups`` independent convolutions; must divide ``C_in``
        and ``C_out``. Default 1.

    Returns
    -------
    y : (N, C_out, H_out, W_out) ndarray
        ``H_out = floor((H + 2p − d(kH − 1) − 1)/s) + 1`` (see
        :func:`learned.conv_output_size`), likewise ``W_out``. float32 if ``x``, ``weight``
        are float32 (or float16), else float64; ``bias`` is cast to that dtype.

    Raises
    ------
    InvalidParameterError
        For arrays of the wrong rank, channel counts that do not match, ``groups`` not
        dividing the channels, invalid stride/padding/dilation, or a dilated kernel larger
        than the padded input.

    See Also
    --------
    learned.conv_transpose2d : its adjoint (not its inverse).
    learned.conv_matrix : the same map as an explicit matrix.

    Notes
    -----
    ``y[n, o, i, j] = b[o] + Σ_{c, m, q} w[o, c, m, q] · x_pad[n, g·C_in/groups + c,
    i·s + m·d, j·s + q·d]`` with ``g`` the group of ``o``. As a linear map of one image,
    ``y.ravel() = C @ x.ravel()`` with ``C = conv_matrix(weight, x.shape[1:], ...)``.

    Examples
    --------
    The seeds' article E value: a 3×3 kernel over one 3×3 patch, element-wise product summed.

    >>> import numpy as np
    >>> patch = np.array([[3, 3, 2], [0, 0, 1], [3, 1, 2]], float)
    >>> kernel = np.array([[0, 1, 2], [2, 2, 0], [0, 1, 2]], float)
    >>> conv2d(patch[None, None], kernel[None, None])
    array([[[[12.]]]])
    """
    groups = _check_groups(groups)
    x, weight, bias = _prepare(x, weight, bias, groups=groups, transposed=False)
    stride, padding, dilation = _conv_params(stride, padding, dilation)
    return _conv2d(x, weight, bias, stride, padding, dilation, groups)


def conv1d(
    x: Any,
    weight: Any,
    bias: Any = None,
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
) -> np.ndarray:
    """1-D convolution layer (cross-correlation), as ``torch.nn.functional.conv1d``.

    Parameters
    ----------
    x : (N, C_in, L) array_like
        Input batch.
    weight : (C_out, C_in / groups, k) array_like
        Filters (not flipped).
    bias : (C_out,) array_like, optional
        Added to each output channel.
    stride, padding, dilation : int or (int,), optional
        As in :func:`conv2d`, for the one spatial axis. Defaults 1, 0, 1.
    groups : int, optional
        As in :func:`conv2d`. Default 1.

    Returns
    -------
    y : (N, C_out, L_out) ndarray
        ``L_out = floor((L + 2p − d(k − 1) − 1)/s) + 1``; dtype as :func:`conv2d`.

    Notes
    -----
    A thin wrapper: the 2-D code with a height-1 axis.

    Examples
    --------
    >>> conv1d([[[1.0, 2.0, 3.0]]], [[[1.0, -1.0]]])
    array([[[-1., -1.]]])
    """
    groups = _check_groups(groups)
    x, weight, bias = _prepare(x, weight, bias, groups=groups, transposed=False, spatial=1)
    (s,), (p,), (d,) = _conv_params(stride, padding, dilation, spatial=1)
    y = _conv2d(x[:, :, None, :], weight[:, :, None, :], bias, (1, s), (0, p), (1, d), groups)
    return y[:, :, 0, :]
