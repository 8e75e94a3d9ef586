"""Image deconvolution: undoing a known blur.

Forward model ``y = k ⊛ x + n`` (true convolution, PSF origin at ``(kh // 2, kw // 2)``).

- PSFs: :func:`motion_psf`, :func:`defocus_psf`, :func:`gaussian_psf`, :func:`load_psf`.
- FFT helpers: :func:`psf_to_otf` (conventions in :mod:`restore.otf`).
- Forward model: :class:`BlurOperator` (forward and adjoint), :func:`blur`, :func:`add_noise`.
- Inversion: :func:`wiener` (DFT Wiener / constrained least squares),
  :func:`richardson_lucy`, and :func:`edgetaper` for borders.
"""

from restore.boundary import edgetaper
from restore.lucy import richardson_lucy
from restore.noise import add_noise
from restore.operators import BlurOperator, blur
from restore.otf import psf_to_otf
from restore.psf import check_psf, defocus_psf, gaussian_psf, load_psf, motion_psf
from restore.wiener import wiener, wiener_gain

__all__ = [
    "BlurOperator",
    "add_noise",
    "blur",
    "check_psf",
    "defocus_psf",
    "edgetaper",
    "gaussian_psf",
    "load_psf",
    "motion_psf",
    "psf_to_otf",
    "richardson_lucy",
    "wiener",
    "wiener_gain",
]
