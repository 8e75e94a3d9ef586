"""Edge tapering (MATLAB edgetaper's definition) and the symmetric padding plan."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft as sfft

from conftest import smooth_image
from deconvkit.errors import InvalidParameterError
from restore import blur, edgetaper, motion_psf
from restore.boundary import symmetric_padding


def test_edgetaper_blends_to_blurred_copy_at_borders(dtype):
    x = smooth_image((60, 70), seed=1, dtype=dtype)
    x[:, :5] = 1.0  # a strong left/right mismatch
    k = motion_psf(9, 0)
    out = edgetaper(x, k)
    assert out.dtype == dtype and out.shape == x.shape
    blurred = blur(x, k)  # circular: what the DFT sees
    tol = 1e-5 if dtype == np.float32 else 1e-12
    # Corners: alpha = 0, the image is replaced by the periodic blur.
    np.testing.assert_allclose(out[0, 0], blurred[0, 0], atol=tol)
    # The interior far from the edges (beyond the PSF's reach) is unchanged.
    np.testing.assert_allclose(out[20:40, 20:50], x[20:40, 20:50], atol=tol)
    # Left-right wrap-around jump shrinks.
    assert np.abs(out[:, 0] - out[:, -1]).mean() < 0.5 * np.abs(x[:, 0] - x[:, -1]).mean()


def test_edgetaper_weights_follow_psf_autocorrelation():
    """MATLAB's alpha = (1 - z_r) ⊗ (1 - z_c); a 1-pixel-high PSF tapers only left and right."""
    x = smooth_image((40, 50), seed=2)
    k = motion_psf(7, 0)  # shape (1, 7)
    out = edgetaper(x, k)
    blurred = blur(x, k)
    # Autocorrelation of a 7-tap box spans 6 pixels each way: columns 7..42 are untouched.
    np.testing.assert_allclose(out[:, 7:43], x[:, 7:43], atol=1e-12)
    np.testing.assert_allclose(out[:, 0], blurred[:, 0], atol=1e-12)  # alpha = 0 on the edge
    # Column weight at distance d from the edge is d / 7 (triangle autocorrelation of a box).
    d = 3
    np.testing.assert_allclose(out[:, d], (d / 7) * x[:, d] + (1 - d / 7) * blurred[:, d], atol=1e-12)


def test_edgetaper_colour_and_errors():
    x = smooth_image((30, 31, 3), seed=3)
    out = edgetaper(x, motion_psf(5, 45))
    for c in range(3):
        np.testing.assert_allclose(out[..., c], edgetaper(x[..., c], motion_psf(5, 45)), atol=1e-12)
    with pytest.raises(InvalidParameterError, match="more than twice the PSF size"):
        edgetaper(np.zeros((18, 30)), motion_psf(9, 90))
    assert edgetaper(np.zeros((19, 30)), motion_psf(9, 90)).shape == (19, 30)


@pytest.mark.parametrize(("image_shape", "psf_shape"), [((37, 31), (3, 3)), ((3000, 4001), (15, 21)), ((10, 10), (1, 9))])
def test_symmetric_padding_plan(image_shape, psf_shape):
    (m, n), ((top, bottom), (left, right)) = symmetric_padding(image_shape, psf_shape)
    assert top >= 2 * psf_shape[0] and bottom >= 2 * psf_shape[0]
    assert left >= 2 * psf_shape[1] and right >= 2 * psf_shape[1]
    assert (m, n) == (image_shape[0] + top + bottom, image_shape[1] + left + right)
    assert m == sfft.next_fast_len(m, real=True) and n == sfft.next_fast_len(n, real=True)
