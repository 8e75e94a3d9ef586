"""Estimate a linear motion blur (length and angle) from the blurred photo alone."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter

from deconvkit._validation import check_number
from restore.psf import motion_psf
from restore.spectrum import (
    ChordProfiler,
    Spectrum,
    analyse,
    cepstrum,
    evidence_confidence,
    fit_log_profiles,
    smear,
    smooth_rows,
)

__all__ = ["MotionEstimate", "estimate_motion"]

_OVERSAMPLE = 2  # model samples per frequency bin, before smoothing
_PAD = 8  # model samples beyond the first and last bins (room for the smoothing)
_CANDIDATES = 6  # cepstral minima examined
MIN_LENGTH = 5.0  # shortest length searched (px): shorter zeros are beyond 0.2 cycles/px, among texture


@dataclass(frozen=True)
class MotionEstimate:
    """A linear motion blur estimated from an image.

    Attributes
    ----------
    length : float
        Motion length in pixels (as :func:`restore.motion_psf`); 1 when nothing could be
        measured (the identity kernel).
    angle : float
        Direction in degrees, in ``[0, 180)``, counter-clockwise from +x as seen on screen.
    confidence : float
        In ``[0, 1]``: how clearly the spectrum shows the parallel zero lines of a motion
        blur. Below about 0.5 treat the numbers as a guess.
    evidence : float
        The statistic behind ``confidence``: the drop in the weighted residual of the fit
        when the zeros are modelled, in units of the residual variance, less
        ``isotropic_evidence`` (0 for none).
    noise_sigma : float
        Noise standard deviation estimated on the analysed crop.
    isotropic_evidence : float
        Evidence for zeros at the same spacing in the three other directions (45°, 90°,
        135° away); it is subtracted from ``evidence``: rings of zeros in every direction
        are a disk blur or texture, not a motion.
    """

    length: float
    angle: float
    confidence: float
    evidence: float
    noise_sigma: float
    isotropic_evidence: float = 0.0
    kind: str = "motion"

    def psf(self, *, dtype: type = np.float64) -> np.ndarray:
        """The estimated PSF, :func:`restore.motion_psf` ``(length, angle)``."""
        return motion_psf(self.length, self.angle, dtype=dtype)


def line_power(lengths: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """``|h(t)|²`` of horizontal :func:`restore.motion_psf` kernels, ``(len(lengths), len(freqs))``.

    The kernel of length ``L`` has taps ``w(x) = clip(1 - max(|x| - (L - 1) / 2, 0), 0, 1)``
    (fractional end taps; they sum to ``L``): ``2 n + 1`` full taps, ``n = floor((L - 1) / 2)``,
    and two end taps ``e = (L - 1) / 2 - n``. So

    .. math:: L\\,h(t) = \\frac{\\sin((2n + 1)\\pi t)}{\\sin \\pi t} + 2 e \\cos(2\\pi (n + 1) t),

    with zeros close to ``t = k / L``. Kernels at other angles have the same profile along
    their direction to within a few per cent.
    """
    lengths = np.atleast_1d(np.asarray(lengths, dtype=np.float64))[:, None]
    t = np.asarray(freqs, dtype=np.float64)[None, :]
    half = (np.maximum(lengths, 1.0) - 1) / 2
    n = np.floor(half)
    end = half - n
    s = np.sin(np.pi * t)
    small = np.abs(s) < 1e-12
    dirichlet = np.where(small, 2 * n + 1, np.sin((2 * n + 1) * np.pi * t) / np.where(small, 1.0, s))
    h = (dirichlet + 2 * end * np.cos(2 * np.pi * (n + 1) * t)) / (2 * half + 1)
    return h * h


def _exact_line_power(length: float, angle: float, freqs: np.ndarray) -> np.ndarray:
    """``|H|²`` of ``motion_psf(length, angle)`` along its own direction (projection-slice)."""
    k = motion_psf(length, angle)
    kh, kw = k.shape
    rows, cols = np.nonzero(k)
    th = math.radians(angle)
    s = (cols - kw // 2) * math.cos(th) - (rows - kh // 2) * math.sin(th)
    h = np.cos(2 * np.pi * np.outer(freqs, s)) @ k[rows, cols]
    return h * h


class _MotionFit:
    """Fits of the chord profiles of one spectrum to line-blur and zero-free models."""

    def __init__(self, spectrum: Spectrum) -> None:
        t = spectrum.size
        self.size = t
        self.log_floor = math.log(spectrum.floor)
        self.log_power = spectrum.log_power()
        # A JPEG's chords stop at its band of white noise (2 bins beyond the last fitted bin:
        # the chords at the disk's edge hold only a few interpolated bins).
        self.profiler = ChordProfiler(self.log_power, outside=self.log_floor, radius=spectrum.band * t + 2)
        c = t // 2
        # Bins beyond the last one where some direction still shows signal above the noise
        # floor carry no information: fit up to it, with a margin.
        probe = np.max([self.profiler(th) for th in (0.0, 45.0, 90.0, 135.0)], axis=0)
        above = np.flatnonzero(probe > self.log_floor + 0.5)
        last = int(above[-1]) if above.size else c - 2
        self.bins = np.arange(2, int(np.clip(min(last * 1.15 + 8, spectrum.band * t), 24, c - 1)))
        freqs = self.bins / t
        logf = np.log(freqs)
        self.u = (logf - logf.mean()) / max(float(np.ptp(logf)) / 2, 1e-9)
        self.v = -((freqs / freqs[-1]) ** 2)  # regressor of a Gaussian low-pass (zero-free null)
        self.weights = self.profiler.chord_lengths[self.bins]
        self.fine = np.arange(self.bins[0] * _OVERSAMPLE - _PAD, (self.bins[-1] + 1) * _OVERSAMPLE + _PAD) / (t * _OVERSAMPLE)
        self._profiles: dict[float, np.ndarray] = {}
        self._smooth: dict[float, float] = {}

    def profile(self, theta: float) -> np.ndarray:
        key = round(theta % 180.0, 6)
        if key not in self._profiles:
            self._profiles[key] = self.profiler(key)[self.bins]
        return self._profiles[key]

    def _models(self, fine_power: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Smeared line models and their zero-free envelopes, at the profile bins."""
        first = _PAD // _OVERSAMPLE
        n = len(self.bins)
        line = smear(fine_power, _OVERSAMPLE)[:, first : first + n]
        # Envelope: the model averaged over one period 1/L of its zeros (a Gaussian of
        # standard deviation 1/(2L)), all rows at once.
        env = smooth_rows(line, 0.5 * self.size / np.asarray(lengths, dtype=np.float64))
        return line, env

    def pair_gains(
        self, thetas: np.ndarray, lengths: np.ndarray, *, exact: bool = False, iterations: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each pair ``(thetas[k], lengths[k])``: the drop of the residual from the best
        zero-free model to the line model (the gain), and the line model's residual.

        The zero-free models are the line model's envelope and the flat ``m = 1`` (no
        blur); the smaller residual counts, so that a null fit stuck in a poor optimum
        cannot fake a gain. All fits are one batch.
        """
        thetas = np.atleast_1d(np.asarray(thetas, dtype=np.float64))
        lengths = np.atleast_1d(np.asarray(lengths, dtype=np.float64))
        if exact:
            fine = np.stack([_exact_line_power(length, th, self.fine) for th, length in zip(thetas, lengths)])
        else:
            fine = line_power(lengths, self.fine)
        line, env = self._models(fine, lengths)
        keys = [round(th % 180.0, 6) for th in thetas]
        unique = list(dict.fromkeys(keys))
        y = np.stack([self.profile(k) for k in unique])
        rows = np.array([unique.index(k) for k in keys])
        k = len(thetas)
        obs = np.concatenate([y[rows], y[rows]])
        rss = fit_log_profiles(obs, np.concatenate([line, env]), self.weights, self.u, self.log_floor,
                               envelopes=np.concatenate([env, env]), iterations=iterations)
        rss_line, rss_env = rss[:k], rss[k:]
        return np.minimum(rss_env, self._smooth_rss(unique, y)[rows]) - rss_line, rss_line

    def _smooth_rss(self, keys: list[float], y: np.ndarray) -> np.ndarray:
        """Residual of the best zero-free fit of each profile: a power law with curvature
        times a Gaussian low-pass of any width (no blur being the widest), cached by angle."""
        todo = [i for i, key in enumerate(keys) if key not in self._smooth]
        if todo:
            rss = fit_log_profiles(y[todo], np.ones((len(todo), y.shape[1])), self.weights, self.u, self.log_floor,
                                   lowpass=self.v, iterations=12)
            self._smooth.update({keys[i]: float(r) for i, r in zip(todo, rss)})
        return np.array([self._smooth[key] for key in keys])

    def gains(
        self, thetas: np.ndarray, lengths: np.ndarray, *, exact: bool = False, iterations: int = 10
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`pair_gains` on the grid ``thetas x lengths``: arrays ``(nθ, nL)``."""
        tt, ll = np.meshgrid(np.atleast_1d(thetas), np.atleast_1d(lengths), indexing="ij")
        g, rss = self.pair_gains(tt.ravel(), ll.ravel(), exact=exact, iterations=iterations)
        return g.reshape(tt.shape), rss.reshape(tt.shape)


