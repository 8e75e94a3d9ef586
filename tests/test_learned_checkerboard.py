"""The checkerboard score and the flat-input test (:mod:`learned.checkerboard`).

References: analytic patterns (a pure ±1 checkerboard, constants, their sums), the energy at
the Nyquist-phase frequencies computed independently with ``numpy.fft.fft2`` (the score's
second definition), :func:`learned.overlap_map` for a kernel of ones, and the closed-form
flat response of each layer type (tap sums per phase).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import learned
from deconvkit.errors import InvalidParameterError
from learned.checkerboard import (
    checkerboard_score,
    flat_checkerboard_score,
    flat_response,
    kernel_checkerboard_score,
    kernel_phase_sums,
    phase_means,
)
from learned.espcn import ESPCN
from learned.modules import PixelShuffleUpsampler, ResizeConvUpsampler, TransposedConvUpsampler


def _checker(shape: tuple[int, int]) -> np.ndarray:
    return (-1.0) ** np.add.outer(np.arange(shape[0]), np.arange(shape[1]))


def _nyquist_energy_fraction(image: np.ndarray, scale: int) -> float:
    """Second definition: DFT energy at the (k H/s, l W/s) frequencies, (k, l) != (0, 0), over all of it."""
    h, w = image.shape
    spectrum = np.abs(np.fft.fft2(image)) ** 2
    lattice = spectrum[:: h // scale, :: w // scale]
    return float((lattice.sum() - spectrum[0, 0]) / spectrum.sum())


# --------------------------------------------------------------------------- analytic values


def test_pure_checkerboard_scores_1_and_constant_scores_0():
    assert checkerboard_score(_checker((12, 14)), 2) == pytest.approx(1.0)
    assert checkerboard_score(np.full((12, 14), 0.3), 2) == 0.0
    assert checkerboard_score(np.zeros((6, 6)), 2) == 0.0
    # 1 + 0.5 checker: phase means 1.5, 0.5, 0.5, 1.5 -> std 0.5; RMS sqrt(1 + 0.25).
    assert checkerboard_score(1.0 + 0.5 * _checker((12, 12)), 2) == pytest.approx(0.5 / math.sqrt(1.25))
    # A period-2 pattern is not a period-3 one: scored at s = 3, the ±1 checker is pure noise to the phases.
    assert checkerboard_score(_checker((12, 12)), 3) == pytest.approx(0.0, abs=1e-12)


def test_stripes_and_period_three():
    rows = np.add.outer(np.arange(12), np.zeros(12))
    stripes = (-1.0) ** rows  # horizontal stripes: energy at (pi, 0) only
    assert checkerboard_score(stripes, 2) == pytest.approx(1.0)
    wave = np.cos(2 * np.pi * rows / 3)  # period 3, zero mean: all energy at (H/3, 0) and (2H/3, 0)
    assert checkerboard_score(wave, 3) == pytest.approx(1.0)
    assert checkerboard_score(2 + wave, 3) == pytest.approx(math.sqrt(0.5 / 4.5))  # rms² = 4 + 1/2


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("kind", ["noise", "periodic plus noise", "flat plus pattern"])
def test_phase_definition_equals_the_nyquist_energy_fraction(scale, kind):
    rng = np.random.default_rng(scale)
    shape = (6 * scale, 5 * scale)
    if kind == "noise":
        image = rng.standard_normal(shape)
    elif kind == "periodic plus noise":
        image = np.tile(rng.standard_normal((scale, scale)), (6, 5)) + 0.3 * rng.standard_normal(shape)
    else:
        image = 0.5 + 0.05 * np.tile(rng.standard_normal((scale, scale)), (6, 5))
    assert checkerboard_score(image, scale) ** 2 == pytest.approx(_nyquist_energy_fraction(image, scale), rel=1e-10)


def test_margin_is_cropped_and_phases_keep_image_coordinates():
    rows, cols = np.indices((13, 17))
    image = 10.0 * (rows % 3) + (cols % 3)
    expected = 10.0 * np.arange(3)[:, None] + np.arange(3)[None, :]
    np.testing.assert_allclose(phase_means(image, 3), expected)
    np.testing.assert_allclose(phase_means(image, 3, margin=3), expected)
    # The interior (13 - 6) x (17 - 6) = 7 x 11 is cropped to 6 x 9: its FFT identity still holds.
    inner = image[3:9, 3:12]
    assert checkerboard_score(image, 3, margin=3) ** 2 == pytest.approx(_nyquist_energy_fraction(inner, 3))
    # A border with a different value changes nothing once it is left out.
    framed = np.pad(_checker((8, 8)), 2, constant_values=5.0)
    assert checkerboard_score(framed, 2, margin=2) == pytest.approx(1.0)
    assert checkerboard_score(framed, 2) < 0.5


def test_bad_arguments():
    with pytest.raises(InvalidParameterError, match="multiple of scale 2"):
        checkerboard_score(_checker((12, 12)), 2, margin=3)
    with pytest.raises(ValueError, match="no 2×2 interior"):
        checkerboard_score(_checker((8, 8)), 2, margin=4)
    with pytest.raises(InvalidParameterError, match="2-D"):
        checkerboard_score(np.zeros((4, 4, 3)), 2)
    with pytest.raises(InvalidParameterError, match="finite"):
        checkerboard_score(np.full((4, 4), np.nan), 2)
    with pytest.raises(InvalidParameterError, match="scale"):
        checkerboard_score(np.zeros((4, 4)), 0)


# --------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("scale", [2, 3])
def test_phase_sums_of_ones_are_the_overlap_counts(k, scale):
    np.testing.assert_array_equal(kernel_phase_sums(np.ones((k, k)), scale), learned.overlap_map(k, scale))


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_interpolation_kernels_do_not_checker(scale):
    for kernel in (learned.bilinear_kernel(scale), learned.bicubic_kernel(scale), learned.bicubic_kernel(scale, a=-0.5)):
        np.testing.assert_allclose(kernel_phase_sums(kernel, scale), np.ones((scale, scale)), atol=1e-12)
        assert kernel_checkerboard_score(kernel, scale) < 1e-12
    assert kernel_checkerboard_score(np.zeros((4, 4)), scale) == 0.0


def test_k3_kernel_phase_sums_by_hand():
    w = np.arange(9.0).reshape(3, 3) + 1
    expected = [[w[::2, ::2].sum(), w[::2, 1].sum()], [w[1, ::2].sum(), w[1, 1]]]
    np.testing.assert_array_equal(kernel_phase_sums(w, 2), expected)


# --------------------------------------------------------------------------- layers on a flat input


@pytest.mark.parametrize("k", [3, 4])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_transposed_conv_flat_score_is_the_closed_form(k, seed, one_torch_thread):
    layer = TransposedConvUpsampler(2, 1, kernel_size=k, init="random", rng=seed)
    measured = flat_checkerboard_score(layer, 2)
    closed = kernel_checkerboard_score(layer.weight.detach().double().numpy()[0, 0], 2)
    assert measured == pytest.approx(closed, abs=2e-6)
    assert measured > 0.01  # a random kernel's phase sums differ, k = 4 included


def test_random_pixel_shuffle_flat_score_is_its_kernel_sums(one_torch_thread):
    for seed in range(3):
        layer = PixelShuffleUpsampler(2, 1, init="random", rng=seed)
        sums = layer.weight.detach().double().numpy().sum(axis=(1, 2, 3))  # one kernel per sub-pixel, bias 0
        expected = sums.std() / math.sqrt(np.mean(sums**2))
        assert flat_checkerboard_score(layer, 2) == pytest.approx(expected, abs=2e-6)


def test_icnr_resize_conv_and_icnr_espcn_start_without_checkerboard(one_torch_thread):
    for seed in range(3):
        assert flat_checkerboard_score(PixelShuffleUpsampler(2, 1, init="icnr", rng=seed), 2) < 1e-6
        assert flat_checkerboard_score(ResizeConvUpsampler(2, 1, init="random", rng=seed), 2) < 1e-6
        for scale in (2, 3):
            assert flat_checkerboard_score(ESPCN(scale, rng=seed), scale) < 1e-6
            assert flat_checkerboard_score(ESPCN(scale, init="random", rng=seed, output_gain=1.0), scale) > 1e-3


def test_flat_response_shape_dtype_and_value(one_torch_thread):
    layer = TransposedConvUpsampler(3, 1, init="bicubic", dtype=torch.float64)
    out = flat_response(layer, size=10, value=0.25)
    assert out.shape == (30, 30) and out.dtype == np.float64
    np.testing.assert_allclose(out, 0.25, atol=1e-14)  # float64 layer: interpolation of a constant
    rgb = ESPCN(2, 3, rng=0)
    assert flat_response(rgb, size=8, channel=2).shape == (16, 16)
    with pytest.raises(InvalidParameterError, match="channel"):
        flat_response(rgb, size=8, channel=3)
    with pytest.raises(InvalidParameterError, match="no interior"):
        flat_checkerboard_score(layer, 3, size=12, border=6)


def test_flat_score_reads_the_scale_from_the_model(one_torch_thread):
    """Phases of the wrong period would hide the pattern (a k=3, s=2 layer scores 0 at 3)."""
    layer = TransposedConvUpsampler(2, 1, kernel_size=3, init="random", rng=0)
    assert flat_checkerboard_score(layer) == flat_checkerboard_score(layer, 2) > 0.5
    with pytest.raises(InvalidParameterError, match="scale 3 does not match the model, which upsamples by 2"):
        flat_checkerboard_score(layer, 3)
