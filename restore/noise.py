"""Noise: simulating observations ``y = k ⊛ x + n`` and estimating the noise level of ``n``.

:func:`add_noise` draws white Gaussian noise; :func:`estimate_noise` measures its standard
deviation from one image, by the median absolute deviation of the finest diagonal wavelet
coefficients (Donoho & Johnstone), as :func:`skimage.restoration.estimate_sigma`, or by
Immerkær's Laplacian-difference filter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import correlate

from deconvkit._validation import as_float_image, as_generator, check_choice, check_number
from deconvkit.errors import InvalidParameterError

__all__ = ["add_noise", "estimate_noise", "NOISE_METHODS"]

NOISE_METHODS = ("wavelet", "immerkaer")

# Daubechies-2 decomposition high-pass filter, as PyWavelets' ``Wavelet("db2").dec_hi``
# (orthonormal: white noise of std σ gives coefficients of std σ).
_DB2_HI = np.array([-0.48296291314453416, 0.8365163037378079, -0.2241438680420134, -0.12940952255126037])
_MAD_TO_SIGMA = 0.6744897501960817  # Φ⁻¹(3/4): median |N(0, σ²)| = 0.6745 σ
_IMMERKAER = np.array([[1.0, -2.0, 1.0], [-2.0, 4.0, -2.0], [1.0, -2.0, 1.0]])


def add_noise(
    image: np.ndarray, sigma: float, *, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Clean image (values are not rescaled).
    sigma : float
        Noise standard deviation in the image's units (e.g. 0.01 for [0, 1] images), >= 0.
    rng : int or numpy.random.Generator, optional
        Seed or generator; pass one to make the noise reproducible.

    Returns
    -------
    noisy : ndarray
        ``image + sigma * N(0, 1)``, a new array of the policy dtype (float32 stays
        float32), not clipped.
    """
    x = as_float_image(image)
    check_number("sigma", sigma, low=0)
    gen = as_generator(rng)
    noise = gen.standard_normal(x.shape, dtype=x.dtype)
    noise *= x.dtype.type(sigma)
    return x + noise


def _db2_detail(x: np.ndarray, axis: int) -> np.ndarray:
    """One level of the db2 high-pass DWT along ``axis`` (PyWavelets' ``symmetric`` mode).

    With ``x`` extended by 3 samples of half-sample symmetry on each side (``xe``), output
    ``i`` of ``n = (N + 3) // 2`` is ``Σ_j hi[j] xe[4 + 2 i - j]``: the full convolution
    with the filter, kept at every second sample from index 4, as ``pywt.dwt``.
    """
    x = np.moveaxis(x, axis, 0)
    n_in = x.shape[0]
    n_out = (n_in + 3) // 2
    xe = np.pad(x, [(3, 3)] + [(0, 0)] * (x.ndim - 1), mode="symmetric")
    out = np.zeros((n_out,) + x.shape[1:], dtype=np.float64)
    for j, h in enumerate(_DB2_HI):
        out += h * xe[4 - j : 4 - j + 2 * n_out : 2]
    return np.moveaxis(out, 0, axis)


def _sigma_wavelet(channel: np.ndarray) -> float:
    detail = _db2_detail(_db2_detail(channel, 0), 1)
    detail = detail[detail != 0]  # exactly-zero coefficients (flat or clipped areas) are masked out
    if detail.size == 0:
        return 0.0
    return float(np.median(np.abs(detail)) / _MAD_TO_SIGMA)


#: Block side (wavelet coefficients) and percentile of :func:`flat_block_sigma`, and the
#: ratio of that percentile to the true sigma for white Gaussian noise (measured: 0.940
#: over 8 x 4096 blocks; the blocks' MAD estimates have a relative spread of about 8 %).
_BLOCK, _PERCENTILE, _PERCENTILE_BIAS = 16, 20.0, 0.940


