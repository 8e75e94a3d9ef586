"""Output sizes of convolutions and transposed convolutions (PyTorch formulas).

Per spatial axis, with input size ``n``, kernel size ``k``, stride ``s``, padding ``p``
(zeros on *both* sides), dilation ``d`` and output padding ``a``:

- convolution: ``floor((n + 2p - d(k - 1) - 1) / s) + 1``. With ``d = 1`` this is the
  textbook ``(n + 2p - k) / s + 1``; the floor means several input sizes give the same
  output size when ``s > 1``.
- transposed convolution: ``(n - 1)s - 2p + d(k - 1) + a + 1``. With ``d = 1, a = 0`` this
  is the textbook ``(n - 1)s + k - 2p``. ``a`` (``output_padding``, ``0 <= a < max(s, d)``)
  picks which of the input sizes the strided convolution folded together is produced. It
  adds *rows and columns of output*, not zeros to the input, and it is not padding in the
  usual sense: the extra row is computed like the others.

Every argument is an int (the same for all axes) or a tuple with one int per axis. The
functions here also normalise those arguments for :mod:`learned.conv` and
:mod:`learned.conv_transpose`, so that every entry point rejects the same combinations
with the same messages.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

from deconvkit.errors import InvalidParameterError

__all__ = ["conv_output_size", "conv_transpose_output_size"]

IntOrTuple = int | Sequence[int]


def _axis_count(**values: Any) -> int | None:
    """Number of axes given by the tuple-valued arguments (None if all are scalars)."""
    lengths = {name: len(v) for name, v in values.items() if isinstance(v, (tuple, list))}
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InvalidParameterError(f"per-axis arguments must have the same number of axes, got: {listed}")
    return next(iter(lengths.values()), None)


def _ntuple(name: str, value: Any, n: int, *, low: int) -> tuple[int, ...]:
    """``value`` (an int or a sequence of ``n`` ints, each ``>= low``) as an ``n``-tuple."""
    if isinstance(value, (tuple, list)):
        if len(value) != n:
            raise InvalidParameterError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        items = tuple(value)
    elif isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items = (value,) * n
    else:
        raise InvalidParameterError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise InvalidParameterError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        if item < low:
            raise InvalidParameterError(f"{name} must be >= {low}, got {value!r}")
        out.append(int(item))
    return tuple(out)


def _axis_label(axis: int, n: int) -> str:
    return f" (axis {axis})" if n > 1 else ""


def _conv_sizes(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Convolution output sizes from already-normalised tuples (checks the kernel fits)."""
    out = []
    for axis, (n, k, s, p, d) in enumerate(zip(size, kernel, stride, padding, dilation)):
        span = d * (k - 1) + 1
        if span > n + 2 * p:
            raise InvalidParameterError(
                f"kernel larger than the padded input{_axis_label(axis, len(size))}: the dilated kernel spans "
                f"dilation*(kernel_size-1)+1 = {d}*({k}-1)+1 = {span} samples, the padded input has "
                f"size+2*padding = {n}+2*{p} = {n + 2 * p}"
            )
        out.append((n + 2 * p - span) // s + 1)
    return tuple(out)


def _transpose_sizes(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """Transposed-convolution output sizes from normalised tuples (checks output_padding)."""
    out = []
    for axis, (n, k, s, p, a, d) in enumerate(zip(size, kernel, stride, padding, output_padding, dilation)):
        label = _axis_label(axis, len(size))
        if a >= max(s, d):
            raise InvalidParameterError(
                f"output_padding must be smaller than max(stride, dilation) = max({s}, {d}) = {max(s, d)}"
                f"{label}, got {a} (PyTorch's rule: output_padding only chooses among the sizes a "
                f"stride-{s} convolution maps to the same output size)"
            )
        m = (n - 1) * s - 2 * p + d * (k - 1) + a + 1
        if m < 1:
            raise InvalidParameterError(
                f"transposed convolution output size{label} would be (size-1)*stride - 2*padding + "
                f"dilation*(kernel_size-1) + output_padding + 1 = ({n}-1)*{s} - 2*{p} + {d}*({k}-1) + {a} + 1 "
                f"= {m}; it must be >= 1 (padding {p} is too large)"
            )
        out.append(m)
    return tuple(out)


def _maybe_scalar(values: tuple[int, ...], scalar: bool) -> int | tuple[int, ...]:
    return values[0] if scalar else values


def conv_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> int | tuple[int, ...]:
    """Output size of a convolution (``torch.nn.Conv1d/2d/3d``), per spatial axis.

    Parameters
    ----------
    size : int or tuple of int
        Input size(s), ``>= 1``.
    kernel_size : int or tuple of int
        Kernel size(s), ``>= 1``.
    stride, dilation : int or tuple of int, optional
        ``>= 1``. Default 1.
    padding : int or tuple of int, optional
        Zeros added on both sides, ``>= 0``. Default 0.

    Returns
    -------
    int or tuple of int
        An int if every argument is an int, else a tuple with one size per axis.

    Raises
    ------
    InvalidParameterError
        For non-positive sizes, kernels, strides or dilations, negative padding, tuples of
        different lengths, or a dilated kernel larger than the padded input.

    Notes
    -----
    ``out = floor((size + 2·padding − dilation·(kernel_size − 1) − 1) / stride) + 1``, as
    documented for ``torch.nn.Conv2d``. The seeds' example (article C): a 4×4 input and a
    3×3 kernel, no padding, stride 1 give ``(4 + 0 − 3)/1 + 1 = 2``.

    Examples
    --------
    >>> conv_output_size(4, 3)
    2
    >>> conv_output_size((256, 255), 4, stride=2, padding=1)
    (128, 127)
    """
    n = _axis_count(size=size, kernel_size=kernel_size, stride=stride, padding=padding, dilation=dilation)
    scalar = n is None
    n = n or 1
    sizes = _ntuple("size", size, n, low=1)
    kernel = _ntuple("kernel_size", kernel_size, n, low=1)
    strides = _ntuple("stride", stride, n, low=1)
    pads = _ntuple("padding", padding, n, low=0)
    dils = _ntuple("dilation", dilation, n, low=1)
    return _maybe_scalar(_conv_sizes(sizes, kernel, strides, pads, dils), scalar)


def conv_transpose_output_size(
    size: IntOrTuple,
    kernel_size: IntOrTuple,
    *,
    stride: IntOrTuple = 1,
    padding: IntOrTuple = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
) -> int | tuple[int, ...]:
    """Output size of a transposed convolution (``torch.nn.ConvTranspose1d/2d/3d``).

    Parameters
    ----------
    size : int or tuple of int
        Input size(s), ``>= 1``.
    kernel_size : int or tuple of int
        Kernel size(s), ``>= 1``.
    stride, dilation : int or tuple of int, optional
        ``>= 1``. Default 1.
    padding : int or tuple of int, optional
        ``>= 0``: the padding of the convolution this one is the adjoint of; here it *crops*
        ``padding`` samples from both ends of the full output. Default 0.
    output_padding : int or tuple of int, optional
        Extra samples at the end (bottom/right) of the output, ``0 <= output_padding <
        max(stride, dilation)``. Default 0.

    Returns
    -------
    int or tuple of int
        An int if every argument is an int, else a tuple with one size per axis.

    Raises
    ------
    InvalidParameterError
        For non-positive sizes, kernels, strides or dilations, negative paddings,
        ``output_padding >= max(stride, dilation)`` (PyTorch's rule), or a result below 1.

    Notes
    -----
    ``out = (size − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``
    (``torch.nn.ConvTranspose2d``). It inverts :func:`conv_output_size` as far as a
    many-to-one map can be inverted: ``conv_output_size(conv_transpose_output_size(n, ...),
    ...) == n`` for every valid ``output_padding < stride``.

    Examples
    --------
    >>> conv_transpose_output_size(2, 2, stride=2)  # the seeds' 1-D example: [1, 2] -> 4 values
    4
    >>> conv_transpose_output_size(3, 2)  # 3x3 input, 2x2 kernel: 4x4, not 5x5
    4
    >>> conv_transpose_output_size((128, 127), 4, stride=2, padding=1, output_padding=(0, 1))
    (256, 255)
    """
    n = _axis_count(
        size=size,
        kernel_size=kernel_size,
        stride=stride,
        padding=padding,
        output_padding=output_padding,
        dilation=dilation,
    )
    scalar = n is None
    n = n or 1
    sizes = _ntuple("size", size, n, low=1)
    kernel = _ntuple("kernel_size", kernel_size, n, low=1)
    strides = _ntuple("stride", stride, n, low=1)
    pads = _ntuple("padding", padding, n, low=0)
    opads = _ntuple("output_padding", output_padding, n, low=0)
    dils = _ntuple("dilation", dilation, n, low=1)
    return _maybe_scalar(_transpose_sizes(sizes, kernel, strides, pads, opads, dils), scalar)


def _adjoint_output_padding(
    size: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    dilation: tuple[int, ...],
) -> tuple[int, ...]:
    """The ``output_padding`` that makes the transposed convolution return ``size`` again:
    the remainder the floor in :func:`conv_output_size` dropped (always ``< stride``)."""
    return tuple(
        (n + 2 * p - d * (k - 1) - 1) % s for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
    )
