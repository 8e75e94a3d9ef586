"""Learning to undo a known blur: a linear deblurring filter and a small residual CNN.

Training data are pairs ``(y, x)`` of a blurred, noisy image and its sharp original,
``y = k ⊛ x + n`` (true convolution, PSF origin ``(kh // 2, kw // 2)``, white Gaussian
noise of standard deviation ``σ``; :func:`deblur_pairs`).

- **Linear**: one ``K × K`` filter ``g`` applied as PyTorch's ``nn.Conv2d(1, 1, K,
  bias=False)`` applies it, a *cross-correlation* ``x̂[p] = Σ_a g[a] y[p + a]``, fitted
  by least squares over the *valid* pixels only (those whose ``K × K`` window lies inside
  ``y``), so the filter never learns from invented borders (:func:`fit_linear_deblur`:
  preconditioned conjugate gradients on its normal equations, or PyTorch's L-BFGS or Adam;
  :func:`linear_deblur_loss`; :func:`linear_deblur` applies it). Its convolution kernel is
  ``g[::-1, ::-1]``: compare *that* with a Wiener filter's spatial kernel
  ``IDFT(conj(H) / (|H|² + NSR))``.
- **Non-linear**: :class:`DeblurCNN`, the linear filter followed by a residual CNN,
  ``x̂ = z + f(z)`` with ``z = g ⋆ y``; only ``f`` is trained (:func:`fit_deblur_cnn`).

Why the linear filter should become a Wiener filter: for stationary data the expected
squared error of ``G`` at frequency ``ω`` is ``|1 - G H|² S_x + |G|² σ²``, minimised by
``G = conj(H) S_x / (|H|² S_x + σ²) = conj(H) / (|H|² + σ² / S_x)``: the Wiener filter
with the *spectral* noise-to-signal ratio ``NSR(ω) = σ² / S_x(ω)``, ``S_x`` the power
spectrum of the training images. A finite ``K × K`` support and the finite training set
are the only differences -- but the first matters: next to the zeros of ``H``, where
``S_x`` is large, that gain has narrow peaks whose kernel is hundreds of pixels long, which
a ``K × K`` filter cannot follow (and, on real images with borders, is better off without).

Speed: a ``K × K`` correlation is evaluated with real FFTs (``torch.fft``/``scipy.fft``),
exactly equal to ``F.conv2d`` on the valid pixels (the tests check it) but independent of
``K``: 70× faster than ``F.conv2d`` for ``K = 41`` on a 512 × 512 image on 2 CPU cores.

Reproducibility: the linear fit (full batch, from a zero kernel) draws nothing random;
:class:`DeblurCNN` draws its initial weights and :func:`fit_deblur_cnn` its patches from
generators seeded by ``rng`` (:func:`learned.modules.torch_generator`,
:func:`deconvkit._validation.as_generator`); the global RNGs of NumPy and PyTorch are never
used. Results repeat exactly on the same machine and PyTorch thread count.

References
----------
.. [1] N. Wiener, *Extrapolation, Interpolation, and Smoothing of Stationary Time Series*,
   MIT Press, 1949.
.. [2] J. S. Lim, *Two-Dimensional Signal and Image Processing*, Prentice Hall, 1990,
   section 9.2 (the finite-support Wiener filter and its normal equations).
.. [3] L. Xu, J. S. J. Ren, C. Liu and J. Jia, "Deep convolutional neural network for image
   deconvolution", *NeurIPS* 2014 (large learned deconvolution kernels, initialised from
   a pseudo-inverse).
.. [4] K. Zhang, W. Zuo, Y. Chen, D. Meng and L. Zhang, "Beyond a Gaussian denoiser:
   residual learning of deep CNN for image denoising", *IEEE Trans. Image Process.*
   26(7), 3142–3155, 2017 (residual CNNs).
.. [5] J. Nocedal, "Updating quasi-Newton matrices with limited storage", *Math. Comp.*
   35(151), 773–782, 1980 (L-BFGS).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.fft as sfft
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from deconvkit._validation import as_float_array, as_generator, check_choice, check_number
from deconvkit.errors import InvalidParameterError
from learned.modules import torch_generator

__all__ = [
    "deblur_pairs",
    "fit_linear_deblur",
    "linear_deblur_loss",
    "linear_deblur",
    "DeblurCNN",
    "fit_deblur_cnn",
    "LINEAR_METHODS",
]

#: optimisers of :func:`fit_linear_deblur`
LINEAR_METHODS = ("cg", "lbfgs", "adam")


# ----------------------------------------------------------------------------- checks


def _check_pairs(pairs: Any, dtype: np.dtype) -> list[tuple[np.ndarray, np.ndarray]]:
    """Non-empty list of ``(blurred, sharp)`` 2-D arrays of equal shapes, in ``dtype``."""
    if isinstance(pairs, np.ndarray) or not isinstance(pairs, Sequence) or len(pairs) == 0:
        raise InvalidParameterError(
            f"pairs must be a non-empty list of (blurred, sharp) pairs of 2-D arrays, got {type(pairs).__name__}"
        )
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, Sequence) or len(pair) != 2:
            raise InvalidParameterError(f"pairs[{i}] must be a (blurred, sharp) pair, got {type(pair).__name__}")
        y = as_float_array(pair[0], name=f"pairs[{i}][0] (blurred)", ndim=(2,))
        x = as_float_array(pair[1], name=f"pairs[{i}][1] (sharp)", ndim=(2,))
        if y.shape != x.shape:
            raise InvalidParameterError(f"pairs[{i}]: blurred {y.shape} and sharp {x.shape} differ in shape")
        out.append((y.astype(dtype, copy=False), x.astype(dtype, copy=False)))
    return out


def _check_kernel_size(kernel_size: Any, pairs: list[tuple[np.ndarray, np.ndarray]]) -> int:
    k = check_number("kernel_size", kernel_size, low=1, integer=True)
    if k % 2 == 0:
        raise InvalidParameterError(f"kernel_size must be odd (the filter has a centre pixel), got {k}")
    smallest = min(min(y.shape) for y, _ in pairs)
    if k > smallest:
        raise InvalidParameterError(
            f"kernel_size {k} is larger than the smallest training image side {smallest}: no valid pixel"
        )
    return k


def _check_kernel(kernel: Any, *, name: str = "kernel") -> np.ndarray:
    g = as_float_array(kernel, name=name, ndim=(2,))
    if g.shape[0] % 2 == 0 or g.shape[1] % 2 == 0:
        raise InvalidParameterError(f"{name} must have odd sizes (a centre pixel), got shape {g.shape}")
    return g


def _check_dtype(dtype: Any) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dt}")
    return dt


def _bar(total: int, desc: str, progress: bool | None) -> tqdm:
    """A tqdm bar on stderr; ``progress=None`` shows it only when stderr is a terminal."""
    return tqdm(total=total, desc=desc, unit="step", file=sys.stderr, leave=False,
                disable=None if progress is None else not progress)


# ----------------------------------------------------------------------------- data


def deblur_pairs(
    images: Sequence[Any], psf: Any, sigma: float, *, rng: Any = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Training pairs ``(y, x)``: each image blurred by ``psf``, noised, borders trimmed.

    Parameters
    ----------
    images : list of (H, W) array_like
        Sharp grayscale training images (e.g. in [0, 1]). dtype policy of
        :mod:`deconvkit._validation`: float32 stays float32, everything else is float64.
    psf : (kh, kw) array_like
        The blur, a true-convolution kernel with origin ``(kh // 2, kw // 2)``; normalised
        to sum 1 here (:func:`restore.check_psf`).
    sigma : float
        Standard deviation of the white Gaussian noise, >= 0.
    rng : int, numpy.random.Generator or None, optional
        Seed of the noise (default 0); one generator serves all images in order.

    Returns
    -------
    pairs : list of ((H - 2 (kh // 2), W - 2 (kw // 2)) ndarray, same) tuples
        ``(blurred + noisy, sharp)``. Each image is blurred circularly
        (:func:`restore.blur`, ``boundary="wrap"``) and then ``kh // 2`` rows and ``kw // 2``
        columns are removed on every side of both images, so the kept blurred pixels are an
        exact linear convolution of the scene (no wrap-around, no invented border).

    Raises
    ------
    InvalidParameterError
        For an empty list, a non-2-D image, an image not larger than the PSF, a bad PSF or a
        negative ``sigma``.
    """
    import restore

    if isinstance(images, np.ndarray) or not isinstance(images, Sequence) or len(images) == 0:
        raise InvalidParameterError(f"images must be a non-empty list of (H, W) arrays, got {type(images).__name__}")
    k = restore.check_psf(psf)
    sigma = float(check_number("sigma", sigma, low=0))
    gen = as_generator(rng)
    ph, pw = k.shape[0] // 2, k.shape[1] // 2
    pairs = []
    for i, image in enumerate(images):
        x = as_float_array(image, name=f"images[{i}]", ndim=(2,))
        if x.shape[0] <= 2 * ph or x.shape[1] <= 2 * pw:
            raise InvalidParameterError(f"images[{i}] of shape {x.shape} is too small for a PSF of shape {k.shape}")
        y = restore.add_noise(restore.blur(x, k.astype(x.dtype), boundary="wrap"), sigma, rng=gen)
        rows, cols = slice(ph, x.shape[0] - ph), slice(pw, x.shape[1] - pw)
        pairs.append((np.ascontiguousarray(y[rows, cols]), np.ascontiguousarray(x[rows, cols])))
    return pairs


