"""Wiener deconvolution in the DFT domain (and constrained least squares).

Model ``y = k ⊛ x + n``. The estimate is computed per channel as

    X̂ = conj(H) · Y / (|H|² + nsr · |D|²),   H = OTF of k,

with ``D = 1`` (classic Wiener, MATLAB ``deconvwnr``) or ``D`` = the 5-point discrete
Laplacian (constrained least squares / Tikhonov smoothing, MATLAB ``deconvreg``,
scikit-image's default ``reg``). In operator form this is ``(AᵀA + nsr DᵀD)⁻¹ Aᵀ y``: the
regularised inverse of the blur operator :class:`restore.BlurOperator`. ``nsr="auto"``
estimates a frequency-dependent ``nsr(f)`` from the image itself (:mod:`restore.nsr`).
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import check_choice, check_number
from deconvkit.errors import InvalidParameterError
from restore.boundary import prepare_deconvolution, prepare_output, store
from restore.otf import complex_dtype, is_point_symmetric, otf_row_blocks

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


def _gain(
    psf: np.ndarray,
    shape: tuple[int, int],
    nsr: float | np.ndarray,
    reg: str,
    dt: np.dtype,
    workers: int | None,
) -> np.ndarray:
    """The Wiener gain on the half spectrum: real for point-symmetric PSFs, else complex.

    Built block by block from :func:`restore.otf.otf_row_blocks`, so every intermediate
    (``|H|²``, the denominator, the Laplacian term) stays in cache: the filter costs about
    one pass over a spectrum-sized array instead of several. ``nsr`` is a scalar, or an
    array on the half-spectrum grid ``(M, N // 2 + 1)`` (a spectral NSR, identity ``reg``).
    """
    spectral = isinstance(nsr, np.ndarray)
    k = np.asarray(psf, dtype=dt)
    symmetric = is_point_symmetric(k)
    m, n = shape
    n_cols = n // 2 + 1
    gain = np.empty((m, n_cols), dtype=dt if symmetric else complex_dtype(dt))
    # |H| <= 1 for a normalised PSF and is only known to about 16 ε: below that it is 0.
    cutoff = dt.type((16 * np.finfo(dt).eps) ** 2)
    may_vanish = reg == "laplacian" or (float(nsr.min()) if spectral else nsr) <= cutoff
    lap_rows = (2 - 2 * np.cos(2 * np.pi * np.arange(m) / m)).astype(dt)  # |D|² = (a_u + b_v)²
    lap_cols = (2 - 2 * np.cos(2 * np.pi * np.arange(n_cols) / n)).astype(dt)

    def one_block(otf: np.ndarray, rows: slice) -> None:
        denom = np.square(otf) if symmetric else np.square(otf.real) + np.square(otf.imag)
        if reg == "laplacian":
            lap = lap_rows[rows, None] + lap_cols[None, :]
            np.square(lap, out=lap)
            lap *= dt.type(nsr)
            denom += lap
        elif spectral:
            denom += nsr[rows]
        else:
            denom += dt.type(nsr)
        small = denom <= cutoff if may_vanish else None
        if small is not None:
            denom[small] = 1
        target = gain[rows]
        if symmetric:
            np.divide(otf, denom, out=target)
        else:  # conj(H) / denom on the real and imaginary planes (no complex division)
            np.divide(otf.real, denom, out=target.real)
            np.divide(otf.imag, denom, out=target.imag)
            np.negative(target.imag, out=target.imag)
        if small is not None:
            target[small] = 0

    for start, otf in otf_row_blocks(k, shape, real=symmetric, workers=workers):
        one_block(otf, slice(start, start + otf.shape[0]))
    return gain


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
        pseudo-inverse, instead of a huge or infinite value. For point-symmetric PSFs the
        gain is real (stored with a zero imaginary part here).
    """
    check_choice("reg", reg, REGULARIZERS)
    check_number("nsr", nsr, low=0)
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dt}")
    return _gain(np.asarray(psf, dtype=dt), tuple(shape), float(nsr), reg, dt, workers).astype(complex_dtype(dt))


def _fill_symmetric(buffer: np.ndarray, image: np.ndarray, pad: tuple[tuple[int, int], tuple[int, int]]) -> None:
    """``buffer[...] = numpy.pad(image, pad, mode="symmetric")`` without a new array."""
    (top, bottom), (left, right) = pad
    h, w = image.shape
    if max(top, bottom) > h or max(left, right) > w:  # repeated reflections: rare, tiny images
        buffer[...] = np.pad(image, pad, mode="symmetric")
        return
    rows = buffer[top : top + h]
    rows[:, left : left + w] = image
    rows[:, :left] = image[:, :left][:, ::-1]
    rows[:, left + w :] = image[:, w - right :][:, ::-1]
    buffer[:top] = buffer[top : 2 * top][::-1]
    buffer[top + h :] = buffer[top + h - bottom : top + h][::-1]


