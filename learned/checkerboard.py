"""Checkerboard artifacts, measured: a score for period-``s`` patterns and the flat-input test.

An upsampler by an integer factor ``s`` that is shift-invariant on the high-resolution
grid only up to shifts by ``s`` (a transposed convolution, a pixel shuffle) can give the
``s × s`` sub-pixel *phases* of its output different gains: fed a flat image, it answers
with a periodic pattern of period ``s`` -- the checkerboard (Odena, Dumoulin & Olah 2016).

The score (:func:`checkerboard_score`) has two equal definitions:

- **phases**: ``std(μ) / rms(x)``, where ``μ`` are the ``s²`` means of the pixels
  ``(i, j)`` with the same ``(i mod s, j mod s)`` and ``std`` is the population standard
  deviation;
- **spectrum** (the "Nyquist-phase" energy): ``score² = Σ |X(f)|² / Σ |X|²``, the fraction
  of the image's energy (DC included) at the ``s² - 1`` frequencies ``f = (k H/s, l W/s)``,
  ``(k, l) ≠ (0, 0)``, of its ``H × W`` DFT -- for ``s = 2`` the frequencies ``(π, 0)``,
  ``(0, π)`` and ``(π, π)``.

They agree for every image whose sides are multiples of ``s`` (the interior is cropped
so): averaging over the phases is the projection onto period-``s`` images, whose DFT is
zero off that lattice of frequencies and equal to ``X`` on it, so by Parseval the energy of
the phase-mean image minus its mean is ``H W var(μ) = Σ_{f ≠ 0} |X(f)|² / (H W)``. The
tests check the identity on random images with ``numpy.fft``. We compute it from the
phases (``O(H W)``, no FFT) and report the square root, an amplitude ratio: a pure
``(-1)^(i+j)`` pattern scores 1, a constant 0, ``1 + 0.5 (-1)^(i+j)`` scores
``0.5 / √1.25``. Over the output of a flat input through a layer that is exactly periodic
inside, the score is the layer's phase gain spread relative to its RMS gain, in [0, 1].

For a transposed convolution the flat response is known in closed form:
:func:`kernel_phase_sums` (the sums of the kernel taps per phase; with the default
``replicate`` padding of :class:`~learned.modules.TransposedConvUpsampler` the flat output
is exactly periodic) and :func:`kernel_checkerboard_score`. :func:`~learned.kernels.overlap_map`
counts the copies instead of summing their taps: uneven counts (``k = 3, s = 2``) make
most random kernels checker, but even counts (``k = 4``) do not prevent it -- the tap sums
still differ.

References
----------
A. Odena, V. Dumoulin and C. Olah, "Deconvolution and checkerboard artifacts", Distill,
2016. A. Aitken, C. Ledig, L. Theis, J. Caballero, Z. Wang and W. Shi, "Checkerboard
artifact free sub-pixel convolution: a note on sub-pixel convolution, resize convolution
and convolution resize", arXiv:1707.02937, 2017.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deconvkit._validation import check_array, check_number
from deconvkit.errors import InvalidParameterError

__all__ = [
    "phase_means",
    "checkerboard_score",
    "kernel_phase_sums",
    "kernel_checkerboard_score",
    "flat_response",
    "flat_checkerboard_score",
]


def _interior(image: Any, scale: int, margin: int) -> tuple[np.ndarray, int]:
    x = check_array(image, name="image", ndim=(2,)).astype(np.float64, copy=False)
    s = check_number("scale", scale, low=1, integer=True)
    m = check_number("margin", margin, low=0, integer=True)
    if m % s:
        raise InvalidParameterError(f"margin must be a multiple of scale {s} (so the phases line up), got {m}")
    h, w = x.shape[0] - 2 * m, x.shape[1] - 2 * m
    h, w = h - h % s, w - w % s
    if h < s or w < s:
        raise InvalidParameterError(
            f"image of shape {x.shape} has no {s}×{s} interior block left after a margin of {m}"
        )
    return x[m : m + h, m : m + w], s


def phase_means(image: Any, scale: int, *, margin: int = 0) -> np.ndarray:
    """The mean of each of the ``scale × scale`` sub-pixel phases of an image's interior.

    Parameters
    ----------
    image : (H, W) array_like
        Typically an upsampler's output.
    scale : int
        The period ``s``.
    margin : int, optional
        Border pixels left out on every side (default 0); a multiple of ``s``, so that entry
        ``[r, q]`` is the phase of the pixels ``(i, j)`` with ``i ≡ r``, ``j ≡ q (mod s)`` in
        the whole image's coordinates. The interior is then cropped at the bottom and right
        to a multiple of ``s``, so every phase has the same number of pixels.

    Returns
    -------
    means : (s, s) ndarray of float64
    """
    inner, s = _interior(image, scale, margin)
    h, w = inner.shape
    return inner.reshape(h // s, s, w // s, s).mean(axis=(0, 2))


def checkerboard_score(image: Any, scale: int, *, margin: int = 0) -> float:
    """How much of an image is a period-``scale`` pattern: 0 for none, 1 for a pure checkerboard.

    Parameters
    ----------
    image : (H, W) array_like
        Typically the output of an upsampler for a flat input (:func:`flat_response`).
    scale : int
        The period ``s`` (the upsampling factor).
    margin : int, optional
        Border pixels left out on every side (a multiple of ``s``; default 0). See
        :func:`phase_means` for the cropping.

    Returns
    -------
    score : float
        ``std(μ) / rms`` over the interior, ``μ`` = :func:`phase_means` (population standard
        deviation), 0 for an all-zero interior. Its square is the fraction of the interior's
        energy at the ``s² - 1`` non-zero "Nyquist-phase" DFT frequencies ``(k H/s, l W/s)``
        (module docstring); always in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> checker = (-1.0) ** np.add.outer(np.arange(6), np.arange(8))
    >>> checkerboard_score(checker, 2), checkerboard_score(np.ones((6, 8)), 2)
    (1.0, 0.0)
    """
    inner, s = _interior(image, scale, margin)
    means = phase_means(inner, s)
    rms = float(np.sqrt(np.mean(inner**2)))
    return float(min(1.0, means.std() / rms)) if rms > 0 else 0.0


def kernel_phase_sums(kernel: Any, scale: int) -> np.ndarray:
    """Sums of a transposed-convolution kernel's taps per phase: its gain on a flat input.

    Parameters
    ----------
    kernel : (K_h, K_w) array_like
        One kernel of a stride-``scale`` transposed convolution.
    scale : int
        The stride ``s``.

    Returns
    -------
    sums : (s, s) ndarray of float64
        ``sums[r, q] = Σ w[m, n]`` over ``m ≡ r``, ``n ≡ q (mod s)``: every interior output
        pixel of a flat input ``c`` receives ``c`` times one of these (which phase of the
        output gets which sum depends on the padding). With
        :func:`~learned.kernels.overlap_map`'s counts, this is the sum of the taps the
        counted copies carry.
    """
    k = check_array(kernel, name="kernel", ndim=(2,)).astype(np.float64, copy=False)
    s = check_number("scale", scale, low=1, integer=True)
    return np.array([[k[r::s, q::s].sum() for q in range(s)] for r in range(s)])


def kernel_checkerboard_score(kernel: Any, scale: int) -> float:
    """:func:`checkerboard_score` of a transposed convolution's flat response, in closed form.

    ``std(sums) / rms(sums)`` of :func:`kernel_phase_sums` (0 when all sums are 0): equal to
    the score of the interior output for any flat input, since every phase is constant there.
    FCN's bilinear and our bicubic kernels (:func:`~learned.kernels.bilinear_kernel`,
    :func:`~learned.kernels.bicubic_kernel`) have all phase sums 1 and score 0.
    """
    sums = kernel_phase_sums(kernel, scale)
    rms = float(np.sqrt(np.mean(sums**2)))
    return float(min(1.0, sums.std() / rms)) if rms > 0 else 0.0


def flat_response(model: Any, *, size: int = 24, value: float = 0.5, channel: int = 0) -> np.ndarray:
    """A PyTorch upsampler's output for a flat ``size × size`` input of ``value``.

    Parameters
    ----------
    model : torch.nn.Module
        ``(N, C, h, w) -> (N, C', s h, s w)``; ``C`` is read from ``model.channels`` (1 if
        it has none). Run under ``torch.no_grad()`` in the dtype of its first parameter,
        without changing its train/eval mode (none of ours behaves differently).
    size : int, optional
        Side of the flat input (default 24).
    value : float, optional
        The input's value everywhere (default 0.5, mid-grey).
    channel : int, optional
        Output channel returned (default 0).

    Returns
    -------
    response : (s size, s size) ndarray of float64
    """
    import torch

    n = check_number("size", size, low=1, integer=True)
    v = float(check_number("value", value))
    c = int(getattr(model, "channels", 1))
    params = list(model.parameters())
    dtype = params[0].dtype if params else torch.get_default_dtype()
    device = params[0].device if params else None
    with torch.no_grad():
        out = model(torch.full((1, c, n, n), v, dtype=dtype, device=device))
    ch = check_number("channel", channel, low=0, high=out.shape[1] - 1, integer=True)
    return out[0, ch].double().cpu().numpy()


def flat_checkerboard_score(
    model: Any, scale: int | None = None, *, size: int = 24, value: float = 0.5, border: int = 6
) -> float:
    """:func:`checkerboard_score` of :func:`flat_response`, without ``border`` input pixels per side.

    ``scale`` is the model's upsampling factor, measured from its output (``size`` in,
    ``scale · size`` out); if given, it must agree, since phases of the wrong period hide
    a checkerboard. ``border`` is in low-resolution pixels (default 6, beyond the reach of
    the borders into every layer here: ESPCN's 5×5, 3×3, 3×3 convolutions and the bicubic
    residual see 4 and 2 pixels away); the margin is ``border · scale`` output pixels.
    """
    b = check_number("border", border, low=0, integer=True)
    n = check_number("size", size, low=1, integer=True)
    if n <= 2 * b:
        raise InvalidParameterError(f"size {n} leaves no interior after a border of {b} on each side")
    response = flat_response(model, size=n, value=value)
    factor, rest = divmod(response.shape[0], n)
    if rest or response.shape[0] != response.shape[1]:
        raise InvalidParameterError(f"the model maps {n}×{n} to {response.shape[0]}×{response.shape[1]}, not an integer upsampling")
    if scale is not None:
        s = check_number("scale", scale, low=1, integer=True)
        if s != factor:
            raise InvalidParameterError(f"scale {s} does not match the model, which upsamples by {factor}")
    return checkerboard_score(response, factor, margin=b * factor)
