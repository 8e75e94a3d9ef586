"""Windowed power spectra, cepstra and spectral profiles: what blur estimation looks at.

Conventions (stated once here, used by :mod:`restore.motion_estimate`,
:mod:`restore.defocus_estimate` and :mod:`restore.nsr`):

- **Power spectrum**: Welch's average of ``|DFT(w · tile)|² / Σ w²`` over half-overlapping
  square tiles, with ``w`` the separable periodic Hann window and the tile's mean removed.
  With this normalisation white noise of variance ``σ²`` has a flat spectrum equal to
  ``σ²``. The window removes the border discontinuity of a non-periodic photo, which would
  otherwise add a bright cross through the origin (and bias angles towards 0° and 90°).
- **Layout**: spectra here are *centred* (``numpy.fft.fftshift``): for a ``(T, T)`` tile,
  pixel ``(T // 2, T // 2)`` is frequency 0, and pixel ``(r, c)`` is the frequency
  ``((r - T // 2) / T, (c - T // 2) / T)`` cycles/pixel along rows and columns.
- **Directions**: a frequency ``(f_row, f_col)`` has the coordinate
  ``t = f_col cos θ - f_row sin θ`` along the direction ``θ`` (degrees counter-clockwise
  from +x *as seen on screen*, rows growing downward: the angle convention of
  :func:`restore.motion_psf`). The OTF of a motion blur at angle ``θ`` depends on ``t``
  alone (to within the one-pixel width of the line).
- **Profiles** are means of the clipped log power ``log max(P, floor)`` along chords
  ``{t = const}`` of the disk ``|f| < 1/2`` (a "Radon-d" transform, Oliveira et al. 2014:
  restricted to a disk so that every direction sees chords of the same lengths), or along
  rings ``{|f| = ρ}``. In the log domain the periodogram's multiplicative noise is
  additive and of equal variance everywhere, so profiles are fitted by least squares.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_array, check_array

__all__ = [
    "Spectrum",
    "analyse",
    "analysis_crop",
    "power_spectrum",
    "cepstrum",
    "ChordProfiler",
    "ring_profile",
    "fit_log_profiles",
    "smooth_rows",
    "evidence_confidence",
    "EVIDENCE_HALF",
    "white_noise_sigma",
    "block_grid_score",
]

#: Largest tile (pixels) of the Welch average; frequency resolution 1/512 cycles/pixel
#: resolves the motion zeros (spacing 1/L) of lengths up to about 100 px.
MAX_TILE = 512
#: Variance of log(P) contributed by the Hann window's kernel, the interpolation of
#: the profiles and the bins: the model |H|² is smoothed by a Gaussian of this standard
#: deviation (in frequency bins) before it is compared with a profile.
SMEAR_BINS = 0.7


#: Evidence (drop of the weighted residual, in residual variances) at which a blur's
#: confidence is one half. Calibrated on the development images only (scikit-image's
#: camera, brick, grass, gravel, moon, text, page, coins, cell), never on the benchmark's:
#: sharp photos of 64 to 512 px with noise 0 to 0.03 mostly gave a motion evidence below
#: 25 and a disk evidence below 10, but the microscopy image "cell" reached 133 (a false
#: short motion) and a 512 px brick wall with noise 0.03 reached 145.
EVIDENCE_HALF = 40.0


def evidence_confidence(evidence: float) -> float:
    """Map an evidence ``E >= 0`` to a confidence in ``[0, 1)``: ``1 - 2^(-E / EVIDENCE_HALF)``."""
    return float(1.0 - 2.0 ** (-max(evidence, 0.0) / EVIDENCE_HALF))


@dataclass(frozen=True)
class Spectrum:
    """A Welch power spectrum of an image's analysis crop.

    Attributes
    ----------
    power : (T, T) ndarray
        Centred power spectrum, float64, normalised so that white noise of variance ``σ²``
        gives ``σ²`` (see the module docstring).
    tiles : int
        Number of tiles averaged (the periodogram's variance falls as ``1 / tiles``).
    noise_sigma : float
        Noise standard deviation estimated on the crop (:func:`restore.estimate_noise`).
    crop_shape : (int, int)
        Shape of the analysed crop.
    white_sigma : float, optional
        Level of the white part of the noise, the one the spectrum is clipped at (see
        :func:`white_noise_sigma`); default ``noise_sigma``.
    band : float, optional
        Highest frequency (cycles/pixel) up to which the noise is white: the fits use no
        frequencies beyond it (default 0.5, all).
    """

    power: np.ndarray
    tiles: int
    noise_sigma: float
    crop_shape: tuple[int, int]
    white_sigma: float | None = None
    band: float = 0.5

    @property
    def size(self) -> int:
        """The tile size ``T``."""
        return int(self.power.shape[0])

    @property
    def floor(self) -> float:
        """Noise power per frequency bin, ``σ²`` of :attr:`white_sigma` (with a tiny positive
        lower bound)."""
        sigma = self.noise_sigma if self.white_sigma is None else self.white_sigma
        return max(sigma**2, 1e-12 * float(self.power.max()) + 1e-30)

    def log_power(self) -> np.ndarray:
        """``log max(P, σ²)``: the log spectrum clipped at the noise floor."""
        return np.log(np.maximum(self.power, self.floor))


def analysis_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The centred ``size x size`` (at most) crop of an image, as a float64 gray array.

    Colour images are averaged over their first three channels; alpha (the second of two
    channels, the fourth of four) is ignored. Only
    the crop is read and converted (and checked for NaN and infinity), so a 12 MP photo
    costs no more than its crop.
    """
    x = check_array(image, name="image", ndim=(2, 3), finite=False)
    h, w = x.shape[:2]
    ch, cw = min(h, size), min(w, size)
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = as_float_array(x[top : top + ch, left : left + cw], name="image", ndim=(2, 3))
    if crop.ndim == 3:  # gray + alpha: the gray; RGB(A): the mean of R, G, B
        colour = 1 if crop.shape[2] == 2 else min(3, crop.shape[2])
        crop = crop[..., :colour].mean(axis=2, dtype=np.float64)
    return np.asarray(crop, dtype=np.float64)


#: Smallest crop side analysed; smaller images have too few frequencies to measure a blur.
MIN_ANALYSIS = 32


def analyse(image: np.ndarray, *, analysis_size: int = 1024, workers: int | None = None) -> Spectrum | None:
    """The :class:`Spectrum` of an image's centred crop, or None if the image is too small.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Any real dtype (values are not rescaled). Not modified.
    analysis_size : int, optional
        Side of the centred crop analysed.
    workers : int, optional
        Threads for ``scipy.fft``.
    """
    from restore.noise import estimate_noise

    crop = analysis_crop(image, analysis_size)
    if min(crop.shape) < MIN_ANALYSIS:
        return None
    power, tiles = power_spectrum(crop, workers=workers)
    # The noise level from the central tile-sized part: a quarter of a million wavelet
    # coefficients is plenty for a median, and it is the costliest step on large crops.
    h, w = crop.shape
    ch, cw = min(h, MAX_TILE), min(w, MAX_TILE)
    centre = crop[(h - ch) // 2 : (h - ch) // 2 + ch, (w - cw) // 2 : (w - cw) // 2 + cw]
    sigma = estimate_noise(centre)
    white, band = white_noise_sigma(centre, sigma)
    if band < 0.5:
        band = white_band(power, tiles, white)
    return Spectrum(power, tiles, sigma, crop.shape, white, band)


#: The noise counts as shaped (not white) when the finest wavelet scale reads less than
#: this fraction of the next coarser scale's reading...
SHAPED_RATIO = 0.5
#: ... and the image shows JPEG's 8 x 8 block grid: :func:`block_grid_score` above this
#: (development images, 128 to 384 px crops, sharp and blurred, noise 0 to 0.01: with the
#: noise condition, 8 of 270 lossless crops flagged, a ratio of phase means above 1.05
#: flagged 38; 158 of 270 at JPEG quality 90, most of the misses under 256 px).
BLOCK_Z = 6.0
#: Strips of the image over which the block grid's contrast is measured (its spread over
#: them gives the standard error).
BLOCK_STRIPS = 16
#: Lowest frequency (cycles/pixel) fitted up to when the noise is shaped: the top of the
#: second wavelet scale, whose noise level is the one used.
BAND_SHAPED = 0.25
#: The band of white noise ends where the median power of an annulus falls below this
#: fraction of the white level's, or of the first annulus's if higher (see :func:`white_band`)...
BAND_DROP = 0.7
#: ... and it extends beyond ``BAND_SHAPED`` only if the annulus there is noise: its
#: median power at most this multiple of the white level's.
BAND_WHITE = 2.0


def block_grid_score(gray: np.ndarray) -> float:
    """How clearly an image shows an 8 x 8 block grid, as a z-score (about 0 for none).

    Parameters
    ----------
    gray : (H, W) array_like
        Any real dtype (integers are converted, so differences do not wrap around).

    Returns
    -------
    float
        ``(z_rows + z_cols) / sqrt(2)``; 0 for an image too small to tell (fewer than 32
        boundaries or 4 strips along an axis).

    Notes
    -----
    Along each axis, the absolute differences between neighbouring pixels are averaged
    per phase of their boundary modulo 8, in each of ``BLOCK_STRIPS`` strips across the
    axis. The phase with the largest overall mean is the candidate block edge; in each
    strip its contrast is its mean minus the median of the seven other phases' means.
    ``z`` is the mean contrast over its standard error (the strips' spread over the root
    of their number): image content alone varies from strip to strip and so does not
    make a grid, which a ratio of means on a small crop did in a quarter of lossless crops.
    """
    g = np.asarray(gray, dtype=np.float64)
    total = 0.0
    for axis in (0, 1):
        d = np.abs(np.diff(g, axis=axis))
        d = d if axis == 0 else d.T  # boundaries along the first axis
        n = d.shape[0] // 8 * 8
        strips = min(BLOCK_STRIPS, d.shape[1] // 8)
        if n < 32 or strips < 4:
            return 0.0
        w = d.shape[1] // strips * strips
        means = d[:n, :w].reshape(n // 8, 8, strips, w // strips).mean(axis=(0, 3)).T  # (strips, 8 phases)
        edge = int(np.argmax(means.mean(axis=0)))
        contrast = means[:, edge] - np.median(np.delete(means, edge, axis=1), axis=1)
        spread, mean = float(contrast.std(ddof=1)) / math.sqrt(strips), float(contrast.mean())
        total += mean / spread if spread > 0 else (math.inf if mean > 0 else 0.0)
    return total / math.sqrt(2)


def white_band(power: np.ndarray, tiles: int, white_sigma: float) -> float:
    """The highest frequency (cycles/pixel) up to which a JPEG spectrum keeps its white noise.

    Parameters
    ----------
    power : (T, T) ndarray
        Welch power spectrum, zero frequency at the centre (:func:`power_spectrum`).
    tiles : int
        Number of tiles averaged in ``power``.
    white_sigma : float
        Level of the white noise below :data:`BAND_SHAPED` (:func:`white_noise_sigma`).

    Returns
    -------
    band : float
        In ``[BAND_SHAPED, 0.5]``.

    Notes
    -----
    JPEG quantises each 8 x 8 DCT frequency with its own step: the higher the quality,
    the fewer the frequencies whose steps exceed the noise and so the wider the band
    where the noise stays white (with noise of 0.01, blurred photos: quality 95 about
    0.4 cycles/pixel, 90 about 0.33). Signal plus noise has no less power than the noise
    alone, so the band ends at the first annulus (width 1/64 cycles/pixel, from
    ``BAND_SHAPED`` out) whose median power falls below ``BAND_DROP`` times the larger of
    the white noise's median, ``σ² · Γ⁻¹(k, 1/2) / k`` for a mean of ``k = tiles``
    periodograms (``σ² ln 2`` for one), and the first annulus's own median. Blur zeros do
    not end it: they are lines or rings, a small share of each annulus. If the first
    annulus is well above the white level (``BAND_WHITE`` times), either the image
    still has detail there or ``white_sigma`` is too low (at quality 75 JPEG has also
    quantised the second wavelet scale's noise): then nothing shows where the white
    noise ends and the band stays ``BAND_SHAPED``.
    """
    from scipy.special import gammaincinv

    t = power.shape[0]
    fy = (np.arange(t) - t // 2) / t
    fx = (np.arange(power.shape[1]) - power.shape[1] // 2) / power.shape[1]
    radius = np.hypot(fy[:, None], fx[None, :])
    white = white_sigma**2 * float(gammaincinv(max(tiles, 1), 0.5)) / max(tiles, 1)
    step = 1.0 / 64
    for lo in np.arange(BAND_SHAPED, 0.5, step):
        ring = power[(radius >= lo) & (radius < lo + step)]
        if not ring.size:
            continue
        median = float(np.median(ring))
        if lo == BAND_SHAPED:
            if median > BAND_WHITE * white:
                return BAND_SHAPED
            level = BAND_DROP * max(white, median)
        elif median < level:
            return float(lo)
    return 0.5


def white_noise_sigma(gray: np.ndarray, sigma: float) -> tuple[float, float]:
    """The level of the white part of the noise, and the band (cycles/pixel) where it is white.

    Parameters
    ----------
    gray : (H, W) or (H, W, C) array_like
        The analysed image (colour: the mean of its channels). Not modified.
    sigma : float
        Its noise level from the finest wavelet scale (:func:`restore.estimate_noise`).

    Returns
    -------
    white_sigma, band : float
        ``(sigma, 0.5)`` for white noise; ``(coarse, BAND_SHAPED)`` for JPEG-shaped noise,
        whose band :func:`analyse` then widens as far as the spectrum shows white noise
        (:func:`white_band`).

    Notes
    -----
    JPEG quantises the high-frequency DCT coefficients coarsely, mostly to zero, noise
    and all: at quality 90 the finest scale (0.25 to 0.5 cycles/pixel) keeps about a
    quarter of a noise of 0.01, while below about 0.25 cycles/pixel the noise stays
    white at its full level. Clipped at the finest scale's level, the spectrum showed the
    falling shaped noise, which the fits (a flat noise floor) cannot explain, and beyond
    0.25 cycles/pixel the fall itself imitates a blur. So when the finest scale reads less
    than ``SHAPED_RATIO`` times the second scale (2 x 2 means, 0.125 to 0.25
    cycles/pixel; doubled, so that white noise reads the same) *and* the image shows the
    8 x 8 block grid of JPEG (:func:`block_grid_score` above ``BLOCK_Z``), the second
    scale's level is the floor and the fits stop at ``BAND_SHAPED`` or, measured on the
    spectrum, further (:func:`white_band`). Texture alone also
    makes the second scale read higher (which is why the block grid is required too).
    """
    from restore.noise import flat_block_sigma

    gray = np.asarray(gray, dtype=np.float64)
    if gray.ndim == 3:
        gray = gray.mean(axis=2)
    h, w = gray.shape[0] // 2 * 2, gray.shape[1] // 2 * 2
    if min(h, w) < 32:
        return sigma, 0.5
    coarse = 2.0 * flat_block_sigma(gray[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3)))
    if sigma < SHAPED_RATIO * coarse and block_grid_score(gray) > BLOCK_Z:
        return coarse, BAND_SHAPED
    return sigma, 0.5


def _tile_starts(n: int, tile: int) -> np.ndarray:
    """Starts of half-overlapping tiles covering ``[0, n)`` (first at 0, last at ``n - tile``)."""
    count = max(1, math.ceil((n - tile) / (tile / 2)) + 1)
    return np.unique(np.linspace(0, n - tile, count).round().astype(int))


def _fast_even(n: int) -> int:
    """Largest even 5-smooth integer ``<= n`` (at least 2): a fast FFT length."""
    for m in range(max(2, n // 2 * 2), 1, -2):
        k = m
        for p in (2, 3, 5):
            while k % p == 0:
                k //= p
        if k == 1:
            return m
    return 2


def power_spectrum(gray: np.ndarray, *, tile: int = MAX_TILE, workers: int | None = None) -> tuple[np.ndarray, int]:
    """Welch power spectrum of a 2-D array: centred ``(T, T)``, ``T`` = ``tile`` or less.

    ``T`` is the largest even size ``<= tile`` that fits in both axes. Returns the spectrum
    and the number of tiles averaged. See the module docstring for the normalisation.
    """
    h, w = gray.shape
    t = _fast_even(min(tile, h, w))
    # The tiles go through float32 FFTs: scale to unit spread first (and back at the end),
    # so that values of any magnitude neither overflow nor underflow.
    scale = float(np.std(gray))
    scale = scale if 0 < scale < np.inf else 1.0
    hann = np.sin(np.pi * np.arange(t) / t) ** 2  # periodic Hann window
    window = np.outer(hann, hann).astype(np.float32)
    acc = np.zeros((t, t // 2 + 1))
    starts = [(r, c) for r in _tile_starts(h, t) for c in _tile_starts(w, t)]
    for r, c in starts:
        block = gray[r : r + t, c : c + t]
        spec = sfft.rfft2(((block - block.mean()) / scale).astype(np.float32) * window, workers=workers)  # float32: 2x faster
        acc += spec.real**2 + spec.imag**2
    acc *= scale**2 / (len(starts) * float((window.astype(np.float64) ** 2).sum()))
    # Full spectrum from the half by P(-f) = P(f), then centred.
    c = t // 2
    full = np.empty((t, t))
    full[:, : c + 1] = acc
    full[:, c + 1 :] = np.roll(acc[::-1, c - 1 : 0 : -1], 1, axis=0)  # P[u, t - v] = P[-u, v]
    return sfft.fftshift(full), len(starts)


def cepstrum(log_power: np.ndarray) -> np.ndarray:
    """Power cepstrum of a centred log spectrum, centred: ``(T, T)`` real.

    ``C = IDFT(log P - mean)``; pixel ``(T // 2 + dy, T // 2 + dx)`` is the quefrency
    (displacement) ``(dy, dx)`` in pixels. A motion blur of length ``L`` at angle ``θ``
    puts a negative peak at ``±L (-sin θ, cos θ)`` (rows, columns): the periodic zeros
    of its OTF.
    """
    lp = sfft.ifftshift(log_power - log_power.mean())
    return sfft.fftshift(sfft.ifft2(lp).real)


class ChordProfiler:
    """Mean of a centred spectrum-like array along chords ``{t = const}`` of the disk ``|f| < 1/2``.

    Parameters
    ----------
    values : (T, T) ndarray
        Centred array (e.g. the clipped log power spectrum).
    outside : float, optional
        The value taken outside the disk, where the rotation's interpolation reaches
        (e.g. the log noise floor, so that the profiles do not depend on the image's units).
    radius : float, optional
        Radius of the disk in bins (default and at most ``T // 2 - 1``): a JPEG's spectrum
        is averaged only over its band of white noise, ``band · T``.

    Notes
    -----
    For a direction ``θ`` the array is rotated so that ``t`` runs along the columns
    (``cv2.warpAffine``, bilinear), and each column is averaged over the disk. The array
    is point-symmetric (a real image's spectrum), so the profile is computed for
    ``t >= 0`` only: ``profile(θ)[k]`` is the mean at ``t = k / T``.
    """

    def __init__(self, values: np.ndarray, *, outside: float = 0.0, radius: float | None = None) -> None:
        t = values.shape[0]
        self.size = t
        self._outside = float(outside)
        c = t // 2
        i = np.arange(t) - c
        disk = (i[:, None] ** 2 + i[None, :] ** 2) <= (c - 1 if radius is None else min(c - 1, radius)) ** 2
        self._values = np.ascontiguousarray(np.where(disk, values - self._outside, 0.0), dtype=np.float32)
        # Along a chord every second bin is enough on large grids (the interpolation
        # already mixes neighbours); it halves the rotation's cost.
        self._step = 2 if t > 256 else 1
        self._count = np.maximum(disk[:: self._step, c:].sum(axis=0), 1).astype(np.float64) * self._step

    @property
    def chord_lengths(self) -> np.ndarray:
        """Number of bins on each chord, ``(T // 2,)``: the weight of each profile point."""
        return self._count

    def __call__(self, theta: float) -> np.ndarray:
        import cv2

        t = self.size
        c = t // 2
        th = math.radians(theta)
        co, si = math.cos(th), math.sin(th)
        k = self._step
        # dst (x = t, y = i) samples src (c + t cos + (k i - c) sin, c - t sin + (k i - c) cos).
        m = np.array([[co, k * si, c - c * si], [-si, k * co, c - c * co]])
        rot = cv2.warpAffine(self._values, m, (c, -(-t // k)), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        return rot.sum(axis=0, dtype=np.float64) * k / self._count + self._outside


def ring_profile(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean of a centred, point-symmetric ``(T, T)`` array over rings ``|f| = k / T``,
    ``k = 0 .. T // 2 - 1``.

    Each bin is split linearly between its two nearest integer radii. Returns the profile
    and the (fractional) number of bins per ring, the weight of each point.
    """
    t = values.shape[0]
    c = t // 2
    # The lower half (rows c .. T-1, with row c's left half) holds every ring once more or
    # less: for a point-symmetric array it is enough, and half the work.
    i = np.arange(t) - c
    r = np.hypot(i[c:, None], i[None, :]).astype(np.float32)
    k = r.astype(np.int32)  # floor (r >= 0)
    frac = r - k
    v = values[c:].astype(np.float32)
    keep = k < c
    k, frac, v = k[keep], frac[keep], v[keep]
    n = c + 1
    s = np.bincount(k, v * (1 - frac), n) + np.bincount(k + 1, v * frac, n)
    w = np.bincount(k, 1 - frac, n) + np.bincount(k + 1, frac, n)
    return s[:c] / np.maximum(w[:c], 1e-12), 2 * w[:c]


def smear(model: np.ndarray, oversample: int) -> np.ndarray:
    """Smooth models sampled ``oversample`` times per bin along the last axis by
    :data:`SMEAR_BINS`, and return them at the bins (every ``oversample``-th sample)."""
    from scipy.ndimage import gaussian_filter1d

    return gaussian_filter1d(model, SMEAR_BINS * oversample, axis=-1, mode="reflect")[..., ::oversample]


def smooth_rows(rows: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Smooth each row by a Gaussian of its own standard deviation ``widths[i]`` (samples),
    with mirror extension at both ends; all rows in one FFT."""
    n = rows.shape[-1]
    ext = np.concatenate([rows[:, ::-1], rows, rows[:, ::-1]], axis=1)
    k = sfft.rfftfreq(3 * n)
    gauss = np.exp(-2 * (np.pi * k[None, :] * np.asarray(widths, dtype=np.float64)[:, None]) ** 2)
    return sfft.irfft(sfft.rfft(ext, axis=1) * gauss, 3 * n, axis=1)[:, n : 2 * n]


def fit_log_profiles(
    y: np.ndarray,
    models: np.ndarray,
    weights: np.ndarray,
    u: np.ndarray,
    log_floor: float,
    *,
    envelopes: np.ndarray | None = None,
    lowpass: np.ndarray | None = None,
    iterations: int = 10,
) -> np.ndarray:
    """Weighted least-squares fit of ``y ≈ log(exp(a + b u + c u² [+ e v]) · m + exp(d))`` per model.

    Parameters
    ----------
    y : (B, n) or (n,) ndarray
        Observed log-power profiles (one per batch row, or one shared).
    models : (B, n) or (n,) ndarray
        Blur models ``m = |H|² >= 0`` (smoothed like the observations).
    weights : (n,) ndarray
        Weight of each point (number of spectrum bins averaged into it).
    u : (n,) ndarray
        Regressor of the smooth image spectrum, ``log`` of the frequency, scaled to about
        [-1, 1].
    log_floor : float
        Starting value of ``d``, the log noise power.
    envelopes : (B, n) ndarray, optional
        Zero-free envelopes of the models, used for the starting values (default: the
        models themselves).
    lowpass : (n,) ndarray, optional
        A fifth regressor ``v`` of the smooth spectrum, ``-(f / f_max)²``: with it the
        smooth spectrum may also fall as a Gaussian low-pass of any width (the null models
        of the estimators: a blur without zeros). Default: none (``e = 0``).
    iterations : int, optional
        Levenberg--Marquardt iterations.

    Returns
    -------
    rss : (B,) ndarray
        Weighted residual sum of squares of each fit.

    Notes
    -----
    The natural-image spectrum is a smooth positive function of frequency, here the
    exponential of a quadratic in ``u`` (a power law with a curvature term), times the
    blur's ``|H|²``, plus the flat noise power ``exp(d)``. Linear in nothing, the four
    parameters are fitted by Levenberg--Marquardt with the Jacobian
    ``r · [1, u, u²]`` and ``1 - r``, ``r = A m / (A m + N)``, all batch rows at once.
    """
    columns = [np.ones_like(u), u, u**2] + ([] if lowpass is None else [np.asarray(lowpass, dtype=np.float64)])
    return _fit_log_profiles(y, models, weights, np.stack(columns, axis=1), log_floor, envelopes=envelopes,
                             iterations=iterations)


def _fit_log_profiles(
    y: np.ndarray,
    models: np.ndarray,
    weights: np.ndarray,
    design: np.ndarray,
    log_floor: float,
    *,
    envelopes: np.ndarray | None,
    iterations: int,
) -> np.ndarray:
    """:func:`fit_log_profiles` with the regressors ``design (n, p)`` of the smooth log
    spectrum (first column ones, second the slope regressor ``u``)."""
    y2, m2 = np.broadcast_arrays(np.atleast_2d(y), np.atleast_2d(models))
    batch, n = m2.shape
    p = design.shape[1]
    w = np.asarray(weights, dtype=np.float64)
    outer = (design[:, :, None] * design[:, None, :]).reshape(n, p * p)  # weighted sums give the Gram matrices
    # Two starts, the better one kept per row: (1) the smooth spectrum fitted linearly to
    # y - log(envelope) where the signal is clearly above the noise (the envelope has no
    # zeros, so the logarithm is tame); (2) flat at the profile's maximum, falling slope.
    env2 = m2 if envelopes is None else np.broadcast_to(np.atleast_2d(envelopes), m2.shape)
    usable = (y2 > log_floor + 1.0) * w[None, :]
    usable[usable.sum(axis=1) == 0] = w  # nothing usable: every point, equally
    target = y2 - np.log(np.maximum(env2, 1e-300))
    gram = (usable @ outer).reshape(batch, p, p) + 1e-9 * np.eye(p)
    linear = np.zeros((batch, p + 1))
    linear[:, :p] = np.linalg.solve(gram, ((usable * target) @ design)[:, :, None])[:, :, 0]
    linear[:, p] = log_floor
    flat = np.zeros((batch, p + 1))
    flat[:, 0] = y2.max(axis=1)
    flat[:, 1] = -1.0
    flat[:, p] = log_floor

    def evaluate(q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = np.exp(np.clip(q[:, :p] @ design.T, -200, 200)) * m2
        total = a + np.exp(np.clip(q[:, p : p + 1], -200, 200))
        res = y2 - np.log(total)
        return res, a / total, (res * res) @ w

    res, r, rss = evaluate(linear)
    f_res, f_r, f_rss = evaluate(flat)
    use_flat = f_rss < rss
    params = np.where(use_flat[:, None], flat, linear)
    res[use_flat], r[use_flat], rss[use_flat] = f_res[use_flat], f_r[use_flat], f_rss[use_flat]
    damping = np.full(batch, 1e-3)
    jtj = np.empty((batch, p + 1, p + 1))
    for _ in range(iterations):
        # Normal equations: J = [r · design, 1 - r] (per point, weight w).
        q = 1.0 - r
        rw = r * w
        jtj[:, :p, :p] = ((rw * r) @ outer).reshape(batch, p, p)
        jtj[:, :p, p] = (rw * q) @ design
        jtj[:, p, :p] = jtj[:, :p, p]
        jtj[:, p, p] = (q * q) @ w
        jtr = np.concatenate([(rw * res) @ design, ((q * res) @ w)[:, None]], axis=1)
        diag = np.einsum("bii->bi", jtj) + 1e-12
        lhs = jtj + (damping[:, None] * diag)[:, :, None] * np.eye(p + 1)
        trial = params + np.linalg.solve(lhs, jtr[:, :, None])[:, :, 0]
        t_res, t_r, t_rss = evaluate(trial)
        better = t_rss < rss
        params[better], res[better], r[better], rss[better] = trial[better], t_res[better], t_r[better], t_rss[better]
        damping = np.where(better, damping * 0.3, damping * 10.0)
    return rss