def flat_block_sigma(gray: np.ndarray) -> float:
    """Noise sigma of the flattest parts of an image: the 20th percentile, over blocks of
    16 x 16 finest-scale wavelet coefficients, of each block's MAD estimate, scaled so that
    white Gaussian noise reads its sigma. Dense texture or edges raise the global median
    of :func:`estimate_noise` but not the flat blocks' (sky, paper, blurred areas).
    Blocks with no noise at all (clipped highlights, constant areas) are left out; an
    image with fewer than four blocks left gets the global estimate."""
    detail = _db2_detail(_db2_detail(np.asarray(gray, dtype=np.float64), 0), 1)
    bh, bw = detail.shape[0] // _BLOCK, detail.shape[1] // _BLOCK
    if bh * bw < 4:
        return _sigma_wavelet(gray)
    blocks = np.abs(detail[: bh * _BLOCK, : bw * _BLOCK]).reshape(bh, _BLOCK, bw, _BLOCK).swapaxes(1, 2)
    sigmas = np.median(blocks.reshape(bh * bw, -1), axis=1) / _MAD_TO_SIGMA
    sigmas = sigmas[sigmas > 1e-9 * max(float(np.abs(gray).max()), 1e-300)]  # flat or clipped blocks hold no noise
    if sigmas.size < 4:
        return _sigma_wavelet(gray)
    return float(np.percentile(sigmas, _PERCENTILE) / _PERCENTILE_BIAS)


def _sigma_immerkaer(channel: np.ndarray) -> float:
    h, w = channel.shape
    response = correlate(channel, _IMMERKAER, mode="nearest")[1:-1, 1:-1]
    return float(math.sqrt(math.pi / 2) * np.abs(response).sum() / (6.0 * (h - 2) * (w - 2)))


def estimate_noise(image: np.ndarray, *, method: str = "wavelet") -> float:
    """Estimate the standard deviation of additive white Gaussian noise in an image.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Noisy image, at least 3 x 3 pixels; any real dtype (values are not rescaled: the
        result is in the image's units). Not modified.
    method : {"wavelet", "immerkaer"}, optional
        ``"wavelet"`` (default): robust median estimator on the finest diagonal wavelet
        sub-band, identical to :func:`skimage.restoration.estimate_sigma` (which needs
        PyWavelets; this does not). ``"immerkaer"``: Immerkær's fast estimator, a mean
        absolute Laplacian difference; cheaper, but image texture inflates it more.

    Returns
    -------
    sigma : float
        The noise standard deviation, >= 0. For a colour image, the mean of the per-channel
        estimates (scikit-image's ``average_sigmas=True``).

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For a non-image, non-finite values, an unknown ``method``, or an image smaller than
        3 x 3.

    Notes
    -----
    Model ``y = x + n`` with ``n ~ N(0, σ²)`` white. The finest diagonal sub-band ``d`` of
    an orthonormal wavelet transform (Daubechies-2, one level, half-sample symmetric
    extension) holds mostly noise for a natural image, and ``d ~ N(0, σ²)`` there; the
    median absolute value is robust to the few large coefficients at edges:

    .. math:: \\hat\\sigma = \\operatorname{median}(|d|) / \\Phi^{-1}(3/4),
              \\qquad \\Phi^{-1}(3/4) \\approx 0.6745.

    Coefficients that are exactly zero (flat or saturated areas) are left out, as in
    scikit-image. Immerkær's estimator convolves with the difference of two Laplacians
    ``M = [[1, -2, 1], [-2, 4, -2], [1, -2, 1]]`` (which removes linear and most smooth
    structure) and uses ``E|M ⊛ n| = 6 σ sqrt(2/π)`` for white Gaussian noise
    (``Σ M² = 36``):

    .. math:: \\hat\\sigma = \\sqrt{\\pi/2}\\, \\frac{1}{6 (W-2)(H-2)} \\sum |M ⊛ y|.

    Both over-estimate ``σ`` on strongly textured, sharp images, whose finest scale is not
    noise; on blurred images (the case of deblurring) the finest scale is almost all noise.

    References
    ----------
    .. [1] D. L. Donoho and I. M. Johnstone, "Ideal spatial adaptation by wavelet
       shrinkage", *Biometrika* 81(3):425--455, 1994, doi:10.1093/biomet/81.3.425.
    .. [2] J. Immerkær, "Fast noise variance estimation", *Computer Vision and Image
       Understanding* 64(2):300--302, 1996, doi:10.1006/cviu.1996.0060.

    Examples
    --------
    >>> import numpy as np
    >>> noisy = add_noise(np.full((256, 256), 0.5), 0.05, rng=0)
    >>> round(estimate_noise(noisy), 2)
    0.05
    """
    check_choice("method", method, NOISE_METHODS)
    x = as_float_image(image)
    h, w = x.shape[:2]
    if h < 3 or w < 3:
        raise InvalidParameterError(f"image must be at least 3 x 3 pixels to estimate its noise, got shape {x.shape}")
    one = _sigma_wavelet if method == "wavelet" else _sigma_immerkaer
    channels = [x] if x.ndim == 2 else [x[..., c] for c in range(x.shape[2])]
    return float(np.mean([one(np.asarray(c, dtype=np.float64)) for c in channels]))
