"""``learned.pooling`` and ``learned.shuffle`` against PyTorch (the installed torch, CPU):
``F.max_pool2d(..., return_indices=True)``, ``F.max_unpool2d``, ``nn.MaxUnpool2d``,
``F.pixel_shuffle`` and ``F.pixel_unshuffle``; plus the seeds' example 7 (unpooling puts
values back at the argmax positions, zeros elsewhere) and the ICNR identity."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from deconvkit.errors import InvalidParameterError
from learned.interpolation import interpolate
from learned.pooling import max_pool2d, max_unpool2d, pool_output_size, unpool_output_size
from learned.shuffle import pixel_shuffle, pixel_unshuffle

SHAPES = [(2, 3, 7, 9), (1, 2, 8, 8), (3, 1, 11, 6)]  # odd/even, non-square, N and C > 1
# (kernel_size, stride, padding): stride == kernel, overlapping, gapped, per-axis, padded.
WINDOWS = [(2, None, 0), (3, None, 1), (3, 1, 1), (3, 2, 0), (2, 3, 0), ((2, 3), (1, 2), (1, 0)), ((3, 2), 2, (1, 1))]


def _data(shape, dtype, seed, ties=False):
    rng = np.random.default_rng(seed)
    if ties:  # few distinct values: many ties inside windows
        return rng.integers(0, 3, shape).astype(dtype)
    return rng.random(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
def test_max_pool_matches_torch(dtype, ties):
    for i, shape in enumerate(SHAPES):
        x = _data(shape, dtype, i, ties)
        for k, s, p in WINDOWS:
            ref_v, ref_i = F.max_pool2d(torch.from_numpy(x), k, stride=s, padding=p, return_indices=True)
            values, indices = max_pool2d(x, k, stride=s, padding=p)
            assert values.dtype == dtype and indices.dtype == np.int64
            np.testing.assert_array_equal(values, ref_v.numpy())
            np.testing.assert_array_equal(indices, ref_i.numpy())  # first maximum wins ties, as torch
            assert pool_output_size(shape[2:], k, stride=s, padding=p) == values.shape[2:]
            only = max_pool2d(x, k, stride=s, padding=p, return_indices=False)
            np.testing.assert_array_equal(only, values)


def _as_pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_max_unpool_matches_torch_function_and_module(dtype):
    checked_output_size = 0
    for i, shape in enumerate(SHAPES):
        x = _data(shape, dtype, 10 + i) + 0.5  # positive: a value is never confused with the zeros
        for k, s, p in WINDOWS:
            tv, ti = F.max_pool2d(torch.from_numpy(x), k, stride=s, padding=p, return_indices=True)
            values, indices = max_pool2d(x, k, stride=s, padding=p)
            default = unpool_output_size(values.shape[2:], k, stride=s, padding=p)
            if indices.max() < default[0] * default[1]:
                ref = F.max_unpool2d(tv, ti, k, stride=s, padding=p).numpy()
                module = torch.nn.MaxUnpool2d(k, stride=s, padding=p)(tv, ti).numpy()
                got = max_unpool2d(values, indices, k, stride=s, padding=p)
                assert got.dtype == dtype and got.shape[2:] == default
                np.testing.assert_array_equal(got, ref)
                np.testing.assert_array_equal(got, module)
            else:  # pooling floored the size away and an index falls outside: both refuse
                with pytest.raises(RuntimeError, match="invalid max index"):
                    F.max_unpool2d(tv, ti, k, stride=s, padding=p)
                with pytest.raises(InvalidParameterError, match="outside the unpooled"):
                    max_unpool2d(values, indices, k, stride=s, padding=p)
            # The original size through output_size, as torch: (H, W) or (N, C, H, W).
            step = _as_pair(k if s is None else s)
            if abs(shape[2] - default[0]) < step[0] and abs(shape[3] - default[1]) < step[1]:
                checked_output_size += 1
                full = max_unpool2d(values, indices, k, stride=s, padding=p, output_size=shape[2:])
                ref_full = F.max_unpool2d(tv, ti, k, stride=s, padding=p, output_size=shape[2:]).numpy()
                module_full = torch.nn.MaxUnpool2d(k, stride=s, padding=p)(tv, ti, output_size=shape).numpy()
                assert full.dtype == dtype
                np.testing.assert_array_equal(full, ref_full)
                np.testing.assert_array_equal(full, module_full)
                np.testing.assert_array_equal(max_unpool2d(values, indices, k, stride=s, padding=p, output_size=shape), full)
    assert checked_output_size == len(SHAPES) * len(WINDOWS)  # every original size was reachable


def test_unpool_puts_values_at_argmax_and_zeros_elsewhere():
    """Seeds' example 7 (Zeiler & Fergus; SegNet): positions remembered, all others zero."""
    x = _data((2, 3, 9, 10), np.float64, 3) + 0.5
    for k, s, p in WINDOWS:
        values, indices = max_pool2d(x, k, stride=s, padding=p)
        y = max_unpool2d(values, indices, k, stride=s, padding=p, output_size=x.shape[2:])
        flat_x, flat_y = x.reshape(6, -1), y.reshape(6, -1)
        for plane in range(6):
            kept = np.unique(indices.reshape(6, -1)[plane])
            # Each kept position holds the input's value there; the zero count is exact.
            np.testing.assert_array_equal(flat_y[plane, kept], flat_x[plane, kept])
            assert np.count_nonzero(flat_y[plane] == 0) == flat_y.shape[1] - kept.size
        # Pooling the unpooled array gives the pooled values back (positive data).
        np.testing.assert_array_equal(max_pool2d(y, k, stride=s, padding=p, return_indices=False), values)


