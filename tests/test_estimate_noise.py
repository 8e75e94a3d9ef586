"""estimate_noise: against scikit-image's estimate_sigma, the true sigma, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from conftest import smooth_image
from deconvkit.errors import InvalidParameterError
from restore import add_noise, blur, estimate_noise, motion_psf


def test_equals_skimage_estimate_sigma(shape, dtype, channels):
    """skimage.restoration.estimate_sigma (PyWavelets db2, 'symmetric' mode) is the reference;
    ours re-implements the one-level transform without PyWavelets, so it must agree exactly."""
    pytest.importorskip("pywt")
    from skimage.restoration import estimate_sigma

    full = shape if channels is None else (*shape, channels)
    y = add_noise(smooth_image(full, seed=5), 0.02, rng=3).astype(dtype)
    ref = estimate_sigma(y.astype(np.float64), channel_axis=None if channels is None else -1, average_sigmas=True)
    assert estimate_noise(y) == pytest.approx(float(ref), rel=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("method", ["wavelet", "immerkaer"])
@pytest.mark.parametrize("sigma", [0.005, 0.01, 0.03])
def test_within_ten_percent_of_the_true_sigma_on_a_blurred_photo(method, sigma):
    """The deblurring case: a natural photo, motion-blurred (so its finest scale is mostly
    noise), plus white Gaussian noise of known sigma. Below about 0.01 the texture left at
    the finest scale starts to count: the estimate is then too high (never too low), which
    only makes an NSR built from it more cautious."""
    sharp = data.camera()[100:356, 120:376] / 255.0
    y = add_noise(blur(sharp, motion_psf(9, 30), boundary="symmetric"), sigma, rng=7)
    est = estimate_noise(y, method=method)
    if sigma >= 0.01:
        assert est == pytest.approx(sigma, rel=0.1)
    else:
        assert sigma < est < 1.25 * sigma


def test_pure_noise_and_constant_images():
    """Independent of any implementation: on pure white noise both estimators recover sigma
    (to the sampling error of ~65k samples); a constant image has no noise at all."""
    noise = np.random.default_rng(11).standard_normal((256, 257)) * 0.2
    assert estimate_noise(noise) == pytest.approx(0.2, rel=0.03)
    assert estimate_noise(noise, method="immerkaer") == pytest.approx(0.2, rel=0.03)
    assert estimate_noise(np.full((40, 50), 0.3)) == pytest.approx(0.0, abs=1e-12)
    assert estimate_noise(np.full((40, 50), 0.3), method="immerkaer") == pytest.approx(0.0, abs=1e-12)


def test_colour_is_the_mean_of_the_channels_and_input_untouched():
    rng = np.random.default_rng(2)
    y = np.stack([add_noise(smooth_image((64, 80), seed=c), s, rng=c) for c, s in enumerate([0.01, 0.02, 0.04])], -1)
    before = y.copy()
    per_channel = [estimate_noise(y[..., c]) for c in range(3)]
    assert estimate_noise(y) == pytest.approx(np.mean(per_channel), rel=1e-12)
    np.testing.assert_array_equal(y, before)
    # Integer samples are measured on their own scale (not rescaled).
    y8 = np.clip(np.round(add_noise(np.full((128, 128), 128.0), 4.0, rng=rng)), 0, 255).astype(np.uint8)
    assert estimate_noise(y8) == pytest.approx(4.0, rel=0.1)


@pytest.mark.parametrize(
    ("image", "kwargs", "match"),
    [
        (np.zeros((2, 40)), {}, r"at least 3 x 3 pixels.*\(2, 40\)"),
        (np.zeros((8, 8)), {"method": "mad"}, "method must be one of 'wavelet', 'immerkaer', got 'mad'"),
        (np.full((8, 8), np.nan), {}, "image must be finite"),
        (np.zeros(8), {}, "image must be 2-D or 3-D"),
    ],
)
def test_bad_input(image, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        estimate_noise(image, **kwargs)


@pytest.mark.parametrize("shape", [(256, 256), (255, 301), (190, 512)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_flat_block_sigma_reads_white_noise(shape, dtype):
    """The 20th percentile of the blocks' MAD estimates, rescaled, reads the sigma of white
    Gaussian noise (the rescaling was measured on far larger draws than these)."""
    from restore.noise import flat_block_sigma

    y = (0.5 + 0.02 * np.random.default_rng(11).standard_normal(shape)).astype(dtype)
    assert flat_block_sigma(y) == pytest.approx(0.02, rel=0.06)


def test_flat_block_sigma_ignores_dense_texture():
    """Half flat, half grass, one noise: the global median reads the texture too,
    the flattest blocks read the noise."""
    from restore.noise import flat_block_sigma

    scene = np.concatenate([np.full((256, 128), 0.5), data.grass()[:256, :128] / 255.0], axis=1)
    y = add_noise(scene, 0.01, rng=2)
    assert estimate_noise(y) > 1.3 * 0.01
    assert flat_block_sigma(y) == pytest.approx(0.01, rel=0.1)


def test_flat_block_sigma_of_a_tiny_image_is_the_global_estimate():
    """Fewer than four blocks: no percentile to take."""
    from restore.noise import flat_block_sigma

    y = add_noise(np.full((40, 40), 0.5), 0.01, rng=1)
    assert flat_block_sigma(y) == estimate_noise(y)
