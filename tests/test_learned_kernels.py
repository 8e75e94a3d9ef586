"""Interpolation kernels for transposed convolution, checked against PyTorch and PIL.

References: FCN's ``get_upsampling_weight`` formula (values worked out by hand below);
``torch.nn.functional.interpolate`` for the bilinear and bicubic (a = -0.75) bridge tests;
PIL's ``Image.resize(BICUBIC)`` (a = -0.5) for the interior of the ``a`` option;
``torch.nn.functional.conv_transpose2d`` with all-ones tensors for the overlap counts.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from deconvkit.errors import InvalidParameterError
from learned.kernels import bicubic_kernel, bilinear_kernel, keys_cubic, overlap_map, upsample_padding

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SIZES = [(5, 7), (6, 4), (1, 1), (2, 3)]  # odd/odd, even/even, a single pixel, tiny non-square


def _bridge(x: torch.Tensor, kernel: np.ndarray, s: int, edge: int) -> torch.Tensor:
    """The recipe of the kernels module docstring, written out with PyTorch calls only."""
    k = torch.from_numpy(kernel).to(x.dtype)[None, None].repeat(x.shape[1], 1, 1, 1)
    size = kernel.shape[0]
    xp = F.pad(x, (edge,) * 4, mode="replicate") if edge else x
    return F.conv_transpose2d(xp, k, stride=s, padding=(size - s) // 2 + edge * s, groups=x.shape[1])


# ----------------------------------------------------------------------------- values


def test_bilinear_kernel_scale2_is_fcn_outer_product():
    taps = np.array([0.25, 0.75, 0.75, 0.25])
    np.testing.assert_allclose(bilinear_kernel(2), np.outer(taps, taps), rtol=0, atol=1e-15)


def test_bilinear_kernel_scale3_is_fcn_outer_product():
    # size 5, factor 3, centre 2 (odd size): 1 - |m - 2| / 3
    taps = np.array([1, 2, 3, 2, 1]) / 3
    np.testing.assert_allclose(bilinear_kernel(3), np.outer(taps, taps), rtol=0, atol=1e-15)


@pytest.mark.parametrize("s", [1, 2, 3, 4, 5])
def test_kernel_sizes(s):
    assert bilinear_kernel(s).shape == (2 * s - s % 2,) * 2
    assert bicubic_kernel(s).shape == (4 * s - s % 2,) * 2
    assert bilinear_kernel(1).tolist() == [[1.0]]


def test_keys_cubic_values():
    # Keys (1981) with a = -0.75: W(0)=1, W(±1)=W(±2)=0, W(0.5)=0.59375, W(1.5)=a/8.
    x = np.array([0, 0.5, -0.5, 1, 1.5, -1.5, 2, 2.5])
    np.testing.assert_allclose(keys_cubic(x), [1, 0.59375, 0.59375, 0, -0.09375, -0.09375, 0, 0], atol=1e-15)
    assert keys_cubic(1.5, a=-0.5) == pytest.approx(-0.0625)


@pytest.mark.parametrize("a", [-0.75, -0.5])
@pytest.mark.parametrize("s", [2, 3, 4])
def test_copies_sum_to_one_on_every_output(s, a):
    """Partition of unity: a constant input stays constant (interior of a zero-padded run)."""
    for kernel in (bilinear_kernel(s), bicubic_kernel(s, a=a)):
        k = torch.from_numpy(kernel)[None, None]
        out = F.conv_transpose2d(torch.ones(1, 1, 9, 9, dtype=torch.float64), k, stride=s)[0, 0]
        inner = out[kernel.shape[0] : -kernel.shape[0], kernel.shape[0] : -kernel.shape[0]]
        np.testing.assert_allclose(inner.numpy(), 1.0, atol=1e-14)


# ----------------------------------------------------------------------------- bridge tests


@pytest.mark.parametrize("s", [2, 3, 4])
@pytest.mark.parametrize("size", SIZES, ids=lambda hw: f"{hw[0]}x{hw[1]}")
@pytest.mark.parametrize(
    ("mode", "make", "edge"), [("bilinear", bilinear_kernel, 1), ("bicubic", bicubic_kernel, 2)], ids=["bilinear", "bicubic"]
)
def test_bridge_equals_torch_interpolate_everywhere(mode, make, edge, s, size):
    g = torch.Generator().manual_seed(s * 100 + size[0])
    x = torch.rand(2, 3, *size, generator=g, dtype=torch.float64)
    want = F.interpolate(x, scale_factor=s, mode=mode, align_corners=False)
    got = _bridge(x, make(s), s, edge)
    assert got.shape == want.shape == (2, 3, s * size[0], s * size[1])
    torch.testing.assert_close(got, want, rtol=0, atol=1e-13)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_bridge_float32(mode):
    x = torch.rand(1, 2, 9, 6, generator=torch.Generator().manual_seed(1))
    make, edge = (bilinear_kernel, 1) if mode == "bilinear" else (bicubic_kernel, 2)
    for s in (2, 3, 4):
        got = _bridge(x, make(s), s, edge)
        torch.testing.assert_close(got, F.interpolate(x, scale_factor=s, mode=mode), rtol=0, atol=3e-6)


@pytest.mark.parametrize("s", [2, 3, 4])
@pytest.mark.parametrize(("mode", "make", "margin"), [("bilinear", bilinear_kernel, lambda s: s // 2),
                                                     ("bicubic", bicubic_kernel, lambda s: -(-3 * s // 2))])
def test_without_edge_padding_only_the_interior_matches(mode, make, margin, s):
    """The documented border loss of a plain zero-padded transposed convolution."""
    x = torch.rand(1, 1, 8, 7, generator=torch.Generator().manual_seed(s), dtype=torch.float64) + 0.5
    want = F.interpolate(x, scale_factor=s, mode=mode, align_corners=False)
    got = _bridge(x, make(s), s, edge=0)
    assert got.shape == want.shape
    b = margin(s)
    torch.testing.assert_close(got[..., b:-b, b:-b], want[..., b:-b, b:-b], rtol=0, atol=1e-13)
    assert (got - want).abs().max() > 0.05  # the borders miss the copies of absent neighbours


@pytest.mark.parametrize("s", [2, 3, 4])
def test_bicubic_a_minus_half_matches_pil_interior(s):
    """PIL upscales with Keys a = -0.5 on the half-pixel grid; its borders renormalise
    the taps instead of replicating, so only the interior is compared."""
    rng = np.random.default_rng(s)
    img = rng.random((9, 11)).astype(np.float32)
    pil = np.asarray(Image.fromarray(img).resize((11 * s, 9 * s), Image.BICUBIC))
    got = _bridge(torch.from_numpy(img.astype(np.float64))[None, None], bicubic_kernel(s, a=-0.5), s, edge=2)[0, 0]
    b = 2 * s
    np.testing.assert_allclose(got.numpy()[b:-b, b:-b], pil[b:-b, b:-b], rtol=0, atol=2e-6)
    assert np.abs(got.numpy() - _bridge(
        torch.from_numpy(img.astype(np.float64))[None, None], bicubic_kernel(s), s, edge=2)[0, 0].numpy()).max() > 1e-3


# ----------------------------------------------------------------------------- padding


@pytest.mark.parametrize("s", [1, 2, 3, 4])
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 8, 11])
@pytest.mark.parametrize("edge", [0, 1, 2])
def test_upsample_padding_gives_exactly_s_times_n(k, s, edge):
    if s == 1 and k % 2 == 0:
        with pytest.raises(InvalidParameterError, match="kernel_size 2|kernel_size [48]"):
            upsample_padding(k, s, edge=edge)
        return
    p, op = upsample_padding(k, s, edge=edge)
    assert 0 <= op < s or (s == 1 and op == 0)
    for n in (1, 4, 5):
        y = F.conv_transpose2d(torch.zeros(1, 1, n + 2 * edge, n + 2 * edge), torch.zeros(1, 1, k, k),
                               stride=s, padding=p, output_padding=op)
        assert y.shape[-2:] == (s * n, s * n)


def test_upsample_padding_common_practice():
    assert upsample_padding(4, 2) == (1, 0)  # ConvTranspose2d(k=4, s=2, p=1)
    assert upsample_padding(3, 2) == (1, 1)  # ConvTranspose2d(k=3, s=2, p=1, output_padding=1)
    assert upsample_padding(2, 2) == (0, 0)


def test_bad_arguments_name_the_value():
    with pytest.raises(InvalidParameterError, match="scale.*0"):
        bilinear_kernel(0)
    with pytest.raises(InvalidParameterError, match="scale.*2.5"):
        bicubic_kernel(2.5)
    with pytest.raises(InvalidParameterError, match="a must be"):
        bicubic_kernel(2, a=float("nan"))
    with pytest.raises(InvalidParameterError, match="output_padding"):
        overlap_map(3, 2, output_padding=2)
    with pytest.raises(InvalidParameterError, match="kernel_size"):
        overlap_map((3, 3, 3), 2)


# ----------------------------------------------------------------------------- overlap


def _torch_count(k, s, n, p=(0, 0), op=(0, 0)) -> np.ndarray:
    """Direct count: transposed convolution of all-ones input with an all-ones kernel."""
    x = torch.ones(1, 1, *n, dtype=torch.float64)
    w = torch.ones(1, 1, *k, dtype=torch.float64)
    return F.conv_transpose2d(x, w, stride=s, padding=p, output_padding=op)[0, 0].numpy()


def test_overlap_k3_s2_counts_1_2_4():
    period = overlap_map(3, 2)
    np.testing.assert_array_equal(period, [[4, 2], [2, 1]])
    direct = _torch_count((3, 3), 2, (8, 8))
    assert set(np.unique(direct[2:-2, 2:-2])) == {1.0, 2.0, 4.0}
    np.testing.assert_array_equal(direct[2:-2, 2:-2], np.tile(period, (7, 7))[:13, :13])


def test_overlap_k4_s2_uniform_interior():
    np.testing.assert_array_equal(overlap_map(4, 2), np.full((2, 2), 4))
    direct = _torch_count((4, 4), 2, (6, 6))
    assert np.all(direct[2:-2, 2:-2] == 4)
    assert direct.min() == 1  # corners: one copy


@pytest.mark.parametrize(
    ("k", "s", "n", "p", "op"),
    [
        ((3, 3), (2, 2), (5, 4), (0, 0), (0, 0)),
        ((4, 4), (2, 2), (3, 6), (1, 1), (0, 0)),
        ((3, 5), (2, 3), (4, 5), (1, 2), (1, 0)),
        ((7, 7), (3, 3), (5, 5), (2, 0), (0, 2)),
        ((1, 2), (2, 1), (3, 3), (0, 0), (1, 0)),
    ],
)

def test_overlap_map_equals_direct_count(k, s, n, p, op):
    got = overlap_map(k, s, input_size=n, padding=p, output_padding=op)
    np.testing.assert_array_equal(got, _torch_count(k, s, n, p, op))
    assert got.dtype == np.int64


@pytest.mark.parametrize(("k", "s", "p"), [(3, 2, 1), (5, 3, 2), (7, 4, 0), (6, 4, 3)])
def test_overlap_period_matches_interior_with_padding_phase(k, s, p):
    n = 12
    direct = _torch_count((k, k), s, (n, n), (p, p))
    period = overlap_map(k, s, padding=p)
    lo = 2 * k  # away from the borders; a multiple of nothing in particular
    hi = lo + 2 * s
    expected = np.tile(period, (2 * s, 2 * s))[lo % s : lo % s + 2 * s, lo % s : lo % s + 2 * s]
    np.testing.assert_array_equal(direct[lo:hi, lo:hi], expected)