def _cepstral_candidates(log_power: np.ndarray, min_length: float, max_length: float, count: int) -> list[tuple[float, float]]:
    """(length, angle) of the deepest local minima of the cepstrum within the length range."""
    t = log_power.shape[0]
    c = t // 2
    ceps = cepstrum(log_power)
    reach = min(c, int(math.ceil(max_length)) + 4)  # only quefrencies up to the longest length
    ceps = ceps[c - reach : c + reach + 1, c - reach : c + reach + 1]
    dy, dx = np.mgrid[-reach : reach + 1, -reach : reach + 1]
    r = np.hypot(dy, dx)
    half_plane = (dy < 0) | ((dy == 0) & (dx > 0))
    allowed = half_plane & (r >= min_length) & (r <= max_length + 1.5)
    minima = (ceps == minimum_filter(ceps, size=5, mode="nearest")) & allowed
    idx = np.flatnonzero(minima)
    idx = idx[np.argsort(ceps.flat[idx])][:count]
    return [(float(r.flat[i]), math.degrees(math.atan2(-dy.flat[i], dx.flat[i])) % 180.0) for i in idx]


def _refine(fit: _MotionFit, theta: float, length: float, step_theta: float, step_length: float,
            min_length: float, max_length: float) -> tuple[float, float]:
    """Pattern search on (θ, L) with a 3 x 3 stencil: move to its best point; when the
    centre is best, move to the parabola vertices and shrink the steps three-fold; stop
    once the steps are below 0.1° and 0.1 px."""
    offsets = np.array([-1.0, 0.0, 1.0])
    for _ in range(40):  # bound the walk; it normally ends after about ten stencils
        thetas = theta + step_theta * offsets
        lengths = np.clip(length + step_length * offsets, min_length, max_length)
        g, _ = fit.gains(thetas, lengths)
        i, j = np.unravel_index(int(np.argmax(g)), g.shape)
        if (i, j) != (1, 1):
            theta, length = float(thetas[i]), float(lengths[j])
            continue
        theta, length = _parabola_vertex(thetas, g[:, 1]), _parabola_vertex(lengths, g[1, :])
        if step_theta <= 0.1 and step_length <= 0.1:
            break
        step_theta, step_length = max(step_theta / 3, 0.05), max(step_length / 3, 0.05)
    return theta, length


