"""Automatic NSR: the power-law fit, the spectral NSR on the Wiener grid, wiener(nsr="auto")
against fixed NSRs, the array-NSR path of the filter, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from skimage.metrics import peak_signal_noise_ratio

from deconvkit.errors import InvalidParameterError
from restore import (
    NaturalSpectrum,
    add_noise,
    blur,
    defocus_psf,
    estimate_nsr,
    fit_natural_spectrum,
    motion_psf,
    spectral_nsr,
    wiener,
)
from restore.nsr import boundary_nsr
from restore.wiener import _gain

CAMERA = data.camera() / 255.0


def power_law_image(n: int, gamma: float, amplitude: float, seed: int) -> np.ndarray:
    """A stationary random image whose power spectrum is ``amplitude |f|^-gamma`` per DFT bin
    (white noise of unit variance, filtered by the square root of that spectrum)."""
    rng = np.random.default_rng(seed)
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij"))
    f[0, 0] = 1.0
    return np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, n))) * np.sqrt(amplitude * f**-gamma)).real


@pytest.mark.parametrize("gamma", [1.5, 2.0, 2.5])
def test_power_law_is_recovered_through_the_blur(gamma):
    """An image drawn with a known power law, blurred (realistic borders) and noisy: the fit
    undoes the blur's |H|² and the noise and finds the exponent and amplitude."""
    amplitude = 1e-4
    scene = power_law_image(320, gamma, amplitude, seed=int(10 * gamma))
    psf = defocus_psf(3.0)
    y = add_noise(blur(scene, psf, boundary="valid"), 0.01, rng=1)
    model = fit_natural_spectrum(y, psf)
    assert model.fitted
    assert model.exponent == pytest.approx(gamma, abs=0.25)
    assert model.amplitude == pytest.approx(amplitude, rel=0.5)
    assert model.noise_sigma == pytest.approx(0.01, rel=0.1)
    assert model.boundary == pytest.approx(boundary_nsr(y.shape, psf.shape))


def test_spectral_nsr_on_the_wiener_grid():
    model = NaturalSpectrum(amplitude=2e-4, exponent=2.0, noise_sigma=0.01, boundary=1e-3)
    nsr = spectral_nsr((37, 50), model, dtype=np.float32)
    assert nsr.shape == (37, 26) and nsr.dtype == np.float32
    assert nsr[0, 0] == pytest.approx(1e-3)  # zero frequency: the boundary term only
    f = np.hypot(3 / 37, 5 / 50)
    assert nsr[3, 5] == pytest.approx(1e-4 / (2e-4 * f**-2.0) + 1e-3, rel=1e-6)
    assert nsr[-3, 5] == pytest.approx(nsr[3, 5], rel=1e-6)  # negative row frequencies
    assert np.all(np.diff(nsr[0]) > 0)  # grows with frequency


def test_boundary_term_formula():
    assert boundary_nsr((400, 300), (11, 21)) == pytest.approx(0.08 * (21 * 400 + 11 * 300) / (400 * 300))
    assert boundary_nsr((3000, 4000), (21, 21)) < 1e-3  # a 12 MP photo: negligible


