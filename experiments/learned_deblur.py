"""Learned deblurring: does a trained linear filter become the Wiener filter, and what does a CNN add?

A single linear convolution (one ``K × K`` kernel, ``K = 41``, no bias: an
``nn.Conv2d(1, 1, 41)``) is trained to undo a known blur (motion: 15 px at 30°; defocus: a
disk of radius 4 px) on (blurred + noisy, sharp) pairs made from four bundled images that
are not test images (coffee, chelsea, grass, text; white Gaussian noise σ = 0.01; the
borders of each blurred training image are trimmed, so every kept pixel is an exact linear
convolution of the scene). The loss is the mean squared error over the valid pixels only,
those whose 41 × 41 window lies inside the blurred image. It is a convex quadratic, trained
to convergence by conjugate gradients on its normal equations (preconditioned by the
blurred images' power spectrum); PyTorch's L-BFGS and Adam run on the same full-batch loss
for a fixed number of steps, to show how far gradient training gets.

Theory: for stationary data the expected squared error at frequency ω of a filter ``G`` is
``|1 - G H|² S_x + |G|² σ²``, minimised by ``G = conj(H) / (|H|² + σ²/S_x(ω))``: the Wiener
filter with the *spectral* noise-to-signal ratio σ²/S_x, ``S_x`` the power spectrum of the
training images. The learned filter is compared with (a) Wiener with one scalar NSR per
blur, the one that maximises the mean PSNR over the four test images (an oracle that uses
the truth), (b) Wiener with the spectral NSR σ²/S_x(ω), ``S_x`` Welch-estimated from the
sharp training images (Hann-windowed 127 × 127 tiles, the mean kept) and interpolated to
each DFT grid, applied with ``restore.wiener``'s border handling (mirror padding by twice
the PSF size), and (c) ``restore.wiener(nsr="auto")``, which fits a power law to the
blurred test image's own spectrum. Kernels: PyTorch's ``conv2d`` is a correlation, so the
learned kernel flipped by 180° is the convolution kernel compared with the Wiener filter's
spatial kernel ``IDFT(G)`` (computed on a 1023² grid, large enough not to alias it; for
these point-symmetric PSFs the flip changes nothing). Gains are compared on a 255² grid
where ``|H| > 0.1``. A periodic control repeats the scoring on the truth blurred circularly
plus the same noise, every filter applied circularly (the stationary world of the theory,
without borders), and the learned filter is also fitted with ``K = 21`` and ``81`` (motion)
to see whether it approaches the spectral Wiener filter as its support grows. Then a small
non-linear CNN (four 3 × 3 convolutions of 16 channels with ReLU, residual: ``x̂ = z + f(z)``
with ``z`` the learned linear estimate, its last layer started at zero) is trained with Adam
for 250 steps on 48 × 48 patches of the same data.

The held-back test images are the experiments' four (camera, astronaut, brick,
text_chart), blurred with 16 pixels of real scene around them and trimmed (realistic
borders); the learned filters mirror the borders (``numpy.pad`` mode ``symmetric``, as
``restore.wiener``). Scores are PSNR and SSIM (``data_range=1``) of the estimate clipped to
[0, 1] over the whole frame. The noise of the training pairs of blur ``j`` comes from
``numpy.random.default_rng([seed, 0, j])``, that of test image ``i`` and blur ``j`` from
``[seed, 1, i, j]``, the CNN's initial weights and patches from ``[seed, 2, j]`` and
``[seed, 3, j]``; PyTorch runs on one thread during the experiment (restored afterwards),
so runs repeat exactly.

References: N. Wiener, *Extrapolation, Interpolation, and Smoothing of Stationary Time
Series*, MIT Press, 1949. J. S. Lim, *Two-Dimensional Signal and Image Processing*,
Prentice Hall, 1990, section 9.2 (finite-support Wiener filters). D. J. Field, "Relations
between the statistics of natural images and the response properties of cortical cells",
J. Opt. Soc. Am. A 4(12), 2379–2394, 1987 (``S_x ~ 1/|f|²``). P. D. Welch, "The use of fast
Fourier transform for the estimation of power spectra", IEEE Trans. Audio Electroacoust.
15(2), 70–73, 1967. L. Xu, J. S. J. Ren, C. Liu and J. Jia, "Deep convolutional neural
network for image deconvolution", NeurIPS 2014. K. Zhang, W. Zuo, Y. Chen, D. Meng and L.
Zhang, "Beyond a Gaussian denoiser: residual learning of deep CNN for image denoising",
IEEE Trans. Image Process. 26(7), 3142–3155, 2017. J. Nocedal, "Updating quasi-Newton
matrices with limited storage", Math. Comp. 35(151), 773–782, 1980. D. P. Kingma and J. Ba,
"Adam: a method for stochastic optimization", ICLR 2015.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments._images import IMAGES, busiest_window, psnr, simulate, ssim, test_images, training_images, trim
from experiments._report import metadata, new_figure, save_figure, show_image, write_metrics

__all__ = ["Config", "run", "make_psfs", "training_spectrum", "spectrum_at", "wiener_gain", "wiener_spectral", "BLURS",
           "METHODS"]

log = logging.getLogger(__name__)

#: blur names, in table order
BLURS = ("motion", "defocus")
#: method key -> label, in table order
METHODS = {
    "blurred": "blurred input",
    "wiener_scalar": "Wiener, scalar NSR (oracle)",
    "wiener_auto": "Wiener, nsr=\"auto\"",
    "wiener_spectral": "Wiener, σ²/S_x(ω) (training spectrum)",
    "learned_linear": "learned linear filter",
    "learned_cnn": "learned linear + CNN",
}
_SHORT = {
    "blurred": "blurred", "wiener_scalar": "Wiener scalar", "wiener_auto": "Wiener auto",
    "wiener_spectral": "Wiener σ²/S_x", "learned_linear": "learned linear", "learned_cnn": "linear + CNN",
}
_OPTIMISERS = (("cg", "conjugate gradients (NumPy)"), ("lbfgs", "L-BFGS (PyTorch)"), ("adam", "Adam (PyTorch)"))
_PERIODIC_METHODS = ("wiener_scalar", "wiener_spectral", "learned_linear")
_COLOURS = {"wiener_scalar": "tab:orange", "wiener_spectral": "tab:blue", "learned_linear": "tab:red",
            "wiener_auto": "tab:green", "learned_cnn": "tab:purple", "psf": "0.55"}


@dataclass(frozen=True)
class Config:
    """Settings of the learned-deblurring experiment.

    ``*_quick`` fields replace their full-mode counterparts when ``quick`` is set.
    """

    seed: int = 0
    quick: bool = False
    margin: int = 16
    motion_length: float = 15.0
    motion_angle: float = 30.0
    defocus_radius: float = 4.0
    sigma: float = 0.01
    train_images: tuple[str, ...] = ("coffee", "chelsea", "grass", "text")
    train_crop_quick: int = 128
    kernel_size: int = 41
    kernel_size_quick: int = 31
    cg_steps: int = 300
    cg_tol: float = 1e-5
    cg_tol_quick: float = 1e-4
    sweep_sizes: tuple[int, ...] = (21, 81)
    sweep_sizes_quick: tuple[int, ...] = (15,)
    lbfgs_steps: int = 40
    lbfgs_steps_quick: int = 5
    adam_steps: int = 40
    adam_steps_quick: int = 5
    adam_lr: float = 1e-3
    spectrum_tile: int = 127
    spectrum_tile_quick: int = 63
    kernel_grid: int = 1023
    kernel_grid_quick: int = 255
    gain_grid: int = 255
    gain_grid_quick: int = 127
    nsr_decades: tuple[float, float] = (-5.0, 0.0)
    nsr_step: float = 0.25
    nsr_step_quick: float = 0.5
    cnn_channels: int = 16
    cnn_depth: int = 4
    cnn_steps: int = 250
    cnn_steps_quick: int = 15
    cnn_patch: int = 48
    cnn_patch_quick: int = 32
    cnn_batch: int = 16
    cnn_batch_quick: int = 8
    cnn_lr: float = 1e-3
    band_threshold: float = 0.1
    showcase_image: str = "text_chart"
    crop: int = 96
    crop_quick: int = 48

    def pick(self, name: str) -> Any:
        """The setting ``name``, or its ``name_quick`` counterpart in quick mode."""
        return getattr(self, f"{name}_quick") if self.quick and hasattr(self, f"{name}_quick") else getattr(self, name)


# ----------------------------------------------------------------------------------------
# Models of the classic side


def make_psfs(config: Config) -> dict[str, np.ndarray]:
    """The experiment's PSFs by name (:data:`BLURS`): a motion line and a defocus disk."""
    import restore

    return {
        "motion": restore.motion_psf(config.motion_length, config.motion_angle),
        "defocus": restore.defocus_psf(config.defocus_radius),
    }


