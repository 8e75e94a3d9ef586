"""Generate the synthetic test charts bundled in ``data/charts/`` (deterministic).

Run ``python -m data.make_charts`` from the repository root to rebuild them; the tests check
that the bundled files equal what this script makes.

- ``siemens_star.png``: 36 black/white sectors, 8x supersampled (anti-aliased): every
  direction and a continuum of spatial frequencies, the classic resolution chart.
- ``checkerboard.png``: 8-pixel squares, exactly on the pixel grid: the worst case for
  ringing and for checkerboard artifacts of transposed convolutions.
- ``text_chart.png``: lines of text at decreasing sizes (OpenCV's ``putText``,
  anti-aliased), sharp edges and fine detail that readers judge at a glance. OpenCV's text
  rendering may change between its versions, so only this chart is not bit-reproducible.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

CHARTS = ("siemens_star", "checkerboard", "text_chart")
SHAPE = (256, 320)


def siemens_star(shape: tuple[int, int] = SHAPE, sectors: int = 36, supersample: int = 8) -> np.ndarray:
    """Float image in [0, 1]: a Siemens star centred in the frame, anti-aliased."""
    h, w = shape
    s = supersample
    y = (np.arange(h * s) + 0.5) / s - h / 2
    x = (np.arange(w * s) + 0.5) / s - w / 2
    angle = np.arctan2(y[:, None], x[None, :])
    star = (np.floor(angle / (2 * np.pi / sectors)) % 2).astype(np.float64)
    radius = np.hypot(y[:, None], x[None, :])
    star[radius > min(h, w) * 0.45] = 0.5
    return star.reshape(h, s, w, s).mean(axis=(1, 3))


def checkerboard(shape: tuple[int, int] = SHAPE, square: int = 8) -> np.ndarray:
    """Float image in {0.2, 0.8}: squares of ``square`` pixels (mid-range, so ringing shows)."""
    h, w = shape
    board = (np.arange(h)[:, None] // square + np.arange(w)[None, :] // square) % 2
    return np.where(board == 1, 0.8, 0.2)


def text_chart(shape: tuple[int, int] = SHAPE) -> np.ndarray:
    """Float image in [0, 1]: black text on white at several sizes."""
    import cv2

    img = np.full(shape, 255, np.uint8)
    lines = [
        (1.2, 2, "Deconvolution"),
        (0.9, 2, "Wiener vs. C^T"),
        (0.7, 1, "The quick brown fox jumps"),
        (0.55, 1, "over the lazy dog 0123456789"),
        (0.45, 1, "PSF OTF NSR |H|^2 + nsr |D|^2"),
        (0.38, 1, "transposed convolution is the adjoint"),
        (0.32, 1, "of a strided convolution, not its inverse."),
    ]
    y = 32
    for scale, thickness, text in lines:
        cv2.putText(img, text, (10, y), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, thickness, cv2.LINE_AA)
        y += int(40 * scale) + 8
    return img.astype(np.float64) / 255


def make(name: str) -> np.ndarray:
    """The chart ``name`` as a float image in [0, 1]."""
    return {"siemens_star": siemens_star, "checkerboard": checkerboard, "text_chart": text_chart}[name]()


def main(out_dir: Path | None = None) -> None:
    """Write every chart as an 8-bit PNG into ``out_dir`` (default: ``data/charts``)."""
    from deconvkit.io import write_image

    folder = out_dir or Path(__file__).resolve().parent / "charts"
    for name in CHARTS:
        write_image(folder / f"{name}.png", make(name), overwrite=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
