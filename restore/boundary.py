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

from deconvkit._validation import as_float_image, check_array, check_choice, float_dtype
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


def prepare_deconvolution(
    image: np.ndarray, psf: np.ndarray, boundary: str, *, workers: int | None, dtype: type | None = None
):
    """Internal: the checks and set-up every DFT deconvolution shares.

    Returns the image, the normalised PSF in the working dtype, the working dtype, the FFT
    grid and the pad widths. A float image comes back in the working dtype (edge-tapered for
    ``boundary="edgetaper"``); an integer image comes back as it is, to be converted one
    channel at a time (no float copy of the whole image). The working dtype is ``dtype`` or,
    by default, the policy dtype of the image.
    """
    x = check_array(image, name="image", ndim=(2, 3))
    if dtype is None:
        dt = float_dtype(x.dtype)
    else:
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise InvalidParameterError(f"dtype must be float32 or float64, got {dt}")
    if x.dtype.kind == "f" or boundary == "edgetaper":
        x = x.astype(dt, copy=False)
    k = check_psf(psf).astype(dt, copy=False)
    check_choice("boundary", boundary, BOUNDARIES)
    h, w = x.shape[:2]
    if h < k.shape[0] or w < k.shape[1]:
        raise InvalidParameterError(
            f"image of shape {(h, w)} is smaller than the PSF {k.shape}; use a smaller PSF or a larger image"
        )
    if boundary == "edgetaper":
        x = edgetaper(x, k, workers=workers)
    shape, pad = fft_grid((h, w), k.shape, boundary)
    return x, k, dt, shape, pad


def prepare_output(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """Internal: check a caller's ``out`` array, or make one of ``shape`` and ``dtype``."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray) or out.shape != tuple(shape):
        got = out.shape if isinstance(out, np.ndarray) else type(out).__name__
        raise InvalidParameterError(f"out must be an array of the image's shape {tuple(shape)}, got {got}")
    if out.dtype.kind not in "fu" or not out.flags.writeable:
        raise InvalidParameterError(f"out must be a writeable float or unsigned integer array, got {out.dtype}")
    return out


def store(target: np.ndarray, values: np.ndarray) -> None:
    """Internal: ``target[...] = values``; integer targets get values rounded half to even and
    saturated to their range (OpenCV's saturate_cast, one pass)."""
    if target.dtype.kind == "f":
        target[...] = values
        return
    import cv2

    depth = {np.dtype(np.uint8): cv2.CV_8U, np.dtype(np.uint16): cv2.CV_16U}.get(target.dtype)
    if depth is None:
        raise InvalidParameterError(f"out must be float, uint8 or uint16, got {target.dtype}")
    target[...] = cv2.addWeighted(values, 1.0, values, 0.0, 0.0, dtype=depth)
