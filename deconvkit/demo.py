"""The demo report: classic deblurring on a real photo and on a simulated blur.

Question: how much does DFT Wiener deconvolution (and Richardson--Lucy) recover, on a real
camera-shake photo and on a simulated blur whose truth is known? Everything is seeded; the
numbers are written to ``metrics.json`` and the Markdown table is rendered from them.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

__all__ = ["DemoConfig", "run_demo"]


@dataclass(frozen=True)
class DemoConfig:
    """Frozen settings of the demo; ``seed`` drives every random draw."""

    seed: int = 0
    # scikit-image's clock(): horizontal camera motion. The length was chosen by eye from
    # the clock face's elongation (a circle smeared into a wider oval), not by a metric.
    clock_length: float = 24.0
    clock_nsr: float = 1e-2
    sim_length: float = 21.0
    sim_angle: float = 30.0
    sim_noise: float = 0.01
    lucy_iterations: int = 30
    figure_dpi: int = 120


def _psnr_ssim(truth: np.ndarray, estimate: np.ndarray) -> tuple[float, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    est = np.clip(estimate, 0, 1)
    return (
        float(peak_signal_noise_ratio(truth, est, data_range=1.0)),
        float(structural_similarity(truth, est, data_range=1.0)),
    )


def _figure(panels: list[tuple[str, np.ndarray]], path: Path, *, dpi: int, width: float = 4.0) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * len(panels), width * 0.85), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    for ax, (title, img) in zip(fig.subplots(1, len(panels)), panels):
        ax.imshow(np.clip(img, 0, 1), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    from io import BytesIO

    from deconvkit.io import write_bytes_atomic

    buffer = BytesIO()
    fig.savefig(buffer, dpi=dpi, format="png")
    write_bytes_atomic(path, buffer.getbuffer(), overwrite=True)


def run_demo(out_dir: Path, *, seed: int = 0) -> str:
    """Write the demo report into ``out_dir`` and return a short text summary."""
    from skimage import data

    import restore
    from deconvkit import __version__
    from deconvkit.io import write_image

    cfg = DemoConfig(seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    # 1. A real motion-blurred photo (no ground truth: judged by eye).
    clock = data.clock().astype(np.float32) / 255
    clock_psf = restore.motion_psf(cfg.clock_length, 0)
    clock_wiener = restore.wiener(clock, clock_psf, nsr=cfg.clock_nsr)
    write_image(out_dir / "clock_wiener.png", clock_wiener, overwrite=True)
    _figure(
        [
            ("clock(): real horizontal camera shake", clock),
            (f"Wiener, motion L={cfg.clock_length:g} px, 0°, nsr={cfg.clock_nsr:g}", clock_wiener),
        ],
        out_dir / "clock_before_after.png",
        dpi=cfg.figure_dpi,
    )

    # 2. A simulated blur with known truth: realistic borders ("valid") and noise.
    sharp = data.camera().astype(np.float64) / 255
    psf = restore.motion_psf(cfg.sim_length, cfg.sim_angle)
    observed = restore.add_noise(restore.blur(sharp, psf, boundary="valid"), cfg.sim_noise, rng=cfg.seed)
    kh, kw = psf.shape
    truth = sharp[(kh - 1) // 2 : (kh - 1) // 2 + observed.shape[0], (kw - 1) // 2 : (kw - 1) // 2 + observed.shape[1]]
    rule_nsr = cfg.sim_noise**2 / float(truth.var())
    grid = np.logspace(-4, 1, 21)

    def tuned(label: str, **kwargs) -> tuple[str, np.ndarray]:
        """The NSR of the grid with the best PSNR against the truth (an oracle choice)."""
        best = max(grid, key=lambda v: _psnr_ssim(truth, restore.wiener(observed, psf, nsr=v, **kwargs))[0])
        return f"{label}, nsr={best:.2g} (tuned)", restore.wiener(observed, psf, nsr=best, **kwargs)

    results = dict(
        [
            ("blurred + noise (input)", observed),
            (f"Wiener, symmetric, nsr=σ²/var={rule_nsr:.1e}", restore.wiener(observed, psf, nsr=rule_nsr)),
            tuned("Wiener, wrap", boundary="wrap"),
            tuned("Wiener, edgetaper", boundary="edgetaper"),
            tuned("Wiener, symmetric"),
            tuned("CLS (Laplacian), symmetric", reg="laplacian"),
            (
                f"Richardson-Lucy, {cfg.lucy_iterations} it.",
                restore.richardson_lucy(observed, psf, num_iter=cfg.lucy_iterations),
            ),
        ]
    )
    rows = []
    for name, estimate in results.items():
        psnr, ssim = _psnr_ssim(truth, estimate)
        rows.append({"method": name, "psnr_db": round(psnr, 3), "ssim": round(ssim, 4)})
    panels = [("truth", truth)] + [(f"{r['method']}\n{r['psnr_db']:.2f} dB", results[r["method"]]) for r in rows]
    _figure(panels[:4], out_dir / "simulated_motion_1.png", dpi=cfg.figure_dpi, width=3.2)
    _figure(panels[4:], out_dir / "simulated_motion_2.png", dpi=cfg.figure_dpi, width=3.2)

    metrics = {
        "meta": {
            "deconvkit": __version__,
            "python": platform.python_version(),
            "numpy": np.__version__,
            "seconds": round(time.perf_counter() - t0, 2),
        },
        "config": asdict(cfg),
        "simulated": {
            "image": "skimage.data.camera()",
            "psf": f"motion length={cfg.sim_length:g} angle={cfg.sim_angle:g}",
            "noise_sigma": cfg.sim_noise,
            "rule_nsr": rule_nsr,
            "nsr_grid": [float(v) for v in grid],
            "metrics_note": "PSNR/SSIM on [0, 1] after clipping, data_range=1, full 'valid' frame",
            "rows": rows,
        },
    }
    (out_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    table = "\n".join(f"| {r['method']} | {r['psnr_db']:.2f} | {r['ssim']:.3f} |" for r in rows)
    readme = f"""# deconvkit demo report

## A real motion-blurred photo
scikit-image's `clock()` was taken while the camera moved horizontally. Deblurred with a
{cfg.clock_length:g}-pixel horizontal motion PSF (length chosen by eye; automatic estimation
is planned) and NSR {cfg.clock_nsr:g}.

![clock](clock_before_after.png)

## A simulated blur with known truth
`camera()` blurred by a motion PSF (length {cfg.sim_length:g} px, angle {cfg.sim_angle:g}°)
with realistic borders (only fully known pixels kept) and Gaussian noise σ = {cfg.sim_noise:g}
(seed {cfg.seed}). "tuned" rows pick the NSR with the best PSNR against the truth from
21 values in [1e-4, 10] (an oracle, to show each method at its best); the rule σ²/var(truth)
is shown as well: for motion blur it is far too small, and noise is amplified.
PSNR/SSIM on [0, 1] after clipping, `data_range=1`, whole frame.

| method | PSNR (dB) | SSIM |
|---|---|---|
{table}

![simulated 1](simulated_motion_1.png)
![simulated 2](simulated_motion_2.png)
"""
    (out_dir / "README.md").write_text(readme)
    best = max(rows[1:], key=lambda r: r["psnr_db"])
    return (
        f"report written to {out_dir}/ (README.md, metrics.json, figures)\n"
        f"simulated blur: input {rows[0]['psnr_db']:.2f} dB -> best {best['method']} {best['psnr_db']:.2f} dB"
    )
