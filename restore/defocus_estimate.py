"""Estimate a defocus (uniform disk) blur radius from the blurred photo alone."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import j1

from deconvkit._validation import check_number
from restore.psf import defocus_psf
from restore.spectrum import Spectrum, analyse, evidence_confidence, fit_log_profiles, ring_profile, smear, smooth_rows

__all__ = ["DefocusEstimate", "estimate_defocus", "disk_power"]

_OVERSAMPLE = 2
MIN_RADIUS = 1.5  # smallest radius searched (px): its first zero is at 0.41 cycles/px
_COARSE_STEP = 1.03
_SECOND_ZERO = 7.015586669815619 / (2 * math.pi)  # j_{1,2} / 2π: the disk's second ring of zeros at this / R


@dataclass(frozen=True)
class DefocusEstimate:
    """A defocus blur estimated from an image.

    Attributes
    ----------
    radius : float
        Disk radius in pixels (as :func:`restore.defocus_psf`, not the diameter); 0.5 (the
        identity kernel) when nothing could be measured (tiny or flat images).
    confidence : float
        In ``[0, 1]``: how clearly the spectrum shows the rings of zeros of a disk blur.
    evidence : float
        The statistic behind ``confidence`` (drop in the weighted residual when the zeros
        are modelled, in units of the residual variance).
    noise_sigma : float
        Noise standard deviation estimated on the analysed crop.
    """

    radius: float
    confidence: float
    evidence: float
    noise_sigma: float
    kind: str = "defocus"

    def psf(self, *, dtype: type = np.float64) -> np.ndarray:
        """The estimated PSF, :func:`restore.defocus_psf` ``(radius)``."""
        return defocus_psf(self.radius, dtype=dtype)


def disk_power(radii: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """``|H(ρ)|² = (2 J1(2π R ρ) / (2π R ρ))²`` of uniform disks, ``(len(radii), len(freqs))``.

    The OTF of a disk of radius ``R`` (continuous); its first zero is at
    ``ρ = j_{1,1} / (2π R) ≈ 0.6098 / R`` cycles/pixel (``j_{1,1} = 3.8317``, the first zero
    of ``J1``), and later zeros are about ``1 / (2R)`` apart. :func:`restore.defocus_psf`
    (exact pixel-area disk) has its zeros at the same frequencies to within a bin.
    """
    radii = np.atleast_1d(np.asarray(radii, dtype=np.float64))
    z = 2 * np.pi * np.outer(radii, freqs)
    safe = np.where(z == 0, 1.0, z)
    h = np.where(z == 0, 1.0, 2 * j1(safe) / safe)
    return h * h


class _DefocusFit:
    """Fits of the ring profile of one spectrum to disk-blur and zero-free models."""

    def __init__(self, spectrum: Spectrum) -> None:
        t = spectrum.size
        self.size = t
        self.log_floor = math.log(spectrum.floor)
        profile, counts = ring_profile(spectrum.log_power())
        above = np.flatnonzero(profile > self.log_floor + 0.5)
        last = int(above[-1]) if above.size else t // 2 - 1
        self.bins = np.arange(2, int(np.clip(min(last * 1.15 + 8, spectrum.band * t), 24, t // 2)))
        self.y = profile[self.bins]
        self.weights = counts[self.bins]
        logf = np.log(self.bins / t)
        self.u = (logf - logf.mean()) / max(float(np.ptp(logf)) / 2, 1e-9)
        self.v = -((self.bins / self.bins[-1]) ** 2)  # regressor of a Gaussian low-pass (zero-free null)
        self._smooth: tuple[float, float] | None = None
        self._start = 8
        self.fine = np.arange(self.bins[0] * _OVERSAMPLE - self._start, (self.bins[-1] + 1) * _OVERSAMPLE + 8) / (
            t * _OVERSAMPLE
        )

    def gains(self, radii: np.ndarray, *, smooth: bool = False, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Drop of the residual from the best zero-free model (the disk model's envelope,
        or no blur) to the disk model, and the disk model's residuals, per radius."""
        radii = np.atleast_1d(np.asarray(radii, dtype=np.float64))
        n = len(self.bins)
        first = self._start // _OVERSAMPLE
        disk = smear(disk_power(radii, self.fine), _OVERSAMPLE)[:, first : first + n]
        env = smooth_rows(disk, 0.25 * self.size / radii)  # over half a zero spacing 1/(2R)
        rss = fit_log_profiles(
            self.y,
            np.concatenate([disk, env]),
            self.weights,
            self.u,
            self.log_floor,
            envelopes=np.concatenate([env, env]),
            iterations=iterations,
        )
        k = len(radii)
        if self._smooth is None:
            # No blur, and no blur or any Gaussian low-pass (a blur without rings of zeros).
            flat = np.ones((1, n))
            self._smooth = (
                float(fit_log_profiles(self.y, flat, self.weights, self.u, self.log_floor, iterations=iterations)[0]),
                float(fit_log_profiles(self.y, flat, self.weights, self.u, self.log_floor, lowpass=self.v,
                                       iterations=12)[0]),
            )
        # The null is the better of the envelope and the smooth fit. A Gaussian low-pass
        # competes only with disks whose second ring (at j_{1,2} / (2π R) = 1.117 / R)
        # is in the fitted band: with one ring, the main lobe's fall to it is half of
        # what tells a small disk.
        # Only for the evidence (smooth=True): a null that changed with the radius would
        # bias the search towards radii with one ring in the band.
        two_rings = _SECOND_ZERO / radii <= self.bins[-1] / self.size
        null = np.where(two_rings & smooth, min(self._smooth), self._smooth[0])
        return np.minimum(rss[k:], null) - rss[:k], rss[:k]


