"""Point-spread functions (PSFs): motion, defocus (disk), Gaussian, and from files.

A PSF here is a 2-D non-negative float array that sums to 1. Its origin (the pixel that
does not move under the blur) is the pixel at index ``(kh // 2, kw // 2)``, for odd and
even sizes alike (see :mod:`restore.otf`). Kernels are *convolution* kernels: the blur is
``y = k ⊛ x`` (kernel flipped). The motion and disk kernels are point-symmetric, so for
them convolution and correlation coincide; for any other kernel they do not.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from deconvkit._validation import as_float_array, check_number
from deconvkit.errors import InvalidParameterError

__all__ = ["motion_psf", "defocus_psf", "gaussian_psf", "load_psf", "check_psf"]

_EPS = np.finfo(np.float64).eps


def motion_psf(length: float, angle: float, *, dtype: type = np.float64) -> np.ndarray:
    """Linear motion blur kernel, identical to MATLAB ``fspecial('motion', length, angle)``.

    Parameters
    ----------
    length : float
        Length of the motion in pixels, > 0. Values below 1 give the identity kernel
        (MATLAB uses ``max(1, length)``).
    angle : float
        Direction of the motion in degrees, counter-clockwise from the +x axis *as seen on
        screen* (rows grow downward). Only ``angle mod 180`` matters.
    dtype : numpy dtype, optional
        float32 or float64 (default).

    Returns
    -------
    psf : (kh, kw) ndarray
        Non-negative kernel summing to 1, odd-sized and point-symmetric about its centre.
        Horizontal (``angle = 0``) motion gives a single row, vertical a single column.

    Notes
    -----
    A segment of length ``L`` through the kernel centre at angle ``θ`` is drawn with a line
    width of one pixel: every pixel gets the weight ``max(1 - d, 0)``, where ``d`` is its
    distance to the segment, and the kernel is normalised to sum 1. This reproduces
    MATLAB's implementation exactly, including one quirk of it: a pixel counts as "beyond
    the end" of the segment when its distance from the centre is at least ``(L - 1) / 2``,
    and its distance is then measured to the segment's end point. The published value of
    ``fspecial('motion', 3, 45)``,
    ``[[0, .0754, .1883], [.0754, .3215, .0754], [.1883, .0754, 0]]``, is a test.

    OpenCV's ``deconvolution.py`` sample turns the other way: its ``--angle 135`` is our
    (and MATLAB's) 45°, and its kernel is a warped line with negative taps.

    Examples
    --------
    >>> motion_psf(3, 0)
    array([[0.33333333, 0.33333333, 0.33333333]])
    """
    check_number("length", length, low=0, low_open=True)
    check_number("angle", angle)
    length = max(1.0, float(length))
    half = (length - 1) / 2
    phi = math.radians(math.fmod(float(angle), 180.0) % 180.0)
    cosphi, sinphi = math.cos(phi), math.sin(phi)
    xsign = 1.0 if cosphi > 0 else (-1.0 if cosphi < 0 else 0.0)
    linewdt = 1.0
    # Mesh of one half of the kernel (MATLAB's meshgrid(0:xsign:sx, 0:sy)); eps keeps the
    # size right for 0 and 90 degrees.
    sx = math.trunc(half * cosphi + linewdt * xsign - length * _EPS)
    sy = math.trunc(half * sinphi + linewdt - length * _EPS)
    xs = np.arange(0, abs(sx) + 1) * (xsign if xsign != 0 else 1.0)
    ys = np.arange(0, sy + 1, dtype=np.float64)
    x, y = np.meshgrid(xs, ys)
    dist = y * cosphi - x * sinphi  # signed distance perpendicular to the line
    rad = np.hypot(x, y)
    last = (rad >= half) & (np.abs(dist) <= linewdt)
    with np.errstate(divide="ignore", invalid="ignore"):
        along = half - np.abs((x[last] + dist[last] * sinphi) / cosphi)
    dist[last] = np.sqrt(dist[last] ** 2 + along**2)
    weight = linewdt + _EPS - np.abs(dist)
    weight[weight < 0] = 0
    h_rows, h_cols = weight.shape
    h = np.zeros((2 * h_rows - 1, 2 * h_cols - 1))
    h[:h_rows, :h_cols] = np.rot90(weight, 2)
    h[h_rows - 1 :, h_cols - 1 :] = weight
    h /= h.sum() + _EPS * length * length
    if cosphi > 0:
        h = np.flipud(h)
    h = h / h.sum()  # MATLAB leaves a ~1e-15 deficit from its eps guard; we sum to 1 exactly
    return np.ascontiguousarray(h, dtype=_check_dtype(dtype))


def _disk_quadrant_area(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Area of the disk ``x² + y² <= r²`` inside ``{x >= a, y >= b}`` for ``a, b >= 0``."""
    inside = a**2 + b**2 < r**2
    xm = np.sqrt(np.clip(r**2 - b**2, 0, None))
    a_c = np.minimum(a, xm)

    def prim(x: np.ndarray) -> np.ndarray:  # ∫ sqrt(r² - x²) dx
        return 0.5 * (x * np.sqrt(np.clip(r**2 - x**2, 0, None)) + r**2 * np.arcsin(np.clip(x / r, -1, 1)))

    area = prim(xm) - prim(a_c) - b * (xm - a_c)
    return np.where(inside, area, 0.0)


def _disk_corner_area(a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Area of the disk inside ``{x >= a, y >= b}`` for any signs of ``a`` and ``b``."""
    full = math.pi * r**2

    def half_plane(t: np.ndarray) -> np.ndarray:  # area inside {x >= t}
        pos = 2 * _disk_quadrant_area(np.zeros_like(t), np.abs(t), r)
        return np.where(t >= 0, pos, full - pos)

    aa, bb = np.abs(a), np.abs(b)
    q = _disk_quadrant_area(aa, bb, r)
    # Reflect negative bounds: {x >= -|a|} = all minus {x < -|a|}, mirrored to {x > |a|}.
    return np.select(
        [(a >= 0) & (b >= 0), (a < 0) & (b >= 0), (a >= 0) & (b < 0)],
        [q, half_plane(bb) - q, half_plane(aa) - q],
        default=full - half_plane(aa) - half_plane(bb) + q,
    )


def defocus_psf(radius: float, *, dtype: type = np.float64) -> np.ndarray:
    """Uniform disk (pillbox) of the given radius, weighted by exact pixel coverage.

    Parameters
    ----------
    radius : float
        Radius of the disk in pixels, > 0 (not the diameter).
    dtype : numpy dtype, optional
        float32 or float64 (default).

    Returns
    -------
    psf : (n, n) ndarray
        ``n = 2 * ceil(radius - 0.5) + 1``, as MATLAB ``fspecial('disk', radius)``. Sums to 1.

    Notes
    -----
    Pixel ``(i, j)`` covers the square ``[j - c - ½, j - c + ½] × [i - c - ½, i - c + ½]``
    (``c = n // 2``); its weight is the area of that square inside the disk
    ``x² + y² <= radius²``, computed in closed form by inclusion--exclusion of the areas
    ``A(a, b) = |disk ∩ {x >= a, y >= b}|`` with
    ``∫ sqrt(r² - x²) dx = (x sqrt(r² - x²) + r² asin(x / r)) / 2``. The weights add up to
    ``π r²`` before normalisation. MATLAB's ``fspecial('disk')`` computes the same areas.

    OpenCV's ``deconvolution.py`` sample draws a disk whose parameter ``d`` is a diameter
    and whose centre is half a pixel off; do not mix the two.
    """
    check_number("radius", radius, low=0, low_open=True)
    r = float(radius)
    c = math.ceil(r - 0.5)
    coords = np.arange(-c, c + 1, dtype=np.float64)
    y, x = np.meshgrid(coords, coords, indexing="ij")
    x0, x1, y0, y1 = x - 0.5, x + 0.5, y - 0.5, y + 0.5
    area = (
        _disk_corner_area(x0, y0, r)
        - _disk_corner_area(x1, y0, r)
        - _disk_corner_area(x0, y1, r)
        + _disk_corner_area(x1, y1, r)
    )
    area = np.clip(area, 0, None)
    return np.ascontiguousarray(area / area.sum(), dtype=_check_dtype(dtype))


def gaussian_psf(sigma: float, *, truncate: float = 4.0, dtype: type = np.float64) -> np.ndarray:
    """Isotropic Gaussian PSF, integrated over each pixel.

    Parameters
    ----------
    sigma : float
        Standard deviation in pixels, > 0.
    truncate : float, optional
        Half-size of the kernel in units of ``sigma`` (as ``scipy.ndimage.gaussian_filter``):
        the kernel is ``2 * ceil(truncate * sigma) + 1`` pixels wide.
    dtype : numpy dtype, optional
        float32 or float64 (default).

    Returns
    -------
    psf : (n, n) ndarray
        Separable kernel summing to 1.

    Notes
    -----
    Weight of pixel ``i`` (offset ``t`` from the centre) along one axis:
    ``Φ((t + ½)/σ) - Φ((t - ½)/σ)`` with ``Φ`` the normal CDF, i.e. the Gaussian integrated
    over the pixel rather than sampled at its centre (MATLAB's ``fspecial('gaussian')``
    samples, which is wrong for ``σ`` below about one pixel). The pixel integration adds the
    box variance ``1/12`` to ``σ²``.
    """
    from scipy.special import ndtr

    check_number("sigma", sigma, low=0, low_open=True)
    check_number("truncate", truncate, low=0, low_open=True)
    half = max(1, math.ceil(truncate * float(sigma)))
    t = np.arange(-half, half + 1, dtype=np.float64)
    w = ndtr((t + 0.5) / sigma) - ndtr((t - 0.5) / sigma)
    w /= w.sum()
    return np.ascontiguousarray(np.outer(w, w), dtype=_check_dtype(dtype))


def check_psf(psf: np.ndarray, *, name: str = "psf") -> np.ndarray:
    """Validate a PSF and return it normalised to sum 1 (a new array).

    Parameters
    ----------
    psf : (kh, kw) array_like
        Non-negative, finite, not all zero.
    name : str, optional
        Name used in error messages.

    Returns
    -------
    psf : (kh, kw) ndarray
        Float copy (dtype policy of :mod:`deconvkit._validation`) divided by its sum.

    Raises
    ------
    InvalidParameterError
        If the PSF is not 2-D, has NaN/inf or negative values, or sums to zero.
    """
    arr = as_float_array(psf, name=name, ndim=(2,))
    if (arr < 0).any():
        raise InvalidParameterError(
            f"{name} must be non-negative, got minimum {float(arr.min())!r}; a PSF is a "
            "distribution of light and sums to 1"
        )
    total = float(arr.sum())
    if not total > 0:
        raise InvalidParameterError(f"{name} must have a positive sum, got all zeros (shape {arr.shape})")
    return arr / arr.dtype.type(total)


def load_psf(path: str | os.PathLike) -> np.ndarray:
    """Read a PSF from a ``.npy`` file or an image file and normalise it to sum 1.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.npy`` file holding a 2-D array, or any image :func:`deconvkit.io.read_image`
        reads (colour images are averaged over their colour channels; alpha is ignored).

    Returns
    -------
    psf : (kh, kw) float64 ndarray
        Non-negative, summing to 1, origin at ``(kh // 2, kw // 2)``.

    Raises
    ------
    deconvkit.errors.ImageReadError
        If the file is missing or unreadable.
    deconvkit.errors.InvalidParameterError
        If its values are all zero, negative or not finite.

    Notes
    -----
    Kernels published by third parties may be stored as correlation kernels or rotated:
    Levin et al. (2009) ``.mat`` kernels must be rotated by 180° to be convolution kernels.
    Check the orientation of any external kernel before use.
    """
    from deconvkit.errors import ImageReadError
    from deconvkit.io import read_image

    p = Path(path)
    name = f"PSF file {str(p)!r}"
    if p.suffix.lower() == ".npy":
        if not p.is_file():
            raise ImageReadError(f"{name} does not exist or is not a file")
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ImageReadError(f"{name} is not a readable .npy array: {exc}") from exc
    else:
        arr = read_image(p, dtype=np.float64)
        if arr.ndim == 3:
            colour = arr[..., :3] if arr.shape[2] in (3, 4) else arr[..., :1]
            arr = colour.mean(axis=2)
    return check_psf(np.asarray(arr, dtype=np.float64), name=name)


def _check_dtype(dtype: type) -> np.dtype:
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise InvalidParameterError(f"dtype must be float32 or float64, got {dt}")
    return dt