# ----------------------------------------------------------------------------- the linear problem


class _LinearProblem:
    """``L(g) = Σ_i ‖C_i g - t_i‖² / n``, with ``C_i g`` the valid correlation of ``y_i`` with ``g``.

    ``t_i`` is the sharp image without ``K // 2`` pixels on every side (the pixels whose
    ``K × K`` window lies inside ``y_i``) and ``n`` the number of those pixels. ``C_i`` and
    its adjoint are evaluated with real FFTs on a grid at least the image size, on which the
    valid correlation has no wrap-around:

    - ``(C g)[p] = Σ_a g[a] y[p + a] = IDFT(conj(DFT g) · DFT y)[p]``, ``p`` valid;
    - ``(Cᵀ r)[a] = Σ_p r[p] y[p + a] = IDFT(conj(DFT r) · DFT y)[a]``, ``a`` in the kernel.
    """

    def __init__(self, pairs: list[tuple[np.ndarray, np.ndarray]], k: int, *, workers: int = -1) -> None:
        self.k = k
        self.workers = workers
        self.blurred = [y for y, _ in pairs]
        self.grids, self.spectra, self.targets = [], [], []
        for y, x in pairs:
            h, w = y.shape
            grid = (sfft.next_fast_len(h, real=True), sfft.next_fast_len(w, real=True))
            self.grids.append(grid)
            self.spectra.append(sfft.rfft2(y, s=grid, workers=workers))
            self.targets.append(np.ascontiguousarray(x[k // 2 : h - k // 2, k // 2 : w - k // 2]))
        self.count = sum(t.size for t in self.targets)
        self.target_energy = float(sum(np.sum(np.square(t), dtype=np.float64) for t in self.targets))

    def forward(self, g: np.ndarray) -> list[np.ndarray]:
        """``[C_i g]``: the valid outputs, each the shape of its target."""
        outs = []
        for grid, spectrum, target in zip(self.grids, self.spectra, self.targets):
            kernel = sfft.rfft2(g, s=grid, workers=self.workers)
            full = sfft.irfft2(np.conj(kernel) * spectrum, s=grid, workers=self.workers)
            outs.append(full[: target.shape[0], : target.shape[1]])
        return outs

    def adjoint(self, residuals: list[np.ndarray]) -> np.ndarray:
        """``Σ_i C_iᵀ r_i``, a ``K × K`` array."""
        total = np.zeros((self.k, self.k), dtype=self.spectra[0].real.dtype)
        for grid, spectrum, r in zip(self.grids, self.spectra, residuals):
            rs = sfft.rfft2(r, s=grid, workers=self.workers)
            total += sfft.irfft2(np.conj(rs) * spectrum, s=grid, workers=self.workers)[: self.k, : self.k]
        return total

    def loss(self, g: np.ndarray) -> float:
        """``L(g)``, the mean squared error over all valid pixels."""
        errors = (np.sum(np.square(o - t), dtype=np.float64) for o, t in zip(self.forward(g), self.targets))
        return float(sum(errors) / self.count)

    def preconditioner(self) -> Any:
        """``r -> crop(IDFT(DFT(embed r) / (n S_y)))`` on a ``Q ≈ 2K`` grid.

        ``Σ CᵀC`` is nearly the Toeplitz matrix of the autocorrelation of the blurred images,
        whose symbol is ``n S_y(ω)`` (``S_y`` their power spectrum, estimated here by averaging
        the periodograms of half-overlapping ``Q × Q`` tiles); this applies the inverse of the
        circulant with that symbol, which is symmetric positive definite.
        """
        k = self.k
        q = sfft.next_fast_len(2 * k, real=True)
        power = np.zeros((q, q // 2 + 1))
        tiles = 0
        for y in self.blurred:
            rows, cols = min(q, y.shape[0]), min(q, y.shape[1])
            for r in range(0, y.shape[0] - rows + 1, max(rows // 2, 1)):
                for c in range(0, y.shape[1] - cols + 1, max(cols // 2, 1)):
                    tile = y[r : r + rows, c : c + cols]
                    power += np.abs(sfft.rfft2(tile, s=(q, q), workers=self.workers)) ** 2 / tile.size
                    tiles += 1
        symbol = power * (self.count / tiles)
        symbol = np.maximum(symbol, symbol.max() * 1e-12)

        def apply(r: np.ndarray) -> np.ndarray:
            return sfft.irfft2(sfft.rfft2(r, s=(q, q)) / symbol, s=(q, q))[:k, :k]

        return apply

    def torch_data(self, dtype: torch.dtype) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """The blurred spectra and the targets as tensors (complex and real ``dtype``)."""
        complex_dtype = torch.complex128 if dtype == torch.float64 else torch.complex64
        spectra = [torch.from_numpy(s).to(complex_dtype) for s in self.spectra]
        targets = [torch.from_numpy(t).to(dtype) for t in self.targets]
        return spectra, targets


def linear_deblur_loss(pairs: Sequence[tuple[Any, Any]], kernel: Any) -> float:
    """Mean squared error of a ``K × K`` correlation kernel over the valid pixels of ``pairs``.

    The training loss of :func:`fit_linear_deblur`, computed in float64 (see its Notes).
    ``kernel`` must be square with an odd side at most the smallest image side.
    """
    g = _check_kernel(kernel).astype(np.float64)
    if g.shape[0] != g.shape[1]:
        raise InvalidParameterError(f"kernel must be square, got shape {g.shape}")
    checked = _check_pairs(pairs, np.dtype(np.float64))
    k = _check_kernel_size(g.shape[0], checked)
    return _LinearProblem(checked, k).loss(g)


# ----------------------------------------------------------------------------- the three optimisers


def _fit_cg(problem: _LinearProblem, steps: int, tol: float, progress: bool | None) -> tuple[np.ndarray, list[float]]:
    """Preconditioned conjugate gradients on ``Σ CᵀC g = Σ Cᵀ t``, from ``g = 0``.

    The loss is tracked without an extra pass: with ``b = Σ Cᵀ t`` and the residual
    ``r = b - Σ CᵀC g``, ``n L(g) = ‖t‖² - 2 gᵀb + gᵀ(b - r) = ‖t‖² - gᵀb - gᵀr``.
    """
    precondition = problem.preconditioner()
    b = problem.adjoint(problem.targets)
    g = np.zeros_like(b)
    r = b.copy()
    z = precondition(r)
    p = z.copy()
    rz = float(np.vdot(r, z))
    norm_b = float(np.linalg.norm(b)) or 1.0
    history = [problem.target_energy / problem.count]
    with _bar(steps, "linear (CG)", progress) as bar:
        for _ in range(steps):
            ap = problem.adjoint(problem.forward(p))
            pap = float(np.vdot(p, ap))
            if not pap > 0:  # p is in the null space: nothing left to gain along it
                break
            alpha = rz / pap
            g += alpha * p
            r -= alpha * ap
            history.append((problem.target_energy - float(np.vdot(g, b)) - float(np.vdot(g, r))) / problem.count)
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
            if np.linalg.norm(r) <= tol * norm_b:
                break
            z = precondition(r)
            rz_new = float(np.vdot(r, z))
            p = z + (rz_new / rz) * p
            rz = rz_new
    return g, history


def _correlate_valid(
    spectrum: torch.Tensor, grid: tuple[int, ...], kernel: torch.Tensor, out_shape: tuple[int, ...]
) -> torch.Tensor:
    """Valid cross-correlation (``F.conv2d`` without padding) of an image given by its rfft2."""
    g = torch.fft.rfft2(kernel, s=grid)
    return torch.fft.irfft2(torch.conj(g) * spectrum, s=grid)[..., : out_shape[0], : out_shape[1]]


def _fit_torch(
    problem: _LinearProblem, method: str, steps: int, lr: float, dtype: torch.dtype, progress: bool | None
) -> tuple[np.ndarray, list[float]]:
    """Full-batch L-BFGS or Adam on the exact loss, from a zero kernel."""
    spectra, targets = problem.torch_data(dtype)
    kernel = torch.zeros((problem.k, problem.k), dtype=dtype, requires_grad=True)
    # Optimised: the loss relative to the zero kernel's (mean t²), of order 1; L-BFGS's
    # curvature test (sᵀy > 1e-10) is absolute and would reject the pairs of a loss ~1e-3.
    scale = problem.count / max(problem.target_energy, 1e-300)

    def loss() -> torch.Tensor:
        total = kernel.new_zeros(())
        for grid, spectrum, target in zip(problem.grids, spectra, targets):
            total = total + torch.sum(torch.square(_correlate_valid(spectrum, grid, kernel, target.shape) - target))
        return total * (scale / problem.count)

    if method == "lbfgs":
        # max_eval must be given: its default with max_iter=1 leaves the line search no evaluation.
        optimizer = torch.optim.LBFGS([kernel], lr=lr, max_iter=1, max_eval=26, history_size=50,
                                      line_search_fn="strong_wolfe", tolerance_grad=0.0, tolerance_change=0.0)
    else:
        optimizer = torch.optim.Adam([kernel], lr=lr)

    def closure() -> torch.Tensor:
        optimizer.zero_grad(set_to_none=True)
        value = loss()
        value.backward()
        return value

    history = []
    with _bar(steps, f"linear ({'L-BFGS' if method == 'lbfgs' else 'Adam'})", progress) as bar:
        for _ in range(steps):
            history.append(float(optimizer.step(closure).detach()) / scale)  # the loss before this step
            bar.update(1)
            bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
    with torch.no_grad():
        history.append(float(loss()) / scale)
    return kernel.detach().numpy(), history


def fit_linear_deblur(
    pairs: Sequence[tuple[Any, Any]],
    kernel_size: int,
    *,
    method: str = "cg",
    steps: int = 300,
    tol: float = 1e-5,
    lr: float | None = None,
    progress: bool | None = None,
    dtype: type = np.float64,
) -> tuple[np.ndarray, list[float]]:
    """Learn one ``K × K`` linear filter that maps blurred images to sharp ones.

    The model is a single ``nn.Conv2d(1, 1, K, bias=False)`` started at zero; the loss is
    the mean squared error over the *valid* pixels of the training pairs (those whose
    ``K × K`` window lies inside the blurred image), full batch. Nothing is random.

    Parameters
    ----------
    pairs : list of ((H, W) array_like, (H, W) array_like)
        ``(blurred, sharp)`` training pairs, e.g. from :func:`deblur_pairs`.
    kernel_size : int
        Odd filter size ``K`` (several times the PSF's support), at most the smallest image side.
    method : {"cg", "lbfgs", "adam"}, optional
        ``"cg"`` (default): preconditioned conjugate gradients on the normal equations of
        the loss (NumPy); converges to the least-squares optimum in tens of iterations.
        ``"lbfgs"``: PyTorch's L-BFGS (strong-Wolfe line search, memory 50).
        ``"adam"``: PyTorch's Adam. The two PyTorch optimisers see the same full-batch loss
        through autograd, as a network's training would; they converge slowly (Notes).
    steps : int, optional
        Iterations (default 300). A fixed number for L-BFGS and Adam; CG stops earlier once
        converged (``tol``), which is deterministic too.
    tol : float, optional
        CG only: stop when the residual of the normal equations falls below ``tol`` times
        their right-hand side (default 1e-5; the loss is then within about 1e-6 of its
        minimum, relatively).
    lr : float, optional
        Learning rate: default 1 for L-BFGS (the line search scales the step) and 1e-3 for
        Adam. Ignored by CG.
    progress : bool or None, optional
        Show a tqdm progress bar on stderr; default None: only when stderr is a terminal.
    dtype : {numpy.float64, numpy.float32}, optional
        Working precision of L-BFGS and Adam and dtype of the returned kernel (default
        float64). CG always computes in float64.

    Returns
    -------
    kernel : (K, K) ndarray
        The learned cross-correlation kernel, as ``nn.Conv2d`` stores it: ``x̂[p] = Σ_a
        kernel[a] y[p + a - K // 2]``; apply it with :func:`linear_deblur`. Its convolution
        kernel (to compare with a Wiener filter's) is ``kernel[::-1, ::-1]``.
    history : list of float
        The loss at the start and after every iteration.

    Raises
    ------
    InvalidParameterError
        For bad pairs (not 2-D, shapes differing within a pair), an even or too large
        ``kernel_size``, an unknown method or bad numbers.

    Notes
    -----
    The loss ``L(g) = Σ_i Σ_p (Σ_a g[a] y_i[p + a] - x_i[p + K//2])² / n`` (``p`` over the
    ``n`` valid pixels) is a convex quadratic; its minimiser solves the normal equations
    ``Σ CᵀC g = Σ Cᵀ t`` (the finite-support Wiener–Hopf equations [2]_), with ``CᵀC`` the
    Gram matrix of all ``K × K`` windows of the blurred images. That matrix is nearly
    Toeplitz with symbol ``n S_y(ω)``, ``S_y = |H|² S_x + σ²`` the power spectrum of the
    blurred images, so gradient descent converges at a speed proportional to ``S_y(ω)``,
    frequency by frequency: natural images have ``S_x ~ |ω|^-2`` and the mean, so ``S_y``
    spans many decades and first-order training is slow where the blur left mostly noise.
    CG is preconditioned by the inverse of the circulant with that symbol (estimated from
    the blurred images), which removes most of that spread.

    References
    ----------
    .. [2] J. S. Lim, *Two-Dimensional Signal and Image Processing*, Prentice Hall, 1990,
       section 9.2.
    .. [5] J. Nocedal, "Updating quasi-Newton matrices with limited storage", *Math.
       Comp.* 35(151), 773–782, 1980.

    Examples
    --------
    >>> import numpy as np
    >>> from restore import motion_psf
    >>> x = np.random.default_rng(0).random((64, 64))
    >>> pairs = deblur_pairs([x], motion_psf(5, 0), 0.01, rng=0)
    >>> kernel, history = fit_linear_deblur(pairs, 9, progress=False)
    >>> kernel.shape, bool(history[-1] < history[0])
    ((9, 9), True)
    """
    dt = _check_dtype(dtype)
    check_choice("method", method, LINEAR_METHODS)
    checked = _check_pairs(pairs, np.dtype(np.float64) if method == "cg" else dt)
    if not any(np.any(y) for y, _ in checked):
        raise InvalidParameterError("the blurred training images are all zero: there is nothing to learn a filter from")
    k = _check_kernel_size(kernel_size, checked)
    steps = check_number("steps", steps, low=1, integer=True)
    tol = float(check_number("tol", tol, low=0))
    default_lr = {"cg": 1.0, "lbfgs": 1.0, "adam": 1e-3}[method]
    lr = default_lr if lr is None else float(check_number("lr", lr, low=0, low_open=True))
    problem = _LinearProblem(checked, k)
    if method == "cg":
        kernel, history = _fit_cg(problem, steps, tol, progress)
    else:
        kernel, history = _fit_torch(problem, method, steps, lr, torch.float64 if dt == np.float64 else torch.float32,
                                     progress)
    return kernel.astype(dt), history


# ----------------------------------------------------------------------------- applying a filter


def _symmetric_indices(n: int, pad: int) -> np.ndarray:
    """Indices of ``numpy.pad(arange(n), pad, mode="symmetric")`` (mirror, edge repeated)."""
    return np.pad(np.arange(n), pad, mode="symmetric")


def linear_deblur(image: Any, kernel: Any, *, workers: int | None = None) -> np.ndarray:
    """Apply a learned correlation kernel to a whole image, borders mirrored.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Blurred image; float32 stays float32, everything else is computed in float64.
    kernel : (kh, kw) array_like
        Cross-correlation kernel with odd sizes (as from :func:`fit_linear_deblur`).
    workers : int, optional
        Threads for ``scipy.fft`` (default all cores).

    Returns
    -------
    restored : ndarray
        Same shape as ``image``: ``x̂[p] = Σ_a kernel[a] y_pad[p + a]``, where ``y_pad`` is
        ``image`` mirror-padded (``numpy.pad`` mode ``"symmetric"``, as
        ``restore.wiener``'s default border) by ``kh // 2`` rows and ``kw // 2`` columns.
        Not clipped.
    """
    x = as_float_array(image, name="image", ndim=(2, 3))
    g = _check_kernel(kernel).astype(x.dtype)
    ph, pw = g.shape[0] // 2, g.shape[1] // 2
    h, w = x.shape[:2]
    padded = x[_symmetric_indices(h, ph)][:, _symmetric_indices(w, pw)]
    grid = (sfft.next_fast_len(padded.shape[0], real=True), sfft.next_fast_len(padded.shape[1], real=True))
    workers = -1 if workers is None else workers
    kernel_spectrum = np.conj(sfft.rfft2(g, s=grid, workers=workers))
    if x.ndim == 2:
        spectrum = sfft.rfft2(padded, s=grid, workers=workers) * kernel_spectrum
        return sfft.irfft2(spectrum, s=grid, workers=workers)[:h, :w]
    spectra = sfft.rfft2(padded, s=grid, axes=(0, 1), workers=workers) * kernel_spectrum[..., None]
    return sfft.irfft2(spectra, s=grid, axes=(0, 1), workers=workers)[:h, :w]


# ----------------------------------------------------------------------------- the non-linear CNN


class DeblurCNN(nn.Module):
    """A fixed linear deblurring filter followed by a small trainable residual CNN.

    ``forward(y) = z + f(z)`` with ``z = g ⋆ y`` (the linear filter, applied like
    :func:`linear_deblur`: mirrored borders, FFT correlation) and ``f`` ``depth`` 3×3
    convolutions (``1 → channels → … → channels → 1``, replicate padding, ReLU between
    them). ``f``'s last layer starts at zero, so the untrained model *is* the linear filter
    and training can only start from there.

    Parameters
    ----------
    kernel : (K, K) array_like
        The linear filter (cross-correlation, odd sizes), e.g. from
        :func:`fit_linear_deblur`. Stored as a buffer (saved with the weights, never trained).
    channels : int, optional
        Feature channels of ``f`` (default 32).
    depth : int, optional
        Number of convolutions in ``f``, >= 2 (default 4; receptive field ``2 depth + 1``).
    rng : int, torch.Generator, numpy.random.Generator or None, optional
        Seed of the initial weights (He-uniform for the ReLU layers), default 0.
    dtype : torch.dtype, optional
        Parameter dtype (default float32).

    Input and output are ``(N, 1, H, W)`` tensors; :meth:`deblur` takes and returns a 2-D
    NumPy image.
    """

    def __init__(
        self, kernel: Any, *, channels: int = 32, depth: int = 4, rng: Any = 0, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        g = _check_kernel(kernel)
        self.channels = check_number("channels", channels, low=1, integer=True)
        self.depth = check_number("depth", depth, low=2, integer=True)
        self.register_buffer("kernel", torch.as_tensor(np.ascontiguousarray(g), dtype=dtype))
        gen = torch_generator(rng)
        sizes = [1] + [self.channels] * (self.depth - 1) + [1]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            with torch.random.fork_rng(devices=[]):  # nn.Conv2d's default init must not draw from the global RNG
                conv = nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="replicate", dtype=dtype)
            with torch.no_grad():
                conv.bias.zero_()
                if i == self.depth - 1:
                    conv.weight.zero_()
                else:
                    nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu", generator=gen)
            layers.append(conv)
            if i < self.depth - 1:
                layers.append(nn.ReLU())
        self.body = nn.Sequential(*layers)

    def linear(self, y: torch.Tensor) -> torch.Tensor:
        """``z = g ⋆ y`` with mirrored borders: ``(N, 1, H, W) -> (N, 1, H, W)``."""
        if not isinstance(y, torch.Tensor) or y.dim() != 4 or y.shape[1] != 1:
            shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise InvalidParameterError(f"input must be a (N, 1, H, W) tensor, got {shape}")
        kh, kw = self.kernel.shape
        h, w = y.shape[-2:]
        rows = torch.from_numpy(_symmetric_indices(h, kh // 2)).to(y.device)
        cols = torch.from_numpy(_symmetric_indices(w, kw // 2)).to(y.device)
        padded = y.index_select(-2, rows).index_select(-1, cols)
        grid = tuple(padded.shape[-2:])
        return _correlate_valid(torch.fft.rfft2(padded), grid, self.kernel.to(y.dtype), (h, w))

    def refine(self, z: torch.Tensor) -> torch.Tensor:
        """``z + f(z)``: the residual CNN on a linear estimate."""
        return z + self.body(z)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return self.refine(self.linear(y))

    def deblur(self, image: Any) -> np.ndarray:
        """Deblur a 2-D NumPy image (no gradients); returned in the image's float dtype."""
        x = as_float_array(image, name="image", ndim=(2,))
        dtype = self.kernel.dtype
        with torch.no_grad():
            out = self(torch.from_numpy(np.ascontiguousarray(x)).to(dtype)[None, None])
        return out[0, 0].cpu().numpy().astype(x.dtype)


def fit_deblur_cnn(
    model: DeblurCNN,
    pairs: Sequence[tuple[Any, Any]],
    *,
    steps: int = 500,
    patch_size: int = 48,
    batch_size: int = 16,
    lr: float = 1e-3,
    rng: Any = 0,
    progress: bool | None = None,
) -> tuple[list[float], list[float]]:
    """Train the residual CNN of ``model`` (in place) on ``(blurred, sharp)`` pairs.

    The linear filter is applied once to every blurred training image (valid pixels only,
    as in :func:`fit_linear_deblur`); the CNN is then trained with Adam and a mean squared
    error on random ``patch_size × patch_size`` patches of (linear estimate, sharp) pairs.

    Parameters
    ----------
    model : DeblurCNN
        Model to train; its linear kernel stays fixed.
    pairs : list of ((H, W) array_like, (H, W) array_like)
        Training pairs, e.g. from :func:`deblur_pairs`.
    steps : int, optional
        Adam steps (default 500), a fixed number.
    patch_size : int, optional
        Patch side (default 48), reduced to the smallest valid image side if needed.
    batch_size : int, optional
        Patches per step (default 16), drawn uniformly over all valid positions.
    lr : float, optional
        Adam learning rate (default 1e-3).
    rng : int, numpy.random.Generator or None, optional
        Seed of the patch sampling (default 0).
    progress : bool or None, optional
        tqdm bar on stderr; default None: only when stderr is a terminal.

    Returns
    -------
    history : list of float
        The mini-batch loss of every step.
    linear_history : list of float
        The loss of the linear filter alone (``z``) on the same mini-batches: the ratio
        ``linear_history / history`` is the CNN's gain over the linear filter, free of the
        patch-to-patch variation of the loss.

    Raises
    ------
    InvalidParameterError
        For a model that is not a :class:`DeblurCNN`, bad pairs, images smaller than the
        kernel, or bad numbers.
    """
    if not isinstance(model, DeblurCNN):
        raise InvalidParameterError(f"model must be a DeblurCNN, got {type(model).__name__}")
    checked = _check_pairs(pairs, np.dtype(np.float64))
    kernel = model.kernel.detach().cpu().numpy().astype(np.float64)
    if kernel.shape[0] != kernel.shape[1]:
        raise InvalidParameterError(f"the model's kernel must be square, got shape {kernel.shape}")
    k = _check_kernel_size(kernel.shape[0], checked)
    steps = check_number("steps", steps, low=1, integer=True)
    patch_size = check_number("patch_size", patch_size, low=1, integer=True)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    lr = float(check_number("lr", lr, low=0, low_open=True))
    gen = as_generator(rng)
    problem = _LinearProblem(checked, k)
    dtype, device = model.kernel.dtype, model.kernel.device
    inputs = [torch.from_numpy(np.ascontiguousarray(z)).to(device, dtype) for z in problem.forward(kernel)]
    targets = [torch.from_numpy(np.ascontiguousarray(t)).to(device, dtype) for t in problem.targets]
    patch = min(patch_size, *(min(t.shape) for t in targets))
    positions = np.array([(t.shape[0] - patch + 1) * (t.shape[1] - patch + 1) for t in targets], dtype=float)
    params = [p for p in model.body.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr)
    history, linear_history = [], []
    was_training = model.training
    model.train()
    try:
        with _bar(steps, "CNN (Adam)", progress) as bar:
            for _ in range(steps):
                zs, ts = [], []
                for i in gen.choice(len(targets), size=batch_size, p=positions / positions.sum()):
                    r = int(gen.integers(targets[i].shape[0] - patch + 1))
                    c = int(gen.integers(targets[i].shape[1] - patch + 1))
                    zs.append(inputs[i][None, r : r + patch, c : c + patch])
                    ts.append(targets[i][None, r : r + patch, c : c + patch])
                z, t = torch.stack(zs), torch.stack(ts)
                optimizer.zero_grad(set_to_none=True)
                value = F.mse_loss(model.refine(z), t)
                value.backward()
                optimizer.step()
                history.append(float(value.detach()))
                linear_history.append(float(F.mse_loss(z, t)))
                bar.update(1)
                bar.set_postfix(loss=f"{history[-1]:.4g}", refresh=False)
    finally:
        model.train(was_training)
    return history, linear_history