def defocus_from_spectrum(spectrum: Spectrum, *, max_radius: float | None = None) -> DefocusEstimate:
    """:func:`estimate_defocus` on a precomputed :class:`restore.spectrum.Spectrum`."""
    t = spectrum.size
    sigma = spectrum.noise_sigma
    limit = 0.06 * t if max_radius is None else min(float(max_radius), 0.1 * t)
    # Fitted only up to the band of white noise (JPEG: below 0.5 cycles/pixel), the
    # smallest radius grows in proportion, so that its first zero stays in the band.
    smallest = MIN_RADIUS * 0.5 / spectrum.band
    if t < 32 or limit < smallest + 0.5 or not np.ptp(spectrum.power) > 0:
        return DefocusEstimate(0.5, 0.0, 0.0, sigma)
    fit = _DefocusFit(spectrum)
    # Coarse: radii 3 % apart (the zeros move by 3 %: about one bin at the 30th bin).
    radii = smallest * _COARSE_STEP ** np.arange(int(np.log(limit / smallest) / np.log(_COARSE_STEP)) + 1)
    g, _ = fit.gains(radii, iterations=6)
    i = int(np.argmax(g))
    # Fine: eleven radii over +-one coarse step, then the vertex of the parabola through
    # the best three.
    fine = np.clip(radii[i] * _COARSE_STEP ** np.linspace(-1, 1, 11), smallest, limit)
    g2, rss2 = fit.gains(fine)
    j = int(np.clip(np.argmax(g2), 1, len(fine) - 2))
    y0, y1, y2 = g2[j - 1 : j + 2]
    denom = y0 - 2 * y1 + y2
    step = 0.5 * (fine[j + 1] - fine[j - 1])
    radius = float(fine[j] + (np.clip(0.5 * (y0 - y2) / denom, -1, 1) * step if denom < 0 else 0.0))
    g3, _ = fit.gains(fine[j : j + 1], smooth=True)
    gain = float(g2.max()) - max(0.0, float(g2[j] - g3[0]))
    evidence = max(0.0, gain / (float(rss2[j]) / (len(fit.bins) - 4)))
    return DefocusEstimate(radius, evidence_confidence(evidence), evidence, sigma)


def estimate_defocus(
    image: np.ndarray,
    *,
    max_radius: float | None = None,
    analysis_size: int = 1024,
) -> DefocusEstimate:
    """Estimate the radius of a defocus (uniform disk) blur from the blurred image.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred photo, any real dtype (colour is averaged over its channels). Not modified.
    max_radius : float, optional
        Largest radius searched, in pixels (>= 2); default ``0.06 T`` with ``T`` (at most
        512) the analysis tile (30 px for photos of 512 px and more). The smallest is
        :data:`MIN_RADIUS` (1.5 px), or up to 3 px on a JPEG whose noise is white only
        below ``band`` cycles/pixel (``1.5 · 0.5 / band``, ``band`` from 0.25 to 0.5:
        see :func:`restore.spectrum.white_band`).
    analysis_size : int, optional
        Side of the centred crop analysed (default 1024).

    Returns
    -------
    DefocusEstimate
        Radius, confidence and noise level; ``.psf()`` builds the kernel.

    Notes
    -----
    The OTF of a disk of radius ``R`` is ``2 J1(2πRρ) / (2πRρ)``: radially symmetric, with
    rings of zeros at ``ρ_k = j_{1,k} / (2πR)`` (``j_{1,1} = 3.8317``, then about
    ``1 / (2R)`` apart). The mean of the clipped log power over the rings ``|f| = ρ`` of a
    Welch spectrum (:mod:`restore.spectrum`) is fitted, for every ``R`` on a geometric grid
    (3 % steps from 1.5 px), then eleven radii over ±3 % around the best, then the vertex
    of the parabola through the best three, by ``log(S(ρ) |H_R(ρ)|² + N)`` with a smooth image spectrum
    ``S`` and the noise power ``N``, and again with ``|H_R|²`` replaced by its zero-free
    envelope. The radius is the one whose zeros reduce the residual most: a single
    spurious dip does not, since the model needs the whole series of zeros (and the
    envelope explains the overall fall-off). ``confidence = 1 - 2^(-E / 40)``, ``E`` the
    reduction in units of the residual variance. Radii below 1.5 px are not searched:
    their first zero is at or beyond 0.4 cycles/pixel, where sharp text and texture
    imitate it.

    Tiny or flat images return ``radius = 0.5``, ``confidence = 0``.

    References
    ----------
    .. [1] J. P. Oliveira, M. A. T. Figueiredo and J. M. Bioucas-Dias, "Parametric blur
       estimation for blind restoration of natural images: linear motion and
       out-of-focus", *IEEE Transactions on Image Processing* 23(1):466--477, 2014,
       doi:10.1109/TIP.2013.2286328.
    .. [2] J. W. Goodman, *Introduction to Fourier Optics*, 3rd ed., Roberts & Company,
       2005, section 2.1 (the Fourier transform of a circular aperture).

    Examples
    --------
    >>> from skimage import data
    >>> from restore import blur, defocus_psf
    >>> y = blur(data.camera() / 255.0, defocus_psf(6), boundary="valid")
    >>> round(estimate_defocus(y).radius, 1)
    6.0
    """
    check_number("analysis_size", analysis_size, low=32, integer=True)
    if max_radius is not None:
        check_number("max_radius", max_radius, low=MIN_RADIUS + 0.5)
    spectrum = analyse(image, analysis_size=int(analysis_size))
    if spectrum is None:
        return DefocusEstimate(0.5, 0.0, 0.0, 0.0)
    return defocus_from_spectrum(spectrum, max_radius=max_radius)
