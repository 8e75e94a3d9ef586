"""The convolution matrix: a convolution layer of one image written as a matrix ``C``.

Flatten one input image ``x`` of shape ``(C_in, H, W)`` in C order to a vector of length
``C_in·H·W``, and the output ``(C_out, H_out, W_out)`` likewise. :func:`learned.conv2d` is
then ``y = C x`` with ``C`` of shape ``(C_out·H_out·W_out, C_in·H·W)``: each row is one
placement of one output channel's kernel over the input (zeros elsewhere), which is why a
convolution is linear and its transposed convolution is ``Cᵀ`` — the matrix picture of the
seeds' articles C and E (a 4×4 input and a 3×3 kernel give a 4×16 ``C``; ``Cᵀ`` is 16×4).

``C`` is mostly zeros: each row holds at most ``C_in/groups · kH · kW`` non-zeros. Small
matrices are returned dense (:class:`numpy.ndarray`), larger ones as
:class:`scipy.sparse.csr_array`; the switch is at :data:`DENSE_MAX_ENTRIES` entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from deconvkit._validation import as_float_array
from deconvkit.errors import InvalidParameterError
from learned.conv import _check_groups, _conv_params
from learned.shapes import _conv_sizes

__all__ = ["conv_matrix", "DENSE_MAX_ENTRIES"]

#: ``conv_matrix(..., sparse=None)`` returns a dense array when ``rows · columns`` is at
#: most this (2**20 entries: 8 MiB in float64), a CSR sparse array otherwise.
DENSE_MAX_ENTRIES = 1 << 20


def _matrix(
    weight: np.ndarray,
    in_shape: tuple[int, int, int],
    out_hw: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int],
    groups: int,
    sparse: bool | None,
) -> np.ndarray | sp.csr_array:
    """Convolution matrix for a checked 4-D ``weight``, keeping only the output rows
    ``i < out_hw[0]``, columns ``j < out_hw[1]`` (fewer than the natural output size when a
    transposed convolution asks for it)."""
    c_out, c_g, kh, kw = weight.shape
    c_in, h, w = in_shape
    h_out, w_out = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    o_g = c_out // groups
    n_rows, n_cols = c_out * h_out * w_out, c_in * h * w
    # Input row hit by output row i and tap m, per axis; -1 marks "in the zero padding".
    ys = np.arange(h_out)[:, None] * sh + np.arange(kh)[None, :] * dh - ph  # (H_out, kH)
    xs = np.arange(w_out)[:, None] * sw + np.arange(kw)[None, :] * dw - pw  # (W_out, kW)
    ys = np.where((ys >= 0) & (ys < h), ys, -1)
    xs = np.where((xs >= 0) & (xs < w), xs, -1)
    # Broadcast over (C_out, H_out, W_out, C_g, kH, kW).
    o = np.arange(c_out).reshape(-1, 1, 1, 1, 1, 1)
    c = (o // o_g) * c_g + np.arange(c_g).reshape(1, 1, 1, -1, 1, 1)
    yy = ys.reshape(1, h_out, 1, 1, kh, 1)
    xx = xs.reshape(1, 1, w_out, 1, 1, kw)
    shape = (c_out, h_out, w_out, c_g, kh, kw)
    valid = np.broadcast_to((yy >= 0) & (xx >= 0), shape)
    cols = np.broadcast_to(c * (h * w) + yy * w + xx, shape)[valid]
    rows = np.broadcast_to(
        (o * h_out + np.arange(h_out).reshape(1, -1, 1, 1, 1, 1)) * w_out + np.arange(w_out).reshape(1, 1, -1, 1, 1, 1),
        shape,
    )[valid]
    vals = np.broadcast_to(weight.reshape(c_out, 1, 1, c_g, kh, kw), shape)[valid]
    if sparse is None:
        sparse = n_rows * n_cols > DENSE_MAX_ENTRIES
    if sparse:
        # No (row, column) pair repeats: distinct taps of one placement hit distinct pixels.
        return sp.csr_array((vals, (rows, cols)), shape=(n_rows, n_cols), dtype=weight.dtype)
    dense = np.zeros((n_rows, n_cols), dtype=weight.dtype)
    dense[rows, cols] = vals
    return dense


def _int_shape(input_shape: Any, accepted: str) -> tuple[int, ...]:
    """``input_shape`` as a tuple of ints; non-integers (4.7, True, "4") are errors, not truncated."""
    try:
        items = list(input_shape)
    except TypeError as exc:
        raise InvalidParameterError(f"input_shape must be {accepted}, got {input_shape!r}") from exc
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer, float, np.floating)) or (
            not float(item).is_integer()
        ):
            raise InvalidParameterError(f"input_shape must be {accepted} of integers, got {input_shape!r}")
    return tuple(int(item) for item in items)


def _layer_shapes(
    weight: Any, input_shape: Any, groups: int, *, batched: bool
) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Check a layer's weight against the shape of its input; return ``(w, (N, C, H, W))``.

    ``weight`` is ``(C_out, C_in/groups, kH, kW)``, or ``(kH, kW)`` for one channel with
    ``input_shape`` ``(H, W)``. Otherwise ``input_shape`` is ``(C_in, H, W)``, or with
    ``batched=True`` also ``(N, C_in, H, W)``; ``N`` is 1 when not given.
    """
    if np.ndim(weight) not in (2, 4):
        raise InvalidParameterError(
            f"weight must be 4-D (C_out, C_in/groups, kH, kW) or 2-D (kH, kW), got shape {np.shape(weight)}"
        )
    w = as_float_array(weight, name="weight", ndim=(2, 4))
    accepted = "(C_in, H, W) or (N, C_in, H, W)" if batched else "(C_in, H, W) or (H, W)"
    shape = _int_shape(input_shape, accepted)
    if w.ndim == 2:
        if groups != 1:
            raise InvalidParameterError(f"a 2-D kernel has one channel; groups must be 1, got {groups}")
        if len(shape) == 3 and shape[0] == 1:
            shape = shape[1:]
        if len(shape) != 2:
            raise InvalidParameterError(f"with a 2-D (kH, kW) kernel input_shape must be (H, W), got {input_shape!r}")
        w = w[None, None]
        shape = (1,) + shape
    if len(shape) == 3:
        shape = (1,) + shape
    if len(shape) != 4 or (len(shape) == 4 and not batched and shape[0] != 1) or min(shape) < 1:
        raise InvalidParameterError(f"input_shape must be {accepted}, got {input_shape!r} (sizes must be positive)")
    c_out, c_g = w.shape[:2]
    if c_out % groups or c_g * groups != shape[1]:
        raise InvalidParameterError(
            f"weight of shape {w.shape} with groups={groups} expects input_shape[0] = weight.shape[1]*groups = "
            f"{c_g * groups} input channels (and groups dividing C_out = {c_out}), got input_shape {input_shape!r}"
        )
    return w, shape


