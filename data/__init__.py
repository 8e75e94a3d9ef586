"""Sample images by name: bundled test charts and scikit-image's photos.

``data.load("camera")`` works from a clone and from an installed package alike (files are
found with :mod:`importlib.resources`, never by a path relative to the working folder).
Provenance and licences are listed in ``data/README.md`` and by :func:`describe`.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from deconvkit.errors import InvalidParameterError

__all__ = ["names", "load", "describe", "SAMPLES"]

#: name -> (source, what it is good for, licence)
SAMPLES: dict[str, tuple[str, str, str]] = {
    "camera": ("scikit-image", "gray photo, fine texture (grass) and edges", "CC0 (Lav Varshney)"),
    "astronaut": ("scikit-image", "colour portrait, skin, text patch", "public domain (NASA)"),
    "coffee": ("scikit-image", "colour, smooth and coarse textures", "CC0 (Rachel Michetti)"),
    "chelsea": ("scikit-image", "colour, fur texture", "CC0 (Stefan van der Walt)"),
    "brick": ("scikit-image", "gray, regular texture", "CC0 (CC0Textures)"),
    "grass": ("scikit-image", "gray, fine random texture", "CC0 (DeviantArt, linolafett)"),
    "text": ("scikit-image", "gray photo of printed text", "public domain"),
    "clock": ("scikit-image", "REAL horizontal camera-shake blur (no sharp original)", "public domain (Stefan van der Walt)"),
    "siemens_star": ("bundled chart", "all directions and frequencies", "made by data/make_charts.py (project licence)"),
    "checkerboard": ("bundled chart", "8-px squares on the pixel grid", "made by data/make_charts.py (project licence)"),
    "text_chart": ("bundled chart", "text at decreasing sizes", "made by data/make_charts.py (project licence)"),
}
_SKIMAGE = {"clock": "clock"}  # our name -> skimage.data function, where they differ


def names() -> list[str]:
    """All sample names, charts last."""
    return list(SAMPLES)


def describe(name: str) -> str:
    """One line on a sample's source, use and licence."""
    source, use, licence = SAMPLES[_check(name)]
    return f"{name}: {use} ({source}; {licence})"


def _check(name: str) -> str:
    if name not in SAMPLES:
        raise InvalidParameterError(f"unknown sample {name!r}; available: {', '.join(SAMPLES)}")
    return name


def load(name: str, *, dtype: type = np.float32, gray: bool = False) -> np.ndarray:
    """Load a sample image as floats in [0, 1].

    Parameters
    ----------
    name : str
        One of :func:`names`.
    dtype : {numpy.float32, numpy.float64}, optional
        Output dtype.
    gray : bool, optional
        Convert colour to luminance (ITU-R BT.601 weights 0.299, 0.587, 0.114).

    Returns
    -------
    image : (H, W) or (H, W, 3) ndarray
        RGB order for colour; alpha, if any, is dropped.
    """
    from deconvkit.io import read_image

    source = SAMPLES[_check(name)][0]
    if source == "bundled chart":
        with resources.as_file(resources.files(__name__) / "charts" / f"{name}.png") as path:
            image = read_image(path, dtype=np.float64)
    else:
        from skimage import data as skdata

        raw = getattr(skdata, _SKIMAGE.get(name, name))()
        image = raw.astype(np.float64) / float(np.iinfo(raw.dtype).max)
    if image.ndim == 3:
        image = image[..., :3]
        if gray:
            image = image @ np.array([0.299, 0.587, 0.114])
    return np.ascontiguousarray(image, dtype=dtype)
