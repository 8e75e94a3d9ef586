"""Wiener deconvolution in the DFT domain (and constrained least squares).

Model ``y = k ⊛ x + n``. The estimate is computed per channel as

    X̂ = conj(H) · Y / (|H|² + nsr · |D|²),   H = OTF of k,

with ``D = 1`` (classic Wiener, MATLAB ``deconvwnr``) or ``D`` = the 5-point discrete
Laplacian (constrained least squares / Tikhonov smoothing, MATLAB ``deconvreg``,
scikit-image's default ``reg``). In operator form this is ``(AᵀA + nsr DᵀD)⁻¹ Aᵀ y``: the
regularised inverse of the blur operator :class:`restore.BlurOperator`.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_image, check_choice, check_number
from deconvkit.errors import InvalidParameterError
from restore.boundary import BOUNDARIES, edgetaper, fft_grid
from restore.otf import laplacian_power, psf_to_otf
from restore.psf import check_psf

__all__ = ["wiener", "wiener_gain", "resolve_nsr", "REGULARIZERS", "DEFAULT_NSR"]

REGULARIZERS = ("identity", "laplacian")
DEFAULT_NSR = 1e-2


def resolve_nsr(nsr: float | None, snr_db: float | None) -> float:
    """Turn the ``nsr`` / ``snr_db`` pair into one noise-to-signal power ratio.

    ``nsr`` is MATLAB's (noise variance / signal variance, >= 0); ``snr_db`` is OpenCV's
    sample's, ``nsr = 10 ** (-snr_db / 10)``. Giving both is an error; giving neither
    returns :data:`DEFAULT_NSR`.
    """
    if nsr is not None and snr_db is not None:
        raise InvalidParameterError(f"give nsr or snr_db, not both (got nsr={nsr!r}, snr_db={snr_db!r})")
    if snr_db is not None:
        check_number("snr_db", snr_db)
        return float(10.0 ** (-float(snr_db) / 10.0))
    if nsr is None:
        return DEFAULT_NSR
    return float(check_number("nsr", nsr, low=0))


def wiener_gain(
    psf: np.ndarray,
    shape: tuple[int, int],
    nsr: float,
    *,
    reg: str = "identity",
    dtype: type = np.float64,
    workers: int | None = None,
) -> np.ndarray:
    """Half-spectrum Wiener filter ``G = conj(H) / (|H|² + nsr |D|²)`` on a DFT grid.

    Parameters
    ----------
    psf : (kh, kw) array_like
        Normalised PSF, origin at ``(kh // 2, kw // 2)``.
    shape : (M, N) tuple of int
        DFT grid.
    nsr : float
        Noise-to-signal power ratio, >= 0.
    reg : {"identity", "laplacian"}, optional
        ``D = 1`` or the discrete Laplacian.
    dtype : numpy dtype, optional
        float32 gives a complex64 filter, float64 complex128.
    workers : int, optional
        Threads for ``scipy.fft`` if the OTF needs an FFT.

    Returns
    -------
    gain : (M, N // 2 + 1) complex ndarray
        Multiply an ``rfft2`` spectrum by it. Where the denominator is zero to working
        precision (below ``(16 ε)²``; only possible with ``nsr`` about 0) the gain is 0, the
        pseudo-inverse, instead of a huge or infinite value.
    """
    check_choice("reg", reg, REGULARIZERS)
    check_number("nsr", nsr, low=0)
    dt = np.dtype(dtype)
    gain = psf_to_otf(np.asarray(psf, dtype=dt), shape, real=True, workers=workers)
    denom = gain.real**2
    denom += gain.imag**2
    if reg == "laplacian":
        denom += dt.type(nsr) * laplacian_power(shape, real=True, dtype=dt)
    else:
        denom += dt.type(nsr)
    # |H| <= 1 for a normalised PSF and is only known to about 16 ε: below that it is 0.
    cutoff = dt.type((16 * np.finfo(dt).eps) ** 2)
    np.conjugate(gain, out=gain)
    if reg == "identity" and nsr > cutoff:  # denom >= nsr everywhere: no mask pass needed
        gain /= denom
        return gain
    np.divide(gain, denom, out=gain, where=denom > cutoff)
    gain[denom <= cutoff] = 0
    return gain


def wiener(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    nsr: float | None = None,
    snr_db: float | None = None,
    reg: str = "identity",
    boundary: str = "symmetric",
    workers: int | None = None,
) -> np.ndarray:
    """Deblur an image with a known PSF by Wiener deconvolution in the DFT domain.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred image, grayscale or channels-last colour. float32 stays float32; every other
        dtype is computed in float64. Values are not rescaled.
    psf : (kh, kw) array_like
        The blur's PSF, a true-convolution kernel with origin ``(kh // 2, kw // 2)``;
        normalised to sum 1 here. Must not be larger than the image.
    nsr : float, optional
        Noise-to-signal power ratio (noise variance / signal variance), >= 0; ``0`` is the
        plain inverse filter. Default :data:`DEFAULT_NSR` (0.01) if neither ``nsr`` nor
        ``snr_db`` is given.
    snr_db : float, optional
        Alternative to ``nsr``: ``nsr = 10 ** (-snr_db / 10)``.
    reg : {"identity", "laplacian"}, optional
        Regulariser ``D``: ``"identity"`` (classic Wiener, default) or ``"laplacian"``
        (constrained least squares).
    boundary : {"symmetric", "wrap", "edgetaper"}, optional
        How the non-periodic borders are handled (:mod:`restore.boundary`). Default
        ``"symmetric"``: mirror-pad by twice the PSF size, then crop.
    workers : int, optional
        Threads for ``scipy.fft`` (default: scipy's default, one).

    Returns
    -------
    restored : ndarray
        Same shape as ``image``, float32 or float64, not clipped (ringing and noise may
        leave [0, 1]) and not shifted.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For a bad image or PSF, negative ``nsr``, both ``nsr`` and ``snr_db``, an unknown
        ``reg`` or ``boundary``, or a PSF larger than the image.

    Notes
    -----
    With ``Y`` the ``rfft2`` of the (padded) channel and ``H`` the OTF,

    .. math:: \\hat X = \\frac{\\overline{H}\\, Y}{|H|^2 + \\mathrm{nsr}\\,|D|^2}

    which minimises ``‖k ⊛ x - y‖² + nsr ‖d ⊛ x‖²`` for a periodic image. The filter is
    built once per call (not per channel), in complex64 for float32 input.

    Mapping to other tools:

    - MATLAB ``deconvwnr(I, PSF, NSR)`` = ``wiener(I, PSF, nsr=NSR, boundary="wrap")``
      (MATLAB's padding is none; pre-process with ``edgetaper`` as here with
      ``boundary="edgetaper"``).
    - scikit-image ``wiener(image, psf, balance, reg=np.ones((1, 1)), clip=False)`` =
      ``wiener(image, psf, nsr=balance, boundary="wrap")``; with its default ``reg`` (the
      Laplacian) use ``reg="laplacian"``. scikit-image clips to [-1, 1] by default, which
      breaks 0--255 data; we never clip.
    - OpenCV's ``deconvolution.py`` sample's ``--snr`` is ``snr_db`` here; the sample also
      divides by ``H`` instead of multiplying by ``conj(H)``, which is only right for
      point-symmetric PSFs.

    References
    ----------
    .. [1] N. Wiener, *Extrapolation, Interpolation, and Smoothing of Stationary Time
       Series*, MIT Press, 1949.
    .. [2] R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th ed., Pearson,
       2018, sections 5.8--5.9.

    Examples
    --------
    >>> import numpy as np
    >>> from restore import blur, motion_psf, wiener
    >>> x = np.random.default_rng(0).random((64, 80))
    >>> k = motion_psf(7, 30)
    >>> y = blur(x, k)
    >>> bool(np.abs(wiener(y, k, nsr=1e-6, boundary="wrap") - x).max() < 1e-2)
    True
    """
    x = as_float_image(image)
    k = check_psf(psf).astype(x.dtype, copy=False)
    nsr_value = resolve_nsr(nsr, snr_db)
    check_choice("reg", reg, REGULARIZERS)
    check_choice("boundary", boundary, BOUNDARIES)
    h, w = x.shape[:2]
    if h < k.shape[0] or w < k.shape[1]:
        raise InvalidParameterError(
            f"image of shape {(h, w)} is smaller than the PSF {k.shape}; use a smaller PSF or a larger image"
        )
    if boundary == "edgetaper":
        x = edgetaper(x, k, workers=workers)
    shape, pad = fft_grid((h, w), k.shape, boundary)
    gain = wiener_gain(k, shape, nsr_value, reg=reg, dtype=x.dtype, workers=workers)
    (top, _), (left, _) = pad
    out = np.empty(x.shape, dtype=x.dtype)
    for c in range(1 if x.ndim == 2 else x.shape[2]):
        channel = x if x.ndim == 2 else x[..., c]
        if boundary == "symmetric":
            channel = np.pad(channel, pad, mode="symmetric")
        spectrum = sfft.rfft2(channel, workers=workers)
        spectrum *= gain
        restored = sfft.irfft2(spectrum, s=shape, workers=workers, overwrite_x=True)
        target = out if x.ndim == 2 else out[..., c]
        target[...] = restored[top : top + h, left : left + w]
    return out
