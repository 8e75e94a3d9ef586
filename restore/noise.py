"""Noise models for simulating observations ``y = k ⊛ x + n``."""

from __future__ import annotations

import numpy as np

from deconvkit._validation import as_float_image, as_generator, check_number

__all__ = ["add_noise"]


def add_noise(
    image: np.ndarray, sigma: float, *, rng: int | np.random.Generator | None = None
) -> np.ndarray:
    """Add white Gaussian noise of standard deviation ``sigma``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Clean image (values are not rescaled).
    sigma : float
        Noise standard deviation in the image's units (e.g. 0.01 for [0, 1] images), >= 0.
    rng : int or numpy.random.Generator, optional
        Seed or generator; pass one to make the noise reproducible.

    Returns
    -------
    noisy : ndarray
        ``image + sigma * N(0, 1)``, a new array of the policy dtype (float32 stays
        float32), not clipped.
    """
    x = as_float_image(image)
    check_number("sigma", sigma, low=0)
    gen = as_generator(rng)
    noise = gen.standard_normal(x.shape, dtype=x.dtype)
    noise *= x.dtype.type(sigma)
    return x + noise
