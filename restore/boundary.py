"""Boundary handling for DFT deconvolution: padding plans and MATLAB-style ``edgetaper``.

The DFT treats an image as one period of a periodic signal. A photo is not periodic: its
opposite edges differ, the jump acts like a sharp edge, and deconvolution rings from it.
Three remedies are offered wherever a ``boundary`` argument appears:

``"symmetric"`` (default)
    Mirror-pad by at least twice the PSF size on every side, deconvolve, crop back.
``"wrap"``
    Nothing: the image is assumed periodic (exact for circularly blurred data).
``"edgetaper"``
    MATLAB's ``edgetaper``: blend the image towards a blurred copy of itself near the
    edges, with weights from the PSF's autocorrelation, then treat it as periodic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_image, check_choice
from deconvkit.errors import InvalidParameterError
from restore.otf import fast_shape, psf_to_otf
from restore.psf import check_psf

__all__ = ["BOUNDARIES", "symmetric_padding", "edgetaper"]

BOUNDARIES = ("symmetric", "wrap", "edgetaper")


def symmetric_padding(
    image_shape: Sequence[int], psf_shape: Sequence[int]
) -> tuple[tuple[int, int], tuple[tuple[int, int], tuple[int, int]]]:
    """FFT grid and pad widths for symmetric-padded deconvolution.

    Each side gets at least twice the PSF size; the trailing side gets whatever more is
    needed to reach a fast FFT length.

    Returns
    -------
    fft_shape : (M, N) tuple of int
    pad_width : ((top, bottom), (left, right))
    """
    h, w = (int(s) for s in image_shape[:2])
    kh, kw = (int(s) for s in psf_shape)
    top, left = 2 * kh, 2 * kw
    m, n = fast_shape((h + 2 * top, w + 2 * left))
    return (m, n), ((top, m - h - top), (left, n - w - left))


def _taper_profile(projection: np.ndarray, n: int) -> np.ndarray:
    """MATLAB edgetaper's 1-D weight: normalised circular autocorrelation, length ``n``."""
    spec = sfft.rfft(projection, n - 1)
    z = sfft.irfft(np.abs(spec) ** 2, n - 1)
    z /= z.max()
    return np.append(z, z[0])


def edgetaper(image: np.ndarray, psf: np.ndarray, *, workers: int | None = None) -> np.ndarray:
    """Blur the borders of an image towards periodicity, as MATLAB ``edgetaper``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Image; float32 stays float32, other dtypes become float64.
    psf : (kh, kw) array_like
        The blur's PSF (normalised here). Must be smaller than the image on each axis.
    workers : int, optional
        Threads for ``scipy.fft``.

    Returns
    -------
    tapered : ndarray
        Same shape and dtype as the (converted) input; a new array.

    Notes
    -----
    ``J = α · I + (1 - α) · (k ⊛ I)`` with circular convolution and
    ``α[i, j] = (1 - z_r[i]) (1 - z_c[j])``, where ``z_r`` (``z_c``) is the circular
    autocorrelation of the PSF's projection on the rows (columns), normalised to a
    maximum of 1, as in MATLAB's ``edgetaper.m``. An axis along which the PSF has size 1
    is not tapered. At the borders ``α = 0`` and the image is replaced by its blurred,
    periodic version; inside, ``α = 1`` and the image is unchanged.
    """
    x = as_float_image(image)
    k = check_psf(psf).astype(x.dtype, copy=False)
    h, w = x.shape[:2]
    for n, kn in zip((h, w), k.shape):
        if kn > 1 and n <= 2 * kn:
            raise InvalidParameterError(
                f"edgetaper needs an image more than twice the PSF size along each axis the PSF extends "
                f"over, got image {(h, w)} and PSF {k.shape}"
            )
    weights = [
        np.ones(n) if kn == 1 else 1 - _taper_profile(k.sum(axis=1 - axis), n)
        for axis, (n, kn) in enumerate(zip((h, w), k.shape))
    ]
    alpha = np.outer(weights[0], weights[1]).astype(x.dtype)
    otf = psf_to_otf(k, (h, w), real=True, workers=workers)
    out = np.empty_like(x)
    channels = [(x, out)] if x.ndim == 2 else [(x[..., c], out[..., c]) for c in range(x.shape[2])]
    for src, dst in channels:
        blurred = sfft.irfft2(sfft.rfft2(src, workers=workers) * otf, s=(h, w), workers=workers)
        dst[...] = alpha * src + (1 - alpha) * blurred
    return out


def fft_grid(image_shape: Sequence[int], psf_shape: Sequence[int], boundary: str):
    """Internal: the FFT shape and pad widths a deconvolution with ``boundary`` uses."""
    if boundary == "symmetric":
        return symmetric_padding(image_shape, psf_shape)
    h, w = (int(s) for s in image_shape[:2])
    return (h, w), ((0, 0), (0, 0))


def prepare_deconvolution(image: np.ndarray, psf: np.ndarray, boundary: str, *, workers: int | None):
    """Internal: the checks and set-up every DFT deconvolution shares.

    Returns the image in the policy dtype (edge-tapered for ``boundary="edgetaper"``), the
    normalised PSF in the same dtype, the FFT grid and the pad widths.
    """
    x = as_float_image(image)
    k = check_psf(psf).astype(x.dtype, copy=False)
    check_choice("boundary", boundary, BOUNDARIES)
    h, w = x.shape[:2]
    if h < k.shape[0] or w < k.shape[1]:
        raise InvalidParameterError(
            f"image of shape {(h, w)} is smaller than the PSF {k.shape}; use a smaller PSF or a larger image"
        )
    if boundary == "edgetaper":
        x = edgetaper(x, k, workers=workers)
    shape, pad = fft_grid((h, w), k.shape, boundary)
    return x, k, shape, pad