def wiener(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    nsr: float | str | None = None,
    snr_db: float | None = None,
    reg: str = "identity",
    boundary: str = "symmetric",
    workers: int | None = None,
    dtype: type | None = None,
    out: np.ndarray | None = None,
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
    nsr : float, "auto" or NaturalSpectrum, optional
        Noise-to-signal power ratio (noise variance / signal variance), >= 0; ``0`` is the
        plain inverse filter. Default :data:`DEFAULT_NSR` (0.01) if neither ``nsr`` nor
        ``snr_db`` is given. ``"auto"`` estimates it from the image and the PSF
        (:mod:`restore.nsr`): with ``reg="identity"`` the spectral ``σ² / S_x(f)`` of a
        power-law model of the sharp image's spectrum, fitted to this image; with
        ``reg="laplacian"`` the constant that minimises the expected squared error under
        that model. A :class:`restore.NaturalSpectrum` already fitted to this image and
        PSF (:func:`restore.fit_natural_spectrum`) works as ``"auto"`` without a second fit.
    snr_db : float, optional
        Alternative to ``nsr``: ``nsr = 10 ** (-snr_db / 10)``.
    reg : {"identity", "laplacian"}, optional
        Regulariser ``D``: ``"identity"`` (classic Wiener, default) or ``"laplacian"``
        (constrained least squares).
    boundary : {"symmetric", "wrap", "edgetaper"}, optional
        How the non-periodic borders are handled (:mod:`restore.boundary`). Default
        ``"symmetric"``: mirror-pad by twice the PSF size, then crop.
    workers : int, optional
        Threads for ``scipy.fft``; default all cores (``-1``).
    dtype : {numpy.float32, numpy.float64}, optional
        Working precision. Default: float32 for float16/float32 images, float64 otherwise.
        An integer image (e.g. uint8 samples, on their own 0..255 scale) is converted one
        channel at a time, so ``dtype=numpy.float32`` deblurs it without a float copy.
    out : ndarray, optional
        Array of the image's shape to write the result into (and return). Integer arrays
        (uint8, uint16) receive it rounded half to even and saturated to their range.

    Returns
    -------
    restored : ndarray
        Same shape as ``image``, in the working dtype (or ``out``), in the image's units,
        not clipped (ringing and noise may leave [0, 1]) and not shifted.

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For a bad image or PSF, negative ``nsr``, both ``nsr`` and ``snr_db``, an unknown
        ``reg`` or ``boundary``, a PSF larger than the image, or ``nsr="auto"`` on an
        image smaller than 32 x 32.

    Notes
    -----
    With ``Y`` the ``rfft2`` of the (padded) channel and ``H`` the OTF,

    .. math:: \\hat X = \\frac{\\overline{H}\\, Y}{|H|^2 + \\mathrm{nsr}\\,|D|^2}

    which minimises ``‖k ⊛ x - y‖² + nsr ‖d ⊛ x‖²`` for a periodic image. The filter is
    built once per call (not per channel), in float32/complex64 for float32 input; for
    point-symmetric PSFs (all motion, disk and Gaussian PSFs) ``H`` is real and so is the
    filter, which halves its cost.

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
    from restore.nsr import NaturalSpectrum

    fitted = nsr if isinstance(nsr, NaturalSpectrum) else None
    auto = isinstance(nsr, str) or fitted is not None
    if isinstance(nsr, str) and nsr != "auto":
        raise InvalidParameterError(f"nsr must be a number >= 0, 'auto' or a NaturalSpectrum, got {nsr!r}")
    if auto and snr_db is not None:
        raise InvalidParameterError(f"give nsr or snr_db, not both (got nsr={nsr!r}, snr_db={snr_db!r})")
    nsr_value = None if auto else resolve_nsr(nsr, snr_db)
    check_choice("reg", reg, REGULARIZERS)
    workers = -1 if workers is None else workers
    x, k, dt, shape, pad = prepare_deconvolution(image, psf, boundary, workers=workers, dtype=dtype)
    h, w = x.shape[:2]
    if out is not None:
        out = prepare_output(out, x.shape, dt)
    if auto:
        from restore.nsr import auto_nsr

        nsr_value = auto_nsr(image, k, shape, reg=reg, dtype=dt, model=fitted)
    gain = _gain(k, shape, nsr_value, reg, dt, workers)
    (top, _), (left, _) = pad
    padded = np.empty(shape, dtype=dt) if boundary == "symmetric" else None
    for c in range(1 if x.ndim == 2 else x.shape[2]):
        channel = x if x.ndim == 2 else x[..., c]
        if padded is not None:
            _fill_symmetric(padded, channel, pad)  # converts integer samples on the way
            channel = padded
        else:
            channel = channel.astype(dt, copy=False)
        spectrum = sfft.rfft2(channel, workers=workers)
        if out is None:
            # A grayscale result can live in the padding buffer, free once transformed:
            # memory that is already mapped, instead of fresh pages.
            reuse = padded is not None and x.ndim == 2
            out = padded.reshape(-1)[: h * w].reshape(h, w) if reuse else np.empty(x.shape, dtype=dt)
        np.multiply(spectrum, gain, out=spectrum)  # a real gain is cast per buffer, not copied
        restored = sfft.irfft2(spectrum, s=shape, workers=workers, overwrite_x=True)
        del spectrum
        store(out if x.ndim == 2 else out[..., c], restored[top : top + h, left : left + w])
    return out