def conv_matrix(
    weight: Any,
    input_shape: Sequence[int],
    *,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    sparse: bool | None = None,
) -> np.ndarray | sp.csr_array:
    """The matrix ``C`` of a convolution layer (:func:`learned.conv2d`) on one image.

    Parameters
    ----------
    weight : (C_out, C_in / groups, kH, kW) or (kH, kW) array_like
        Filters in PyTorch's conv2d layout; a 2-D kernel means one input and one output
        channel.
    input_shape : (C_in, H, W) or (H, W) tuple of int
        Shape of the image ``C`` applies to; ``(H, W)`` (or ``(1, H, W)``) with a 2-D kernel.
    stride, padding, dilation : int or (int, int), optional
        As in :func:`learned.conv2d`. Defaults 1, 0, 1.
    groups : int, optional
        As in :func:`learned.conv2d`. Default 1.
    sparse : bool, optional
        ``True``: a :class:`scipy.sparse.csr_array`; ``False``: a dense ndarray; ``None``
        (default): dense up to :data:`DENSE_MAX_ENTRIES` entries (``rows · columns``), sparse
        above.

    Returns
    -------
    C : (C_out·H_out·W_out, C_in·H·W) ndarray or scipy.sparse.csr_array
        Row ``(o·H_out + i)·W_out + j`` holds the kernel of output channel ``o`` placed at
        output pixel ``(i, j)``; columns index the C-order flattened input. dtype float32
        for a float32 weight, else float64.

    Raises
    ------
    InvalidParameterError
        For a weight that is not 2-D or 4-D, an ``input_shape`` that does not fit it, or
        the conditions of :func:`learned.conv2d`.

    Notes
    -----
    For one image ``x`` of shape ``input_shape``::

        C @ x.ravel()   == conv2d(x[None], weight, ...).ravel()
        C.T @ y.ravel() == conv_transpose2d(y[None], weight, ..., output_padding=a).ravel()

    with ``a`` the remainder that makes the transposed convolution return ``(H, W)``
    (:class:`learned.ConvOperator` chooses it). ``Cᵀ`` is the *adjoint* of ``C``, not its
    inverse: ``Cᵀ C`` is not the identity (for a strided or multi-tap kernel it is not even
    invertible when ``C`` has fewer rows than columns).

    Examples
    --------
    The seeds' example (articles C and E): a 4×4 input and a 3×3 kernel give a 4×16 matrix.

    >>> import numpy as np
    >>> C = conv_matrix(np.arange(1.0, 10.0).reshape(3, 3), (4, 4))
    >>> C.shape, C.T.shape
    ((4, 16), (16, 4))
    >>> C[0].reshape(4, 4)  # first row: the kernel at the top-left placement
    array([[1., 2., 3., 0.],
           [4., 5., 6., 0.],
           [7., 8., 9., 0.],
           [0., 0., 0., 0.]])
    """
    if sparse is not None and not isinstance(sparse, bool):
        raise InvalidParameterError(f"sparse must be True, False or None, got {sparse!r}")
    groups = _check_groups(groups)
    w, batch_shape = _layer_shapes(weight, input_shape, groups, batched=False)
    shape = batch_shape[1:]
    stride, padding, dilation = _conv_params(stride, padding, dilation)
    out_hw = _conv_sizes(shape[1:], w.shape[2:], stride, padding, dilation)
    return _matrix(w, shape, out_hw, stride, padding, dilation, groups, sparse)
