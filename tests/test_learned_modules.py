"""Upsampling modules: shapes, module == reference with non-default arguments, gradcheck, seeding.

References are PyTorch primitives (``F.interpolate``, ``F.conv_transpose2d``, ``F.conv2d``,
``F.max_unpool2d``) or a NumPy scatter-add written here, never another deconvkit function
except where a test is explicitly "module equals its own function".
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from deconvkit.errors import InvalidParameterError
from learned.modules import (
    InterpolationUpsampler,
    PixelShuffleUpsampler,
    ResizeConvUpsampler,
    TransposedConvUpsampler,
    UnpoolingUpsampler,
    icnr_weight,
    pixel_shuffle_upsample,
    pool_indices,
    resize_conv_upsample,
    torch_generator,
    transposed_conv_upsample,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SCALES = [2, 3, 4]


def rand(*shape, seed=0, dtype=torch.float64):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def scatter_add_reference(x: np.ndarray, w: np.ndarray, s: int, edge: int) -> np.ndarray:
    """Depthwise transposed convolution by its definition, cropped to the centred s·n window.

    ``out[i s + m] += x[i] w[m]`` over the edge-padded input; the crop keeps the ``s n``
    outputs centred on the input grid (start ``(K - s) / 2 + edge · s``, rounded up).
    """
    n_c, h, wd = x.shape
    k = w.shape[-1]
    xp = np.pad(x, ((0, 0), (edge, edge), (edge, edge)), mode="edge")
    hp, wp = xp.shape[1:]
    full = np.zeros((n_c, (hp - 1) * s + k + s, (wp - 1) * s + k + s))
    for c in range(n_c):
        for i in range(hp):
            for j in range(wp):
                full[c, i * s : i * s + k, j * s : j * s + k] += xp[c, i, j] * w[c]
    start = -(-((k - s) + 2 * edge * s) // 2)
    return full[:, start : start + s * h, start : start + s * wd]


# ----------------------------------------------------------------------------- shapes


def _all_modules(s, c):
    return [
        InterpolationUpsampler(s),
        InterpolationUpsampler(s, "nearest"),
        TransposedConvUpsampler(s, c),
        TransposedConvUpsampler(s, c, init="bicubic"),
        TransposedConvUpsampler(s, c, init="random", kernel_size=3, rng=0),
        TransposedConvUpsampler(s, c, init="random", kernel_size=2 * s + 1, padding_mode="zeros", rng=0),
        ResizeConvUpsampler(s, c),
        PixelShuffleUpsampler(s, c, rng=0),
    ]


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("hw", [(5, 7), (6, 4), (1, 1)], ids=lambda hw: f"{hw[0]}x{hw[1]}")
def test_output_shapes(s, hw):
    x = rand(2, 3, *hw, dtype=torch.float32)
    for m in _all_modules(s, 3):
        y = m(x)
        assert y.shape == (2, 3, s * hw[0], s * hw[1]), m
        assert y.dtype == torch.float32
    if hw[0] >= s:
        hr = rand(2, 3, s * hw[0], s * hw[1], dtype=torch.float32)
        idx = pool_indices(hr, s)
        assert UnpoolingUpsampler(s)(F.max_pool2d(hr, s), idx).shape == hr.shape


# ----------------------------------------------------------------------------- interpolation


@pytest.mark.parametrize(
    ("s", "mode", "kwargs"),
    [(3, "bicubic", {"align_corners": True}), (2, "bilinear", {"align_corners": True}), (3, "nearest-exact", {}),
     (4, "nearest", {}), (2, "bilinear", {})],
)
def test_interpolation_module_equals_f_interpolate(s, mode, kwargs):
    x = rand(1, 2, 5, 6)
    want = F.interpolate(x, scale_factor=s, mode=mode, **kwargs)
    torch.testing.assert_close(InterpolationUpsampler(s, mode, **kwargs)(x), want, rtol=0, atol=0)
    assert list(InterpolationUpsampler(s).parameters()) == []


def test_interpolation_refuses_align_corners_for_nearest():
    with pytest.raises(InvalidParameterError, match="align_corners=True.*'nearest'"):
        InterpolationUpsampler(2, "nearest", align_corners=True)
    with pytest.raises(InvalidParameterError, match="mode must be one of.*'cubic'"):
        InterpolationUpsampler(2, "cubic")


# ----------------------------------------------------------------------------- transposed


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("depthwise", [True, False])
@pytest.mark.parametrize("init", ["bilinear", "bicubic"])
def test_transposed_init_equals_torch_interpolation_everywhere(s, depthwise, init):
    x = rand(2, 3, 7, 4, seed=s)
    m = TransposedConvUpsampler(s, 3, init=init, depthwise=depthwise, dtype=torch.float64)
    want = F.interpolate(x, scale_factor=s, mode=init, align_corners=False)
    torch.testing.assert_close(m(x), want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("init", ["bilinear", "bicubic"])
def test_transposed_init_float32(init):
    x = rand(1, 2, 9, 6, dtype=torch.float32)
    for s in SCALES:
        got = TransposedConvUpsampler(s, 2, init=init)(x)
        assert got.dtype == torch.float32
        torch.testing.assert_close(got, F.interpolate(x, scale_factor=s, mode=init), rtol=0, atol=3e-6)


def test_transposed_larger_kernel_keeps_interpolation():
    """A kernel two pixels larger holds the bilinear kernel centred, zeros around it."""
    x = rand(1, 2, 6, 5)
    m = TransposedConvUpsampler(2, 2, kernel_size=6, dtype=torch.float64)
    assert m.weight.shape == (2, 1, 6, 6)
    torch.testing.assert_close(m(x), F.interpolate(x, scale_factor=2, mode="bilinear"), rtol=0, atol=1e-13)
    with pytest.raises(InvalidParameterError, match="kernel_size 5"):
        TransposedConvUpsampler(2, 2, kernel_size=5)


@pytest.mark.parametrize("s", [2, 3])
def test_transposed_zeros_padding_differs_only_at_borders(s):
    x = rand(1, 1, 8, 9) + 0.5
    got = TransposedConvUpsampler(s, 1, padding_mode="zeros", dtype=torch.float64)(x)
    want = F.interpolate(x, scale_factor=s, mode="bilinear")
    b = s // 2
    torch.testing.assert_close(got[..., b:-b, b:-b], want[..., b:-b, b:-b], rtol=0, atol=1e-13)
    assert (got - want).abs().max() > 0.1


@pytest.mark.parametrize(("s", "k"), [(2, 3), (2, 4), (3, 5), (3, 8), (4, 7)])
def test_transposed_random_equals_scatter_add_reference(s, k):
    m = TransposedConvUpsampler(s, 2, init="random", kernel_size=k, rng=5).double()
    x = rand(1, 2, 4, 5, seed=1)
    want = scatter_add_reference(x[0].numpy(), m.weight.detach()[:, 0].numpy(), s, m.edge)
    np.testing.assert_allclose(m(x)[0].detach().numpy(), want, rtol=0, atol=1e-13)


def test_transposed_module_equals_function_non_default():
    m = TransposedConvUpsampler(3, 2, kernel_size=7, init="random", bias=True, depthwise=False,
                                padding_mode="zeros", rng=11).double()
    with torch.no_grad():
        m.bias.copy_(torch.tensor([0.3, -0.2], dtype=torch.float64))
    assert m.weight.shape == (2, 2, 7, 7) and m.edge == 0
    x = rand(2, 2, 4, 3)
    want = transposed_conv_upsample(x, m.weight, 3, bias=m.bias, groups=1, edge=0)
    torch.testing.assert_close(m(x), want, rtol=0, atol=0)
    # and the same thing from PyTorch's own layer, with upsample_padding's numbers for k=7, s=3
    layer = torch.nn.ConvTranspose2d(2, 2, 7, stride=3, padding=2, output_padding=0, bias=True).double()
    layer.load_state_dict(m.state_dict())
    torch.testing.assert_close(m(x), layer(x), rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- resize-conv


@pytest.mark.parametrize("s", SCALES)
def test_resize_conv_starts_as_nearest(s):
    x = rand(2, 3, 5, 4)
    m = ResizeConvUpsampler(s, 3).double()
    torch.testing.assert_close(m(x), F.interpolate(x, scale_factor=s, mode="nearest"), rtol=0, atol=0)


def test_resize_conv_non_default_mode_and_kernel_starts_as_resize():
    x = rand(1, 2, 6, 5)
    m = ResizeConvUpsampler(3, 2, mode="bilinear", kernel_size=5, padding_mode="zeros").double()
    torch.testing.assert_close(m(x), F.interpolate(x, scale_factor=3, mode="bilinear"), rtol=0, atol=1e-15)


def test_resize_conv_module_equals_reference_non_default():
    m = ResizeConvUpsampler(2, 3, mode="bicubic", kernel_size=5, init="random", rng=4).double()
    with torch.no_grad():
        m.bias.normal_(generator=torch.Generator().manual_seed(0))
    x = rand(1, 3, 4, 6)
    up = F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
    want = F.conv2d(F.pad(up, (2, 2, 2, 2), mode="replicate"), m.weight, m.bias)
    torch.testing.assert_close(m(x), want, rtol=0, atol=1e-14)
    torch.testing.assert_close(
        m(x), resize_conv_upsample(x, m.weight, 2, bias=m.bias, mode="bicubic", padding_mode="replicate"), rtol=0, atol=0
    )


# ----------------------------------------------------------------------------- pixel shuffle


def test_icnr_weight_is_repeat_interleave_of_random_base():
    base = torch.randn(2, 3, 3, 3, generator=torch.Generator().manual_seed(0))
    w = icnr_weight(base, 2)
    assert w.shape == (8, 3, 3, 3)
    for c in range(2):
        for r in range(4):
            assert torch.equal(w[4 * c + r], base[c])


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("padding_mode", ["replicate", "zeros"])
def test_pixel_shuffle_icnr_equals_nearest_and_base_conv(s, padding_mode):
    c, k = 3, 3
    m = PixelShuffleUpsampler(s, c, kernel_size=k, padding_mode=padding_mode, rng=s).double()
    base = m.weight.detach()[:: s * s]
    bias = torch.linspace(-0.5, 0.5, c, dtype=torch.float64)
    with torch.no_grad():
        m.bias.copy_(bias.repeat_interleave(s * s))
    x = rand(2, c, 5, 4, seed=s)
    pad = (lambda t, p: F.pad(t, (p,) * 4, mode="replicate")) if padding_mode == "replicate" else \
          (lambda t, p: F.pad(t, (p,) * 4))
    # conv at low resolution, then nearest ...
    lr_conv = F.conv2d(pad(x, k // 2), base, bias)
    torch.testing.assert_close(m(x), F.interpolate(lr_conv, scale_factor=s, mode="nearest"), rtol=0, atol=1e-14)
    # ... which is nearest upsampling followed by the same base kernel, dilated by s
    hr_conv = F.conv2d(pad(F.interpolate(x, scale_factor=s, mode="nearest"), s * (k // 2)), base, bias, dilation=s)
    torch.testing.assert_close(m(x), hr_conv, rtol=0, atol=1e-14)


def test_pixel_shuffle_random_init_has_distinct_subpixels_and_matches_function():
    m = PixelShuffleUpsampler(2, 2, kernel_size=5, init="random", padding_mode="zeros", rng=3).double()
    x = rand(1, 2, 4, 4)
    y = m(x)
    assert not torch.equal(y[..., 0::2, 0::2], y[..., 1::2, 1::2])
    want = F.pixel_shuffle(F.conv2d(x, m.weight, m.bias, padding=2), 2)
    torch.testing.assert_close(y, want, rtol=0, atol=1e-15)
    torch.testing.assert_close(y, pixel_shuffle_upsample(x, m.weight, 2, bias=m.bias, padding_mode="zeros"))


# ----------------------------------------------------------------------------- unpooling


@pytest.mark.parametrize("s", SCALES)
def test_unpooling_equals_max_unpool_and_restores_maxima(s):
    hr = rand(2, 2, 4 * s, 3 * s, seed=s)
    pooled = F.max_pool2d(hr, s)
    idx = pool_indices(hr, s)
    y = UnpoolingUpsampler(s)(pooled, idx)
    torch.testing.assert_close(y, F.max_unpool2d(pooled, idx, s, stride=s), rtol=0, atol=0)
    # by hand: each s x s block keeps only its maximum, in place
    blocks = hr.numpy().reshape(2, 2, 4, s, 3, s)
    is_max = blocks == blocks.max(axis=(3, 5), keepdims=True)
    np.testing.assert_array_equal(y.numpy(), np.where(is_max, blocks, 0).reshape(hr.shape))


def test_unpooling_output_size_for_non_multiple():
    hr = rand(1, 1, 7, 5)
    idx = pool_indices(hr, 2)
    y = UnpoolingUpsampler(2)(F.max_pool2d(hr, 2), idx, output_size=(7, 5))
    assert y.shape == (1, 1, 7, 5)
    with pytest.raises(InvalidParameterError, match="indices"):
        UnpoolingUpsampler(2)(F.max_pool2d(hr, 2), idx[..., :1])


# ----------------------------------------------------------------------------- gradcheck


def _gradcheck_module(m: torch.nn.Module, x: torch.Tensor) -> None:
    names = [n for n, _ in m.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_(True) for _, p in m.named_parameters())

    def f(inp, *ps):
        return functional_call(m, dict(zip(names, ps)), (inp,))

    assert torch.autograd.gradcheck(f, (x.requires_grad_(True), *params), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "make",
    [
        lambda: TransposedConvUpsampler(2, 2, init="random", kernel_size=3, bias=True, depthwise=False, rng=0),
        lambda: TransposedConvUpsampler(3, 2, init="bicubic"),
        lambda: ResizeConvUpsampler(2, 2, mode="bilinear", init="random", rng=0),
        lambda: PixelShuffleUpsampler(2, 2, init="random", rng=0),
        lambda: PixelShuffleUpsampler(3, 1, padding_mode="zeros", rng=0),
    ],
    ids=["transposed", "transposed-bicubic", "resize-conv", "pixel-shuffle", "pixel-shuffle-icnr"],
)
def test_gradcheck_float64(make):
    m = make().double()
    _gradcheck_module(m, rand(1, m.channels, 3, 4))


def test_gradcheck_unpooling_input():
    hr = rand(1, 1, 4, 6)
    idx = pool_indices(hr, 2)
    x = F.max_pool2d(hr, 2).clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: UnpoolingUpsampler(2)(t, idx), (x,))


# ----------------------------------------------------------------------------- seeding


@pytest.mark.parametrize(
    "make",
    [
        lambda rng: TransposedConvUpsampler(2, 3, init="random", rng=rng),
        lambda rng: ResizeConvUpsampler(2, 3, init="random", rng=rng),
        lambda rng: PixelShuffleUpsampler(2, 3, rng=rng),
    ],
    ids=["transposed", "resize-conv", "pixel-shuffle"],
)

def test_seeded_init_reproducible_and_seeds_differ(make):
    state = torch.random.get_rng_state()
    a, b, c = make(7), make(7), make(8)
    assert torch.equal(a.weight, b.weight)
    assert not torch.equal(a.weight, c.weight)
    assert torch.equal(make(torch.Generator().manual_seed(7)).weight, a.weight)
    assert torch.equal(make(np.random.default_rng(1)).weight, make(np.random.default_rng(1)).weight)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global RNG was not touched


def test_torch_generator_rejects_bad_seeds():
    for bad in (-1, 1.5, "0", True):
        with pytest.raises(InvalidParameterError, match="rng must be"):
            torch_generator(bad)


def test_bad_arguments_name_the_value():
    with pytest.raises(InvalidParameterError, match="scale.*0"):
        TransposedConvUpsampler(0, 3)
    with pytest.raises(InvalidParameterError, match="init.*'xavier'"):
        TransposedConvUpsampler(2, 3, init="xavier")
    with pytest.raises(InvalidParameterError, match="kernel_size must be odd.*4"):
        ResizeConvUpsampler(2, 3, kernel_size=4)
    with pytest.raises(InvalidParameterError, match="kernel_size must be odd.*2"):
        PixelShuffleUpsampler(2, 3, kernel_size=2)
    with pytest.raises(InvalidParameterError, match="2 channels, expected 3"):
        ResizeConvUpsampler(2, 3)(torch.zeros(1, 2, 4, 4))
    with pytest.raises(InvalidParameterError, match="4-D"):
        PixelShuffleUpsampler(2, 3, rng=0)(torch.zeros(3, 4, 4))
