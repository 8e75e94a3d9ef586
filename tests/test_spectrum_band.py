"""The band of white noise of a JPEG's spectrum (restore.spectrum.white_band)."""

from __future__ import annotations

import numpy as np
import pytest

from restore.spectrum import BAND_SHAPED, analyse, white_band


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