def _parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """Abscissa of the maximum of the parabola through three equally spaced points."""
    denom = y[0] - 2 * y[1] + y[2]
    if not denom < 0:
        return float(x[int(np.argmax(y))])
    offset = float(np.clip(0.5 * (y[0] - y[2]) / denom, -1.0, 1.0))
    return float(x[1] + offset * (x[1] - x[0]))


def motion_from_spectrum(spectrum: Spectrum, *, max_length: float | None = None) -> MotionEstimate:
    """:func:`estimate_motion` on a precomputed :class:`restore.spectrum.Spectrum`."""
    t = spectrum.size
    sigma = spectrum.noise_sigma
    limit = 0.2 * t if max_length is None else min(float(max_length), 0.25 * t)
    # A spectrum whose noise is white only up to a band below 0.5 cycles/pixel (JPEG) is
    # fitted only there: the shortest length searched grows in proportion, so that its
    # zeros in the band are as many as MIN_LENGTH's below 0.5 cycles/pixel.
    shortest = MIN_LENGTH * 0.5 / spectrum.band
    if t < 32 or limit < shortest + 1 or not np.ptp(spectrum.power) > 0:
        return MotionEstimate(1.0, 0.0, 0.0, 0.0, sigma)
    fit = _MotionFit(spectrum)
    candidates = _cepstral_candidates(fit.log_power, shortest, limit, _CANDIDATES)
    if not candidates:
        return MotionEstimate(1.0, 0.0, 0.0, 0.0, sigma)
    # Each candidate on a 3 x 3 grid around it (all in one batch of fits).
    stencil = np.array([(a, b) for a in (-1.0, 0.0, 1.0) for b in (-0.75, 0.0, 0.75)])
    errs = np.array([min(12.0, math.degrees(0.7 / length0)) for length0, _ in candidates])  # +-0.7 px on a radius L
    thetas = np.concatenate([theta0 + err * stencil[:, 0] for (_, theta0), err in zip(candidates, errs)])
    lengths = np.concatenate([np.clip(length0 + stencil[:, 1], shortest, limit) for length0, _ in candidates])
    g, _ = fit.pair_gains(thetas, lengths)
    best = int(np.argmax(g))
    theta, length, err = float(thetas[best]), float(lengths[best]), float(errs[best // len(stencil)])
    theta, length = _refine(fit, theta, length, err / 2, 0.4, shortest, limit)
    # Final polish with the exact kernel of motion_psf along its own direction.
    thetas = theta + np.array([-0.1, 0.0, 0.1])
    lengths = np.clip(length + np.array([-0.1, 0.0, 0.1]), shortest, limit)
    g, rss = fit.gains(thetas, lengths, exact=True)
    theta = _parabola_vertex(thetas, g[:, 1])
    length = _parabola_vertex(lengths, g[1, :])
    variance = float(rss[1, 1]) / (len(fit.bins) - 4)
    evidence = max(0.0, float(g.max()) / variance)
    # Zeros at the same spacing in the other directions are rings (a disk blur, or
    # texture), not the parallel lines of a motion: only the excess counts.
    others, _ = fit.gains(theta + np.array([45.0, 90.0, 135.0]), np.array([length]))
    isotropic = max(0.0, float(np.mean(others)) / variance)
    directional = max(0.0, evidence - isotropic)
    return MotionEstimate(float(length), float(theta % 180.0), evidence_confidence(directional), directional, sigma, isotropic)


def estimate_motion(
    image: np.ndarray,
    *,
    max_length: float | None = None,
    analysis_size: int = 1024,
) -> MotionEstimate:
    """Estimate the length and angle of a linear motion blur from the blurred image.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred photo, any real dtype (colour is averaged over its channels). Not modified.
    max_length : float, optional
        Longest motion searched, in pixels (>= 6); default ``0.2 T`` where ``T`` (at most
        512) is the analysis tile (102 px for photos of 512 px and more), and never more
        than ``0.25 T`` (128 px): longer motions put fewer than four zeros in the
        spectrum. The shortest is :data:`MIN_LENGTH` (5 px), or up to 10 px on a JPEG
        whose noise is white only below ``band`` cycles/pixel (``5 · 0.5 / band``,
        ``band`` from 0.25 to 0.5: see :func:`restore.spectrum.white_band`).
    analysis_size : int, optional
        Side of the centred crop analysed (default 1024): the cost does not grow with the
        photo beyond it.

    Returns
    -------
    MotionEstimate
        Length, angle, confidence, and the noise level; ``.psf()`` builds the kernel.

    Notes
    -----
    A motion blur of length ``L`` along ``θ`` multiplies the spectrum by ``|H|²``, which
    depends only on ``t = f · (cos θ, -sin θ)`` and vanishes near ``t = k / L``: the log
    spectrum has parallel dark lines perpendicular to the motion. Steps:

    1. Welch spectrum of the centred crop (Hann-windowed tiles, so non-periodic borders
       add no cross), clipped at the noise floor ``σ²`` and logged
       (:mod:`restore.spectrum`).
    2. Candidates: the deepest minima of its cepstrum, at ``±L (cos θ, -sin θ)``.
    3. For a candidate ``(θ, L)``, the mean log power along the chords ``t = const``
       (Radon-d transform) is fitted by ``log(S(t) |h_L(t)|² + N)``, with ``S`` a smooth
       image spectrum (exponential of a quadratic in ``log t``) and ``N`` the noise power,
       and again with ``|h_L|²`` replaced by its zero-free envelope (averaged over one
       period ``1/L``). The drop in residual between the two measures how well the zeros
       are explained. It is maximised over ``(θ, L)`` by a shrinking pattern search, then
       polished with the exact ``|H|²`` of :func:`restore.motion_psf` along its direction.
    4. Evidence ``E``: the drop in residual in units of the residual variance (a
       log-likelihood ratio), minus the same measured in the three other directions 45°
       apart (rings of zeros in every direction are a disk blur or texture, not a
       motion); ``confidence = 1 - 2^(-E / 40)`` (0.5 at ``E = 40``; most sharp photos
       of the development set stayed below ``E = 25``, some textured ones did not: see
       :data:`restore.spectrum.EVIDENCE_HALF`).

    Lengths below 5 px are not searched: their zeros lie beyond 0.2 cycles/pixel, where
    texture imitates them (sharp photos then gave false evidence); a shorter blur comes
    back as about 5 px with a low confidence.

    This is the parametric fit of Oliveira et al. [1]_ (Radon-d transform of the log
    spectrum, natural-image power law plus blur model), with the cepstrum [2]_ for the
    start and a zero-free envelope as the alternative hypothesis, so that the smooth
    fall-off of a sharp image's spectrum is not mistaken for a blur.

    Tiny or flat images return ``length = 1``, ``confidence = 0``.

    References
    ----------
    .. [1] J. P. Oliveira, M. A. T. Figueiredo and J. M. Bioucas-Dias, "Parametric blur
       estimation for blind restoration of natural images: linear motion and
       out-of-focus", *IEEE Transactions on Image Processing* 23(1):466--477, 2014,
       doi:10.1109/TIP.2013.2286328.
    .. [2] M. Cannon, "Blind deconvolution of spatially invariant image blurs with phase",
       *IEEE Transactions on Acoustics, Speech, and Signal Processing* 24(1):58--63, 1976,
       doi:10.1109/TASSP.1976.1162770.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage import data
    >>> from restore import blur, motion_psf
    >>> sharp = data.camera() / 255.0
    >>> y = blur(sharp, motion_psf(15, 30), boundary="valid")
    >>> est = estimate_motion(y)
    >>> round(est.length), round(est.angle), est.confidence > 0.9
    (15, 30, True)
    """
    check_number("analysis_size", analysis_size, low=32, integer=True)
    if max_length is not None:
        check_number("max_length", max_length, low=MIN_LENGTH + 1)
    spectrum = analyse(image, analysis_size=int(analysis_size))
    if spectrum is None:
        return MotionEstimate(1.0, 0.0, 0.0, 0.0, 0.0)
    return motion_from_spectrum(spectrum, max_length=max_length)
