"""Image deconvolution: undoing a known blur, and estimating the blur when it is not known.

Forward model ``y = k ⊛ x + n`` (true convolution, PSF origin at ``(kh // 2, kw // 2)``).

- PSFs: :func:`motion_psf`, :func:`defocus_psf`, :func:`gaussian_psf`, :func:`load_psf`.
- FFT helpers: :func:`psf_to_otf` (conventions in :mod:`restore.otf`).
- Forward model: :class:`BlurOperator` (forward and adjoint), :func:`blur`, :func:`add_noise`.
- Inversion: :func:`wiener` (DFT Wiener / constrained least squares, ``nsr="auto"``),
  :func:`richardson_lucy`, and :func:`edgetaper` for borders.
- Estimation from the blurred photo itself: :func:`estimate_noise`, :func:`estimate_motion`,
  :func:`estimate_defocus`, :func:`estimate_blur` (which of the two, or none), and
  :func:`estimate_nsr` / :func:`fit_natural_spectrum` (conventions of the spectra they
  look at in :mod:`restore.spectrum`).
"""

from restore.blur_estimate import BlurEstimate, estimate_blur
from restore.boundary import edgetaper
from restore.defocus_estimate import DefocusEstimate, estimate_defocus
from restore.lucy import richardson_lucy
from restore.motion_estimate import MotionEstimate, estimate_motion
from restore.noise import add_noise, estimate_noise
from restore.nsr import NaturalSpectrum, estimate_nsr, fit_natural_spectrum, spectral_nsr
from restore.operators import BlurOperator, blur
from restore.otf import psf_to_otf
from restore.psf import check_psf, defocus_psf, gaussian_psf, load_psf, motion_psf
from restore.wiener import wiener, wiener_gain

__all__ = [
    "BlurEstimate",
    "BlurOperator",
    "DefocusEstimate",
    "MotionEstimate",
    "NaturalSpectrum",
    "add_noise",
    "blur",
    "check_psf",
    "defocus_psf",
    "edgetaper",
    "estimate_blur",
    "estimate_defocus",
    "estimate_motion",
    "estimate_noise",
    "estimate_nsr",
    "fit_natural_spectrum",
    "gaussian_psf",
    "load_psf",
    "motion_psf",
    "psf_to_otf",
    "richardson_lucy",
    "spectral_nsr",
    "wiener",
    "wiener_gain",
]
