"""Richardson-Lucy against a direct spatial implementation and its defining properties."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.metrics import peak_signal_noise_ratio

from conftest import smooth_image
from deconvkit.errors import InvalidParameterError
from restore import blur, defocus_psf, motion_psf, richardson_lucy

ASYM = np.array([[0.0, 0.2, 0.1], [0.1, 1.0, 0.3], [0.05, 0.0, 0.25]])


def _reference_rl(y: np.ndarray, k: np.ndarray, n: int) -> np.ndarray:
    """Textbook RL with spatial periodic convolution (scipy.ndimage), x0 = y."""
    k = k / k.sum()
    x = y.copy()
    for _ in range(n):
        ratio = y / np.maximum(ndimage.convolve(x, k, mode="wrap"), np.finfo(float).tiny)
        x = x * ndimage.correlate(ratio, k, mode="wrap")
    return x


@pytest.mark.parametrize("psf", [ASYM, motion_psf(5, 30)], ids=["asym", "motion"])
def test_matches_spatial_reference(psf, shape):
    x = smooth_image(shape, seed=1) + 0.05
    y = blur(x, psf)
    np.testing.assert_allclose(richardson_lucy(y, psf, num_iter=15, boundary="wrap"), _reference_rl(y, psf, 15), rtol=1e-9, atol=1e-12)


def test_flux_preserved_and_non_negative(dtype):
    x = (smooth_image((30, 34), seed=2) + 0.1).astype(dtype)
    k = defocus_psf(2)
    y = blur(x, k)
    out = richardson_lucy(y, k, num_iter=20, boundary="wrap")
    assert out.dtype == dtype
    assert out.min() >= 0
    assert float(out.sum()) == pytest.approx(float(y.sum()), rel=1e-4 if dtype == np.float32 else 1e-10)


def test_converges_towards_truth_without_noise():
    x = smooth_image((40, 44), seed=4) + 0.05
    k = motion_psf(7, 45)
    y = blur(x, k)
    errors = [np.abs(richardson_lucy(y, k, num_iter=n, boundary="wrap") - x).mean() for n in (1, 10, 100)]
    assert errors[0] > errors[1] > errors[2]


def test_improves_psnr_on_realistic_blur_colour():
    x = smooth_image((48, 52, 3), seed=5)
    k = motion_psf(9, 20)
    y = blur(x, k, boundary="symmetric")
    out = richardson_lucy(y, k, num_iter=30)
    assert out.shape == x.shape
    before = peak_signal_noise_ratio(x, y, data_range=1.0)
    after = peak_signal_noise_ratio(x, np.clip(out, 0, 1), data_range=1.0)
    assert after > before + 2


def test_negative_values_and_input_untouched():
    y = smooth_image((20, 20)) - 0.1
    before = y.copy()
    out = richardson_lucy(y, ASYM, num_iter=3)
    np.testing.assert_array_equal(y, before)
    assert np.isfinite(out).all() and out.min() >= 0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"num_iter": 0}, "num_iter must be >= 1"), ({"num_iter": 2.5}, "num_iter must be an integer"), ({"boundary": "zero"}, "boundary must be one of")],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        richardson_lucy(smooth_image((10, 10)), ASYM, **kwargs)


def test_integer_samples_and_out():
    x = (smooth_image((24, 30), seed=6) * 60000).astype(np.uint16)
    out = np.empty_like(x)
    richardson_lucy(x, ASYM, num_iter=5, dtype=np.float32, out=out)
    expected = richardson_lucy(x.astype(np.float32), ASYM, num_iter=5)
    assert np.abs(out.astype(np.int64) - np.clip(np.rint(expected), 0, 65535)).max() <= 1