def training_spectrum(images: list[np.ndarray], tile: int) -> np.ndarray:
    """Welch power spectrum ``S_x`` of images on a ``tile × tile`` DFT grid (not centred).

    Half-overlapping tiles, each multiplied by a periodic Hann window ``w``; the
    periodogram ``|DFT(w · tile)|² / Σ w²`` is averaged over all tiles of all images. With
    this normalisation white noise of variance ``σ²`` has ``S = σ²`` at every frequency, the
    units of the Wiener filter's ``σ² / S_x``. The mean is *kept* (``S_x(0)`` is large, so the
    filter passes the mean, as the learned one does).
    """
    n = np.arange(tile)
    window = 0.5 - 0.5 * np.cos(2 * np.pi * n / tile)
    w2 = np.outer(window, window)
    total = np.zeros((tile, tile))
    count = 0
    for image in images:
        for top in range(0, image.shape[0] - tile + 1, tile // 2):
            for left in range(0, image.shape[1] - tile + 1, tile // 2):
                total += np.abs(np.fft.fft2(w2 * image[top : top + tile, left : left + tile])) ** 2
                count += 1
    return total / (count * float(np.sum(w2**2)))


def spectrum_at(spectrum: np.ndarray, f_row: np.ndarray, f_col: np.ndarray) -> np.ndarray:
    """``S_x`` at any frequencies (cycles/pixel), interpolated from a Welch spectrum.

    Linear interpolation of ``log S`` on the periodic ``tile × tile`` grid of
    :func:`training_spectrum` (a power law is a straight line in log-log, and nearly so in
    log-linear over one bin). ``f_row`` and ``f_col`` broadcast against each other.
    """
    from scipy.ndimage import map_coordinates

    tile = spectrum.shape[0]
    rows, cols = np.broadcast_arrays(np.asarray(f_row, float) * tile, np.asarray(f_col, float) * tile)
    values = map_coordinates(np.log(np.maximum(spectrum, 1e-30)), [rows.ravel(), cols.ravel()], order=1,
                             mode="grid-wrap")
    return np.exp(values).reshape(rows.shape)


def _grid_frequencies(shape: tuple[int, int], *, half: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The DFT frequencies of an ``(M, N)`` grid (``half``: the rfft2 columns), as a column and a row."""
    m, n = shape
    cols = np.fft.rfftfreq(n) if half else np.fft.fftfreq(n)
    return np.fft.fftfreq(m)[:, None], cols[None, :]


def wiener_gain(
    psf: np.ndarray, shape: tuple[int, int], *, nsr: float | None = None, spectrum: np.ndarray | None = None,
    sigma: float = 0.0, half: bool = False,
) -> np.ndarray:
    """``conj(H) / (|H|² + NSR)`` on an ``(M, N)`` DFT grid (``half``: the rfft2 half).

    ``NSR`` is the scalar ``nsr``, or ``σ² / S_x(ω)`` with ``S_x`` from ``spectrum``
    (:func:`spectrum_at`), which equals ``conj(H) S_x / (|H|² S_x + σ²)``.
    """
    import restore

    h = restore.psf_to_otf(psf, shape, real=half)
    if spectrum is None:
        return np.conj(h) / (np.abs(h) ** 2 + nsr)
    power = spectrum_at(spectrum, *_grid_frequencies(shape, half=half))
    return np.conj(h) * power / (np.abs(h) ** 2 * power + sigma**2)


def wiener_spectral(observed: np.ndarray, psf: np.ndarray, spectrum: np.ndarray, sigma: float) -> np.ndarray:
    """Wiener deconvolution with the spectral NSR ``σ² / S_x(ω)``, borders as ``restore.wiener``.

    The same steps as ``restore.wiener(observed, psf, boundary="symmetric")`` -- mirror
    padding by twice the PSF size to a fast FFT size (:func:`restore.boundary.symmetric_padding`),
    real FFTs, crop -- with a frequency-dependent NSR instead of a constant one.
    """
    import scipy.fft as sfft

    from restore.boundary import symmetric_padding

    k = psf / psf.sum()
    shape, pad = symmetric_padding(observed.shape, k.shape)
    padded = np.pad(observed, pad, mode="symmetric")
    gain = wiener_gain(k, shape, spectrum=spectrum, sigma=sigma, half=True)
    restored = sfft.irfft2(sfft.rfft2(padded) * gain, s=shape)
    (top, _), (left, _) = pad
    return restored[top : top + observed.shape[0], left : left + observed.shape[1]]


def _kernel_of_gain(gain: np.ndarray) -> np.ndarray:
    """The centred spatial (convolution) kernel of a full-grid gain with odd sizes."""
    return np.fft.fftshift(np.real(np.fft.ifft2(gain)))


def _gain_of_kernel(conv_kernel: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The DFT on an ``(M, N)`` grid of a centred odd convolution kernel (origin at its centre)."""
    k = conv_kernel.shape[0]
    grid = np.zeros(shape)
    grid[:k, :k] = conv_kernel
    return np.fft.fft2(np.roll(grid, (-(k // 2), -(k // 2)), axis=(0, 1)))


def _circular(image: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """A full-grid gain applied to a periodic image (no padding: the DFT's own model)."""
    return np.real(np.fft.ifft2(np.fft.fft2(image) * gain))


def _dtft_line(conv_kernel: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """``Σ_m w[m] exp(-2πi f·(m - c))`` at frequencies ``freqs`` ``(n, 2)`` = (f_row, f_col).

    ``c = (kh // 2, kw // 2)`` is the kernel's origin (the PSF convention).
    """
    kh, kw = conv_kernel.shape
    rows = np.exp(-2j * np.pi * freqs[:, :1] * (np.arange(kh) - kh // 2)[None, :])
    cols = np.exp(-2j * np.pi * freqs[:, 1:] * (np.arange(kw) - kw // 2)[None, :])
    return np.einsum("mn,im,in->i", conv_kernel, rows, cols)


def _centre_crop(kernel: np.ndarray, size: int) -> np.ndarray:
    c, h = kernel.shape[0] // 2, size // 2
    return kernel[c - h : c + h + 1, c - h : c + h + 1]


def _relative(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None) -> float:
    """``‖a - b‖ / ‖b‖``, over ``mask`` if given."""
    if mask is not None:
        a, b = a[mask], b[mask]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


# ----------------------------------------------------------------------------------------
# Data and training


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """Run PyTorch on ``n`` threads inside the block, then restore its thread count."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _progress() -> bool | None:
    """Progress bars: on a terminal (None: tqdm decides) while this module's progress messages
    are shown, never when they are silenced (``deconvkit -q``)."""
    return None if log.isEnabledFor(logging.INFO) else False


def _training_images(config: Config) -> list[np.ndarray]:
    """The training images; in quick mode their central ``train_crop_quick``² crops."""
    return training_images(config.train_images, crop=config.train_crop_quick if config.quick else None)


def _train(config: Config, blur_index: int, pairs: list) -> dict[str, Any]:
    """The learned linear filter (CG, converged), the CNN, and for the first blur the L-BFGS and
    Adam curves and the filters of the other kernel sizes."""
    from learned.deblur import DeblurCNN, fit_deblur_cnn, fit_linear_deblur

    k, blur = config.pick("kernel_size"), BLURS[blur_index]
    out: dict[str, Any] = {"sweep": {}}
    start = time.perf_counter()
    out["kernel"], out["cg_history"] = fit_linear_deblur(
        pairs, k, method="cg", steps=config.cg_steps, tol=config.pick("cg_tol"), progress=_progress())
    log.info("%s: linear %d×%d filter, CG converged in %d iterations (%.1f s)", blur, k, k,
             len(out["cg_history"]) - 1, time.perf_counter() - start)
    if blur_index == 0:  # one blur only: time
        for method, steps, lr in (("lbfgs", config.pick("lbfgs_steps"), None),
                                  ("adam", config.pick("adam_steps"), config.adam_lr)):
            start = time.perf_counter()
            _, out[f"{method}_history"] = fit_linear_deblur(pairs, k, method=method, steps=steps, lr=lr,
                                                            progress=_progress())
            log.info("%s: %s, %d steps (%.1f s)", blur, method, steps, time.perf_counter() - start)
        for size in config.pick("sweep_sizes"):
            start = time.perf_counter()
            kernel, history = fit_linear_deblur(pairs, size, method="cg", steps=config.cg_steps,
                                                tol=config.pick("cg_tol"), progress=_progress())
            out["sweep"][size] = {"kernel": kernel, "loss": history[-1]}
            log.info("%s: linear %d×%d filter (%.1f s)", blur, size, size, time.perf_counter() - start)
        out["sweep"][k] = {"kernel": out["kernel"], "loss": out["cg_history"][-1]}
    start = time.perf_counter()
    model = DeblurCNN(out["kernel"], channels=config.cnn_channels, depth=config.cnn_depth,
                      rng=np.random.default_rng([config.seed, 2, blur_index]))
    out["cnn_history"], out["cnn_linear_history"] = fit_deblur_cnn(
        model, pairs, steps=config.pick("cnn_steps"), patch_size=config.pick("cnn_patch"),
        batch_size=config.pick("cnn_batch"), lr=config.cnn_lr, rng=np.random.default_rng([config.seed, 3, blur_index]),
        progress=_progress())
    out["cnn"] = model
    log.info("%s: CNN, %d steps (%.1f s)", blur, config.pick("cnn_steps"), time.perf_counter() - start)
    return out


# ----------------------------------------------------------------------------------------
# Scoring


def _wiener_models(config: Config, psf: np.ndarray, spectrum: np.ndarray, scalar_nsr: float) -> dict[str, Any]:
    """The two Wiener filters of one blur: gains on the comparison grid, kernels from a large grid.

    The spectral Wiener filter's kernel is long (its gain has narrow peaks next to the
    zeros of H, where S_x is large), so it is computed on a ``kernel_grid``² grid, large
    enough not to alias it, before its centre is compared with the learned kernel.
    """
    big, small = config.pick("kernel_grid"), config.pick("gain_grid")
    out: dict[str, Any] = {"scalar_nsr": scalar_nsr, "spectrum": spectrum, "sigma": config.sigma}
    for name, kwargs in (("spectral", {"spectrum": spectrum, "sigma": config.sigma}), ("scalar", {"nsr": scalar_nsr})):
        out[f"{name}_kernel"] = _kernel_of_gain(wiener_gain(psf, (big, big), **kwargs))
        out[f"{name}_gain"] = wiener_gain(psf, (small, small), **kwargs)
    return out


def _oracle_scalar_nsr(cases: list[tuple[np.ndarray, ...]], psf: np.ndarray, config: Config) -> float:
    """The scalar NSR that maximises the mean PSNR of ``restore.wiener`` over ``cases``.

    A grid of ``nsr_step`` decades, then a bounded search (in log10 NSR, to 0.01 decade)
    between the neighbours of the best grid point (PSNR against NSR is unimodal here).
    """
    from scipy.optimize import minimize_scalar

    import restore

    def mean_psnr(log_nsr: float) -> float:
        return float(np.mean([psnr(t, restore.wiener(o, psf, nsr=10.0**log_nsr)) for t, o, *_ in cases]))

    low, high = config.nsr_decades
    grid = np.linspace(low, high, int(round((high - low) / config.pick("nsr_step"))) + 1)
    scores = [mean_psnr(e) for e in grid]
    best = int(np.argmax(scores))
    bounds = (grid[max(best - 1, 0)], grid[min(best + 1, len(grid) - 1)])
    found = minimize_scalar(lambda e: -mean_psnr(e), bounds=bounds, method="bounded", options={"xatol": 0.01})
    return float(10.0 ** (found.x if -found.fun >= scores[best] else grid[best]))


def _auto_nsr_available() -> bool:
    """Whether this ``restore.wiener`` has ``nsr="auto"`` (issue 5), read from its documentation."""
    import restore

    return '"auto"' in (restore.wiener.__doc__ or "")


def _wiener_auto(observed: np.ndarray, psf: np.ndarray) -> np.ndarray | None:
    """``restore.wiener(nsr="auto")``, or None with a ``restore`` that has no automatic NSR.

    The plug for method (c): without it the rows are left out, never invented.
    """
    import restore

    return restore.wiener(observed, psf, nsr="auto") if _auto_nsr_available() else None


def _estimates(observed: np.ndarray, psf: np.ndarray, trained: dict, models: dict) -> dict[str, np.ndarray]:
    """Every method's estimate of one observation (``wiener_auto`` only where available)."""
    import restore
    from learned.deblur import linear_deblur

    out = {
        "blurred": observed,
        "wiener_scalar": restore.wiener(observed, psf, nsr=models["scalar_nsr"]),
        "wiener_auto": _wiener_auto(observed, psf),
        "wiener_spectral": wiener_spectral(observed, psf, models["spectrum"], models["sigma"]),
        "learned_linear": linear_deblur(observed, trained["kernel"]),
        "learned_cnn": trained["cnn"].deblur(observed),
    }
    return {m: e for m, e in out.items() if e is not None}


def _score_tables(cases: dict, estimates: dict) -> tuple[list[dict], list[dict], dict]:
    """PSNR and SSIM tables (one row per image and blur, one column per method) and the raw scores."""
    scores: dict[tuple[str, str, str], tuple[float, float]] = {}
    for blur, by_image in estimates.items():
        for name, by_method in by_image.items():
            truth = cases[blur][name][0]
            for method, estimate in by_method.items():
                scores[blur, name, method] = (psnr(truth, estimate), ssim(truth, estimate))
    methods = [m for m in METHODS if any(key[2] == m for key in scores)]
    psnr_rows, ssim_rows = [], []
    for blur in estimates:
        for name in estimates[blur]:
            psnr_rows.append({"image": name, "blur": blur,
                              **{_SHORT[m]: round(scores[blur, name, m][0], 2) for m in methods}})
            ssim_rows.append({"image": name, "blur": blur,
                              **{_SHORT[m]: round(scores[blur, name, m][1], 4) for m in methods}})
    return psnr_rows, ssim_rows, scores


def _means(scores: dict, blur: str, method: str) -> tuple[float, float]:
    values = [v for (b, _, m), v in scores.items() if b == blur and m == method]
    return float(np.mean([v[0] for v in values])), float(np.mean([v[1] for v in values]))


def _summary_rows(scores: dict, models: dict) -> list[dict]:
    rows = []
    for blur in models:
        reference = _means(scores, blur, "wiener_scalar")[0]
        for method in METHODS:
            if not any(b == blur and m == method for b, _, m in scores):
                continue
            p, s = _means(scores, blur, method)
            rows.append({"blur": blur, "method": METHODS[method], "mean_psnr": round(p, 2), "mean_ssim": round(s, 4),
                         "psnr_minus_wiener_scalar": round(p - reference, 2)})
    return rows


def _line_peaks(config: Config, psfs: dict, trained: dict, models: dict) -> dict[str, dict]:
    """The largest gain along the plotted line: spectral Wiener (and where) and learned filter."""
    out = {}
    for blur in models:
        t, freqs, _ = _line_frequencies(blur, config, n=2001)
        h = _dtft_line(psfs[blur], freqs)
        power = spectrum_at(models[blur]["spectrum"], freqs[:, 0], freqs[:, 1])
        spectral = np.abs(h * power / (np.abs(h) ** 2 * power + config.sigma**2))
        learned = np.abs(_dtft_line(trained[blur]["kernel"][::-1, ::-1], freqs))
        out[blur] = {"wiener_spectral_max": float(spectral.max()), "at_frequency": float(t[np.argmax(spectral)]),
                     "learned_max": float(learned.max())}
    return out


def _agreement(config: Config, psfs: dict, trained: dict, models: dict, scores: dict) -> list[dict]:
    """Kernel and gain differences (relative L2) between the learned filter and the Wiener filters."""
    import restore

    k, size = config.pick("kernel_size"), config.pick("gain_grid")
    rows = []
    for blur, model in models.items():
        band = np.abs(restore.psf_to_otf(psfs[blur], (size, size))) > config.band_threshold
        learned = trained[blur]["kernel"][::-1, ::-1]  # correlation -> convolution kernel
        learned_gain = _gain_of_kernel(learned, (size, size))
        spectral, scalar = model["spectral_kernel"], model["scalar_kernel"]
        outside = float(np.sqrt(1 - np.sum(_centre_crop(spectral, k) ** 2) / np.sum(spectral**2)))
        pairs = (
            ("learned linear vs Wiener σ²/S_x", learned, _centre_crop(spectral, k), learned_gain,
             model["spectral_gain"], "learned_linear", "wiener_spectral"),
            ("learned linear vs Wiener scalar", learned, _centre_crop(scalar, k), learned_gain, model["scalar_gain"],
             "learned_linear", "wiener_scalar"),
            ("Wiener scalar vs Wiener σ²/S_x", _centre_crop(scalar, k), _centre_crop(spectral, k), model["scalar_gain"],
             model["spectral_gain"], "wiener_scalar", "wiener_spectral"),
        )
        for label, a, b, ga, gb, ma, mb in pairs:
            rows.append({"blur": blur, "compared": label, "kernel_rel_l2": round(_relative(a, b), 4),
                         "gain_rel_l2_in_band": round(_relative(ga, gb, band), 4),
                         "mean_psnr_difference_db": round(_means(scores, blur, ma)[0] - _means(scores, blur, mb)[0], 2),
                         "band_fraction": round(float(band.mean()), 3), "spectral_energy_outside_kxk": round(outside, 4)})
    return rows


def _training_rows(trained: dict) -> list[dict]:
    """Final training loss of every optimiser (the CNN: its mini-batches against the linear filter's)."""
    rows = []
    for blur, info in trained.items():
        optimum = info["cg_history"][-1]
        for method, label in _OPTIMISERS:
            history = info.get(f"{method}_history")
            if history is not None:
                rows.append({"blur": blur, "model": "linear", "optimiser": label, "steps": len(history) - 1,
                             "training_psnr_db": round(10 * np.log10(1 / history[-1]), 3),
                             "gain_over_linear_optimum_db": round(10 * np.log10(optimum / history[-1]), 3)})
        rows.append({"blur": blur, "model": "linear + CNN", "optimiser": "Adam (PyTorch), mini-batches",
                     "steps": len(info["cnn_history"]),
                     "training_psnr_db": round(10 * np.log10(1 / np.mean(_tail(info["cnn_history"]))), 3),
                     "gain_over_linear_optimum_db": round(_cnn_gain_db(info), 3)})
    return rows


def _tail(history: list[float]) -> list[float]:
    """The last tenth of a history (at least one value)."""
    return history[-max(1, len(history) // 10) :]


def _cnn_gain_db(info: dict) -> float:
    """The CNN's gain over its linear filter on the last tenth of its training mini-batches, in dB."""
    return float(10 * np.log10(np.mean(_tail(info["cnn_linear_history"])) / np.mean(_tail(info["cnn_history"]))))


def _control_studies(
    config: Config, psfs: dict, trained: dict, models: dict, cases: dict, scores: dict
) -> tuple[list[dict], list[dict], dict]:
    """The periodic control (every blur) and the kernel-size study (first blur).

    Periodic control: each test image blurred circularly (the DFT's own model, the
    stationary world of the theory) plus the very same noise, every filter applied
    circularly: only the borders differ from the real observation.
    """
    import restore
    from learned.deblur import linear_deblur

    periodic_rows, size_rows, curves = [], [], {}
    for blur, by_image in cases.items():
        psf, model = psfs[blur], models[blur]
        shape = next(iter(by_image.values()))[0].shape
        gains = {"wiener_spectral": wiener_gain(psf, shape, spectrum=model["spectrum"], sigma=config.sigma),
                 "learned_linear": _gain_of_kernel(trained[blur]["kernel"][::-1, ::-1], shape)}
        periodic = {m: [] for m in ("wiener_scalar", *gains)}
        for truth, _, observed in by_image.values():
            periodic["wiener_scalar"].append(psnr(truth, restore.wiener(observed, psf, nsr=model["scalar_nsr"],
                                                                        boundary="wrap")))
            for method, gain in gains.items():
                periodic[method].append(psnr(truth, _circular(observed, gain)))
        for method, values in periodic.items():
            realistic = _means(scores, blur, method)[0]
            periodic_rows.append({"blur": blur, "method": METHODS[method], "realistic_borders_psnr": round(realistic, 2),
                                  "periodic_psnr": round(float(np.mean(values)), 2)})
            curves[blur, method] = (realistic, float(np.mean(values)))
        size = config.pick("gain_grid")
        band = np.abs(restore.psf_to_otf(psf, (size, size))) > config.band_threshold
        for k, fit in sorted(trained[blur]["sweep"].items()):
            conv = fit["kernel"][::-1, ::-1]
            gain = _gain_of_kernel(conv, shape)
            realistic = float(np.mean([psnr(t, linear_deblur(o, fit["kernel"])) for t, o, _ in by_image.values()]))
            circular = float(np.mean([psnr(t, _circular(p, gain)) for t, _, p in by_image.values()]))
            size_rows.append({"blur": blur, "kernel_size": k,
                              "training_psnr_db": round(10 * np.log10(1 / fit["loss"]), 3),
                              "realistic_borders_psnr": round(realistic, 2), "periodic_psnr": round(circular, 2),
                              "gain_rel_l2_in_band_vs_wiener_spectral": round(_relative(
                                  _gain_of_kernel(conv, (size, size)), model["spectral_gain"], band), 4),
                              "kernel_rel_l2_vs_wiener_spectral": round(_relative(
                                  conv, _centre_crop(model["spectral_kernel"], k)), 4)})
    return periodic_rows, size_rows, curves


# ----------------------------------------------------------------------------------------
# Figures


def _image_grid(
    width: float, rows: int, cols: int, *, colorbar: bool, title_lines: int = 1
) -> tuple[Any, np.ndarray, list]:
    """A figure of square image panels placed by hand (no layout engine: half the time to save).

    Returns the figure, the ``(rows, cols)`` axes and one colour-bar axes per row (or Nones).
    """
    left_pad, right_pad, gap = 0.04, (0.75 if colorbar else 0.04), 0.08  # inches
    panel = (width - left_pad - right_pad - (cols - 1) * gap) / cols
    band = 0.17 * title_lines + 0.08
    height = rows * (panel + band) + 0.04
    fig = new_figure(width, height)
    fig.set_layout_engine(None)  # None, not "none": "none" leaves a placeholder engine that save_figure runs
    axes, bars = [], []
    for r in range(rows):
        y = height - (r + 1) * (panel + band)
        axes.append([fig.add_axes(((left_pad + c * (panel + gap)) / width, y / height, panel / width, panel / height))
                     for c in range(cols)])
        x = left_pad + cols * panel + (cols - 1) * gap + 0.1
        bars.append(fig.add_axes((x / width, (y + 0.1 * panel) / height, 0.12 / width, 0.8 * panel / height))
                    if colorbar else None)
    return fig, np.array(axes, dtype=object), bars


def _plot_kernels(config: Config, trained: dict, models: dict, agreement: list[dict], out_dir: Path) -> None:
    """Per blur: learned kernel (flipped), Wiener σ²/S_x kernel, their difference, Wiener scalar kernel."""
    k = config.pick("kernel_size")
    fig, axes, bars = _image_grid(11.0, len(models), 4, colorbar=True)
    for row, blur in enumerate(models):
        learned = trained[blur]["kernel"][::-1, ::-1]
        spectral = _centre_crop(models[blur]["spectral_kernel"], k)
        scalar = _centre_crop(models[blur]["scalar_kernel"], k)
        vmax = 0.2 * float(np.abs(spectral).max())
        agree = {r["compared"]: r["kernel_rel_l2"] for r in agreement if r["blur"] == blur}
        panels = (
            (learned, f"{blur}: learned {k}×{k}, flipped"),
            (spectral, f"Wiener σ²/S_x(ω), centre {k}×{k}"),
            (learned - spectral, f"difference (rel. L2 {agree['learned linear vs Wiener σ²/S_x']:.2f})"),
            (scalar, f"Wiener NSR {models[blur]['scalar_nsr']:.2g} "
                     f"(rel. {agree['learned linear vs Wiener scalar']:.2f})"),
        )
        for ax, (image, title) in zip(axes[row], panels):
            shown = show_image(ax, image, title, vmin=-vmax, vmax=vmax, cmap="RdBu_r")
        fig.colorbar(shown, cax=bars[row])
        bars[row].tick_params(labelsize=7)
    save_figure(fig, out_dir / "kernels")


def _line_frequencies(blur: str, config: Config, n: int = 241) -> tuple[np.ndarray, np.ndarray, str]:
    """Frequencies along the motion direction (motion) or the column axis (defocus), 0 to 0.5 cycles/pixel."""
    t = np.linspace(0.0, 0.5, n)
    if blur == "motion":
        theta = np.deg2rad(config.motion_angle)  # counter-clockwise on screen: rows grow downward
        direction = (-np.sin(theta), np.cos(theta))
        label = f"frequency along the motion ({config.motion_angle:g}°), cycles/pixel"
    else:
        direction, label = (0.0, 1.0), "horizontal frequency (the disk's OTF is radial), cycles/pixel"
    return t, np.outer(t, direction), label


def _plot_gains(config: Config, psfs: dict, trained: dict, models: dict, out_dir: Path) -> None:
    """Gain |G| along a line (all filters and |H|) and 2-D maps of log10 |G| (learned, Wiener σ²/S_x).

    The line plots draw log10 |G| on a linear axis with decade labels (a log-scaled axis
    draws the same picture at twice the cost).
    """
    size = config.pick("gain_grid")
    fig = new_figure(12.0, 6.6)
    fig.set_layout_engine(None)  # None, not "none": "none" leaves a placeholder engine that save_figure runs
    axes = fig.subplots(len(models), 3, width_ratios=[1.75, 1, 1],
                        gridspec_kw={"left": 0.05, "right": 0.93, "bottom": 0.07, "top": 0.96, "wspace": 0.1,
                                     "hspace": 0.28})
    for row, blur in enumerate(models):
        t, freqs, label = _line_frequencies(blur, config)
        h = _dtft_line(psfs[blur], freqs)
        power = spectrum_at(models[blur]["spectrum"], freqs[:, 0], freqs[:, 1])
        learned = trained[blur]["kernel"][::-1, ::-1]
        ax = axes[row, 0]
        curves = (
            ("psf", np.abs(h), "|H| (the blur)", "--", 1.0),
            ("wiener_scalar", np.abs(h / (np.abs(h) ** 2 + models[blur]["scalar_nsr"])),
             f"Wiener, scalar NSR {models[blur]['scalar_nsr']:.2g}", "-", 1.1),
            ("wiener_spectral", np.abs(h * power / (np.abs(h) ** 2 * power + config.sigma**2)), "Wiener, σ²/S_x(ω)",
             "-", 1.1),
            ("learned_linear", np.abs(_dtft_line(learned, freqs)), f"learned {learned.shape[0]}×{learned.shape[0]}",
             ":", 1.8),
        )
        for key, values, name, style, lw in curves:
            ax.plot(t, np.log10(np.maximum(values, 1e-4)), style, color=_COLOURS[key], lw=lw, label=name)
        ax.set_ylim(-3, 1.7)
        ax.set_yticks([-3, -2, -1, 0, 1])
        ax.set_yticklabels(["10⁻³", "10⁻²", "10⁻¹", "1", "10"])
        ax.set_xlim(0, 0.5)
        ax.set_xlabel(label, fontsize=8)
        ax.set_ylabel("|gain|", fontsize=8)
        ax.set_title(f"{blur}: gain along a line through the spectrum", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.legend(fontsize=7, loc="lower left")
        maps = (
            (np.abs(_gain_of_kernel(learned, (size, size))), f"|G| learned ({blur})"),
            (np.abs(models[blur]["spectral_gain"]), f"|G| Wiener σ²/S_x ({blur})"),
        )
        for ax, (gain, title) in zip(axes[row, 1:], maps):
            shown = show_image(ax, np.log10(np.maximum(np.fft.fftshift(gain), 1e-3)), title, vmin=-2, vmax=1.5,
                               cmap="magma")
        box = axes[row, 2].get_position()
        bar = fig.add_axes((0.945, box.y0 + 0.1 * box.height, 0.01, 0.8 * box.height))
        fig.colorbar(shown, cax=bar, label="log10 |G|")
        bar.tick_params(labelsize=7)
    save_figure(fig, out_dir / "gains")


def _plot_convergence(config: Config, trained: dict, size_rows: list[dict], curves: dict, out_dir: Path) -> None:
    """Training curves of the linear filter, the CNN's gain over it, and PSNR against the kernel size."""
    fig = new_figure(12.0, 3.7)
    fig.set_layout_engine(None)  # fixed margins; None, not "none" (a placeholder engine that save_figure would run)
    left, middle, right = fig.subplots(1, 3, gridspec_kw={"left": 0.05, "right": 0.99, "bottom": 0.14, "top": 0.91,
                                                          "wspace": 0.27})
    styles = {"cg": ("conjugate gradients", "tab:blue"), "lbfgs": ("L-BFGS", "tab:red"), "adam": ("Adam", "tab:green")}
    for i, (blur, info) in enumerate(trained.items()):
        dash = "-" if i == 0 else "--"
        for method, (name, colour) in styles.items():
            history = info.get(f"{method}_history")
            if history is not None:
                left.plot(np.arange(len(history)), 10 * np.log10(1 / np.asarray(history)), dash, color=colour, lw=1.2,
                          label=f"{name}, {blur}")
        width = max(1, len(info["cnn_history"]) // 10)
        window = np.ones(width) / width
        ratio = (np.convolve(info["cnn_linear_history"], window, "valid")
                 / np.convolve(info["cnn_history"], window, "valid"))
        middle.plot(np.arange(len(ratio)) + width, 10 * np.log10(ratio), dash, color="tab:purple", lw=1.2, label=blur)
    optimum = 10 * np.log10(1 / trained[BLURS[0]]["cg_history"][-1])
    left.axhline(optimum, color="0.4", lw=0.6)
    left.set_ylim(optimum - 12, optimum + 1)
    left.set_title(f"linear {config.pick('kernel_size')}², training PSNR (grey: optimum)", fontsize=9)
    middle.axhline(0, color="0.4", lw=0.6)
    middle.set_title("CNN over its linear filter, same mini-batches", fontsize=9)
    middle.set_ylabel(f"gain, dB ({max(1, config.pick('cnn_steps') // 10)}-step means)", fontsize=8)
    blur = BLURS[0]
    sizes = [r["kernel_size"] for r in size_rows if r["blur"] == blur]
    for key, colour, marker in (("realistic_borders_psnr", "tab:red", "o"), ("periodic_psnr", "tab:blue", "s")):
        right.plot(sizes, [r[key] for r in size_rows if r["blur"] == blur], marker=marker, color=colour, lw=1.2,
                   label=f"learned K×K, {'real borders' if key.startswith('real') else 'periodic'}")
    realistic, periodic = curves[blur, "wiener_spectral"]
    right.axhline(periodic, color="tab:blue", ls=":", lw=1.2, label="Wiener σ²/S_x, periodic")
    right.axhline(realistic, color="tab:red", ls=":", lw=1.2, label="Wiener σ²/S_x, real borders")
    right.axhline(curves[blur, "wiener_scalar"][0], color="tab:orange", ls="--", lw=1.0,
                  label="Wiener scalar, real borders")
    right.set_title(f"{blur}: test PSNR against the kernel size", fontsize=9)
    right.set_ylabel("mean PSNR, dB", fontsize=8)
    right.set_xticks(sizes)
    for ax, xlabel in ((left, "step"), (middle, "step"), (right, "kernel size K")):
        ax.set_xlabel(xlabel, fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, lw=0.3, alpha=0.5)
        ax.legend(fontsize=7, loc="lower right")
    left.set_ylabel("training PSNR, dB", fontsize=8)
    save_figure(fig, out_dir / "convergence")


def _plot_crops(config: Config, cases: dict, estimates: dict, scores: dict, out_dir: Path) -> tuple[int, int, int]:
    """Crops of the showcase image: truth, blurred, the Wiener filters, learned linear, CNN."""
    name, size = config.showcase_image, config.pick("crop")
    shown_methods = ("blurred", "wiener_scalar", "wiener_spectral", "learned_linear", "learned_cnn")
    truth = cases[BLURS[0]][name][0]
    top, left = busiest_window(truth, size, step=8)
    window = (slice(top, top + size), slice(left, left + size))
    fig, axes, _ = _image_grid(12.0, len(estimates), len(shown_methods) + 1, colorbar=False, title_lines=2)
    for row, blur in enumerate(estimates):
        show_image(axes[row, 0], truth[window], f"{blur}: truth\n(PSNR, SSIM of the frame)")
        for ax, method in zip(axes[row, 1:], shown_methods):
            p, q = scores[blur, name, method]
            show_image(ax, np.clip(estimates[blur][name][method][window], 0, 1), f"{_SHORT[method]}\n{p:.2f} dB, {q:.3f}")
    for ax in axes.ravel():
        ax.set_axis_on()  # a thin frame, so that white crops stay visible on a white page
        for spine in ax.spines.values():
            spine.set_linewidth(0.6)
    save_figure(fig, out_dir / "crops")
    return top, left, size


# ----------------------------------------------------------------------------------------
# The experiment


def _figure_captions(config: Config, results: dict) -> list[dict]:
    k, crop = config.pick("kernel_size"), results["crop"]
    sizes = ", ".join(str(n) for n in sorted((*config.pick("sweep_sizes"), k)))
    return [
        {"stem": "kernels", "caption": f"The learned {k}×{k} filter's kernel (PyTorch's conv2d is a correlation, so it is "
         "shown flipped by 180°, as a convolution kernel), the central part of the spatial kernel of the Wiener filter with "
         "the spectral NSR σ²/S_x(ω) of the training images, their difference, and the kernel of Wiener with the oracle "
         "scalar NSR. Colours saturate at ±20 % of the Wiener kernel's peak, to show the tails."},
        {"stem": "gains", "caption": "Gain |G| along the motion direction (motion) or the horizontal axis (defocus), with "
         "the blur's |H|, and 2-D maps of log10 |G| (frequency 0 in the centre, ±0.5 cycles/pixel at the edges). The "
         "learned filter follows the spectral Wiener gain (above the scalar one at mid frequencies, below it at high ones) "
         "but not its narrow peaks next to the zeros of H."},
        {"stem": "convergence", "caption": f"Left: training PSNR (10 log10 1/loss over all valid training pixels) of the "
         f"{k}×{k} linear filter per iteration; conjugate gradients solve the least-squares problem, PyTorch's L-BFGS and "
         "Adam train on the same full-batch loss. Middle: the residual CNN's gain over its own linear filter on the same "
         f"training mini-batches. Right: mean test PSNR (motion) of the learned K×K filter for K = {sizes}, on real "
         "borders and on periodic images, against the Wiener filters (lines)."},
        {"stem": "crops", "caption": f"A {crop['size']}×{crop['size']} crop of {crop['image']} (rows {crop['top']}–"
         f"{crop['top'] + crop['size'] - 1}, columns {crop['left']}–{crop['left'] + crop['size'] - 1}): the truth, the "
         "blurred input, Wiener with the oracle scalar NSR and with σ²/S_x(ω), the learned linear filter and the linear "
         "filter + CNN. PSNR and SSIM in the titles are of the whole frame."},
    ]


def _table_captions(config: Config) -> dict[str, str]:
    k = config.pick("kernel_size")
    return {
        "summary": "Mean PSNR (dB) and SSIM over the four test images (real borders), and the PSNR difference to Wiener "
                   "with the oracle scalar NSR",
        "psnr": "PSNR (dB) per test image, blur and method (real borders, whole frame)",
        "ssim": "SSIM per test image, blur and method (real borders, whole frame)",
        "agreement": f"Relative L2 differences between filters: kernels over the central {k}×{k}, gains where |H| > "
                     f"{config.band_threshold:g} (band_fraction of the spectrum); the mean PSNR difference of the two; "
                     f"the share of the spectral Wiener kernel's L2 norm outside the central {k}×{k}",
        "periodic_control": "Mean PSNR (dB) on the real observations and on periodic ones (the truth blurred circularly "
                            "plus the same noise, every filter applied circularly): what the borders cost each filter",
        "kernel_size": "The learned filter against its size K (first blur): training PSNR, test PSNR on real and "
                       "periodic observations, and its distance to the spectral Wiener filter",
        "training": "Training of the linear filter (loss over all valid training pixels) by each optimiser, and the "
                    "CNN's gain over its linear filter on the last tenth of its training mini-batches",
    }


def _signed(values: dict[str, float], unit: str = " dB", fmt: str = "+.2f") -> str:
    """``"+0.47 dB (motion), +0.29 dB (defocus)"``."""
    return ", ".join(f"{v:{fmt}}{unit} ({b})" for b, v in values.items())


def _listed(values: dict[str, float], fmt: str) -> str:
    """``"23 %, 11 %"``: the values in blur order, without names."""
    return ", ".join(f"{v:{fmt}}" for v in values.values())


def _findings(config: Config, results: dict, agreement: list[dict], size_rows: list[dict], training: list[dict],
              scores: dict) -> list[str]:
    k = config.pick("kernel_size")
    first_blur = BLURS[0]
    mean, periodic = results["mean_psnr"], results["periodic_psnr"]
    agree = {r["blur"]: r for r in agreement if r["compared"] == "learned linear vs Wiener σ²/S_x"}

    def diff(a: str, b: str, table: dict = mean) -> dict[str, float]:
        return {blur: table[blur][a] - table[blur][b] for blur in BLURS}

    def column(table: dict, key: str) -> dict[str, float]:
        return {blur: table[blur][key] for blur in BLURS}

    over_scalar = diff("learned_linear", "wiener_scalar")
    met = "missed" if any(v < -0.3 for v in over_scalar.values()) else "met"
    if all(v > 0 for v in over_scalar.values()):
        met = "met, from above"
    first = (f"The learned {k}×{k} linear filter, trained to convergence on four other images, scored "
             f"{_signed(over_scalar)} in mean PSNR against Wiener with the best scalar NSR chosen on the test images' "
             f"truth ({_listed(results['scalar_nsr'], '.2g')}), so the target of coming within 0.3 dB of oracle Wiener "
             f"was {met}")
    if results["wiener_auto_available"]:
        first += f"; against restore.wiener(nsr=\"auto\") it scored {_signed(diff('learned_linear', 'wiener_auto'))}."
    else:
        first += "; restore.wiener(nsr=\"auto\") is not available in this restore, so it is not compared."
    peak = results["line_peaks"][first_blur]
    second = (f"Its gain matches that of the Wiener filter with the spectral NSR σ²/S_x(ω) of the training images to "
              f"{_listed(column(agree, 'gain_rel_l2_in_band'), '.0%')} (relative L2 where |H| > {config.band_threshold:g}) "
              f"and its kernel to {_listed(column(agree, 'kernel_rel_l2'), '.0%')} ({', '.join(BLURS)}), but not that "
              f"gain's narrow peaks next to the zeros of H ({first_blur}: {peak['wiener_spectral_max']:.0f}× at "
              f"{peak['at_frequency']:.3f} cycles/pixel, the learned filter at most {peak['learned_max']:.0f}×), which "
              f"need a long kernel: {_listed(column(agree, 'spectral_energy_outside_kxk'), '.0%')} of the spectral Wiener "
              f"kernel's norm lies outside its central {k}×{k}.")
    best_periodic = all(max(periodic[b], key=periodic[b].get) == "wiener_spectral" for b in BLURS)
    third = (f"On periodic observations (the theory's stationary world) Wiener with σ²/S_x(ω) scored "
             f"{_listed(column(periodic, 'wiener_spectral'), '.2f')} dB, "
             f"{'the best' if best_periodic else 'not the best for every blur'} of the three linear filters there, and the "
             f"learned {k}×{k} was {_signed(diff('learned_linear', 'wiener_spectral', periodic))} from it")
    sweep = {r["kernel_size"]: r for r in size_rows if r["blur"] == first_blur}
    largest = max(sweep)
    if largest > k:
        gap = {n: sweep[n]["periodic_psnr"] - periodic[first_blur]["wiener_spectral"] for n in (k, largest)}
        band = {n: sweep[n]["gain_rel_l2_in_band_vs_wiener_spectral"] for n in (k, largest)}
        closer = gap[largest] > gap[k] and band[largest] < band[k]
        third += (f"; at {largest}×{largest} the learned filter was {gap[largest]:+.2f} dB from it for {first_blur} "
                  f"(gain difference {band[largest]:.0%} against {band[k]:.0%} at {k}×{k}): "
                  + ("training gets closer to the spectral Wiener filter as its support grows."
                     if closer else "a larger support did not bring it closer."))
    else:
        third += "."
    spectral_cost = {b: mean[b]["wiener_spectral"] - periodic[b]["wiener_spectral"] for b in BLURS}
    learned_cost = {b: mean[b]["learned_linear"] - periodic[b]["learned_linear"] for b in BLURS}
    fragile = all(spectral_cost[b] < learned_cost[b] for b in BLURS)
    third += (f" Real borders changed that Wiener filter's PSNR by {_signed(spectral_cost)} and the learned {k}×{k}'s by "
              f"{_signed(learned_cost)}"
              + ("; the long Wiener kernel carries the border errors across the frame, the short learned one keeps them "
                 "near the edges." if fragile else "."))
    cnn = diff("learned_cnn", "learned_linear")
    ssim_gain = {b: float(np.mean([scores[b, n, "learned_cnn"][1] - scores[b, n, "learned_linear"][1] for n in IMAGES]))
                 for b in BLURS}
    gains = {(b, n): scores[b, n, "learned_cnn"][0] - scores[b, n, "learned_linear"][0] for b in BLURS for n in IMAGES}
    best = max(gains, key=gains.get)
    beats = all(mean[b]["learned_cnn"] > max(v for m, v in mean[b].items() if m != "learned_cnn") for b in BLURS)
    verdict = "beat every linear method for both blurs" if beats else "did not beat every linear method for both blurs"
    fourth = (f"The small residual CNN ({config.cnn_depth} layers of {config.cnn_channels} channels, "
              f"{config.pick('cnn_steps')} Adam steps) on top of the learned linear filter changed the mean PSNR by "
              f"{_signed(cnn)} and the SSIM by {_signed(ssim_gain, unit='', fmt='+.3f')}, most on {best[1]} with "
              f"{best[0]} blur ({gains[best]:+.2f} dB); it {verdict}.")
    rows = {(r["blur"], r["optimiser"]): r for r in training}
    lbfgs, adam = rows[first_blur, "L-BFGS (PyTorch)"], rows[first_blur, "Adam (PyTorch)"]
    fifth = (f"Conjugate gradients solved the least-squares problem (normal-equation residual below "
             f"{config.pick('cg_tol'):g} of its start) in {_listed(results['cg_iterations'], 'd')} iterations; "
             "PyTorch's L-BFGS on the same full-batch loss was still "
             f"{-lbfgs['gain_over_linear_optimum_db']:.2f} dB (training PSNR) below it after {lbfgs['steps']} steps and "
             f"Adam {-adam['gain_over_linear_optimum_db']:.2f} dB after {adam['steps']}: the blurred images' spectrum "
             "spans many decades, so gradient training is slow where the blur left mostly noise.")
    return [first, second, third, fourth, fifth]


def _observations(config: Config, psf: np.ndarray, blur_index: int, big: dict) -> dict[str, tuple]:
    """``name -> (truth, observed, periodic)``: real borders (``simulate``) and the periodic control
    (the truth blurred circularly plus the very same noise)."""
    import restore

    out = {}
    for i, (name, image) in enumerate(big.items()):
        truth, observed = simulate(image, psf, config.sigma, margin=config.margin,
                                   rng=np.random.default_rng([config.seed, 1, i, blur_index]))
        noise = observed - trim(restore.blur(image, psf, boundary="wrap"), config.margin)
        out[name] = (truth, observed, restore.blur(truth, psf, boundary="wrap") + noise)
    return out


def run(config: Config, out_dir: Path, *, started: float | None = None) -> dict:
    """Train the filters, score every method, write the tables and figures into ``out_dir``."""
    from learned.deblur import deblur_pairs

    start = time.perf_counter() if started is None else started
    psfs = make_psfs(config)
    train = _training_images(config)
    big = test_images(config.quick, margin=config.margin)
    trained, models, cases, estimates = {}, {}, {}, {}
    with _torch_threads(1):  # tiny FFTs and a small CNN: one thread is faster on 2 busy cores, and repeatable
        for j, blur in enumerate(BLURS):
            psf = psfs[blur]
            pairs = deblur_pairs(train, psf, config.sigma, rng=np.random.default_rng([config.seed, 0, j]))
            trained[blur] = _train(config, j, pairs)
            cases[blur] = _observations(config, psf, j, big)
            spectrum = training_spectrum([x for _, x in pairs], config.pick("spectrum_tile"))
            scalar_nsr = _oracle_scalar_nsr(list(cases[blur].values()), psf, config)
            models[blur] = _wiener_models(config, psf, spectrum, scalar_nsr)
            estimates[blur] = {name: _estimates(observed, psf, trained[blur], models[blur])
                               for name, (_, observed, _) in cases[blur].items()}
            log.info("%s: scored (%.1f s so far)", blur, time.perf_counter() - start)
    psnr_rows, ssim_rows, scores = _score_tables(cases, estimates)
    summary = _summary_rows(scores, models)
    agreement = _agreement(config, psfs, trained, models, scores)
    training = _training_rows(trained)
    periodic_rows, size_rows, curves = _control_studies(config, psfs, trained, models, cases, scores)

    _plot_kernels(config, trained, models, agreement, out_dir)
    _plot_gains(config, psfs, trained, models, out_dir)
    _plot_convergence(config, trained, size_rows, curves, out_dir)
    crop = _plot_crops(config, cases, estimates, scores, out_dir)
    log.info("figures done (%.1f s so far)", time.perf_counter() - start)

    results: dict[str, Any] = {
        "scalar_nsr": {b: models[b]["scalar_nsr"] for b in BLURS},
        "wiener_auto_available": all("wiener_auto" in e for by in estimates.values() for e in by.values()),
        "mean_psnr": {b: {m: round(_means(scores, b, m)[0], 4) for m in METHODS if (b, IMAGES[0], m) in scores}
                      for b in BLURS},
        "periodic_psnr": {b: {m: round(curves[b, m][1], 4) for m in _PERIODIC_METHODS} for b in BLURS},
        "cg_iterations": {b: len(trained[b]["cg_history"]) - 1 for b in BLURS},
        "cnn_training_gain_db": {b: round(_cnn_gain_db(trained[b]), 4) for b in BLURS},
        "crop": {"image": config.showcase_image, "top": crop[0], "left": crop[1], "size": crop[2]},
        "line_peaks": _line_peaks(config, psfs, trained, models),
    }
    results["figures"] = _figure_captions(config, results)
    results["table_captions"] = _table_captions(config)
    results["findings"] = _findings(config, results, agreement, size_rows, training, scores)
    write_metrics(
        out_dir,
        meta=metadata(seed=config.seed, seconds=time.perf_counter() - start),
        config=config,
        results=results,
        tables={"summary": summary, "psnr": psnr_rows, "ssim": ssim_rows, "agreement": agreement,
                "periodic_control": periodic_rows, "kernel_size": size_rows, "training": training},
    )
    return results
