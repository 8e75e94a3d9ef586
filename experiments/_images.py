"""The images every experiment uses, and how they are scored.

All experiments run on the same bundled images (:mod:`data`), as grayscale float64 in
[0, 1], cropped around the centre to one non-square size so that tables line up across
experiments: two natural photos (``camera``: grass texture and edges; ``astronaut`` in
luminance: skin, fabric, a text patch), a regular texture (``brick``) and a generated chart
(``text_chart``: text at decreasing sizes). Quick mode uses smaller crops of the same
images. Both sizes are divisible by 8, so downsampling by 2 and 4 is exact.

Scores are PSNR and SSIM (scikit-image) with ``data_range=1``, measured on the estimate
clipped to [0, 1] -- what a viewer of the saved image sees.
"""

from __future__ import annotations

import numpy as np

__all__ = ["IMAGES", "image_shape", "test_images", "training_images", "trim", "simulate", "psnr", "ssim", "busiest_window"]

#: names of the bundled samples the experiments use, in table order
IMAGES = ("camera", "astronaut", "brick", "text_chart")

_FULL = (256, 320)
_QUICK = (96, 128)


def image_shape(quick: bool) -> tuple[int, int]:
    """(rows, columns) of the crops: 256×320, or 96×128 in quick mode."""
    return _QUICK if quick else _FULL


def _centre_crop(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    rows, cols = shape
    top = (image.shape[0] - rows) // 2
    left = (image.shape[1] - cols) // 2
    return np.ascontiguousarray(image[top : top + rows, left : left + cols])


def test_images(quick: bool, names: tuple[str, ...] = IMAGES, *, margin: int = 0) -> dict[str, np.ndarray]:
    """The experiments' images: name -> float64 gray crop in [0, 1].

    The crops are :func:`image_shape` plus ``margin`` pixels of the real scene on every
    side: blur such a crop, then remove the margin with :func:`trim`, and the blurred image
    has realistic borders (scene content blurred in from outside the frame), not the
    circular or mirrored borders a deblurring method may assume. A generated chart smaller
    than that is extended with its edge values (the chart's paper continues).
    """
    import data

    rows, cols = image_shape(quick)
    shape = (rows + 2 * margin, cols + 2 * margin)
    images = {}
    for name in names:
        image = data.load(name, dtype=np.float64, gray=True)
        short = [max(0, -(-(want - have) // 2)) for want, have in zip(shape, image.shape)]
        if any(short):  # a generated chart smaller than the crop: its paper continues (edge values)
            image = np.pad(image, [(short[0], short[0]), (short[1], short[1])], mode="edge")
        images[name] = _centre_crop(image, shape)
    return images


def training_images(names: tuple[str, ...], *, crop: int | None = None) -> list[np.ndarray]:
    """The images the trained models learn from (never the test images): float64 gray in
    [0, 1], whole, or their central ``crop × crop`` (at most the image) in quick mode."""
    import data

    images = [data.load(name, dtype=np.float64, gray=True) for name in names]
    if crop is None:
        return images
    return [_centre_crop(im, (min(crop, im.shape[0]), min(crop, im.shape[1]))) for im in images]


def trim(image: np.ndarray, margin: int) -> np.ndarray:
    """``image`` without ``margin`` pixels on every side (undoes ``test_images(margin=)``)."""
    return image[margin : image.shape[0] - margin, margin : image.shape[1] - margin] if margin else image


test_images.__test__ = False  # not a pytest test despite its name


def simulate(
    big: np.ndarray, psf: np.ndarray, sigma: float, *, margin: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Blur a crop with a margin, add noise, trim the margin: ``(truth, observed)``.

    Parameters
    ----------
    big : (H + 2 margin, W + 2 margin) ndarray
        Sharp crop with ``margin`` pixels of real scene on every side.
    psf : (kh, kw) ndarray
        PSF with ``kh // 2, kw // 2 <= margin``, so the trimmed frame is an exact linear
        (non-circular) convolution of the scene.
    sigma : float
        Standard deviation of the white Gaussian noise.
    margin : int
        Pixels removed on every side after blurring.
    rng : numpy.random.Generator
        Source of the noise.

    Returns
    -------
    truth, observed : (H, W) ndarray
    """
    import restore
    from deconvkit.errors import InvalidParameterError

    if max(psf.shape) // 2 > margin:
        raise InvalidParameterError(f"margin {margin} is smaller than the PSF's half size {max(psf.shape) // 2}")
    # A circular blur of the larger crop: only the outer kh // 2 (kw // 2) pixels see the
    # wrap-around, and they are trimmed away.
    observed = restore.add_noise(restore.blur(big, psf, boundary="wrap"), sigma, rng=rng)
    return trim(big, margin), trim(observed, margin)


def psnr(truth: np.ndarray, estimate: np.ndarray) -> float:
    """PSNR in dB of ``estimate`` clipped to [0, 1] against ``truth`` (data range 1)."""
    from skimage.metrics import peak_signal_noise_ratio

    return float(peak_signal_noise_ratio(truth, np.clip(estimate, 0.0, 1.0), data_range=1.0))


def ssim(truth: np.ndarray, estimate: np.ndarray) -> float:
    """SSIM (scikit-image defaults, 7×7 window) of ``estimate`` clipped to [0, 1]; 2-D images."""
    from skimage.metrics import structural_similarity

    return float(structural_similarity(truth, np.clip(estimate, 0.0, 1.0), data_range=1.0))


def busiest_window(image: np.ndarray, size: int, *, step: int) -> tuple[int, int]:
    """Top-left corner (multiples of ``step``) of the ``size × size`` window of ``image``
    with the most gradient energy: where zoomed crops show the most detail."""
    gy, gx = np.gradient(image)
    energy = gy**2 + gx**2
    best, corner = -1.0, (0, 0)
    for top in range(0, image.shape[0] - size + 1, step):
        for left in range(0, image.shape[1] - size + 1, step):
            value = float(energy[top : top + size, left : left + size].sum())
            if value > best:
                best, corner = value, (top, left)
    return corner
