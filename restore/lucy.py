"""Richardson--Lucy deconvolution, the classic iterative baseline."""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import check_number
from restore.boundary import prepare_deconvolution, prepare_output, store
from restore.otf import psf_to_otf

__all__ = ["richardson_lucy"]


def richardson_lucy(
    image: np.ndarray,
    psf: np.ndarray,
    *,
    num_iter: int = 30,
    boundary: str = "symmetric",
    workers: int | None = None,
    dtype: type | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Deblur by Richardson--Lucy iterations (maximum likelihood under Poisson noise).

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred image with non-negative values (negative values, e.g. from added Gaussian
        noise, are treated as 0). float32 stays float32, other dtypes become float64.
    psf : (kh, kw) array_like
        The blur's PSF (normalised here), origin ``(kh // 2, kw // 2)``.
    num_iter : int, optional
        Number of iterations, >= 1 (default 30). More iterations sharpen more and amplify
        noise more: the iteration count is the regulariser.
    boundary : {"symmetric", "wrap", "edgetaper"}, optional
        Border handling, as in :func:`restore.wiener`. Default ``"symmetric"``.
    workers : int, optional
        Threads for ``scipy.fft``; default all cores (``-1``).
    dtype, out : optional
        Working precision and output array, as in :func:`restore.wiener`.

    Returns
    -------
    restored : ndarray
        Same shape as ``image``, non-negative, not clipped above.

    Notes
    -----
    Starting from ``x₀ = y`` (as MATLAB ``deconvlucy``), each iteration is

    .. math:: x_{t+1} = x_t \\cdot \\left(k^\\top \\star \\frac{y}{k \\circledast x_t}\\right)

    where ``k ⊛`` is convolution and ``kᵀ ⋆`` its adjoint (correlation), both done with
    the OTF on the padded DFT grid. Divisions by values below the smallest normal float
    are guarded. With ``boundary="wrap"`` the total flux ``Σ x`` is preserved.

    scikit-image's ``richardson_lucy`` starts from 0.5, pads with zeros and clips to
    [-1, 1] by default; results differ from it near the borders and for data outside [0, 1].

    References
    ----------
    .. [1] W. H. Richardson, "Bayesian-based iterative method of image restoration",
       J. Opt. Soc. Am. 62(1), 55--59, 1972.
    .. [2] L. B. Lucy, "An iterative technique for the rectification of observed
       distributions", Astron. J. 79(6), 745--754, 1974.
    """
    num_iter = int(check_number("num_iter", num_iter, low=1, integer=True))
    workers = -1 if workers is None else workers
    x, k, dt, shape, pad = prepare_deconvolution(image, psf, boundary, workers=workers, dtype=dtype)
    x = np.maximum(x, 0, dtype=dt)
    h, w = x.shape[:2]
    out = prepare_output(out, x.shape, dt)
    otf = psf_to_otf(k, shape, real=True, workers=workers)
    otf_adj = np.conj(otf)
    tiny = np.finfo(x.dtype).tiny
    (top, _), (left, _) = pad

    def apply(a: np.ndarray, transfer: np.ndarray) -> np.ndarray:
        return sfft.irfft2(sfft.rfft2(a, workers=workers) * transfer, s=shape, workers=workers)

    for c in range(1 if x.ndim == 2 else x.shape[2]):
        y = x if x.ndim == 2 else x[..., c]
        if boundary == "symmetric":
            y = np.pad(y, pad, mode="symmetric")
        est = y.copy()
        for _ in range(num_iter):
            predicted = apply(est, otf)
            ratio = y / np.maximum(predicted, tiny)
            est *= apply(ratio, otf_adj)
            np.maximum(est, 0, out=est)  # FFT rounding can leave tiny negatives
        store(out if x.ndim == 2 else out[..., c], est[top : top + h, left : left + w])
    return out
