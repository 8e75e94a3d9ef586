"""Pixel shuffle (depth to space) and its inverse, in PyTorch's channel order.

Conventions
-----------
- **Layout**: ``(N, C, H, W)`` arrays, like PyTorch. float32 (and float16) input is
  returned in float32, every other dtype in float64. Both functions only move values, so
  NaN and infinity are accepted and moved like any other value.
- **Channel order** (PyTorch ``F.pixel_shuffle``, Shi et al. 2016 [1]_): input channel
  ``c · r² + i · r + j`` becomes the sub-pixel ``(i, j)`` of output channel ``c``:

  ``y[n, c, h · r + i, w · r + j] = x[n, c · r² + i · r + j, h, w]``.

  TensorFlow's ``depth_to_space`` (NHWC) orders the depth axis as ``(i, j, c)`` instead
  (channel ``(i · r + j) · C + c``), so weights trained in one framework need their output
  channels permuted for the other.
- **ICNR** (Aitken et al. 2017 [2]_): when the ``C · r²`` output channels of the
  convolution before a pixel shuffle come in groups of ``r²`` equal kernels, the sub-pixel
  convolution equals that ``C``-channel convolution followed by nearest-neighbour
  upsampling by ``r`` (no checkerboard at initialisation). In this channel order the
  groups are ``kernel.repeat_interleave(r**2, dim=0)``, not ``kernel.repeat(...)``.

References
----------
.. [1] W. Shi et al., "Real-time single image and video super-resolution using an efficient
   sub-pixel convolutional neural network", CVPR 2016.
.. [2] A. Aitken et al., "Checkerboard artifact free sub-pixel convolution: a note on
   sub-pixel convolution, resize convolution and convolution resize", arXiv:1707.02937, 2017.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deconvkit._validation import as_float_array, to_array
from deconvkit.errors import InvalidParameterError

__all__ = ["pixel_shuffle", "pixel_unshuffle"]


def _check(x: Any, r: Any) -> tuple[np.ndarray, int]:
    if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)) or r < 1:
        raise InvalidParameterError(f"r (the upscale factor) must be a positive integer, got {r!r}")
    x = to_array(x, name="x")
    if np.ndim(x) != 4:
        raise InvalidParameterError(f"x must be a 4-D (N, C, H, W) array, got shape {np.shape(x)}")
    return as_float_array(x, name="x", ndim=(4,), finite=False), int(r)


def _new(source: np.ndarray, result: np.ndarray) -> np.ndarray:
    """``result`` as an array of its own (``r = 1`` reshapes may return a view of the input)."""
    return result.copy() if np.may_share_memory(source, result) else result


def pixel_shuffle(x: Any, r: int) -> np.ndarray:
    """Rearrange ``(N, C·r², H, W)`` into ``(N, C, H·r, W·r)`` (depth to space).

    Parameters
    ----------
    x : (N, C·r², H, W) array_like
        Input; its channel count must be divisible by ``r²``.
    r : int
        Upscale factor, >= 1.

    Returns
    -------
    y : (N, C, H·r, W·r) ndarray
        ``y[n, c, h·r + i, w·r + j] = x[n, c·r² + i·r + j, h, w]`` (PyTorch's order); a new
        array, float32 for float16/float32 input, float64 otherwise.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        If ``x`` is not 4-D, ``r`` is not a positive integer, or the channels do not divide
        by ``r²``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 4, 1, 1)
    >>> pixel_shuffle(x, 2)[0, 0]
    array([[0., 1.],
           [2., 3.]])
    """
    arr, r = _check(x, r)
    n, c, h, w = arr.shape
    if c % (r * r):
        raise InvalidParameterError(
            f"pixel_shuffle needs a channel count divisible by r**2 = {r * r}, got {c} channels (r={r})"
        )
    out_c = c // (r * r)
    return _new(arr, arr.reshape(n, out_c, r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, out_c, h * r, w * r))


def pixel_unshuffle(x: Any, r: int) -> np.ndarray:
    """Rearrange ``(N, C, H·r, W·r)`` into ``(N, C·r², H, W)`` (space to depth).

    The inverse of :func:`pixel_shuffle`: ``pixel_shuffle(pixel_unshuffle(x, r), r) == x``
    and ``pixel_unshuffle(pixel_shuffle(y, r), r) == y`` exactly.

    Parameters
    ----------
    x : (N, C, H·r, W·r) array_like
        Input; its height and width must be divisible by ``r``.
    r : int
        Downscale factor, >= 1.

    Returns
    -------
    y : (N, C·r², H, W) ndarray
        ``y[n, c·r² + i·r + j, h, w] = x[n, c, h·r + i, w·r + j]``; a new array, float32 for
        float16/float32 input, float64 otherwise.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        If ``x`` is not 4-D, ``r`` is not a positive integer, or the height or width does not
        divide by ``r``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(4.0).reshape(1, 1, 2, 2)
    >>> pixel_unshuffle(x, 2)[0, :, 0, 0]
    array([0., 1., 2., 3.])
    """
    arr, r = _check(x, r)
    n, c, h, w = arr.shape
    if h % r or w % r:
        raise InvalidParameterError(
            f"pixel_unshuffle needs a height and width divisible by r={r}, got {h}x{w}"
        )
    return _new(arr, arr.reshape(n, c, h // r, r, w // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, h // r, w // r))
