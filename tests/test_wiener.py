"""Wiener / CLS deconvolution against scikit-image, exact inversion, the operator form and boundaries."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator as ScipyOperator
from scipy.sparse.linalg import cg
from skimage import data
from skimage.metrics import peak_signal_noise_ratio
from skimage.restoration import wiener as sk_wiener

from conftest import smooth_image
from deconvkit.errors import InvalidParameterError
from restore import BlurOperator, add_noise, blur, defocus_psf, gaussian_psf, motion_psf, wiener, wiener_gain

RNG = np.random.default_rng(1234)
EVEN_ASYMMETRIC = RNG.random((4, 6)) + np.eye(4, 6)  # even-sized, no symmetry
WELL_CONDITIONED = np.array([[0.0, 0.1, 0.0], [0.05, 1.0, 0.2], [0.0, 0.15, 0.05]])  # |OTF| >= 0.45


def _image(shape, dtype, channels):
    full = shape if channels is None else (*shape, channels)
    return smooth_image(full, seed=sum(shape), dtype=dtype)


@pytest.mark.parametrize("psf", [motion_psf(7, 30), defocus_psf(2.5), EVEN_ASYMMETRIC], ids=["motion", "disk", "even"])
def test_identity_reg_wrap_equals_skimage(psf, shape, dtype, channels):
    """skimage.restoration.wiener with reg = [[1]] and clip=False is the same estimator."""
    x = _image(shape, dtype, channels)
    k = psf / psf.sum()
    y = blur(x, k)
    ours = wiener(y, k, nsr=0.02, boundary="wrap")
    assert ours.dtype == dtype and ours.shape == y.shape
    planes = [y] if channels is None else [y[..., c] for c in range(channels)]
    ref = np.stack([sk_wiener(p.astype(np.float64), k, 0.02, reg=np.ones((1, 1)), clip=False) for p in planes], -1)
    np.testing.assert_allclose(ours, ref.reshape(ours.shape), atol=1e-5)


def test_laplacian_reg_equals_skimage_default():
    x = smooth_image((40, 52))
    k = motion_psf(9, 60)
    y = blur(x, k)
    np.testing.assert_allclose(
        wiener(y, k, nsr=0.05, reg="laplacian", boundary="wrap"), sk_wiener(y, k, 0.05, clip=False), atol=1e-10
    )


@pytest.mark.parametrize("psf", [WELL_CONDITIONED, gaussian_psf(0.5)], ids=["asym3x3", "gauss"])
def test_noise_free_circular_blur_is_inverted_exactly(psf, shape, channels):
    x = _image(shape, np.float64, channels)
    y = blur(x, psf)
    assert np.abs(y - x).max() > 1e-2  # the blur did something
    np.testing.assert_allclose(wiener(y, psf, nsr=1e-12, boundary="wrap"), x, atol=1e-4)
    # float32 path: same estimate to float32 precision.
    x32 = wiener(y.astype(np.float32), psf, nsr=1e-12, boundary="wrap")
    assert x32.dtype == np.float32
    np.testing.assert_allclose(x32, x, atol=2e-4)


def test_even_sized_asymmetric_psf_gives_no_shift(shape):
    """Compare with the truth, not with another implementation: an off-by-one shift fails."""
    x = smooth_image(shape, seed=3)
    k = EVEN_ASYMMETRIC / EVEN_ASYMMETRIC.sum()
    restored = wiener(blur(x, k), k, nsr=1e-10, boundary="wrap")
    err = np.abs(restored - x).max()
    assert err < 1e-4
    for shift in [(0, 1), (1, 0), (-1, 0), (0, -1)]:
        assert np.abs(np.roll(restored, shift, axis=(0, 1)) - x).max() > 100 * err


def test_wiener_is_the_regularised_inverse_of_the_blur_operator():
    """X = (AᵀA + nsr I)⁻¹ Aᵀ y, solved by conjugate gradients on BlurOperator (wrap)."""
    x = smooth_image((24, 30))
    k = motion_psf(5, 20)
    op = BlurOperator(k, x.shape, boundary="wrap")
    y = op.forward(x) + 0.01 * np.random.default_rng(0).standard_normal(x.shape)
    nsr = 0.03
    normal = ScipyOperator(
        shape=(x.size, x.size),
        matvec=lambda v: (op.adjoint(op.forward(v.reshape(x.shape))) + nsr * v.reshape(x.shape)).ravel(),
        dtype=np.float64,
    )
    solution, info = cg(normal, op.adjoint(y).ravel(), rtol=1e-12, maxiter=2000)
    assert info == 0
    np.testing.assert_allclose(wiener(y, k, nsr=nsr, boundary="wrap"), solution.reshape(x.shape), atol=1e-8)


def test_symmetric_padding_beats_wrap_on_realistic_blur():
    """Non-circular ('valid') blur of natural photos: mirror padding rings far less."""
    gains = []
    photos = [data.camera(), data.moon(), data.coins(), (data.astronaut() @ [0.299, 0.587, 0.114]).astype(np.uint8)]
    for img, angle in zip(photos, [30, 100, 0, 135]):
        sharp = img[:256, :256].astype(np.float64) / 255
        k = motion_psf(15, angle)
        y = add_noise(blur(sharp, k, boundary="valid"), 0.005, rng=0)
        kh, kw = k.shape
        truth = sharp[(kh - 1) // 2 :][: y.shape[0], (kw - 1) // 2 :][:, : y.shape[1]]

        def psnr(boundary: str, y=y, k=k, truth=truth) -> float:
            est = np.clip(wiener(y, k, nsr=1e-2, boundary=boundary), 0, 1)
            return peak_signal_noise_ratio(truth, est, data_range=1.0)

        gains.append(psnr("symmetric") - psnr("wrap"))
        assert psnr("edgetaper") > psnr("wrap") - 0.2  # edgetaper never much worse than nothing
    assert min(gains) > 0.2 and np.mean(gains) > 1.5, gains


def test_colour_is_per_channel_and_filter_shared():
    x = smooth_image((33, 41, 3), seed=9)
    k = motion_psf(6, 75)
    y = blur(x, k, boundary="symmetric")
    out = wiener(y, k, nsr=0.01)
    for c in range(3):
        np.testing.assert_allclose(out[..., c], wiener(y[..., c], k, nsr=0.01), atol=1e-12)


@pytest.mark.parametrize(
    ("in_dtype", "out_dtype"),
    [(np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64), (np.int32, np.float64)],
)
def test_dtype_policy(in_dtype, out_dtype):
    x = (smooth_image((20, 22)) * 200).astype(in_dtype)
    out = wiener(x, motion_psf(3, 0), nsr=0.01)
    assert out.dtype == out_dtype
    # Values are not rescaled: integer input stays on its own scale.
    assert 50 < float(np.mean(out)) < 150


def test_not_clipped_and_input_untouched():
    x = smooth_image((30, 30))
    k = defocus_psf(3)
    y = blur(x, k)
    before = y.copy()
    out = wiener(y, k, nsr=1e-6, boundary="wrap")
    np.testing.assert_array_equal(y, before)
    sharp_step = np.zeros((32, 32))
    sharp_step[:, 16:] = 1
    ringing = wiener(blur(sharp_step, k, boundary="symmetric"), k, nsr=1e-3)
    assert ringing.min() < 0 or ringing.max() > 1  # overshoot is kept, not clipped
    assert out.shape == x.shape


def test_nsr_and_snr_db_mapping():
    x = smooth_image((25, 28))
    k = motion_psf(5, 45)
    np.testing.assert_allclose(wiener(x, k, snr_db=20), wiener(x, k, nsr=0.01), atol=1e-14)
    np.testing.assert_allclose(wiener(x, k), wiener(x, k, nsr=0.01), atol=1e-14)  # documented default


def test_psf_is_normalised():
    x = smooth_image((25, 28))
    k = motion_psf(5, 45)
    np.testing.assert_allclose(wiener(x, 3 * k, nsr=0.01), wiener(x, k, nsr=0.01), atol=1e-14)


def test_zero_nsr_is_a_finite_pseudo_inverse():
    k = np.ones((1, 4)) / 4  # OTF has exact zeros on a grid of width 8
    x = smooth_image((8, 8))
    out = wiener(blur(x, k), k, nsr=0, boundary="wrap")
    assert np.isfinite(out).all()
    gain = wiener_gain(k, (8, 8), 0.0)
    assert np.isfinite(gain).all() and (gain == 0).any()


def test_tiny_images():
    np.testing.assert_allclose(wiener(np.array([[0.25]]), np.ones((1, 1)), nsr=0), [[0.25]])
    two = np.array([[0.1, 0.2], [0.3, 0.4]])
    assert wiener(two, np.ones((2, 2)) / 4, nsr=0.01).shape == (2, 2)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"nsr": -0.1}, "nsr must be >= 0, got -0.1"),
        ({"nsr": 0.1, "snr_db": 10}, "give nsr or snr_db, not both"),
        ({"nsr": float("nan")}, "nsr must be finite"),
        ({"reg": "tv"}, "reg must be one of 'identity', 'laplacian', got 'tv'"),
        ({"boundary": "reflect"}, "boundary must be one of"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        wiener(smooth_image((10, 10)), motion_psf(3, 0), **kwargs)


def test_bad_arrays():
    with pytest.raises(InvalidParameterError, match=r"image of shape \(4, 40\) is smaller than the PSF \(5, 5\)"):
        wiener(np.zeros((4, 40)), defocus_psf(2))
    with pytest.raises(InvalidParameterError, match="image must be finite"):
        wiener(np.full((8, 8), np.nan), motion_psf(3, 0))
    with pytest.raises(InvalidParameterError, match="psf must be non-negative"):
        wiener(np.zeros((8, 8)), -np.ones((3, 3)))
    with pytest.raises(InvalidParameterError, match="image must be 2-D or 3-D"):
        wiener(np.zeros((2, 8, 8, 3)), motion_psf(3, 0))


@pytest.mark.parametrize("image_shape", [(1, 1), (2, 3), (9, 7), (30, 41), (64, 64)])
@pytest.mark.parametrize("pad", [((0, 0), (0, 0)), ((1, 2), (3, 0)), ((6, 9), (5, 7)), ((40, 3), (2, 50))])
def test_symmetric_fill_equals_numpy_pad(image_shape, pad):
    from restore.wiener import _fill_symmetric

    image = np.random.default_rng(0).random(image_shape)
    expected = np.pad(image, pad, mode="symmetric")
    buffer = np.full(expected.shape, np.nan)
    _fill_symmetric(buffer, image, pad)
    np.testing.assert_array_equal(buffer, expected)


def test_asymmetric_psf_uses_complex_gain_and_symmetric_real_gain_agrees():
    from restore.wiener import _gain

    sym = motion_psf(9, 30)
    g_real = _gain(sym, (40, 50), 0.01, "identity", np.dtype(np.float64), None)
    assert g_real.dtype == np.float64
    np.testing.assert_allclose(wiener_gain(sym, (40, 50), 0.01).real, g_real, atol=1e-12)
    # Same numbers as the textbook formula on the full complex OTF.
    from restore import psf_to_otf

    h = psf_to_otf(EVEN_ASYMMETRIC / EVEN_ASYMMETRIC.sum(), (40, 50), real=True)
    expected = np.conj(h) / (np.abs(h) ** 2 + 0.01)
    np.testing.assert_allclose(wiener_gain(EVEN_ASYMMETRIC / EVEN_ASYMMETRIC.sum(), (40, 50), 0.01), expected, atol=1e-12)


def test_integer_samples_with_float32_work_dtype_and_integer_out():
    """uint8 samples deblurred in float32 one channel at a time; uint8 out is rounded and saturated."""
    x = (smooth_image((33, 40, 3), seed=11) * 255).astype(np.uint8)
    k = motion_psf(7, 20)
    reference = wiener(x.astype(np.float32), k, nsr=0.01)
    got = wiener(x, k, nsr=0.01, dtype=np.float32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reference, atol=1e-3)
    out = np.zeros_like(x)
    assert wiener(x, k, nsr=0.001, dtype=np.float32, out=out) is out
    expected = np.clip(np.rint(wiener(x.astype(np.float32), k, nsr=0.001)), 0, 255).astype(np.uint8)
    assert np.abs(out.astype(int) - expected).max() <= 1  # float32 rounding at .5 boundaries
    assert (out == 0).any() or (out == 255).any() or out.std() > 0


def test_out_argument_errors_and_float_out():
    x = smooth_image((20, 24))
    k = motion_psf(5, 0)
    buf = np.empty((20, 24), np.float64)
    assert wiener(x, k, out=buf) is buf
    np.testing.assert_allclose(buf, wiener(x, k), atol=1e-12)
    with pytest.raises(InvalidParameterError, match=r"out must be an array of the image's shape \(20, 24\)"):
        wiener(x, k, out=np.empty((20, 25)))
    with pytest.raises(InvalidParameterError, match="writeable float or unsigned integer"):
        wiener(x, k, out=np.empty((20, 24), np.int32))
    with pytest.raises(InvalidParameterError, match="dtype must be float32 or float64"):
        wiener(x, k, dtype=np.int16)
