"""Two meanings: does "deconvolution" restore a blurred image, or blur it again?

The word names two different operations on the same linear operator. A blur is a
convolution ``y = C x + n`` (``C`` = convolution by the PSF ``k``). Image-restoration
"deconvolution" inverts it: the Wiener filter ``W = (CᵀC + λI)⁻¹Cᵀ``, in the DFT domain
``G = conj(H) / (|H|² + NSR)``. Deep-learning "deconvolution" is the transposed
convolution, the *adjoint* ``Cᵀ`` (a correlation with ``k``): it restores the shape, not
the values, and applied to a blurred image it blurs a second time (response ``|H|²``).

Setup. The four test images (:mod:`experiments._images`) are blurred with a motion PSF
(length 15 px, 30°, MATLAB ``fspecial('motion')``) and a defocus PSF (disk of radius 4 px),
both point-symmetric and odd-sized, on a crop with a 16-pixel margin of real scene that is
trimmed afterwards (realistic borders), and white Gaussian noise of σ = 0.01 is added
(seeded). Each observation ``y`` is then

- restored by :func:`restore.wiener` with a fixed NSR of 0.01 (the library default; the
  wiener-tuning experiment studies the choice) and its default symmetric boundary;
- transposed-convolved by :func:`learned.conv_transpose2d` with the blur as a PyTorch-style
  layer: :func:`learned.conv2d` is a cross-correlation, so the layer that blurs has the
  *flipped* PSF as weight, stride 1 and padding ``(k - 1) // 2`` (zero padding). Its
  transposed convolution is checked equal to ``restore.BlurOperator(..., boundary="zero")
  .adjoint`` (same origin convention: for an even kernel size the layer output is one
  sample longer and the trailing sample is cropped) and by the dot-test
  :func:`deconvkit.linop.dottest`.

The spectra (:func:`restore.psf_to_otf`, :func:`restore.wiener_gain`) show why: Wiener
multiplies by ``|G|`` (above 1 where ``|H|`` is small, capped at ``1/(2√NSR)``), so the blur
followed by Wiener passes ``|G·H| = |H|²/(|H|² + NSR)`` (about 1 where the signal
dominates), while the blur followed by the adjoint passes ``|H|² ≤ |H| ≤ 1``. Finally a
tiny 4×4 image blurred by an asymmetric 3×3 kernel (zero boundary) writes ``C`` (16×16),
``Cᵀ`` and ``W`` as matrices: ``W·C`` is close to the identity, ``CᵀC`` is not.

References: N. Wiener, *Extrapolation, Interpolation, and Smoothing of Stationary Time
Series*, MIT Press, 1949. R. C. Gonzalez and R. E. Woods, *Digital Image Processing*, 4th
ed., Pearson, 2018, sections 5.8-5.9. V. Dumoulin and F. Visin, "A guide to convolution
arithmetic for deep learning", arXiv:1603.07285, 2016. M. D. Zeiler, D. Krishnan, G. W.
Taylor and R. Fergus, "Deconvolutional networks", CVPR 2010, pp. 2528-2535.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from deconvkit.errors import InvalidParameterError
from experiments._images import psnr, simulate, ssim, test_images
from experiments._report import metadata, new_figure, save_figure, show_image, write_metrics

__all__ = ["Config", "run", "transposed_conv_adjoint", "spectra", "tiny_matrices", "dtft_magnitude"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Config:
    """Settings of the two-meanings experiment."""

    seed: int = 0
    quick: bool = False
    motion_length: float = 15.0
    motion_angle: float = 30.0
    defocus_radius: float = 4.0
    noise_sigma: float = 0.01
    #: Wiener noise-to-signal ratio, fixed (the library default); studied by wiener-tuning
    nsr: float = 1e-2
    #: pixels of real scene around each crop while blurring, trimmed afterwards
    margin: int = 16
    #: square DFT grid of the spectrum maps (quick mode halves it)
    spectrum_size: int = 256
    #: the tiny example: a 4×4 image and an asymmetric normalised 3×3 kernel, zero boundary
    tiny_shape: tuple[int, int] = (4, 4)
    tiny_kernel: tuple[tuple[float, ...], ...] = ((0.05, 0.10, 0.05), (0.10, 0.40, 0.20), (0.0, 0.05, 0.05))
    tiny_lambda: float = 1e-2
    figure_image: str = "camera"


# --------------------------------------------------------------------------- operators


def transposed_conv_adjoint(y: np.ndarray, psf: np.ndarray) -> np.ndarray:
    """``Cᵀ y`` for the same-size zero-boundary blur ``C x = psf ⊛ x``, by a transposed convolution.

    Parameters
    ----------
    y : (H, W) ndarray
        Image in the blur's output space.
    psf : (kh, kw) ndarray
        The blur's PSF (true-convolution kernel, origin ``(kh // 2, kw // 2)``).

    Returns
    -------
    x : (H, W) ndarray
        :func:`learned.conv_transpose2d` (stride 1, padding ``((kh - 1) // 2, (kw - 1) // 2)``)
        with weight ``psf[::-1, ::-1]``, cropped to ``(H, W)``.

    Notes
    -----
    The blur is a true convolution, while a PyTorch-style layer (:func:`learned.conv2d`)
    computes a cross-correlation, so the layer that blurs has the flipped PSF as its
    weight; its transposed convolution scatters ``out[q + m - p] += y[q] · psf[kh-1-m]``,
    which is the correlation ``Σ_m psf[m] y[q + m - kh // 2]`` when ``p = (kh - 1) // 2``:
    exactly ``BlurOperator(psf, (H, W), boundary="zero").adjoint(y)``. For odd sizes the
    output has the input's size; for an even size it is one sample longer (PyTorch pads
    symmetrically, the PSF origin ``kh // 2`` is not the centre) and the trailing sample,
    which belongs to a pixel outside the image, is cropped.
    """
    import learned

    kh, kw = psf.shape
    weight = np.ascontiguousarray(psf[::-1, ::-1])[None, None]
    out = learned.conv_transpose2d(y[None, None], weight, padding=((kh - 1) // 2, (kw - 1) // 2), method="scatter")
    return out[0, 0, : y.shape[0], : y.shape[1]]


def _blur_layer_forward(x: np.ndarray, psf: np.ndarray) -> np.ndarray:
    """The same blur as a conv2d layer (odd PSF sizes): weight ``psf[::-1, ::-1]``, same padding."""
    import learned

    kh, kw = psf.shape
    weight = np.ascontiguousarray(psf[::-1, ::-1])[None, None]
    return learned.conv2d(x[None, None], weight, padding=((kh - 1) // 2, (kw - 1) // 2))[0, 0]


def _adjoint_checks(psf: np.ndarray, shape: tuple[int, int], rng: np.random.Generator) -> dict[str, Any]:
    """conv_transpose2d vs BlurOperator.adjoint, conv2d vs BlurOperator.forward, and the dot-test."""
    from deconvkit.linop import dottest
    from restore import BlurOperator
    from restore.otf import is_point_symmetric

    op = BlurOperator(psf, shape, boundary="zero")
    x = rng.standard_normal(shape)
    y = rng.standard_normal(shape)
    lhs, rhs = dottest(op, rng=rng)
    return {
        "psf_shape": list(psf.shape),
        "point_symmetric": is_point_symmetric(psf),
        "max_abs_asymmetry": float(np.abs(psf - psf[::-1, ::-1]).max()),
        "max_abs_diff_adjoint": float(np.abs(transposed_conv_adjoint(y, psf) - op.adjoint(y)).max()),
        "max_abs_diff_forward": float(np.abs(_blur_layer_forward(x, psf) - op.forward(x)).max()),
        "dottest_lhs": lhs,
        "dottest_rhs": rhs,
        "dottest_relative_gap": abs(lhs - rhs) / max(abs(lhs), abs(rhs)),
    }


# --------------------------------------------------------------------------- images


def _psfs(config: Config) -> dict[str, np.ndarray]:
    from restore import defocus_psf, motion_psf

    return {"motion": motion_psf(config.motion_length, config.motion_angle), "defocus": defocus_psf(config.defocus_radius)}


def _score_images(config: Config, psfs: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Blur, restore and transpose-convolve every image; return table rows and the figure images."""
    from restore import wiener

    images = test_images(config.quick, margin=config.margin)
    rows, shown = [], {}
    for blur_name, psf in psfs.items():
        if max(psf.shape) // 2 > config.margin:
            raise InvalidParameterError(f"margin {config.margin} is smaller than the {blur_name} PSF's half-size {max(psf.shape) // 2}")
        for name, big in images.items():
            truth, y = simulate(big, psf, config.noise_sigma, margin=config.margin, rng=rng)
            outputs = {"blurred": y, "wiener": wiener(y, psf, nsr=config.nsr), "adjoint": transposed_conv_adjoint(y, psf)}
            row: dict[str, Any] = {"image": name, "blur": blur_name}
            row |= {f"psnr_{key}": round(psnr(truth, est), 2) for key, est in outputs.items()}
            row |= {f"ssim_{key}": round(ssim(truth, est), 4) for key, est in outputs.items()}
            rows.append(row)
            if name == config.figure_image:
                shown[blur_name] = {"truth": truth, **outputs}
    return rows, shown


def _summaries(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Per blur: mean PSNR of each output, mean change against the blurred input, counts."""
    summary = {}
    for blur_name in dict.fromkeys(r["blur"] for r in rows):
        sel = [r for r in rows if r["blur"] == blur_name]
        mean = {key: float(np.mean([r[f"psnr_{key}"] for r in sel])) for key in ("blurred", "wiener", "adjoint")}
        mean_ssim = {key: float(np.mean([r[f"ssim_{key}"] for r in sel])) for key in ("blurred", "wiener", "adjoint")}
        summary[blur_name] = {
            **{f"mean_psnr_{key}": round(value, 2) for key, value in mean.items()},
            **{f"mean_ssim_{key}": round(value, 4) for key, value in mean_ssim.items()},
            "mean_gain_wiener": round(mean["wiener"] - mean["blurred"], 2),
            "mean_gain_adjoint": round(mean["adjoint"] - mean["blurred"], 2),
            "n_images": len(sel),
            "n_wiener_better": sum(r["psnr_wiener"] > r["psnr_blurred"] for r in sel),
            "n_adjoint_worse": sum(r["psnr_adjoint"] < r["psnr_blurred"] for r in sel),
            "n_wiener_ssim_worse": sum(r["ssim_wiener"] < r["ssim_blurred"] for r in sel),
            "n_adjoint_ssim_worse": sum(r["ssim_adjoint"] < r["ssim_blurred"] for r in sel),
        }
    return summary


# --------------------------------------------------------------------------- spectra


def spectra(psf: np.ndarray, size: int, nsr: float) -> dict[str, np.ndarray]:
    """Magnitude responses on a full ``size × size`` DFT grid (not shifted: frequency 0 at ``[0, 0]``).

    Parameters
    ----------
    psf : (kh, kw) ndarray
        Normalised PSF, origin ``(kh // 2, kw // 2)``.
    size : int
        DFT grid size per axis.
    nsr : float
        Wiener noise-to-signal ratio.

    Returns
    -------
    dict of (size, size) ndarray
        ``"H"``: ``|H|`` (:func:`restore.psf_to_otf`); ``"G"``: the Wiener gain
        ``|conj(H) / (|H|² + nsr)|``; ``"H2"``: ``|H|²``, the response of the adjoint applied
        after the blur (``CᵀC``); ``"GH"``: ``|G·H|``, the response of Wiener after the blur
        (``W·C``); and ``"G_half_diff"``, a 0-d array: max difference between ``G`` and
        :func:`restore.wiener_gain` on the half spectrum it returns.
    """
    from restore import psf_to_otf, wiener_gain

    otf = psf_to_otf(psf, (size, size))
    gain = np.conj(otf) / (np.abs(otf) ** 2 + nsr)
    library = wiener_gain(psf, (size, size), nsr)
    half_diff = np.abs(gain[:, : size // 2 + 1] - library).max()
    return {"H": np.abs(otf), "G": np.abs(gain), "H2": np.abs(otf) ** 2, "GH": np.abs(gain * otf), "G_half_diff": half_diff}


def dtft_magnitude(psf: np.ndarray, freqs: np.ndarray, angle: float) -> np.ndarray:
    """``|H|`` along a direction: the DTFT of the PSF at ``f · (-sin θ, cos θ)`` (row, column) frequencies.

    ``angle`` θ is in degrees counter-clockwise from +x on screen (rows grow downward), as
    :func:`restore.motion_psf`; ``freqs`` in cycles per pixel. Exact at any frequency (not
    only on a DFT grid); equal to :func:`restore.psf_to_otf` on the grid.
    """
    kh, kw = psf.shape
    theta = math.radians(angle)
    f_row, f_col = -math.sin(theta) * freqs, math.cos(theta) * freqs
    m = np.arange(kh) - kh // 2
    n = np.arange(kw) - kw // 2
    phase = np.exp(-2j * np.pi * (f_row[:, None, None] * m[None, :, None] + f_col[:, None, None] * n[None, None, :]))
    return np.abs((phase * psf[None]).sum(axis=(1, 2)))


def _spectrum_results(spec: dict[str, np.ndarray], nsr: float) -> dict[str, float]:
    return {
        "max_H": float(spec["H"].max()),
        "min_H": float(spec["H"].min()),
        "max_G": float(spec["G"].max()),
        "bound_G": 1 / (2 * math.sqrt(nsr)),
        "max_GH": float(spec["GH"].max()),
        "max_H2": float(spec["H2"].max()),
        "fraction_G_above_1": float((spec["G"] > 1).mean()),
        "fraction_GH_above_half": float((spec["GH"] > 0.5).mean()),
        "fraction_H2_above_half": float((spec["H2"] > 0.5).mean()),
        "max_abs_diff_wiener_gain": float(spec["G_half_diff"]),
    }


# --------------------------------------------------------------------------- the tiny example


def tiny_matrices(kernel: np.ndarray, shape: tuple[int, int], lam: float, *, boundary: str = "zero") -> dict[str, np.ndarray]:
    """The blur of a small image as a matrix ``C``, its transpose, and the Wiener operator.

    Parameters
    ----------
    kernel : (kh, kw) ndarray
        Normalised PSF (true convolution).
    shape : (H, W) tuple of int
        Image shape; ``C`` is ``(H·W, H·W)`` on C-order flattened images.
    lam : float
        Regularisation λ of ``W = (CᵀC + λI)⁻¹Cᵀ``.
    boundary : str, optional
        :class:`restore.BlurOperator` boundary; default ``"zero"``.

    Returns
    -------
    dict of ndarray
        ``"C"`` (column ``j`` = the operator applied to the ``j``-th unit image), ``"Ct"``,
        ``"W"``, ``"WC"`` = ``W @ C`` and ``"CtC"`` = ``Cᵀ @ C``.
    """
    from restore import BlurOperator

    op = BlurOperator(kernel, shape, boundary=boundary)
    n = shape[0] * shape[1]
    c = np.stack([op.forward(e.reshape(shape)).ravel() for e in np.eye(n)], axis=1)
    w = np.linalg.solve(c.T @ c + lam * np.eye(n), c.T)
    return {"C": c, "Ct": c.T.copy(), "W": w, "WC": w @ c, "CtC": c.T @ c}


def _tiny_rows(mats: dict[str, np.ndarray]) -> list[dict]:
    eye = np.eye(mats["C"].shape[0])
    rows = []
    for label, key in (("C", "C"), ("CᵀC", "CtC"), ("W·C", "WC")):
        p = mats[key]
        off = p - np.diag(np.diag(p))
        rows.append({"matrix": label, "fro_minus_I": round(float(np.linalg.norm(p - eye)), 4),
                     "min_diag": round(float(np.diag(p).min()), 4), "max_diag": round(float(np.diag(p).max()), 4),
                     "max_abs_offdiag": round(float(np.abs(off).max()), 4)})
    return rows


# --------------------------------------------------------------------------- figures


def _psf_canvas(psf: np.ndarray, size: int) -> np.ndarray:
    """The PSF centred on a ``size × size`` zero canvas (display only)."""
    canvas = np.zeros((size, size))
    top, left = (size - psf.shape[0]) // 2, (size - psf.shape[1]) // 2
    canvas[top : top + psf.shape[0], left : left + psf.shape[1]] = psf
    return canvas


def _figure_images(shown: dict, psfs: dict[str, np.ndarray], labels: dict[str, str], out_dir: Path) -> None:
    fig = new_figure(12.0, 5.0)
    axes = fig.subplots(len(shown), 5, width_ratios=[0.8, 1, 1, 1, 1])
    size = max(max(p.shape) for p in psfs.values()) + 2
    for row, (blur_name, imgs) in zip(axes, shown.items()):
        psf = psfs[blur_name]
        show_image(row[0], _psf_canvas(psf, size), f"{labels[blur_name]}\n{psf.shape[0]}×{psf.shape[1]} PSF",
                   vmax=float(psf.max()), cmap="magma")
        show_image(row[1], imgs["truth"], "sharp")
        for ax, key, title in zip(row[2:], ("blurred", "wiener", "adjoint"),
                                  ("blurred + noise", "Wiener (W y)", "transposed conv (Cᵀy)")):
            t = imgs["truth"]
            show_image(ax, imgs[key], f"{title}\n{psnr(t, imgs[key]):.2f} dB, SSIM {ssim(t, imgs[key]):.3f}")
    save_figure(fig, out_dir / "images")


def _spectrum_extent(size: int) -> tuple[float, float, float, float]:
    lo = (-(size // 2) - 0.5) / size
    hi = (size - size // 2 - 0.5) / size
    return (lo, hi, hi, lo)  # rows grow downward: the top row is the most negative row frequency


def _figure_spectra(specs: dict, profiles: dict, angles: dict, labels: dict, nsr: float, out_dir: Path) -> None:
    from matplotlib.colors import TwoSlopeNorm

    cap_db = 20 * math.log10(1 / (2 * math.sqrt(nsr)))
    norm = TwoSlopeNorm(vmin=-40.0, vcenter=0.0, vmax=max(cap_db, 1.0))
    fig = new_figure(12.0, 5.4)
    axes = fig.subplots(len(specs), 5, width_ratios=[1, 1, 1, 1, 1.35])
    titles = {"H": "|H|: blur", "G": "|G|: Wiener gain", "H2": "|H|²: adjoint after blur (CᵀC)", "GH": "|G·H|: Wiener after blur"}
    for i, (row, (blur_name, spec)) in enumerate(zip(axes, specs.items())):
        size = spec["H"].shape[0]
        for ax, key in zip(row[:4], titles):
            db = 20 * np.log10(np.maximum(np.fft.fftshift(spec[key]), 1e-12))
            image = ax.imshow(db, cmap="RdBu_r", norm=norm, extent=_spectrum_extent(size), interpolation="nearest")
            ax.set_title(f"{labels[blur_name]}\n{titles[key]}" if key == "H" else titles[key], fontsize=8.5)
            ax.set_xticks([-0.4, 0, 0.4] if i == len(specs) - 1 else [])  # inside the extent: no margin strip
            ax.set_yticks([-0.4, 0, 0.4] if key == "H" else [])
            ax.tick_params(labelsize=7)
        theta = math.radians(angles[blur_name])
        row[0].plot([0, 0.5 * math.cos(theta)], [0, -0.5 * math.sin(theta)], color="k", lw=1.0, ls="--",
                    scalex=False, scaley=False)
        _profile_panel(row[4], profiles[blur_name], angles[blur_name], nsr)
    axes[-1][0].set_xlabel("cycles/pixel", fontsize=8)
    bar = fig.colorbar(image, ax=[row[3] for row in axes], shrink=0.8, pad=0.02, ticks=[-40, -30, -20, -10, 0, 10])
    bar.set_label("20·log10(magnitude), dB", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    fig.legend(*axes[0][4].get_legend_handles_labels(), loc="outside lower right", ncols=5, fontsize=8)
    save_figure(fig, out_dir / "spectra")


def _profile_panel(ax: Any, profile: dict[str, np.ndarray], angle: float, nsr: float) -> None:
    f, h = profile["f"], profile["H"]
    g = h / (h**2 + nsr)

    def db(v: np.ndarray) -> np.ndarray:
        return 20 * np.log10(np.maximum(v, 1e-12))

    ax.plot(f, db(h), color="k", label="|H| blur")
    ax.plot(f, db(g), color="tab:red", label="|G| Wiener")
    ax.plot(f, db(h**2), color="tab:blue", label="|H|² adjoint")
    ax.plot(f, db(g * h), color="tab:orange", ls="--", label="|G·H|")
    ax.axhline(20 * math.log10(1 / (2 * math.sqrt(nsr))), color="tab:red", lw=0.8, ls=":", label="cap 1/(2√NSR)")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylim(-80, 20)
    ax.set_xlim(0, 0.5)
    ax.set_yticks([-80, -60, -40, -20, 0, 20])  # fixed ticks: automatic ones cost layout time
    ax.set_xticks([0, 0.1, 0.2, 0.3, 0.4, 0.5])
    ax.set_title(f"along {angle:g}° (dashed line), dB", fontsize=8.5)
    ax.set_xlabel("cycles/pixel", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.grid(True, lw=0.4, alpha=0.5)


def _figure_tiny(kernel: np.ndarray, mats: dict[str, np.ndarray], lam: float, shape: tuple[int, int], out_dir: Path) -> None:
    from matplotlib.collections import LineCollection

    fig = new_figure(10.0, 6.4)
    axes = fig.subplots(2, 3)
    n = mats["C"].shape[0]

    def heat(ax: Any, mat: np.ndarray, title: str, vmax: float) -> Any:
        image = ax.imshow(mat, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        if mat.shape[0] == n:  # block boundaries (one block per image row), as one artist: many are slow to lay out
            edges = np.arange(shape[1], n, shape[1]) - 0.5
            segments = [[(-0.5, e), (n - 0.5, e)] for e in edges] + [[(e, -0.5), (e, n - 0.5)] for e in edges]
            ax.add_collection(LineCollection(segments, colors="0.6", linewidths=0.5), autolim=False)
        return image

    top = float(np.abs(kernel).max())
    heat(axes[0, 0], kernel, "kernel k (3×3, sums to 1)", top)
    for (i, j), value in np.ndenumerate(kernel):
        axes[0, 0].text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9,
                        color="white" if abs(value) > 0.6 * top else "black")
    heat(axes[0, 1], mats["C"], f"C ({n}×{n}): blur, zero boundary", top)
    image = heat(axes[0, 2], mats["Ct"], "Cᵀ: transposed conv (adjoint)", top)
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, ticks=np.linspace(-top, top, 5))
    w_max = float(math.ceil(np.abs(mats["W"]).max()))
    image = heat(axes[1, 0], mats["W"], f"W = (CᵀC + λI)⁻¹Cᵀ, λ = {lam:g}", w_max)
    fig.colorbar(image, ax=axes[1, 0], shrink=0.8, ticks=np.linspace(-w_max, w_max, 5))
    eye = np.eye(n)
    heat(axes[1, 1], mats["WC"], f"W·C: Frobenius ‖W·C − I‖ = {np.linalg.norm(mats['WC'] - eye):.2f}", 1.0)
    image = heat(axes[1, 2], mats["CtC"], f"Cᵀ·C: Frobenius ‖CᵀC − I‖ = {np.linalg.norm(mats['CtC'] - eye):.2f}", 1.0)
    fig.colorbar(image, ax=list(axes[1, 1:]), shrink=0.8, ticks=np.linspace(-1, 1, 5))
    save_figure(fig, out_dir / "tiny_matrices")


# --------------------------------------------------------------------------- run


def _findings(config: Config, summary: dict, checks: dict, spec_res: dict, tiny: dict) -> list[str]:
    m, d = summary["motion"], summary["defocus"]
    n_pairs = m["n_images"] + d["n_images"]

    def signed(v: float) -> str:
        return f"{v:+.2f}"

    def mean_ssim(key: str) -> float:
        return (m[f"mean_ssim_{key}"] * m["n_images"] + d[f"mean_ssim_{key}"] * d["n_images"]) / n_pairs

    worst_adj = max(c["max_abs_diff_adjoint"] for c in checks.values())
    worst_gap = max(c["dottest_relative_gap"] for c in checks.values())
    if all(c["point_symmetric"] for c in checks.values()):
        flip = "which changes nothing for these point-symmetric PSFs"
    else:
        flip = "which matters here: not every PSF is point-symmetric"
    sm, sd = spec_res["motion"], spec_res["defocus"]
    ssim_w = m["n_wiener_ssim_worse"] + d["n_wiener_ssim_worse"]
    ssim_a = m["n_adjoint_ssim_worse"] + d["n_adjoint_ssim_worse"]
    return [
        f"Wiener deconvolution (fixed NSR {config.nsr:g}) changed the mean PSNR over the {m['n_images']} images "
        f"from {m['mean_psnr_blurred']:.2f} to {m['mean_psnr_wiener']:.2f} dB ({signed(m['mean_gain_wiener'])} dB) for the "
        f"motion blur and from {d['mean_psnr_blurred']:.2f} to {d['mean_psnr_wiener']:.2f} dB "
        f"({signed(d['mean_gain_wiener'])} dB) for the defocus blur, and beat the blurred input on "
        f"{m['n_wiener_better'] + d['n_wiener_better']} of {n_pairs} image/blur pairs.",
        f"The transposed convolution with the same kernel (the adjoint Cᵀ) changed the mean PSNR by "
        f"{signed(m['mean_gain_adjoint'])} dB (motion) and {signed(d['mean_gain_adjoint'])} dB (defocus) and lowered it "
        f"on {m['n_adjoint_worse'] + d['n_adjoint_worse']} of {n_pairs} pairs: after the blur it passes |H|², which "
        f"exceeds 0.5 on only {100 * sm['fraction_H2_above_half']:.1f}% (motion) and "
        f"{100 * sd['fraction_H2_above_half']:.1f}% (defocus) of the frequencies.",
        f"SSIM {'ranks Wiener differently' if 2 * ssim_w > n_pairs else 'agrees on Wiener'}: at this NSR Wiener "
        f"lowered SSIM on {ssim_w} of {n_pairs} pairs (mean {mean_ssim('blurred'):.3f} blurred, "
        f"{mean_ssim('wiener'):.3f} Wiener; SSIM weighs the noise that Wiener amplifies, σ = {config.noise_sigma:g}), and "
        f"the adjoint lowered it on {ssim_a} of {n_pairs} (mean {mean_ssim('adjoint'):.3f}), its second blur also "
        "averaging the noise; the wiener-tuning experiment studies the NSR.",
        f"The Wiener gain |G| exceeds 1 on {100 * sm['fraction_G_above_1']:.1f}% (motion) and "
        f"{100 * sd['fraction_G_above_1']:.1f}% (defocus) of the frequencies, peaking at {sm['max_G']:.2f} and "
        f"{sd['max_G']:.2f} within the cap 1/(2√NSR) = {sm['bound_G']:.2f}, and blur followed by Wiener passes "
        f"|G·H| > 0.5 on {100 * sm['fraction_GH_above_half']:.1f}% and {100 * sd['fraction_GH_above_half']:.1f}% of them.",
        f"learned.conv_transpose2d (weight = the PSF rotated by 180°, {flip}; stride 1, zero padding) equals "
        f"restore.BlurOperator(boundary='zero').adjoint to a max difference of {worst_adj:.1e}, and the dot-test "
        f"⟨Cx, y⟩ = ⟨x, Cᵀy⟩ holds to a relative gap of {worst_gap:.1e}: the blur and the transposed convolution "
        "are one linear operator pair.",
        f"On the {config.tiny_shape[0]}×{config.tiny_shape[1]} example (asymmetric 3×3 kernel, zero boundary, "
        f"cond(C) = {tiny['cond_C']:.2f}) the Wiener operator W with λ = {tiny['lambda']:g} is at Frobenius distance "
        f"‖W·C − I‖ = {tiny['fro_WC_minus_I']:.3f} from undoing C, while ‖CᵀC − I‖ = {tiny['fro_CtC_minus_I']:.3f} "
        f"(‖I‖ = {tiny['fro_I']:.0f}): W nearly inverts C, Cᵀ does not.",
    ]


def run(config: Config, out_dir: Path, *, started: float | None = None) -> dict:
    """Blur, restore and transpose-convolve the images; draw the spectra and the tiny example."""
    start = time.perf_counter() if started is None else started
    rng = np.random.default_rng(config.seed)
    psfs = _psfs(config)
    labels = {"motion": f"motion {config.motion_length:g} px, {config.motion_angle:g}°",
              "defocus": f"defocus, radius {config.defocus_radius:g} px"}
    angles = {"motion": config.motion_angle, "defocus": 0.0}

    log.info("two-meanings: blurring, Wiener and transposed convolution on the images")
    rows, shown = _score_images(config, psfs, rng)
    summary = _summaries(rows)
    shape = next(iter(shown.values()))["truth"].shape
    checks = {name: _adjoint_checks(psf, shape, rng) for name, psf in psfs.items()}

    log.info("two-meanings: spectra and the tiny example")
    size = config.spectrum_size // 2 if config.quick else config.spectrum_size
    specs = {name: spectra(psf, size, config.nsr) for name, psf in psfs.items()}
    spec_res = {name: _spectrum_results(spec, config.nsr) for name, spec in specs.items()}
    freqs = np.linspace(0.0, 0.5, 201)
    profiles = {name: {"f": freqs, "H": dtft_magnitude(psf, freqs, angles[name])} for name, psf in psfs.items()}
    kernel = np.array(config.tiny_kernel, dtype=np.float64)
    mats = tiny_matrices(kernel, config.tiny_shape, config.tiny_lambda)
    n = mats["C"].shape[0]
    tiny = {
        "lambda": config.tiny_lambda,
        "boundary": "zero",
        "kernel": kernel.tolist(),
        "C": mats["C"].tolist(),
        "W": mats["W"].tolist(),
        "cond_C": float(np.linalg.cond(mats["C"])),
        "fro_WC_minus_I": float(np.linalg.norm(mats["WC"] - np.eye(n))),
        "fro_CtC_minus_I": float(np.linalg.norm(mats["CtC"] - np.eye(n))),
        "fro_I": float(np.sqrt(n)),
    }

    log.info("two-meanings: figures")
    _figure_images(shown, psfs, labels, out_dir)
    _figure_spectra(specs, profiles, angles, labels, config.nsr, out_dir)
    _figure_tiny(kernel, mats, config.tiny_lambda, config.tiny_shape, out_dir)

    results = {
        "psf_shapes": {name: list(psf.shape) for name, psf in psfs.items()},
        "summary": summary,
        "adjoint_checks": checks,
        "spectra": spec_res,
        "spectrum_size": size,
        "tiny": tiny,
    }
    results["figures"] = [
        {"stem": "images", "caption": f"The {config.figure_image} image blurred by each PSF with noise σ = "
         f"{config.noise_sigma:g}, restored by Wiener deconvolution (NSR {config.nsr:g}) and transposed-convolved "
         "with the same kernel (the adjoint Cᵀ, zero padding: hence the darker frame). Wiener sharpens; the "
         "transposed convolution blurs a second time. PSNR/SSIM against the sharp image."},
        {"stem": "spectra", "caption": f"Magnitude responses on a {size}×{size} DFT grid, centred, in dB (red boosts, "
         "blue attenuates, white = 1): the blur |H|, the Wiener gain |G| (boosts where |H| is small, up to "
         f"1/(2√NSR) = {1 / (2 * math.sqrt(config.nsr)):.1f}), the adjoint after the blur |H|² (never above |H|) and "
         "Wiener after the blur |G·H| (near 1 where the signal dominates). Right: the same along the dashed direction."},
        {"stem": "tiny_matrices", "caption": f"A {config.tiny_shape[0]}×{config.tiny_shape[1]} image blurred by an "
         "asymmetric 3×3 kernel (zero boundary) as a matrix C, its transpose (the transposed convolution), the Wiener "
         f"operator W with λ = {config.tiny_lambda:g}, and the products with C: W·C is close to the identity, "
         "CᵀC is a second, wider blur. Grey lines separate image rows."},
    ]
    results["table_captions"] = {
        "scores": f"PSNR (dB) and SSIM of the blurred + noisy image (σ = {config.noise_sigma:g}), the Wiener restoration "
        f"(NSR {config.nsr:g}) and the transposed convolution with the same kernel, per image and blur",
        "adjoint_checks": "The transposed convolution against restore.BlurOperator(boundary='zero'): max differences of the "
        "adjoint and of the forward conv2d layer, and the dot-test gap",
        "tiny_example": f"The {config.tiny_shape[0]}×{config.tiny_shape[1]} example: distance of C, CᵀC and W·C "
        f"(λ = {config.tiny_lambda:g}) from the identity",
    }
    results["findings"] = _findings(config, summary, checks, spec_res, tiny)
    check_rows = [{"blur": name, "psf_shape": f"{c['psf_shape'][0]}x{c['psf_shape'][1]}",
                   "max_abs_diff_adjoint": c["max_abs_diff_adjoint"], "max_abs_diff_forward": c["max_abs_diff_forward"],
                   "dottest_relative_gap": c["dottest_relative_gap"]} for name, c in checks.items()]
    write_metrics(
        out_dir,
        meta=metadata(seed=config.seed, seconds=time.perf_counter() - start),
        config=config,
        results=results,
        tables={"scores": rows, "adjoint_checks": check_rows, "tiny_example": _tiny_rows(mats)},
    )
    return results
