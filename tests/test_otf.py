"""PSF -> OTF against scikit-image's ir2tf and the pad-roll-FFT definition."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft
from skimage.restoration.uft import ir2tf

from deconvkit.errors import InvalidParameterError
from restore.otf import fast_shape, laplacian_power, psf_to_otf


def _reference(psf: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """MATLAB psf2otf's definition: pad, circularly shift the origin to (0, 0), FFT."""
    padded = np.zeros(shape)
    padded[: psf.shape[0], : psf.shape[1]] = psf
    return np.fft.fft2(np.roll(padded, (-(psf.shape[0] // 2), -(psf.shape[1] // 2)), axis=(0, 1)))


@pytest.mark.parametrize("kshape", [(1, 1), (3, 3), (4, 6), (5, 2), (7, 8)])
@pytest.mark.parametrize("shape", [(8, 9), (37, 31), (64, 48), (300, 401)])
def test_psf_to_otf_matches_reference_and_skimage(kshape, shape):
    psf = np.random.default_rng(1).random(kshape)
    full = psf_to_otf(psf, shape)
    np.testing.assert_allclose(full, _reference(psf, shape), atol=1e-12)
    np.testing.assert_allclose(full, ir2tf(psf, shape, is_real=False), atol=1e-12)
    half = psf_to_otf(psf, shape, real=True)
    assert half.shape == (shape[0], shape[1] // 2 + 1)
    np.testing.assert_allclose(half, ir2tf(psf, shape, is_real=True), atol=1e-12)


def test_both_evaluation_paths_agree():
    """The separable matrix DFT (small PSF) and the padded FFT (large PSF) are one function."""
    psf = np.random.default_rng(2).random((9, 12))
    for shape in [(12, 15), (200, 333)]:
        np.testing.assert_allclose(psf_to_otf(psf, shape, real=True), _reference(psf, shape)[:, : shape[1] // 2 + 1], atol=1e-11)


def test_otf_dtype_follows_psf():
    psf = np.ones((3, 3)) / 9
    assert psf_to_otf(psf, (16, 16)).dtype == np.complex128
    otf32 = psf_to_otf(psf.astype(np.float32), (16, 16), real=True)
    assert otf32.dtype == np.complex64
    np.testing.assert_allclose(otf32, psf_to_otf(psf, (16, 16), real=True), atol=1e-6)


def test_circular_convolution_is_otf_multiplication():
    """Convolution theorem with the origin rule: nothing shifts, kernel is flipped."""
    rng = np.random.default_rng(3)
    x = rng.random((20, 23))
    k = rng.random((4, 5))
    y = sfft.irfft2(sfft.rfft2(x) * psf_to_otf(k, x.shape, real=True), s=x.shape)
    # Direct true convolution with origin (kh // 2, kw // 2), periodic indices.
    direct = np.zeros_like(x)
    for m in range(4):
        for n in range(5):
            direct += k[m, n] * np.roll(x, (m - 2, n - 2), axis=(0, 1))
    np.testing.assert_allclose(y, direct, atol=1e-12)


def test_laplacian_power_matches_skimage_regulariser():
    from skimage.restoration.uft import laplacian

    for shape in [(16, 17), (31, 40)]:
        reg, _ = laplacian(2, shape, is_real=True)  # (transfer function, kernel)
        np.testing.assert_allclose(laplacian_power(shape), np.abs(reg) ** 2, atol=1e-12)
        assert laplacian_power(shape, real=False).shape == shape


def test_fast_shape():
    assert fast_shape((4001, 3001)) == (sfft.next_fast_len(4001, real=True), sfft.next_fast_len(3001, real=True))
    assert fast_shape((64, 100)) == (64, 100)


def test_otf_rejects_small_grid_and_bad_input():
    with pytest.raises(InvalidParameterError, match=r"smaller than the PSF \(5, 5\)"):
        psf_to_otf(np.ones((5, 5)), (4, 10))
    with pytest.raises(InvalidParameterError, match="two positive integers"):
        psf_to_otf(np.ones((3, 3)), (4,))
    with pytest.raises(InvalidParameterError, match="2-D"):
        psf_to_otf(np.ones(3), (4, 4))
