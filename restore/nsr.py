"""Automatic noise-to-signal ratio for Wiener deconvolution: scalar and spectral.

The Wiener filter ``conj(H) / (|H|² + NSR)`` is the minimum mean-square-error linear
estimate when ``NSR(f) = σ² / S_x(f)``: the noise power over the *sharp* image's power at
that frequency. Natural images have power spectra close to a power law,
``S_x(f) ≈ A |f|^-γ`` with ``γ`` near 2 (Field 1987; van der Schaaf & van Hateren 1996),
so the ideal NSR grows with frequency: a constant NSR is too strong at low frequencies
or too weak at high ones. Here the power law is fitted to the blurred photo's own
spectrum (corrected for the known blur and the noise), which gives both the spectral NSR
used by ``restore.wiener(nsr="auto")`` and the best constant NSR under that model
(:func:`estimate_nsr`).

Frequencies are in cycles per pixel; spectra use the normalisation of
:mod:`restore.spectrum` (white noise of variance ``σ²`` has power ``σ²`` per bin).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from deconvkit._validation import check_number
from deconvkit.errors import InvalidParameterError
from restore.psf import check_psf
from restore.spectrum import Spectrum, analyse

__all__ = ["NaturalSpectrum", "fit_natural_spectrum", "spectral_nsr", "estimate_nsr", "auto_nsr", "boundary_nsr"]

_GAMMA_RANGE = (0.5, 4.0)
_DEFAULT_GAMMA = 2.0


@dataclass(frozen=True)
class NaturalSpectrum:
    """Power-law model of a sharp image's spectrum, and the noise level.

    Attributes
    ----------
    amplitude : float
        ``A`` in ``S_x(f) = A |f|^-γ`` (power per frequency bin at 1 cycle/pixel).
    exponent : float
        ``γ``, in [0.5, 4]; natural images are near 2.
    noise_sigma : float
        Standard deviation of the additive white noise (of a JPEG: of its white part,
        :attr:`restore.spectrum.Spectrum.white_sigma`).
    boundary : float
        ``β``: power of the boundary error relative to the signal (see
        :func:`boundary_nsr`), added to the NSR at every frequency.
    fitted : bool
        False when too few frequencies were usable and ``γ = 2`` was assumed.
    """

    amplitude: float
    exponent: float
    noise_sigma: float
    boundary: float = 0.0
    fitted: bool = True

    def power(self, freq: np.ndarray) -> np.ndarray:
        """``S_x(|f|)`` at radial frequencies ``freq`` (cycles/pixel, > 0)."""
        return self.amplitude * np.asarray(freq, dtype=np.float64) ** (-self.exponent)

    def nsr(self, freq: np.ndarray) -> np.ndarray:
        """``σ² / S_x(|f|) + β``; ``β`` at ``f = 0``."""
        f = np.asarray(freq, dtype=np.float64)
        with np.errstate(divide="ignore"):
            out = self.noise_sigma**2 / self.amplitude * f**self.exponent
        return np.where(f > 0, out, 0.0) + self.boundary


#: Boundary error power per unit of border fraction (see :func:`boundary_nsr`). Measured on
#: the development images only (camera, grass, gravel, moon, brick; motion and disk PSFs;
#: 256 and 400 px crops, default symmetric boundary): 0.05--0.1 gave the best average.
BOUNDARY_ERROR = 0.08


def boundary_nsr(image_shape: Sequence[int], psf_shape: Sequence[int]) -> float:
    """``β = 0.08 (kw H + kh W) / (H W)``: the relative power of the boundary error.

    A photo's borders cut the scene: the pixels within half a PSF of a border were blurred
    with scene content outside the frame, which no padding knows (mirror padding assumes
    a mirrored scene). The mismatch acts as extra noise whose power follows the signal's
    and grows with the fraction of the image within reach of the borders,
    ``(kw H + kh W) / (H W)`` for an ``(H, W)`` image and a ``(kh, kw)`` PSF. Without it
    the spectral NSR is so small near the low-frequency zeros of a motion blur that the
    border mismatch rings through the image (measured: up to 11 dB lost on a 400 px
    crop); on a 12 MP photo ``β`` is a few 10⁻⁴ and barely matters. The constant was
    calibrated with the default symmetric boundary of :func:`restore.wiener`; for data
    that really is periodic (``boundary="wrap"`` on a circular blur) it is slightly more
    cautious than needed.
    """
    h, w = (int(v) for v in image_shape[:2])
    kh, kw = (int(v) for v in psf_shape)
    return BOUNDARY_ERROR * (kw * h + kh * w) / (h * w)


def _otf_power(psf: np.ndarray, size: int) -> np.ndarray:
    """``|H|²`` of a PSF on the centred ``(size, size)`` frequency grid of a spectrum.

    Evaluated as a direct DFT sum ``E_r · psf · E_cᵀ`` (origin ``(kh // 2, kw // 2)``), so
    the PSF may be larger than the grid.
    """
    kh, kw = psf.shape
    f = (np.arange(size) - size // 2) / size
    er = np.exp(-2j * np.pi * np.outer(f, np.arange(kh) - kh // 2))
    ec = np.exp(-2j * np.pi * np.outer(f, np.arange(kw) - kw // 2))
    h = er @ psf @ ec.T
    return h.real**2 + h.imag**2


def _fit_from_spectrum(spectrum: Spectrum, otf_power: np.ndarray, boundary: float) -> NaturalSpectrum:
    t = spectrum.size
    # JPEG: the white part of the noise, and only the band where it is white.
    sigma = spectrum.noise_sigma if spectrum.white_sigma is None else spectrum.white_sigma
    sigma2 = sigma**2
    i = np.arange(t) - t // 2
    rho = np.hypot(i[:, None], i[None, :]) / t
    # Per ring |f| = k / T, over the frequencies the blur keeps (|H|² > 0.05):
    # mean(P) - σ² = S_x · mean(|H|²), unbiased (no selection of bins by their value).
    keep = (rho >= 3 / t) & (rho <= min(0.45, spectrum.band)) & (otf_power > 0.05)
    rings = np.rint(rho[keep] * t).astype(int)
    count = np.bincount(rings)
    mean_p = np.bincount(rings, spectrum.power[keep]) / np.maximum(count, 1)
    mean_h = np.bincount(rings, otf_power[keep]) / np.maximum(count, 1)
    good = (count >= 8) & (mean_p - sigma2 > 0.5 * sigma2) & (mean_h > 0)
    k = np.flatnonzero(good)
    logf = np.log(k / t)
    logs = np.log(mean_p[k] - sigma2) - np.log(mean_h[k])
    weight = count[k].astype(np.float64)
    if len(logf) >= 4:
        x, yv, w = logf, logs, np.sqrt(weight)
        slope, intercept = np.polyfit(x, yv, 1, w=w)
        gamma = float(np.clip(-slope, *_GAMMA_RANGE))
        if gamma != -slope:  # refit the amplitude with the clipped exponent
            intercept = float(np.average(yv + gamma * x, weights=w))
        return NaturalSpectrum(float(math.exp(intercept)), gamma, sigma, boundary, True)
    # Too few frequencies show signal: assume γ = 2 with the amplitude of the total power.
    total = float(np.mean(np.maximum(spectrum.power - sigma2, 0.0)))
    norm = float(np.mean(np.where(rho > 0, rho, np.inf) ** -_DEFAULT_GAMMA))
    return NaturalSpectrum(max(total / norm, 1e-30), _DEFAULT_GAMMA, sigma, boundary, False)


def fit_natural_spectrum(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    noise_sigma: float | None = None,
    analysis_size: int = 1024,
) -> NaturalSpectrum:
    """Fit ``S_x(f) = A |f|^-γ`` to the sharp image behind a blurred one.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred photo (colour is averaged over its channels), any real dtype; the result is
        in the image's units. Not modified.
    psf : (kh, kw) array_like
        The blur's PSF (normalised here).
    noise_sigma : float, optional
        Noise standard deviation; estimated with :func:`restore.estimate_noise` if not
        given (on a JPEG whose noise is white only at low frequencies, the level of that
        white part, :func:`restore.spectrum.white_noise_sigma`). On such a JPEG only the
        band of white noise is fitted, whether the level is given or estimated.
    analysis_size : int, optional
        Side of the centred crop analysed (default 1024).

    Returns
    -------
    NaturalSpectrum

    Raises
    ------
    deconvkit.errors.InvalidParameterError
        For a bad image or PSF, or an image smaller than 32 x 32.

    Notes
    -----
    The model also carries the boundary term ``β`` of :func:`boundary_nsr` for this
    image and PSF size. With ``P`` the Welch spectrum of the blurred image and ``H`` the
    OTF, ``E[P] = |H|² S_x + σ²``. On each ring ``|f| = k / T``, over the frequencies where
    the blur keeps at least 5 % of the power (``|H|² > 0.05``, so near-zeros do not
    amplify errors), ``mean(P) - σ² = S_x mean(|H|²)``: an unbiased estimate of ``S_x`` at
    that radius (bins are not selected by their own value, which would bias it). Rings
    whose signal exceeds half the noise are fitted by a straight line
    ``log S_x = log A - γ log |f|`` (weights ``sqrt(count)``); ``γ`` is clipped to
    [0.5, 4]. With fewer than four usable rings ``γ = 2`` is assumed.

    References
    ----------
    .. [1] D. J. Field, "Relations between the statistics of natural images and the
       response properties of cortical cells", *Journal of the Optical Society of
       America A* 4(12):2379--2394, 1987, doi:10.1364/JOSAA.4.002379.
    .. [2] A. van der Schaaf and J. H. van Hateren, "Modelling the power spectra of
       natural images: statistics and information", *Vision Research* 36(17):2759--2770,
       1996, doi:10.1016/0042-6989(96)00002-8.
    """
    k = check_psf(psf).astype(np.float64)
    check_number("analysis_size", analysis_size, low=32, integer=True)
    spectrum = analyse(image, analysis_size=int(analysis_size))
    if spectrum is None:
        raise InvalidParameterError("image must be at least 32 x 32 pixels to estimate its spectrum")
    if noise_sigma is not None:
        check_number("noise_sigma", noise_sigma, low=0)
        # The given level replaces the measured one; a JPEG's band of white noise stays.
        spectrum = replace(spectrum, noise_sigma=float(noise_sigma), white_sigma=float(noise_sigma))
    shape = np.shape(image)
    return _fit_from_spectrum(spectrum, _otf_power(k, spectrum.size), boundary_nsr(shape, k.shape))


def spectral_nsr(shape: Sequence[int], model: NaturalSpectrum, *, dtype: type = np.float64) -> np.ndarray:
    """``NSR(f) = σ² / S_x(|f|)`` on the half-spectrum DFT grid of ``shape`` (``rfft2`` layout).

    Parameters
    ----------
    shape : (M, N) tuple of int
        DFT grid (e.g. the padded grid of :func:`restore.wiener`).
    model : NaturalSpectrum
        From :func:`fit_natural_spectrum`.
    dtype : numpy dtype, optional
        Output dtype.

    Returns
    -------
    nsr : (M, N // 2 + 1) ndarray
        ``σ² / S_x(|f|) + β``, non-negative (``β`` at the zero frequency).
    """
    m, n = (int(s) for s in shape)
    fr = np.fft.fftfreq(m)[:, None]
    fc = np.fft.rfftfreq(n)[None, :]
    return model.nsr(np.sqrt(fr * fr + fc * fc)).astype(dtype, copy=False)


def _best_constant_nsr(model: NaturalSpectrum, otf_power: np.ndarray, *, laplacian: bool = False) -> float:
    """The constant ``ν`` minimising the Wiener filter's expected squared error under the
    model, ``Σ_f (S (ν d)² + σ² |H|²) / (|H|² + ν d)²`` over the centred grid of
    ``otf_power``, with ``d = 1`` or ``d = |D|²`` (5-point Laplacian)."""
    t = otf_power.shape[0]
    i = np.arange(t) - t // 2
    rho = np.hypot(i[:, None], i[None, :]) / t
    keep = rho > 0
    s = model.power(rho[keep])
    h2 = otf_power[keep]
    if laplacian:
        a = 2 - 2 * np.cos(2 * np.pi * i / t)
        d = ((a[:, None] + a[None, :]) ** 2)[keep]
    else:
        d = 1.0
    noise = max(model.noise_sigma**2, 1e-300) + model.boundary * s  # noise plus boundary error

    def risk(nu: float) -> float:
        reg = nu * d
        return float(np.sum((s * reg * reg + noise * h2) / (h2 + reg) ** 2))

    grid = 10.0 ** np.arange(-8.0, 1.01, 0.25)
    best = grid[int(np.argmin([risk(v) for v in grid]))]
    fine = best * 10.0 ** np.linspace(-0.25, 0.25, 11)
    return float(fine[int(np.argmin([risk(v) for v in fine]))])


def estimate_nsr(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    noise_sigma: float | None = None,
    analysis_size: int = 1024,
) -> float:
    """The best constant noise-to-signal ratio for Wiener-deblurring ``image`` with ``psf``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred photo, any real dtype. Not modified.
    psf : (kh, kw) array_like
        The blur's PSF.
    noise_sigma : float, optional
        Noise standard deviation (estimated from the image if not given).
    analysis_size : int, optional
        Side of the centred crop analysed (default 1024).

    Returns
    -------
    nsr : float
        To pass as ``restore.wiener(image, psf, nsr=...)``.

    Notes
    -----
    The power law ``S_x = A |f|^-γ`` of :func:`fit_natural_spectrum`, the noise ``σ²`` and
    the boundary error ``β S_x`` (:func:`boundary_nsr`) give the expected squared error of
    the Wiener estimate with a constant ``ν`` at each frequency,
    ``(S_x ν² + (σ² + β S_x) |H|²) / (|H|² + ν)²``; ``ν`` minimises its sum over the
    frequency grid (a search on a grid of quarter decades, then eleven
    values over ±1/4 decade around the best, 1/20 decade apart). This is the constant that
    comes closest to the spectral ``σ² / S_x(f)`` where it matters. The textbook rule
    ``σ² / var(x)`` is far smaller for a motion blur, because the signal's variance sits
    at low frequencies the blur barely touches (``benchmarks/bench_estimate.py`` measures
    both against the best fixed value). Prefer ``nsr="auto"`` in
    :func:`restore.wiener`, which uses the spectral NSR itself.
    """
    model = fit_natural_spectrum(image, psf, noise_sigma=noise_sigma, analysis_size=analysis_size)
    t = min(512, max(64, int(max(np.asarray(psf).shape)) * 4))
    t += t % 2
    return _best_constant_nsr(model, _otf_power(check_psf(psf).astype(np.float64), t))


def auto_nsr(
    image: np.ndarray,
    psf: np.ndarray,
    shape: Sequence[int],
    *,
    reg: str = "identity",
    dtype: type = np.float64,
    model: NaturalSpectrum | None = None,
) -> float | np.ndarray:
    """The ``nsr="auto"`` of :func:`restore.wiener` on its DFT grid ``shape``.

    ``reg="identity"``: the spectral NSR (:func:`spectral_nsr`), ``(M, N // 2 + 1)``.
    ``reg="laplacian"``: the constant multiplying ``|D|²`` that minimises the expected
    squared error under the fitted model (a power law is not a multiple of ``|D|²``).
    ``model``: a :func:`fit_natural_spectrum` of this image and PSF already made (it is
    then not fitted again).
    """
    k = check_psf(psf).astype(np.float64)
    model = fit_natural_spectrum(image, k) if model is None else model
    if reg == "laplacian":
        t = min(512, max(64, int(max(k.shape)) * 4))
        t += t % 2
        return _best_constant_nsr(model, _otf_power(k, t), laplacian=True)
    return spectral_nsr(shape, model, dtype=dtype)