def _realistic(psf: np.ndarray, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    kh, kw = psf.shape
    scene = CAMERA[60 : 60 + 300 + kh - 1, 80 : 80 + 300 + kw - 1]
    y = add_noise(blur(scene, psf, boundary="valid"), 0.01, rng=seed)
    truth = scene[(kh - 1) // 2 :][:300, (kw - 1) // 2 :][:, :300]
    return y, truth


def _psnr(truth: np.ndarray, est: np.ndarray) -> float:
    return peak_signal_noise_ratio(truth[16:-16, 16:-16], np.clip(est, 0, 1)[16:-16, 16:-16], data_range=1.0)


@pytest.mark.parametrize("psf", [motion_psf(21, 30), motion_psf(15, 0), defocus_psf(5)], ids=["motion30", "motion0", "disk5"])
def test_auto_nsr_is_close_to_the_best_fixed_nsr_and_beats_the_default(psf):
    y, truth = _realistic(psf)
    before = y.copy()
    fixed = {v: _psnr(truth, wiener(y, psf, nsr=v)) for v in 10.0 ** np.arange(-4, -0.9, 0.5)}
    auto = _psnr(truth, wiener(y, psf, nsr="auto"))
    assert auto > _psnr(truth, wiener(y, psf)) - 0.1  # the documented default, nsr=0.01
    assert auto > max(fixed.values()) - 0.5
    np.testing.assert_array_equal(y, before)


def _jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    import cv2

    ok, buf = cv2.imencode(".jpg", np.round(np.clip(image, 0, 1) * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED) / 255.0


@pytest.mark.parametrize("psf", [motion_psf(21, 30), defocus_psf(5)], ids=["motion30", "disk5"])
def test_auto_nsr_under_jpeg_uses_the_white_noise_level(psf):
    """JPEG at quality 90 quantises most of the noise above ~0.3 cycles/px to zero, so the
    finest wavelet scale reads a fraction of it; sized by that, the NSR under-regularises.
    The fit takes the white part's level: it is near the true noise and deblurs about as
    well as the best fixed NSR, better than the NSR sized by the finest scale."""
    from restore import estimate_noise

    y, truth = _realistic(psf)
    y = _jpeg(y, 90)
    model = fit_natural_spectrum(y, psf)
    finest = estimate_noise(y)
    assert finest < 0.5 * model.noise_sigma  # the finest scale misses most of the noise
    assert 0.6 < model.noise_sigma / 0.01 < 1.5
    fixed = max(_psnr(truth, wiener(y, psf, nsr=v)) for v in 10.0 ** np.arange(-4, -0.9, 0.25))
    auto = _psnr(truth, wiener(y, psf, nsr="auto"))
    by_finest = _psnr(truth, wiener(y, psf, nsr=fit_natural_spectrum(y, psf, noise_sigma=finest)))
    assert auto > fixed - 0.3
    assert auto > by_finest


def test_auto_dtypes_laplacian_and_units():
    psf = motion_psf(11, 60)
    y, _ = _realistic(psf, seed=3)
    out32 = wiener(y.astype(np.float32), psf, nsr="auto")
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, wiener(y, psf, nsr="auto"), atol=2e-3)
    # The NSR is a ratio: the same image on a 0..255 scale gives the same filter.
    np.testing.assert_allclose(wiener(255 * y, psf, nsr="auto") / 255, wiener(y, psf, nsr="auto"), atol=1e-6)
    lap = wiener(y, psf, nsr="auto", reg="laplacian")
    assert np.isfinite(lap).all() and lap.shape == y.shape
    colour = np.stack([y, y, y], axis=-1)
    np.testing.assert_allclose(wiener(colour, psf, nsr="auto")[..., 1], wiener(y, psf, nsr="auto"), atol=1e-9)


def test_a_fitted_model_is_auto_without_a_second_fit(monkeypatch):
    """wiener(nsr=fit_natural_spectrum(y, k)) is wiener(nsr="auto"), and does not fit again."""
    import restore.nsr

    psf = motion_psf(13, 20)
    y, _ = _realistic(psf, seed=6)
    model = fit_natural_spectrum(y, psf)
    for reg in ("identity", "laplacian"):
        expected = wiener(y, psf, nsr="auto", reg=reg)
        with monkeypatch.context() as m:
            m.setattr(restore.nsr, "fit_natural_spectrum", lambda *a, **k: pytest.fail("fitted again"))
            np.testing.assert_array_equal(wiener(y, psf, nsr=model, reg=reg), expected)


def test_estimate_nsr_is_a_positive_unit_free_constant():
    psf = defocus_psf(4)
    y, _ = _realistic(psf, seed=5)
    nsr = estimate_nsr(y, psf)
    assert isinstance(nsr, float) and 1e-6 < nsr < 1
    assert estimate_nsr(255 * y, psf) == pytest.approx(nsr, rel=1e-3)
    # Any magnitude: the float32 FFTs of the analysis work on a rescaled copy (no overflow at 1e20).
    assert estimate_nsr(1e20 * y, psf) == pytest.approx(nsr, rel=1e-3)
    assert estimate_nsr(1e-20 * y, psf) == pytest.approx(nsr, rel=1e-3)
    assert estimate_nsr(y, psf, noise_sigma=0.05) > nsr  # more noise, more regularisation


def test_array_nsr_path_equals_the_scalar_path():
    """The gain built with a constant NSR array equals the one built with the scalar, for a
    point-symmetric PSF (real gain) and an asymmetric one (complex gain)."""
    asymmetric = np.random.default_rng(0).random((4, 6))
    asymmetric /= asymmetric.sum()
    for psf in (motion_psf(9, 20), asymmetric):
        for dt in (np.dtype(np.float32), np.dtype(np.float64)):
            shape = (40, 54)
            scalar = _gain(psf.astype(dt), shape, 0.02, "identity", dt, 1)
            array = _gain(psf.astype(dt), shape, np.full((40, 28), 0.02, dtype=dt), "identity", dt, 1)
            np.testing.assert_allclose(array, scalar, rtol=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "image", "match"),
    [
        ({"nsr": "automatic"}, np.zeros((64, 64)), "nsr must be a number >= 0, 'auto' or a NaturalSpectrum, got 'automatic'"),
        ({"nsr": "auto", "snr_db": 20}, np.zeros((64, 64)), "give nsr or snr_db, not both"),
        ({"nsr": "auto"}, np.zeros((20, 64)), "at least 32 x 32"),
    ],
)
def test_bad_auto_requests(kwargs, image, match):
    with pytest.raises(InvalidParameterError, match=match):
        wiener(image, motion_psf(5, 0), **kwargs)


def test_fit_bad_input():
    with pytest.raises(InvalidParameterError, match="noise_sigma must be >= 0"):
        fit_natural_spectrum(np.zeros((64, 64)), motion_psf(5, 0), noise_sigma=-1)
    with pytest.raises(InvalidParameterError, match="psf must be non-negative"):
        estimate_nsr(np.zeros((64, 64)), -np.ones((3, 3)))
