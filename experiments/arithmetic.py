"""Arithmetic: what sizes and values do convolution and transposed convolution produce?

The seeds' worked examples, computed instead of asserted: output-size tables for
convolution ``(in + 2p - k) / s + 1`` and transposed convolution ``(in - 1) s - 2p + k``
(each row checked by running the layer), the 3×3-input / 2×2-kernel example (4×4, not the
5×5 an article printed), the 1-D example ``[1, 2] ⊛ᵀ [3, 4] = [3, 4, 6, 8]``, the
convolution matrix ``C`` (4×16) and its transpose, and the fact that convolving then
transposed-convolving restores the shape but not the values (``CᵀC`` has rank 4, not 16).

References: V. Dumoulin and F. Visin, "A guide to convolution arithmetic for deep
learning", arXiv:1603.07285, 2016.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from experiments._report import metadata, new_figure, save_figure, write_metrics

__all__ = ["Config", "run"]


@dataclass(frozen=True)
class Config:
    """Settings of the arithmetic experiment (nothing random; ``seed`` only recorded)."""

    seed: int = 0
    quick: bool = False
    input_size: int = 8
    kernels: tuple[int, ...] = (1, 2, 3, 4, 5)
    strides: tuple[int, ...] = (1, 2, 3)
    paddings: tuple[int, ...] = (0, 1, 2)


def _size_tables(config: Config) -> tuple[list[dict], list[dict]]:
    import learned

    conv_rows, transpose_rows = [], []
    n = config.input_size
    for k in config.kernels:
        for s in config.strides:
            for p in config.paddings:
                if n + 2 * p >= k:
                    size = learned.conv_output_size(n, k, stride=s, padding=p)
                    ran = learned.conv2d(np.zeros((1, 1, n, n)), np.zeros((1, 1, k, k)), stride=s, padding=p).shape[-1]
                    conv_rows.append({"in": n, "k": k, "s": s, "p": p, "out": size, "formula": f"floor(({n}+2*{p}-{k})/{s})+1", "checked": ran == size})
                m = n // 2
                if (m - 1) * s - 2 * p + k >= 1:
                    size = learned.conv_transpose_output_size(m, k, stride=s, padding=p)
                    ran = learned.conv_transpose2d(np.zeros((1, 1, m, m)), np.zeros((1, 1, k, k)), stride=s, padding=p).shape[-1]
                    transpose_rows.append({"in": m, "k": k, "s": s, "p": p, "out": size, "formula": f"({m}-1)*{s}-2*{p}+{k}", "checked": ran == size})
    return conv_rows, transpose_rows


def run(config: Config, out_dir: Path, *, started: float | None = None) -> dict:
    """Compute the tables and examples, write them and the figures into ``out_dir``."""
    import learned

    start = time.perf_counter() if started is None else started
    conv_rows, transpose_rows = _size_tables(config)

    # Seed example 1: 3x3 input, 2x2 kernel [[a, b], [c, d]] with a, b, c, d = 1, 10, 100, 1000,
    # so every output shows which kernel taps it sums (digit positions).
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    k = np.array([[1.0, 10.0], [100.0, 1000.0]]).reshape(1, 1, 2, 2)
    scatter = learned.conv_transpose2d(x, k)[0, 0]
    # Seed example 6 (1-D) and example 5 (the convolution matrix).
    one_d = learned.conv_transpose1d(np.array([[[1.0, 2.0]]]), np.array([[[3.0, 4.0]]]), stride=2)[0, 0]
    kernel3 = np.array([[0.0, 1.0, 2.0], [2.0, 2.0, 0.0], [0.0, 1.0, 2.0]])
    c = learned.conv_matrix(kernel3, (4, 4), sparse=False)
    patch = np.array([[3.0, 3.0, 2.0], [0.0, 0.0, 1.0], [3.0, 1.0, 2.0]])
    # Seed example 4: convolve then transposed-convolve does not give the input back.
    rng = np.random.default_rng(config.seed)
    x4 = rng.random((4, 4))
    round_trip = (c.T @ (c @ x4.ravel())).reshape(4, 4)

    results = {
        "transposed_3x3_by_2x2": scatter.tolist(),
        "transposed_3x3_by_2x2_shape": list(scatter.shape),
        "article_claimed_shape": [5, 5],
        "one_d_example": one_d.tolist(),
        "conv_matrix_shape": list(c.shape),
        "conv_matrix_transpose_shape": list(c.T.shape),
        "rank_CtC": int(np.linalg.matrix_rank(c.T @ c)),
        "round_trip_max_abs_difference": float(np.abs(round_trip - x4).max()),
        "article_e_patch_sum": float((kernel3 * patch).sum()),
        "overlap_k3_s2": learned.overlap_map(3, 2).tolist(),
        "overlap_k4_s2": learned.overlap_map(4, 2).tolist(),
    }
    examples = [
        {"example": "3x3 input, 2x2 kernel, stride 1", "claimed": "5x5 with terms in e..h", "computed": f"{scatter.shape[0]}x{scatter.shape[1]}, out[1,1] = 5a+4b+2c+1d"},
        {"example": "1-D [1,2] with [3,4], stride 2", "claimed": "[3, 4, 6, 8]", "computed": str([int(v) for v in one_d])},
        {"example": "C for 4x4 input, 3x3 kernel", "claimed": "4x16, transpose 16x4", "computed": f"{c.shape[0]}x{c.shape[1]}, transpose {c.T.shape[0]}x{c.T.shape[1]}"},
        {"example": "conv then transposed conv", "claimed": "shape restored, values not", "computed": f"rank(C^T C) = {results['rank_CtC']} of 16; max |x - C^T C x| = {results['round_trip_max_abs_difference']:.3f}"},
        {"example": "kernel (0,1,2),(2,2,0),(0,1,2) on the patch", "claimed": "12", "computed": f"{results['article_e_patch_sum']:g}"},
    ]

    fig = new_figure(10.0, 3.2)
    axes = fig.subplots(1, 3, width_ratios=[16, 4, 16])
    for ax, (title, mat) in zip(axes, [("C (4×16): conv", c), ("Cᵀ (16×4): transposed conv", c.T), ("CᵀC (16×16): not I", c.T @ c)]):
        image = ax.imshow(mat, cmap="viridis", interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, shrink=0.7)
    save_figure(fig, out_dir / "conv_matrix")
    fig = new_figure(6.0, 3.0)
    for ax, kk in zip(fig.subplots(1, 2), (3, 4)):
        counts = learned.overlap_map(kk, 2, input_size=8)
        image = ax.imshow(counts, cmap="magma", vmin=0, vmax=4, interpolation="nearest")
        ax.set_title(f"copies per output pixel, k={kk}, s=2", fontsize=9)
        ax.set_axis_off()
    fig.colorbar(image, ax=list(fig.axes), shrink=0.7)
    save_figure(fig, out_dir / "overlap_maps")

    results["figures"] = [
        {"stem": "conv_matrix", "caption": "The convolution of a 4×4 input with a 3×3 kernel as a 4×16 matrix C, "
         "its transpose (the transposed convolution, 16×4) and CᵀC, which is far from the identity: the "
         "transposed convolution restores the shape, not the values."},
        {"stem": "overlap_maps", "caption": "How many kernel copies a stride-2 transposed convolution adds into each "
         "output pixel: uneven for k=3 (4, 2, 2, 1: the checkerboard), even for k=4."},
    ]
    results["table_captions"] = {
        "conv_sizes": f"Convolution output sizes for a {config.input_size}-pixel input (each checked by running conv2d)",
        "transpose_sizes": f"Transposed-convolution output sizes for a {config.input_size // 2}-pixel input "
        "(each checked by running conv_transpose2d)",
        "seed_examples": "The seeds' worked examples: what was claimed, what deconvkit computes",
    }
    results["findings"] = [
        f"A 3×3 input and a 2×2 kernel give a {scatter.shape[0]}×{scatter.shape[1]} output at stride 1 "
        "((3 - 1)·1 + 2 = 4), not the 5×5 an article printed.",
        f"[1, 2] transposed-convolved with [3, 4] at stride 2 is {[int(v) for v in one_d]}.",
        f"C is {c.shape[0]}×{c.shape[1]} and Cᵀ {c.T.shape[0]}×{c.T.shape[1]}; CᵀC has rank "
        f"{results['rank_CtC']} of 16, so convolving and then transposed-convolving changes the values by up to "
        f"{results['round_trip_max_abs_difference']:.2f} on a random input in [0, 1].",
        f"Every one of the {len(conv_rows)} convolution and {len(transpose_rows)} transposed-convolution output "
        "sizes in the tables was checked by running the layer: "
        + ("all agree." if all(r["checked"] for r in conv_rows + transpose_rows) else "SOME DISAGREE."),
    ]
    write_metrics(
        out_dir,
        meta=metadata(seed=config.seed, seconds=time.perf_counter() - start),
        config=config,
        results=results,
        tables={"conv_sizes": conv_rows, "transpose_sizes": transpose_rows, "seed_examples": examples},
    )
    return results
