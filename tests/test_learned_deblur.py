"""Learned deblurring (:mod:`learned.deblur`): the data, the linear fit, the CNN.

References are independent of the code under test: ``scipy.signal.fftconvolve`` for the
blur, ``numpy.linalg.lstsq`` on an explicit window matrix for the least-squares filter,
``torch.nn.functional.conv2d`` for the FFT correlation, and the analytic Wiener filter
``conj(H) σ_x² / (|H|² σ_x² + σ²)`` for white-noise training images (the least-squares
linear filter for white data of variance ``σ_x²``).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import fftconvolve

from conftest import smooth_image
from deconvkit.errors import InvalidParameterError
from learned.deblur import (
    DeblurCNN,
    deblur_pairs,
    fit_deblur_cnn,
    fit_linear_deblur,
    linear_deblur,
    linear_deblur_loss,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: an asymmetric PSF with an even side: a flip or a half-pixel shift would show
ASYMMETRIC = np.array([[0.0, 0.1, 0.3, 0.05], [0.2, 0.25, 0.0, 0.1]])


def blocks(seed: int, shape: tuple[int, int] = (40, 44)) -> np.ndarray:
    """A piecewise-constant image: flat areas and sharp edges, where a CNN beats a linear filter."""
    rng = np.random.default_rng(seed)
    image = np.full(shape, 0.5)
    for _ in range(6):
        r, c = rng.integers(0, shape[0] - 8), rng.integers(0, shape[1] - 8)
        image[r : r + rng.integers(4, 16), c : c + rng.integers(4, 16)] = rng.random()
    return image


@pytest.fixture(scope="module")
def small_pairs():
    images = [smooth_image((30, 34), seed=i) for i in range(3)]
    return deblur_pairs(images, ASYMMETRIC, 0.01, rng=0)


def lstsq_kernel(pairs, k):
    """The least-squares K×K correlation kernel from the explicit matrix of all valid windows."""
    rows, targets = [], []
    for y, x in pairs:
        rows.append(sliding_window_view(y, (k, k)).reshape(-1, k * k))
        targets.append(x[k // 2 : x.shape[0] - k // 2, k // 2 : x.shape[1] - k // 2].ravel())
    solution, *_ = np.linalg.lstsq(np.vstack(rows), np.concatenate(targets), rcond=None)
    return solution.reshape(k, k)


# ----------------------------------------------------------------------------- data


@pytest.mark.parametrize("psf", [ASYMMETRIC, np.ones((3, 5)) / 15], ids=["asymmetric-2x4", "box-3x5"])
def test_pairs_are_exact_linear_convolutions_trimmed(psf):
    x = smooth_image((37, 31), seed=3)
    (y, sharp), = deblur_pairs([x], psf, 0.0, rng=0)
    ph, pw = psf.shape[0] // 2, psf.shape[1] // 2
    assert y.shape == sharp.shape == (37 - 2 * ph, 31 - 2 * pw)
    np.testing.assert_array_equal(sharp, x[ph : 37 - ph, pw : 31 - pw])
    # True convolution, origin (kh // 2, kw // 2): y[i] = full[i + kh // 2] in scipy's "full" output.
    full = fftconvolve(x, psf / psf.sum(), mode="full")
    expected = full[ph + psf.shape[0] // 2 :, pw + psf.shape[1] // 2 :][: y.shape[0], : y.shape[1]]
    np.testing.assert_allclose(y, expected, atol=1e-12)


def test_pairs_noise_level_seed_and_dtype():
    images = [smooth_image((64, 64), seed=i) for i in range(2)]
    a = deblur_pairs(images, ASYMMETRIC, 0.05, rng=7)
    b = deblur_pairs(images, ASYMMETRIC, 0.05, rng=np.random.default_rng(7))
    clean = deblur_pairs(images, ASYMMETRIC, 0.0, rng=7)
    for (ya, _), (yb, _), (yc, _) in zip(a, b, clean):
        np.testing.assert_array_equal(ya, yb)
        assert abs(float(np.std(ya - yc)) - 0.05) < 0.005
    assert deblur_pairs(images, ASYMMETRIC, 0.05, rng=8)[0][0][0, 0] != a[0][0][0, 0]
    f32 = deblur_pairs([im.astype(np.float32) for im in images], ASYMMETRIC, 0.05, rng=7)
    assert f32[0][0].dtype == np.float32 and a[0][0].dtype == np.float64


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: deblur_pairs([], ASYMMETRIC, 0.1), "non-empty list"),
        (lambda: deblur_pairs(np.zeros((2, 8, 8)), ASYMMETRIC, 0.1), "non-empty list"),
        (lambda: deblur_pairs([np.zeros((8, 8, 3))], ASYMMETRIC, 0.1), r"images\[0\] must be 2-D"),
        (lambda: deblur_pairs([np.zeros((2, 8))], np.ones((5, 5)), 0.1), "too small for a PSF"),
        (lambda: deblur_pairs([np.zeros((8, 8))], ASYMMETRIC, -0.5), "sigma must be >= 0, got -0.5"),
        (lambda: deblur_pairs([np.zeros((8, 8))], -ASYMMETRIC, 0.1), "non-negative"),
    ],
)
def test_pairs_bad_inputs(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


# ----------------------------------------------------------------------------- the linear fit


def test_cg_equals_least_squares_on_the_window_matrix(small_pairs):
    kernel, history = fit_linear_deblur(small_pairs, 7, tol=1e-12, steps=500, progress=False)
    reference = lstsq_kernel(small_pairs, 7)
    np.testing.assert_allclose(kernel, reference, rtol=0, atol=1e-6 * np.abs(reference).max())
    # The tracked loss is the loss of the kernel, and the optimum is a minimum.
    assert history[-1] == pytest.approx(linear_deblur_loss(small_pairs, kernel), rel=1e-6)
    assert all(b <= a * (1 + 1e-9) for a, b in zip(history, history[1:]))
    assert linear_deblur_loss(small_pairs, reference + 1e-3) > history[-1]


def test_loss_is_the_valid_pixel_mse_of_conv2d(small_pairs):
    kernel = np.random.default_rng(0).normal(size=(5, 5)) / 5
    errors = []
    for y, x in small_pairs:
        out = F.conv2d(torch.from_numpy(y)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
        errors.append((out - x[2:-2, 2:-2]).ravel())
    expected = float(np.mean(np.concatenate(errors) ** 2))
    assert linear_deblur_loss(small_pairs, kernel) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("method", ["lbfgs", "adam"])
def test_torch_optimisers_train_towards_the_optimum(small_pairs, method):
    optimum = linear_deblur_loss(small_pairs, lstsq_kernel(small_pairs, 5))
    steps, lr = (60, None) if method == "lbfgs" else (300, 3e-2)
    kernel, history = fit_linear_deblur(small_pairs, 5, method=method, steps=steps, lr=lr, progress=False)
    assert len(history) == steps + 1
    assert history[-1] == pytest.approx(linear_deblur_loss(small_pairs, kernel), rel=1e-6)
    # Far below the zero kernel's loss, never below the least-squares optimum, and near it
    # (L-BFGS); Adam is slower on this ill-conditioned problem (smooth images).
    assert history[-1] < 0.05 * history[0]
    assert optimum * (1 - 1e-9) <= history[-1] < optimum * (1.02 if method == "lbfgs" else 2.0)


def test_white_noise_training_converges_to_the_analytic_wiener_filter():
    """White images of variance σ_x²: the least-squares filter is the Wiener filter with the
    scalar NSR σ²/σ_x². An asymmetric PSF: the learned correlation kernel, flipped, is
    Wiener's convolution kernel -- and unflipped it is not."""
    rng = np.random.default_rng(1)
    sigma_x, sigma, k, grid = 0.316, 0.1, 15, 64  # NSR 0.1: the filter fits in 15×15
    images = [rng.normal(0.0, sigma_x, (256, 256)) for _ in range(8)]
    pairs = deblur_pairs(images, ASYMMETRIC, sigma, rng=2)
    kernel, _ = fit_linear_deblur(pairs, k, progress=False)
    padded = np.zeros((grid, grid))
    padded[: ASYMMETRIC.shape[0], : ASYMMETRIC.shape[1]] = ASYMMETRIC / ASYMMETRIC.sum()
    h = np.fft.fft2(np.roll(padded, (-(ASYMMETRIC.shape[0] // 2), -(ASYMMETRIC.shape[1] // 2)), axis=(0, 1)))
    gain = np.conj(h) / (np.abs(h) ** 2 + sigma**2 / sigma_x**2)
    wiener = np.fft.fftshift(np.real(np.fft.ifft2(gain)))[grid // 2 - k // 2 : grid // 2 + k // 2 + 1,
                                                          grid // 2 - k // 2 : grid // 2 + k // 2 + 1]
    assert np.sum(wiener**2) > 0.999 * np.sum(np.real(np.fft.ifft2(gain)) ** 2)  # K covers the filter
    flipped = kernel[::-1, ::-1]
    assert np.linalg.norm(flipped - wiener) / np.linalg.norm(wiener) < 0.05
    assert np.linalg.norm(kernel - wiener) / np.linalg.norm(wiener) > 0.5


def test_linear_fit_is_deterministic_and_float32(small_pairs):
    a, ha = fit_linear_deblur(small_pairs, 5, method="lbfgs", steps=10, progress=False)
    b, hb = fit_linear_deblur(small_pairs, 5, method="lbfgs", steps=10, progress=False)
    np.testing.assert_array_equal(a, b)
    assert ha == hb
    c, _ = fit_linear_deblur(small_pairs, 5, progress=False)
    d, _ = fit_linear_deblur(small_pairs, 5, progress=False)
    np.testing.assert_array_equal(c, d)
    f32, _ = fit_linear_deblur(small_pairs, 5, method="lbfgs", steps=10, dtype=np.float32, progress=False)
    assert f32.dtype == np.float32 and a.dtype == np.float64
    np.testing.assert_allclose(f32, a, atol=2e-3 * np.abs(a).max())
    assert fit_linear_deblur(small_pairs, 5, dtype=np.float32, progress=False)[0].dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"kernel_size": 4}, "kernel_size must be odd.*got 4"),
        ({"kernel_size": 35}, "kernel_size 35 is larger than the smallest training image side 28"),
        ({"kernel_size": 0}, "kernel_size must be >= 1, got 0"),
        ({"kernel_size": 2.5}, "kernel_size must be an integer, got 2.5"),
        ({"method": "sgd"}, "method must be one of 'cg', 'lbfgs', 'adam', got 'sgd'"),
        ({"steps": 0}, "steps must be >= 1, got 0"),
        ({"lr": -1.0}, "lr must be > 0, got -1.0"),
        ({"dtype": np.int32}, "dtype must be float32 or float64, got int32"),
    ],
)
def test_linear_fit_bad_arguments(small_pairs, kwargs, match):
    arguments = {"kernel_size": 5, **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        fit_linear_deblur(small_pairs, arguments.pop("kernel_size"), progress=False, **arguments)


@pytest.mark.parametrize(
    "pairs, match",
    [
        ([], "non-empty list"),
        ([(np.zeros((9, 9)),)], r"pairs\[0\] must be a \(blurred, sharp\) pair"),
        ([(np.zeros((9, 9)), np.zeros((9, 8)))], r"pairs\[0\]: blurred \(9, 9\) and sharp \(9, 8\) differ"),
        ([(np.zeros((9, 9, 1)), np.zeros((9, 9, 1)))], r"pairs\[0\]\[0\] \(blurred\) must be 2-D"),
        ([(np.full((9, 9), np.nan), np.zeros((9, 9)))], "must be finite"),
        ([(np.zeros((9, 9)), np.ones((9, 9)))], "all zero: there is nothing to learn"),
    ],
)
def test_linear_fit_bad_pairs(pairs, match):
    with pytest.raises(InvalidParameterError, match=match):
        fit_linear_deblur(pairs, 3, progress=False)


def test_progress_bar_on_stderr_only_when_asked(small_pairs, capsys):
    fit_linear_deblur(small_pairs, 5, steps=3, progress=True)
    shown = capsys.readouterr()
    assert "linear (CG)" in shown.err and shown.out == ""
    fit_linear_deblur(small_pairs, 5, steps=3)  # None: stderr is not a terminal under pytest
    fit_linear_deblur(small_pairs, 5, steps=3, progress=False)
    assert capsys.readouterr().err == ""


# ----------------------------------------------------------------------------- applying a filter


def test_linear_deblur_is_conv2d_on_the_mirrored_image(dtype):
    rng = np.random.default_rng(0)
    image = rng.random((23, 30)).astype(dtype)
    kernel = rng.normal(size=(7, 5))
    out = linear_deblur(image, kernel)
    assert out.shape == image.shape and out.dtype == dtype
    padded = np.pad(image.astype(np.float64), ((3, 3), (2, 2)), mode="symmetric")
    reference = F.conv2d(torch.from_numpy(padded)[None, None], torch.from_numpy(kernel)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(out, reference, atol=1e-5 if dtype == np.float32 else 1e-12)
    colour = np.stack([image, 2 * image], axis=-1)
    np.testing.assert_allclose(linear_deblur(colour, kernel)[..., 1], 2 * out,
                               atol=1e-4 if dtype == np.float32 else 1e-12)


def test_linear_deblur_rejects_even_kernels():
    with pytest.raises(InvalidParameterError, match=r"kernel must have odd sizes.*\(4, 3\)"):
        linear_deblur(np.zeros((9, 9)), np.ones((4, 3)))


# ----------------------------------------------------------------------------- the CNN


def test_untrained_cnn_is_its_linear_filter(small_pairs):
    kernel, _ = fit_linear_deblur(small_pairs, 5, progress=False)
    model = DeblurCNN(kernel, channels=8, depth=3, rng=0, dtype=torch.float64)
    y = small_pairs[0][0]
    np.testing.assert_allclose(model.deblur(y), linear_deblur(y, kernel), atol=1e-12)
    with torch.no_grad():
        z = model.linear(torch.from_numpy(y)[None, None])
    padded = np.pad(y, 2, mode="symmetric")
    reference = F.conv2d(torch.from_numpy(padded)[None, None], torch.from_numpy(kernel)[None, None])
    np.testing.assert_allclose(z.numpy(), reference.numpy(), atol=1e-12)
    assert model.deblur(y.astype(np.float32)).dtype == np.float32


def test_cnn_leaves_the_global_torch_rng_alone():
    """Its weights come from ``rng`` only: the caller's global random stream is untouched."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    a = DeblurCNN(np.ones((3, 3)) / 9, channels=4, depth=3, rng=5)
    assert torch.equal(torch.rand(3), expected)
    b = DeblurCNN(np.ones((3, 3)) / 9, channels=4, depth=3, rng=5)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_cnn_training_beats_its_linear_filter_and_repeats():
    pairs = deblur_pairs([blocks(i) for i in range(3)], ASYMMETRIC, 0.05, rng=0)
    kernel, _ = fit_linear_deblur(pairs, 5, progress=False)

    def train(seed):
        model = DeblurCNN(kernel, channels=8, depth=3, rng=seed)
        history, linear = fit_deblur_cnn(model, pairs, steps=100, patch_size=16, batch_size=8, lr=3e-3, rng=seed,
                                         progress=False)
        return model, history, linear

    model, history, linear = train(0)
    assert len(history) == len(linear) == 100
    assert history[0] == pytest.approx(linear[0], rel=1e-5)  # the last layer starts at zero
    # On the same patches, 100 steps later: a lower loss than the (least-squares optimal) linear filter.
    assert np.mean(history[-10:]) < 0.97 * np.mean(linear[-10:])
    again, history_again, _ = train(0)
    assert history_again == history
    for (name, p), q in zip(model.state_dict().items(), again.state_dict().values()):
        assert torch.equal(p, q), name
    _, other, _ = train(1)
    assert other != history
    assert torch.equal(model.kernel, torch.as_tensor(kernel, dtype=torch.float32))  # never trained


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda k: DeblurCNN(k, depth=1), "depth must be >= 2, got 1"),
        (lambda k: DeblurCNN(k, channels=0), "channels must be >= 1, got 0"),
        (lambda k: DeblurCNN(np.ones((4, 4))), r"kernel must have odd sizes"),
        (lambda k: DeblurCNN(k, rng=-1), "rng must be"),
        (lambda k: DeblurCNN(k).linear(torch.zeros(1, 2, 8, 8)), r"\(N, 1, H, W\) tensor, got \(1, 2, 8, 8\)"),
        (lambda k: fit_deblur_cnn(torch.nn.Conv2d(1, 1, 3), [(np.zeros((9, 9)),) * 2]),
         "model must be a DeblurCNN, got Conv2d"),
        (lambda k: fit_deblur_cnn(DeblurCNN(k), [(np.zeros((9, 9)),) * 2], steps=0), "steps must be >= 1, got 0"),
        (lambda k: fit_deblur_cnn(DeblurCNN(np.ones((11, 11))), [(np.zeros((9, 9)),) * 2]), "kernel_size 11 is larger"),
    ],
)
def test_cnn_bad_arguments(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call(np.ones((3, 3)) / 9)
