"""Which blur, if any: motion, defocus or none, with the parameters and a confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deconvkit._validation import check_number
from restore.defocus_estimate import DefocusEstimate, defocus_from_spectrum
from restore.motion_estimate import MotionEstimate, motion_from_spectrum
from restore.spectrum import EVIDENCE_HALF, analyse, evidence_confidence


def check_limits(max_length: float | None, max_radius: float | None) -> None:
    """Check the optional search limits of the estimators."""
    from restore.defocus_estimate import MIN_RADIUS
    from restore.motion_estimate import MIN_LENGTH

    if max_length is not None:
        check_number("max_length", max_length, low=MIN_LENGTH + 1)
    if max_radius is not None:
        check_number("max_radius", max_radius, low=MIN_RADIUS + 0.5)

__all__ = ["BlurEstimate", "estimate_blur", "BLUR_KINDS"]

BLUR_KINDS = ("motion", "defocus", "none")
#: A disk's single parameter and one-dimensional search find chance evidence less often
#: than a motion's two parameters and several candidates: its evidence counts double.
_DEFOCUS_WEIGHT = 2.0


@dataclass(frozen=True)
class BlurEstimate:
    """The blur found in an image.

    Attributes
    ----------
    kind : {"motion", "defocus", "none"}
        The model chosen.
    confidence : float
        In ``[0, 1]``: the confidence of the chosen model; for ``"none"``, one minus the
        larger confidence of the two blurs, or 0 for a flat or tiny image (nothing measured).
    motion : MotionEstimate
        Best motion fit (whatever ``kind`` is).
    defocus : DefocusEstimate
        Best defocus fit (whatever ``kind`` is).
    noise_sigma : float
        Noise standard deviation estimated on the analysed crop (the finest wavelet scale,
        :func:`restore.estimate_noise`).
    white_sigma : float or None
        For noise that is white only at low frequencies (a JPEG's: the finest scale then
        reads low), the level of that white part (:func:`restore.spectrum.white_noise_sigma`),
        the floor the blur was fitted with; None for white noise.
    band : float
        Highest frequency (cycles/pixel) fitted: 0.5 for white noise, 0.25 to 0.5 for a
        JPEG's (:func:`restore.spectrum.white_band`).
    """

    kind: str
    confidence: float
    motion: MotionEstimate
    defocus: DefocusEstimate
    noise_sigma: float
    white_sigma: float | None = None
    band: float = 0.5

    def psf(self, *, dtype: type = np.float64) -> np.ndarray:
        """The PSF of the chosen model; the identity ``[[1.0]]`` for ``"none"``."""
        if self.kind == "motion":
            return self.motion.psf(dtype=dtype)
        if self.kind == "defocus":
            return self.defocus.psf(dtype=dtype)
        return np.ones((1, 1), dtype=dtype)

    def describe(self, *, full_scale: float = 1.0) -> str:
        """One line: the kind, its parameters, the confidence and the noise level.

        ``full_scale`` is the image's white level (255 for 8-bit samples read as they are):
        the noise is reported in [0, 1] units.
        """
        if self.kind == "motion":
            what = f"motion length {self.motion.length:.1f} px, angle {self.motion.angle:.1f} deg"
        elif self.kind == "defocus":
            what = f"defocus radius {self.defocus.radius:.2f} px"
        else:
            what = "no significant blur"
        noise = f"noise sigma {self.noise_sigma / full_scale:.4f}"
        if self.white_sigma is not None:
            noise = (f"JPEG-shaped noise: sigma {self.white_sigma / full_scale:.4f} below {self.band:.2f} cycles/px, "
                     f"{self.noise_sigma / full_scale:.4f} at the finest scale")
        return f"{what} (confidence {self.confidence:.2f}, {noise})"


def estimate_blur(
    image: np.ndarray,
    *,
    max_length: float | None = None,
    max_radius: float | None = None,
    analysis_size: int = 1024,
) -> BlurEstimate:
    """Estimate the blur of a photo: linear motion, defocus, or no significant blur.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Photo, any real dtype (colour is averaged over its channels). Not modified.
    max_length : float, optional
        Longest motion searched (see :func:`restore.estimate_motion`).
    max_radius : float, optional
        Largest defocus radius searched (see :func:`restore.estimate_defocus`).
    analysis_size : int, optional
        Side of the centred crop analysed (default 1024); larger photos cost the same.

    Returns
    -------
    BlurEstimate
        The chosen kind, its confidence, both fits, the noise level; ``.psf()`` builds the
        kernel.

    Notes
    -----
    One Welch spectrum of the crop (:mod:`restore.spectrum`) is fitted by the motion model
    (:func:`restore.estimate_motion`, zeros on parallel lines; its evidence counts only
    zeros *not* seen in the other directions) and the disk model
    (:func:`restore.estimate_defocus`, zeros on rings). Each fit's evidence ``E`` is the
    drop of the residual when its zeros are modelled, in residual variances. The kind is
    ``"none"`` when neither evidence reaches ``EVIDENCE_HALF`` (40, where the confidence
    is 0.5): a sharp photo, a flat image, or a blur too weak (or an image too smooth) to
    show its zeros above the noise; its confidence is one minus the larger of the two.
    Otherwise the kind is, of those that reach it, the one with the larger score,
    ``E_motion`` or ``2 E_defocus``. A flat image, or one smaller than 32 pixels on a
    side, has no spectrum to measure: ``"none"`` with confidence 0 (unknown).

    Examples
    --------
    >>> from skimage import data
    >>> from restore import blur, defocus_psf
    >>> est = estimate_blur(blur(data.camera() / 255.0, defocus_psf(5), boundary="valid"))
    >>> est.kind, round(est.defocus.radius)
    ('defocus', 5)
    """
    check_number("analysis_size", analysis_size, low=32, integer=True)
    check_limits(max_length, max_radius)
    spectrum = analyse(image, analysis_size=int(analysis_size))
    if spectrum is None or not np.ptp(spectrum.power) > 0:
        # Too small or flat to measure a blur: "none", with no confidence in it.
        motion = MotionEstimate(1.0, 0.0, 0.0, 0.0, 0.0)
        defocus = DefocusEstimate(0.5, 0.0, 0.0, 0.0)
        noise = _small_image_noise(image) if spectrum is None else spectrum.noise_sigma
        return BlurEstimate("none", 0.0, motion, defocus, noise)
    motion = motion_from_spectrum(spectrum, max_length=max_length)
    defocus = defocus_from_spectrum(spectrum, max_radius=max_radius)
    evidences = {"motion": motion.evidence, "defocus": defocus.evidence}
    passing = [kind for kind, e in evidences.items() if e >= EVIDENCE_HALF]
    if not passing:
        confidence = 1.0 - max(evidence_confidence(motion.evidence), evidence_confidence(defocus.evidence))
        kind = "none"
    else:
        weights = {"motion": 1.0, "defocus": _DEFOCUS_WEIGHT}
        kind = max(passing, key=lambda k: weights[k] * evidences[k])
        confidence = evidence_confidence(evidences[kind])
    shaped = spectrum.white_sigma is not None and spectrum.white_sigma != spectrum.noise_sigma
    return BlurEstimate(kind, confidence, motion, defocus, spectrum.noise_sigma,
                        spectrum.white_sigma if shaped else None, spectrum.band)


def _small_image_noise(image: np.ndarray) -> float:
    """Noise of an image too small for a spectrum (:func:`restore.estimate_noise` needs 3 x 3)."""
    from restore.noise import estimate_noise
    from restore.spectrum import analysis_crop

    crop = analysis_crop(image, 64)
    return float(estimate_noise(crop)) if min(crop.shape) >= 3 else 0.0
