"""The blur operator: adjoint dot-tests, true convolution, boundary models, and blur()."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, signal

from deconvkit.errors import AdjointTestError, InvalidParameterError
from deconvkit.linop import LinearOperator, dottest
from restore import BlurOperator, blur
from restore.operators import BLUR_BOUNDARIES

ASYMMETRIC = np.array([[0.0, 1.0, 2.0], [0.5, 3.0, 0.0], [0.0, 0.0, 1.5]])
EVEN_ASYMMETRIC = np.arange(1.0, 13.0).reshape(3, 4) ** 2


@pytest.mark.parametrize("boundary", BLUR_BOUNDARIES)
@pytest.mark.parametrize("psf", [ASYMMETRIC, EVEN_ASYMMETRIC, np.ones((1, 1))], ids=["3x3", "3x4", "1x1"])
def test_dottest_every_boundary(boundary, psf, shape, dtype):
    op = BlurOperator(psf, shape, boundary=boundary, dtype=dtype)
    lhs, rhs = dottest(op, rng=7, rtol=1e-4 if dtype == np.float32 else 1e-10, dtype=dtype)
    assert lhs == pytest.approx(rhs, rel=1e-3)
    assert op.forward(np.zeros(shape, dtype)).dtype == dtype


def test_dottest_catches_a_wrong_adjoint():
    class Wrong(LinearOperator):
        in_shape = out_shape = (6, 5)

        def _forward(self, x):
            return np.roll(x, 1, axis=0)

        def _adjoint(self, y):
            return np.roll(y, 1, axis=0)  # should roll by -1

    with pytest.raises(AdjointTestError, match="dot-test failed"):
        dottest(Wrong(), rng=0)


def test_blur_is_true_convolution_not_correlation():
    """Against scipy.ndimage.convolve (wrap) with an asymmetric odd kernel."""
    x = np.random.default_rng(0).random((19, 24))
    k = ASYMMETRIC / ASYMMETRIC.sum()
    np.testing.assert_allclose(blur(x, k, boundary="wrap"), ndimage.convolve(x, k, mode="wrap"), atol=1e-12)
    assert np.abs(blur(x, k) - ndimage.correlate(x, k, mode="wrap")).max() > 1e-2


@pytest.mark.parametrize(("ours", "scipy_mode"), [("symmetric", "reflect"), ("edge", "nearest"), ("zero", "constant")])
def test_padded_boundaries_match_scipy_ndimage(ours, scipy_mode):
    x = np.random.default_rng(1).random((21, 17))
    k = ASYMMETRIC / ASYMMETRIC.sum()
    np.testing.assert_allclose(blur(x, k, boundary=ours), ndimage.convolve(x, k, mode=scipy_mode), atol=1e-12)


def test_valid_matches_scipy_signal_and_alignment():
    x = np.random.default_rng(2).random((30, 26))
    k = EVEN_ASYMMETRIC / EVEN_ASYMMETRIC.sum()
    y = blur(x, k, boundary="valid")
    assert y.shape == (30 - 3 + 1, 26 - 4 + 1)
    np.testing.assert_allclose(y, signal.convolve2d(x, k, mode="valid"), atol=1e-12)
    # Documented alignment: valid pixel (i, j) equals the same-size blur at (i + (kh-1)//2, j + (kw-1)//2).
    same = blur(x, k, boundary="zero")
    np.testing.assert_allclose(y, same[1 : 1 + y.shape[0], 1 : 1 + y.shape[1]], atol=1e-12)


def test_delta_blurs_into_kernel_at_origin():
    """Even-sized kernel: a delta at p becomes the kernel with its (kh//2, kw//2) pixel at p."""
    x = np.zeros((12, 13))
    x[5, 6] = 1
    k = EVEN_ASYMMETRIC / EVEN_ASYMMETRIC.sum()
    y = blur(x, k)
    np.testing.assert_allclose(y[5 - 1 : 5 + 2, 6 - 2 : 6 + 2], k, atol=1e-14)


def test_blur_colour_is_per_channel_and_keeps_dtype(dtype):
    rng = np.random.default_rng(3)
    x = rng.random((16, 18, 3)).astype(dtype)
    k = ASYMMETRIC
    y = blur(x, k, boundary="symmetric")
    assert y.shape == x.shape and y.dtype == dtype
    for c in range(3):
        np.testing.assert_allclose(y[..., c], blur(x[..., c], k, boundary="symmetric"), rtol=1e-5)


def test_blur_is_linear_and_preserves_flux():
    rng = np.random.default_rng(4)
    a, b = rng.random((15, 20)), rng.random((15, 20))
    k = EVEN_ASYMMETRIC
    np.testing.assert_allclose(blur(2 * a - 3 * b, k), 2 * blur(a, k) - 3 * blur(b, k), atol=1e-12)
    assert blur(a, k).sum() == pytest.approx(a.sum(), rel=1e-12)


def test_blur_input_not_modified():
    x = np.random.default_rng(5).random((10, 10))
    before = x.copy()
    blur(x, ASYMMETRIC, boundary="symmetric")
    np.testing.assert_array_equal(x, before)


def test_operator_bad_input():
    with pytest.raises(InvalidParameterError, match="boundary must be one of"):
        BlurOperator(ASYMMETRIC, (10, 10), boundary="periodic")
    with pytest.raises(InvalidParameterError, match=r"smaller than the PSF \(3, 4\)"):
        BlurOperator(EVEN_ASYMMETRIC, (2, 10))
    op = BlurOperator(ASYMMETRIC, (10, 12), boundary="valid")
    with pytest.raises(InvalidParameterError, match=r"got shape \(10, 10\), expected \(8, 10\)"):
        op.adjoint(np.zeros((10, 10)))
    with pytest.raises(InvalidParameterError, match="image must be 2-D or 3-D"):
        blur(np.zeros(5), ASYMMETRIC)