def test_unpool_small_example_versus_copying():
    """Unpooling uses positions; nearest upsampling of the same pooled values copies them."""
    x = np.array([[1.0, 2.0, 0.0, 1.0],
                  [4.0, 3.0, 5.0, 2.0],
                  [0.0, 1.0, 1.0, 2.0],
                  [2.0, 0.0, 3.0, 0.0]])[None, None]
    values, indices = max_pool2d(x, 2)
    np.testing.assert_array_equal(values[0, 0], [[4.0, 5.0], [2.0, 3.0]])
    np.testing.assert_array_equal(indices[0, 0], [[4, 6], [12, 14]])
    np.testing.assert_array_equal(
        max_unpool2d(values, indices, 2)[0, 0],
        [[0, 0, 0, 0], [4, 0, 5, 0], [0, 0, 0, 0], [2, 0, 3, 0]],
    )
    np.testing.assert_array_equal(
        interpolate(values, scale_factor=2)[0, 0],
        [[4, 4, 5, 5], [4, 4, 5, 5], [2, 2, 3, 3], [2, 2, 3, 3]],
    )


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: max_pool2d(np.zeros((4, 4)), 2), r"4-D \(N, C, H, W\).*got shape \(4, 4\)"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 0), r"kernel_size must be integers >= 1, got 0"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, stride=0), r"stride must be integers >= 1, got 0"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=-1), r"padding must be integers >= 0, got -1"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), 3, padding=2), r"at most half the kernel.*padding=\(2, 2\)"),
        (lambda: max_pool2d(np.zeros((1, 1, 4, 4)), (1, 2, 3)), r"kernel_size must be an int or a pair"),
        (lambda: max_pool2d(np.zeros((1, 1, 2, 5)), 3), r"kernel_size \(3, 3\) is larger than the padded input \(2, 5\)"),
        (lambda: max_pool2d(np.full((1, 1, 4, 4), np.nan), 2), r"must be finite"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 3), int), 2), r"shape of x \(1, 1, 2, 2\)"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2)), 2), r"indices must be integers"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), 16), 2), r"index 16 is outside.*0 to 15"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.full((1, 1, 2, 2), -1), 2), r"index -1 is outside"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), int), 2, output_size=(6, 4)),
         r"axis 0 must be strictly between 2 and 6"),
        (lambda: max_unpool2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 2, 2), int), 2, output_size=(4,)),
         r"output_size must be \(H, W\) or \(N, C, H, W\)"),
    ],
)
def test_pooling_rejects_bad_input(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


# --------------------------------------------------------------------------- pixel shuffle


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("r", [1, 2, 3])
def test_pixel_shuffle_matches_torch_and_round_trips(r, dtype):
    rng = np.random.default_rng(r)
    for n, c, h, w in [(2, 3, 5, 4), (1, 2, 3, 7)]:
        x = rng.random((n, c * r * r, h, w)).astype(dtype)
        y = pixel_shuffle(x, r)
        assert y.dtype == dtype and y.shape == (n, c, h * r, w * r)
        np.testing.assert_array_equal(y, F.pixel_shuffle(torch.from_numpy(x), r).numpy())
        np.testing.assert_array_equal(pixel_unshuffle(y, r), x)  # unshuffle ∘ shuffle = identity
        z = rng.random((n, c, h * r, w * r)).astype(dtype)
        u = pixel_unshuffle(z, r)
        np.testing.assert_array_equal(u, F.pixel_unshuffle(torch.from_numpy(z), r).numpy())
        np.testing.assert_array_equal(pixel_shuffle(u, r), z)  # shuffle ∘ unshuffle = identity
        assert not np.shares_memory(pixel_shuffle(x, r), x)


def test_pixel_shuffle_channel_order_and_dtypes():
    """Channel c·r² + i·r + j lands on sub-pixel (i, j) of channel c (PyTorch order)."""
    x = np.arange(8).reshape(1, 8, 1, 1)
    np.testing.assert_array_equal(pixel_shuffle(x, 2)[0], [[[0, 1], [2, 3]], [[4, 5], [6, 7]]])
    assert pixel_shuffle(x, 2).dtype == np.float64
    assert pixel_shuffle(x.astype(np.float16), 2).dtype == np.float32
    nan = np.full((1, 4, 1, 1), np.nan)  # a pure rearrangement: non-finite values just move
    assert np.isnan(pixel_shuffle(nan, 2)).all()


def test_icnr_subpixel_convolution_is_convolution_then_nearest_upsampling():
    """Module doc of learned.shuffle: with kernels repeated r² times in a row
    (repeat_interleave), conv -> pixel_shuffle equals conv (C outputs) -> nearest x r."""
    r = 2
    rng = np.random.default_rng(7)
    x = torch.from_numpy(rng.random((2, 3, 6, 5)))
    base = torch.from_numpy(rng.random((4, 3, 3, 3)))
    sub = pixel_shuffle(F.conv2d(x, base.repeat_interleave(r * r, dim=0), padding=1).numpy(), r)
    resize = interpolate(F.conv2d(x, base, padding=1).numpy(), scale_factor=r, mode="nearest")
    np.testing.assert_allclose(sub, resize, atol=1e-12)
    wrong = pixel_shuffle(F.conv2d(x, base.repeat(r * r, 1, 1, 1), padding=1).numpy(), r)
    assert np.abs(wrong - resize).max() > 0.1


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: pixel_shuffle(np.zeros((1, 6, 2, 2)), 2), r"divisible by r\*\*2 = 4, got 6 channels \(r=2\)"),
        (lambda: pixel_shuffle(np.zeros((1, 8, 2, 2)), 3), r"r\*\*2 = 9, got 8 channels"),
        (lambda: pixel_unshuffle(np.zeros((1, 1, 4, 5)), 2), r"height and width divisible by r=2, got 4x5"),
        (lambda: pixel_shuffle(np.zeros((1, 4, 2, 2)), 0), r"positive integer, got 0"),
        (lambda: pixel_shuffle(np.zeros((1, 4, 2, 2)), 1.5), r"positive integer, got 1.5"),
        (lambda: pixel_unshuffle(np.zeros((1, 4, 2, 2)), True), r"positive integer, got True"),
        (lambda: pixel_shuffle(np.zeros((4, 2, 2)), 2), r"4-D \(N, C, H, W\).*got shape \(4, 2, 2\)"),
    ],
)
def test_shuffle_rejects_bad_input(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()
