"""JPEG-shaped noise: the block grid that tells a JPEG (block_grid_score), the white level
(flat_block_sigma), the band of white noise (white_band) and its use by the fits."""

from __future__ import annotations

import numpy as np
import pytest

import restore
from restore.noise import flat_block_sigma
from restore.spectrum import BAND_SHAPED, BLOCK_Z, ChordProfiler, analyse, block_grid_score, white_band


def _periodogram(t: int, tiles: int, level, rng: int = 0) -> np.ndarray:
    """A centred Welch spectrum of noise whose power at radius |f| is ``level(|f|)``:
    the mean of ``tiles`` exponential draws per bin (what a periodogram of Gaussian noise is)."""
    f = (np.arange(t) - t // 2) / t
    radius = np.hypot(f[:, None], f[None, :])
    draws = np.random.default_rng(rng).exponential(size=(tiles, t, t)).mean(axis=0)
    return level(radius) * draws


@pytest.mark.parametrize("t", [256, 255, 512])
@pytest.mark.parametrize("tiles", [1, 4])
@pytest.mark.parametrize("edge", [0.3, 0.4])
def test_ends_where_the_noise_stops_being_white(t, tiles, edge):
    """White noise of sigma 0.01 up to ``edge``, a tenth of its power beyond: the band is
    ``edge`` to within one annulus (1/64 cycles/pixel)."""
    power = _periodogram(t, tiles, lambda r: np.where(r < edge, 1e-4, 1e-5))
    assert white_band(power, tiles, 0.01) == pytest.approx(edge, abs=1 / 64 + 1 / t)


def test_white_to_the_corner_keeps_the_whole_band():
    power = _periodogram(256, 1, lambda r: np.full_like(r, 1e-4))
    assert white_band(power, 1, 0.01) == 0.5


def test_detail_or_a_low_white_level_keeps_the_shaped_band():
    """Four times the white level at 0.25 cycles/pixel: nothing shows where the noise ends."""
    power = _periodogram(256, 1, lambda r: np.where(r < 0.4, 4e-4, 1e-5))
    assert white_band(power, 1, 0.01) == BAND_SHAPED


def test_a_falling_spectrum_ends_the_band_at_its_own_drop():
    """Above the white level but falling (signal and JPEG's loss together): the band ends
    where the median falls to BAND_DROP of the first annulus's, not of the white level's."""
    power = _periodogram(512, 4, lambda r: 1.8e-4 * np.exp(-(r - 0.25) / 0.05))
    band = white_band(power, 4, 0.01)
    # 1.8e-4 exp(-(f - 0.25) / 0.05) falls to 0.7 of itself at f = 0.268.
    assert 0.25 < band <= 0.29


def test_input_not_modified():
    power = _periodogram(128, 1, lambda r: np.where(r < 0.35, 1e-4, 1e-5))
    before = power.copy()
    white_band(power, 1, 0.01)
    np.testing.assert_array_equal(power, before)


def _jpeg_noise(quality: int, shape=(512, 384)) -> np.ndarray:
    import cv2

    rows, cols = np.ogrid[: shape[0], : shape[1]]
    x = 0.5 + 0.2 * np.sin(rows / 40.0) * np.cos(cols / 55.0)
    y = x + 0.01 * np.random.default_rng(0).standard_normal(shape)
    ok, buf = cv2.imencode(".jpg", np.round(np.clip(y, 0, 1) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) / 255.0


def test_jpeg_band_narrows_with_the_quality():
    """OpenCV's JPEG of noise on a smooth image: lossless-like at 98, the band narrowing
    as the quality drops (more DCT frequencies quantised to zero), never below 0.25."""
    bands = [analyse(_jpeg_noise(q)).band for q in (98, 90, 85, 75)]
    assert bands[0] == 0.5
    assert 0.3 <= bands[1] < 0.45
    assert all(a >= b for a, b in zip(bands, bands[1:]))
    assert bands[-1] == BAND_SHAPED


def test_block_grid_score_tells_jpeg_from_lossless():
    """Blurred crops, lossless (8-bit) and through JPEG at quality 90, odd and even sizes:
    only the JPEGs show the grid; integer samples score as their float values."""
    camera = restore.add_noise(restore.blur(_camera(), restore.motion_psf(7, 30)), 0.01, rng=1)
    for shape in [(256, 256), (301, 247)]:
        crop = np.round(np.clip(camera[: shape[0], : shape[1]], 0, 1) * 255) / 255
        assert block_grid_score(crop) < BLOCK_Z
        jpeg = _jpeg(crop, 90)
        assert block_grid_score(jpeg) > BLOCK_Z
        assert block_grid_score(np.round(jpeg * 255).astype(np.uint8)) == pytest.approx(block_grid_score(jpeg))


def test_block_grid_score_of_a_tiny_or_flat_image_is_zero():
    assert block_grid_score(np.zeros((64, 64))) == 0.0
    assert block_grid_score(np.random.default_rng(0).random((20, 200))) == 0.0


def test_small_noise_free_lossless_blur_is_not_taken_for_a_jpeg():
    """A 296 px lossless crop blurred by a 7 px motion, no noise: its finest wavelet scale
    is empty (the blur) while the next holds signal, and a ratio of phase means saw a block
    grid in it; the band stayed narrow and the blur was answered "none"."""
    y = np.round(np.clip(restore.blur(_camera()[200:496, 200:496], restore.motion_psf(7, 30)), 0, 1) * 255) / 255
    spectrum = analyse(y)
    assert spectrum.band == 0.5 and spectrum.white_sigma == spectrum.noise_sigma
    found = restore.estimate_blur(y)
    assert found.kind == "motion" and abs(found.motion.length - 7) <= 1 and found.white_sigma is None


def test_flat_block_sigma_ignores_clipped_areas():
    """Half the image saturated (no noise there): the flattest blocks would read 0."""
    y = 0.5 + 0.01 * np.random.default_rng(3).standard_normal((256, 256))
    y[:, :128] = 1.0
    assert flat_block_sigma(y) == pytest.approx(0.01, rel=0.1)
    assert flat_block_sigma(np.ones((64, 64))) < 1e-12


def test_chord_profiles_stop_at_the_radius():
    """Past ``radius`` bins the chords hold only the ``outside`` value; inside it an axis
    chord's mean is the constant's (oblique chords are interpolated)."""
    values = np.ones((64, 64))
    for theta in (0.0, 37.0, 90.0):
        full = ChordProfiler(values, outside=-5.0)(theta)
        cut = ChordProfiler(values, outside=-5.0, radius=16)(theta)
        np.testing.assert_allclose(cut[18:], -5.0, atol=1e-6)
        assert np.all(full[18:28] > 0.5)
        if theta != 37.0:
            np.testing.assert_allclose(cut[:17], 1.0, atol=1e-6)


def test_a_given_noise_level_keeps_the_jpeg_band():
    """fit_natural_spectrum with the level it estimated itself gives the same model: the
    band of white noise is the image's, whoever sets the level."""
    y = _jpeg(restore.add_noise(restore.blur(_camera()[:400, :400], restore.motion_psf(21, 30)), 0.01, rng=0), 90)
    psf = restore.motion_psf(21, 30)
    auto = restore.fit_natural_spectrum(y, psf)
    assert analyse(y).band < 0.5
    assert restore.fit_natural_spectrum(y, psf, noise_sigma=auto.noise_sigma) == auto


def _camera() -> np.ndarray:
    from skimage import data

    return data.camera() / 255.0


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) / 255.0


def test_white_noise_sigma_of_colour_is_that_of_the_channel_mean():
    from restore.noise import estimate_noise
    from restore.spectrum import white_noise_sigma

    rng = np.random.default_rng(4)
    rgb = 0.5 + 0.01 * rng.standard_normal((128, 96, 3))
    before = rgb.copy()
    gray = rgb.mean(axis=2)
    assert white_noise_sigma(rgb, estimate_noise(gray)) == white_noise_sigma(gray, estimate_noise(gray))
    np.testing.assert_array_equal(rgb, before)
