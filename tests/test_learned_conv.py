"""Convolution layers, transposed convolution and the convolution matrix (``learned``).

Every method of ``conv_transpose2d`` (the three textbook explanations — scatter, zero
insertion, transposed matrix — and the sub-pixel form that is the default) is checked
separately. References, all independent of the code under test:

- PyTorch ``torch.nn.functional.conv2d / conv_transpose2d / conv1d / conv_transpose1d``
  (values, output shapes, and which argument combinations it rejects), and
  ``torch.autograd.grad`` for "the transposed convolution is the gradient of conv2d";
- the scatter definition ``out[i·s + m, j·s + n] += x[i, j] · k[m, n]`` written out with
  plain loops in this file;
- the seeds' worked examples (/work/shared/worked-examples.md, examples 1, 3, 4, 5, 6);
- :func:`deconvkit.linop.dottest` for the adjoint pair.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from deconvkit.errors import InvalidParameterError
from deconvkit.linop import dottest
from learned.conv import conv1d, conv2d
from learned.conv_transpose import TRANSPOSE_METHODS, ConvOperator, conv_transpose1d, conv_transpose2d
from learned.matrices import DENSE_MAX_ENTRIES, conv_matrix
from learned.shapes import conv_output_size, conv_transpose_output_size

N_CONFIGS = 320  # valid configurations compared with PyTorch (at least 300 asked)
TOL = {np.float32: 1e-5, np.float64: 1e-10}  # max abs error / max(1, max |reference|)


# --------------------------------------------------------------------------- configurations


def _draw(rng: np.random.Generator) -> dict:
    """One random layer: strides 1-4, dilations 1-3, paddings 0-3, groups 1-3, odd/even,
    non-square inputs and kernels, batch 1-3, bias or not, and an output_padding that is
    valid about 95 % of the time (the rest exercises the error path)."""
    g = int(rng.integers(1, 4))
    stride = tuple(int(v) for v in rng.integers(1, 5, 2))
    dilation = tuple(int(v) for v in rng.integers(1, 4, 2))
    if rng.random() < 0.05:
        output_padding = tuple(int(max(s, d) + rng.integers(0, 2)) for s, d in zip(stride, dilation))
    else:
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
    return {
        "n": int(rng.integers(1, 4)),
        "c_in": g * int(rng.integers(1, 3)),
        "c_out": g * int(rng.integers(1, 3)),
        "groups": g,
        "hw": tuple(int(v) for v in rng.integers(1, 10, 2)),
        "k": tuple(int(v) for v in rng.integers(1, 6, 2)),
        "stride": stride,
        "padding": tuple(int(v) for v in rng.integers(0, 4, 2)),
        "dilation": dilation,
        "output_padding": output_padding,
        "bias": bool(rng.random() < 0.5),
    }


def _arrays(cfg: dict, transposed: bool, dtype: type, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(seed)
    c_in, c_out, g = cfg["c_in"], cfg["c_out"], cfg["groups"]
    wshape = (c_in, c_out // g) + cfg["k"] if transposed else (c_out, c_in // g) + cfg["k"]
    x = rng.standard_normal((cfg["n"], c_in) + cfg["hw"]).astype(dtype)
    w = rng.standard_normal(wshape).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if cfg["bias"] else None
    return x, w, b


def _torch(fn, x, w, b, **kw) -> np.ndarray:
    """Call a torch.nn.functional convolution on NumPy arrays (bias may be None)."""
    with torch.no_grad():
        return fn(torch.from_numpy(x), torch.from_numpy(w), None if b is None else torch.from_numpy(b), **kw).numpy()


def _configs(transposed: bool):
    """Seeded configurations with the PyTorch verdict: (cfg, ok) where ``ok`` says whether
    PyTorch accepts it (its output shape is then in cfg["torch_shape"])."""
    rng = np.random.default_rng(20240611 if transposed else 20240612)
    valid = 0
    while valid < N_CONFIGS:
        cfg = _draw(rng)
        x, w, b = _arrays(cfg, transposed, np.float64, 0)
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"], "groups": cfg["groups"]}
        if transposed:
            kw["output_padding"] = cfg["output_padding"]
        try:
            cfg["torch_shape"] = _torch(F.conv_transpose2d if transposed else F.conv2d, x, w, b, **kw).shape
        except RuntimeError:
            yield cfg, False
            continue
        valid += 1
        yield cfg, True


CONV_CONFIGS = list(_configs(transposed=False))
TRANSPOSE_CONFIGS = list(_configs(transposed=True))


def _rel_err(y: np.ndarray, ref: np.ndarray) -> float:
    return float(np.abs(y - ref).max() / max(1.0, float(np.abs(ref).max())))


# --------------------------------------------------------------------------- against PyTorch


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv2d_equals_torch_on_random_configs(dtype):
    tested = 0
    for seed, (cfg, ok) in enumerate(CONV_CONFIGS):
        if not ok:
            continue
        x, w, b = _arrays(cfg, False, dtype, seed)
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"], "groups": cfg["groups"]}
        ref = _torch(F.conv2d, x, w, b, **kw)
        y = conv2d(x, w, b, **kw)
        assert y.dtype == dtype and y.shape == ref.shape, cfg
        assert _rel_err(y, ref) <= TOL[dtype], cfg
        tested += 1
    assert tested >= 300


@pytest.mark.parametrize("method", TRANSPOSE_METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_conv_transpose2d_equals_torch_on_random_configs(method, dtype):
    tested = 0
    for seed, (cfg, ok) in enumerate(TRANSPOSE_CONFIGS):
        if not ok:
            continue
        x, w, b = _arrays(cfg, True, dtype, seed)
        kw = {
            "stride": cfg["stride"],
            "padding": cfg["padding"],
            "output_padding": cfg["output_padding"],
            "dilation": cfg["dilation"],
            "groups": cfg["groups"],
        }
        ref = _torch(F.conv_transpose2d, x, w, b, **kw)
        y = conv_transpose2d(x, w, b, method=method, **kw)
        assert y.dtype == dtype and y.shape == ref.shape, cfg
        assert _rel_err(y, ref) <= TOL[dtype], cfg
        tested += 1
    assert tested >= 300


@pytest.mark.parametrize("method", ["subpixel", "scatter"])
@pytest.mark.parametrize("chunk", [1, 700], ids=["one-row-bands", "few-row-bands"])
def test_fast_methods_in_row_bands_equal_torch(monkeypatch, method, chunk):
    """The fast methods work on bands of rows (a single band at the small sizes above);
    force bands of one and of a few rows, where the hand-over between bands matters."""
    import learned.conv_transpose as ct

    monkeypatch.setattr(ct, "_BAND_ELEMENTS", chunk)
    tested = 0
    for seed, (cfg, ok) in enumerate(TRANSPOSE_CONFIGS[:150]):
        if not ok:
            continue
        x, w, b = _arrays(cfg, True, np.float64, seed)
        kw = {k: cfg[k] for k in ("stride", "padding", "output_padding", "dilation", "groups")}
        ref = _torch(F.conv_transpose2d, x, w, b, **kw)
        assert _rel_err(conv_transpose2d(x, w, b, method=method, **kw), ref) <= 1e-10, cfg
        tested += 1
    assert tested >= 100


def test_configs_cover_the_space():
    """The random configurations exercise what they claim to (and some invalid ones)."""
    valid = [c for c, ok in TRANSPOSE_CONFIGS if ok]
    assert {c["groups"] for c in valid} == {1, 2, 3}
    assert {s for c in valid for s in c["stride"]} == {1, 2, 3, 4}
    assert {d for c in valid for d in c["dilation"]} == {1, 2, 3}
    assert any(max(c["output_padding"]) > 0 for c in valid)
    assert any(c["n"] > 1 for c in valid) and any(c["bias"] for c in valid) and any(not c["bias"] for c in valid)
    assert any(c["hw"][0] != c["hw"][1] for c in valid) and any(c["k"][0] % 2 == 0 for c in valid)
    assert sum(not ok for _, ok in TRANSPOSE_CONFIGS) >= 5
    assert sum(not ok for _, ok in CONV_CONFIGS) >= 5


def test_shape_functions_equal_torch_shapes_and_reject_what_torch_rejects():
    for cfg, ok in CONV_CONFIGS:
        args = (cfg["hw"], cfg["k"])
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"]}
        if ok:
            assert conv_output_size(*args, **kw) == tuple(cfg["torch_shape"][2:]), cfg
        else:
            with pytest.raises(InvalidParameterError, match="kernel larger than the padded input"):
                conv_output_size(*args, **kw)
    for cfg, ok in TRANSPOSE_CONFIGS:
        args = (cfg["hw"], cfg["k"])
        kw = {
            "stride": cfg["stride"],
            "padding": cfg["padding"],
            "output_padding": cfg["output_padding"],
            "dilation": cfg["dilation"],
        }
        if ok:
            assert conv_transpose_output_size(*args, **kw) == tuple(cfg["torch_shape"][2:]), cfg
        else:
            with pytest.raises(InvalidParameterError, match="output_padding must be smaller|must be >= 1"):
                conv_transpose_output_size(*args, **kw)
            x, w, b = _arrays(cfg, True, np.float64, 0)
            with pytest.raises(InvalidParameterError):
                conv_transpose2d(x, w, b, groups=cfg["groups"], **kw)


def test_shape_functions_scalars_and_textbook_formulas():
    assert conv_output_size(4, 3) == 2  # (4 + 2*0 - 3)/1 + 1, the seeds' example 5
    assert isinstance(conv_output_size(4, 3), int)
    assert conv_output_size((4, 5), 3) == (2, 3)
    assert conv_output_size([7], [3], stride=[2]) == (3,)
    for n, k, s, p in itertools.product(range(1, 9), range(1, 5), range(1, 4), range(0, 3)):
        if n + 2 * p >= k:
            assert conv_output_size(n, k, stride=s, padding=p) == (n + 2 * p - k) // s + 1
        # textbook transposed size (in - 1)*s + k - 2p, when positive
        if (n - 1) * s + k - 2 * p >= 1:
            assert conv_transpose_output_size(n, k, stride=s, padding=p) == (n - 1) * s + k - 2 * p
    # output_padding selects which of the sizes a strided conv folds together comes back
    for n in range(5, 9):
        m = conv_output_size(n, 3, stride=4, padding=1)
        a = (n + 2 - 3) % 4
        assert conv_transpose_output_size(m, 3, stride=4, padding=1, output_padding=a) == n


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: conv_transpose_output_size(5, 3, stride=2, output_padding=2), r"output_padding must be smaller than max\(stride, dilation\) = max\(2, 1\) = 2.*got 2"),
        (lambda: conv_transpose_output_size(5, 3, stride=1, dilation=2, output_padding=2), r"max\(1, 2\) = 2.*got 2"),
        (lambda: conv_transpose_output_size(5, 3, output_padding=-1), "output_padding must be >= 0, got -1"),
        (lambda: conv_transpose_output_size(1, 1, padding=1), r"output size would be .* = -1; it must be >= 1"),
        (lambda: conv_transpose_output_size((4, 4), 3, stride=(1, 2), output_padding=(0, 2)), r"\(axis 1\), got 2"),
        (lambda: conv_output_size(-3, 3), "size must be >= 1, got -3"),
        (lambda: conv_output_size(0, 3), "size must be >= 1, got 0"),
        (lambda: conv_output_size(5, 0), "kernel_size must be >= 1, got 0"),
        (lambda: conv_output_size(5, 3, stride=0), "stride must be >= 1, got 0"),
        (lambda: conv_output_size(5, 3, dilation=(1, 0)), r"dilation must be >= 1, got \(1, 0\)"),
        (lambda: conv_output_size(5, 3, padding=-1), "padding must be >= 0, got -1"),
        (lambda: conv_output_size(5, 3, stride=1.5), "stride must be an int or a tuple of 1 ints, got 1.5"),
        (lambda: conv_output_size(5, 3, stride=True), "got True"),
        (lambda: conv_output_size((5, 5), (3, 3, 3)), "size has 2, kernel_size has 3"),
        (lambda: conv_output_size(2, 3), r"dilated kernel spans .* = 3 samples, the padded input has size\+2\*padding = 2\+2\*0 = 2"),
        (lambda: conv_output_size(5, 3, dilation=3), "= 7 samples"),
    ],
)
def test_shape_function_errors_name_the_value(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


@pytest.mark.parametrize("method", TRANSPOSE_METHODS)
def test_1d_variants_equal_torch(method):
    rng = np.random.default_rng(5)
    tested = 0
    while tested < 40:
        g = int(rng.integers(1, 3))
        c_in, c_out = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
        n, length, k = int(rng.integers(1, 3)), int(rng.integers(1, 12)), int(rng.integers(1, 5))
        s, p, d = int(rng.integers(1, 4)), int(rng.integers(0, 3)), int(rng.integers(1, 3))
        a = int(rng.integers(0, max(s, d)))
        x = rng.standard_normal((n, c_in, length))
        wt = rng.standard_normal((c_in, c_out // g, k))
        wc = rng.standard_normal((c_out, c_in // g, k))
        b = rng.standard_normal(c_out)
        try:
            ref_t = _torch(F.conv_transpose1d, x, wt, b, stride=s, padding=p, output_padding=a, dilation=d, groups=g)
            ref_c = _torch(F.conv1d, x, wc, b, stride=s, padding=p, dilation=d, groups=g)
        except RuntimeError:
            continue
        y_t = conv_transpose1d(x, wt, b, stride=s, padding=p, output_padding=a, dilation=d, groups=g, method=method)
        y_c = conv1d(x, wc, b, stride=(s,), padding=p, dilation=d, groups=g)
        np.testing.assert_allclose(y_t, ref_t, rtol=0, atol=1e-10 * max(1, np.abs(ref_t).max()))
        np.testing.assert_allclose(y_c, ref_c, rtol=0, atol=1e-10 * max(1, np.abs(ref_c).max()))
        tested += 1


# --------------------------------------------------------------------------- adjointness


def _random_layers(count: int, seed: int):
    rng = np.random.default_rng(seed)
    while count:
        cfg = _draw(rng)
        h, w = cfg["hw"]
        hw = (h + 4, w + 3)  # a little larger than _draw's, so most layers fit
        try:
            conv_output_size(hw, cfg["k"], stride=cfg["stride"], padding=cfg["padding"], dilation=cfg["dilation"])
        except InvalidParameterError:
            continue
        count -= 1
        weight = rng.standard_normal((cfg["c_out"], cfg["c_in"] // cfg["groups"]) + cfg["k"])
        yield cfg, weight, (cfg["c_in"],) + hw


@pytest.mark.parametrize("method", TRANSPOSE_METHODS)
def test_dottest_conv_operator(method):
    """<conv2d(x), y> = <x, conv_transpose2d(y)> on random layers, via deconvkit.linop.dottest."""
    for i, (cfg, weight, shape) in enumerate(_random_layers(40, seed=11)):
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"], "groups": cfg["groups"]}
        op = ConvOperator(weight, shape, method=method, **kw)
        dottest(op, rng=i, rtol=1e-10)
        assert op.adjoint(np.zeros(op.out_shape)).shape == shape
        op32 = ConvOperator(weight.astype(np.float32), (2,) + shape, method=method, **kw)  # batched, float32
        dottest(op32, rng=i, rtol=1e-4, dtype=np.float32)
        assert op32.forward(np.zeros(op32.in_shape, np.float32)).dtype == np.float32


def test_conv_operator_forward_is_conv2d_and_output_padding_restores_the_shape():
    weight = np.random.default_rng(0).standard_normal((2, 3, 3, 4))
    for h, w in [(9, 8), (10, 11), (7, 7)]:
        op = ConvOperator(weight, (3, h, w), stride=(2, 3), padding=1)
        assert op.output_padding == ((h + 2 - 2 - 1) % 2, (w + 2 - 3 - 1) % 3)
        x = np.random.default_rng(h).standard_normal((3, h, w))
        np.testing.assert_array_equal(op.forward(x), conv2d(x[None], weight, stride=(2, 3), padding=1)[0])
        assert op.adjoint(op.forward(x)).shape == (3, h, w)


def test_conv_matrix_agrees_with_conv2d_and_conv_transpose2d_dense_and_sparse():
    for cfg, weight, shape in _random_layers(40, seed=12):
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"], "groups": cfg["groups"]}
        op = ConvOperator(weight, shape, **kw)
        rng = np.random.default_rng(0)
        x, y = rng.standard_normal(shape), rng.standard_normal(op.out_shape)
        fwd = conv2d(x[None], weight, **kw)[0]
        adj = conv_transpose2d(y[None], weight, output_padding=op.output_padding, **kw)[0]
        np.testing.assert_array_equal(op.matrix(sparse=False), conv_matrix(weight, shape, sparse=False, **kw))
        for sparse in (False, True):
            c = conv_matrix(weight, shape, sparse=sparse, **kw)
            assert isinstance(c, sp.csr_array if sparse else np.ndarray)
            assert c.shape == (y.size, x.size)
            np.testing.assert_allclose(c @ x.ravel(), fwd.ravel(), rtol=0, atol=1e-12 * max(1, np.abs(fwd).max()))
            np.testing.assert_allclose(c.T @ y.ravel(), adj.ravel(), rtol=0, atol=1e-12 * max(1, np.abs(adj).max()))


def test_conv_matrix_default_switches_to_sparse_above_the_threshold():
    k = np.ones((4, 4, 3, 3), np.float32)
    small = conv_matrix(k, (4, 8, 8))
    big = conv_matrix(k, (4, 40, 40))
    assert isinstance(small, np.ndarray) and small.size <= DENSE_MAX_ENTRIES and small.dtype == np.float32
    assert isinstance(big, sp.csr_array) and big.shape[0] * big.shape[1] > DENSE_MAX_ENTRIES
    assert big.nnz == np.count_nonzero(conv_matrix(k, (4, 40, 40), sparse=False))
    assert big.dtype == np.float32


@pytest.mark.parametrize("method", TRANSPOSE_METHODS)
def test_transposed_convolution_is_the_gradient_of_conv2d(method):
    """torch.autograd.grad((conv2d(x) * y).sum(), x) is conv_transpose2d(y)."""
    for cfg, weight, shape in _random_layers(25, seed=13):
        kw = {"stride": cfg["stride"], "padding": cfg["padding"], "dilation": cfg["dilation"], "groups": cfg["groups"]}
        op = ConvOperator(weight, (2,) + shape, **kw)
        rng = np.random.default_rng(1)
        x = torch.from_numpy(rng.standard_normal((2,) + shape)).requires_grad_(True)
        y = rng.standard_normal(op.out_shape)
        (grad,) = torch.autograd.grad((F.conv2d(x, torch.from_numpy(weight), **kw) * torch.from_numpy(y)).sum(), x)
        ours = conv_transpose2d(y, weight, output_padding=op.output_padding, method=method, **kw)
        np.testing.assert_allclose(ours, grad.numpy(), rtol=0, atol=1e-10 * max(1, grad.abs().max().item()))


# --------------------------------------------------------------------------- the seeds' examples


def _scatter_reference(x: np.ndarray, k: np.ndarray, stride: int = 1) -> np.ndarray:
    """out[i*s + m, j*s + n] += x[i, j] * k[m, n], with plain loops (article A's definition)."""
    h, w = x.shape
    kh, kw = k.shape
    out = np.zeros(((h - 1) * stride + kh, (w - 1) * stride + kw))
    for i, j, m, n in itertools.product(range(h), range(w), range(kh), range(kw)):
        out[i * stride + m, j * stride + n] += x[i, j] * k[m, n]
    return out


def test_seed_example_6_one_dimensional():
    """[1, 2] with kernel [3, 4] at stride 2 -> [3, 4, 6, 8] = [a*x, b*x, a*y, b*y]."""
    y = conv_transpose1d([[[1.0, 2.0]]], [[[3.0, 4.0]]], stride=2)
    np.testing.assert_array_equal(y, [[[3.0, 4.0, 6.0, 8.0]]])
    layer = torch.nn.ConvTranspose1d(1, 1, kernel_size=2, stride=2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[[3.0, 4.0]]]))
        ref = layer(torch.tensor([[[1.0, 2.0]]])).numpy()
    np.testing.assert_array_equal(y, ref)
    for method in TRANSPOSE_METHODS:
        np.testing.assert_array_equal(conv_transpose1d([[[1.0, 2.0]]], [[[3.0, 4.0]]], stride=2, method=method), y)
    # overlapping contributions (kernel 3 > stride 2) are summed: [3, 4, 5+6, 8, 10]
    np.testing.assert_array_equal(conv_transpose1d([[[1.0, 2.0]]], [[[3.0, 4.0, 5.0]]], stride=2), [[[3, 4, 11, 8, 10]]])


def test_seed_example_1_three_by_three_input_two_by_two_kernel():
    """Article A: 3x3 input, 2x2 kernel [[a, b], [c, d]], stride 1 -> 4x4 (the article's 5x5 is wrong)."""
    x = np.arange(1.0, 10.0).reshape(3, 3)
    a, b, c, d = 2.0, 3.0, 5.0, 7.0  # distinct values: every coefficient is identifiable
    k = np.array([[a, b], [c, d]])
    out = conv_transpose2d(x[None, None], k[None, None])[0, 0]
    assert out.shape == (4, 4) != (5, 5)
    assert conv_transpose_output_size(3, 2) == 4  # (3 - 1)*1 + 2
    np.testing.assert_array_equal(out, _scatter_reference(x, k))
    assert out[0, 0] == 1 * a
    assert out[0, 1] == 2 * a + 1 * b
    assert out[1, 1] == 5 * a + 4 * b + 2 * c + 1 * d
    assert out[3, 3] == 9 * d
    assert out[0, 3] == 3 * b and out[3, 0] == 7 * c
    # the ordinary convolution's top-left value the article starts from: a*1 + b*2 + c*4 + d*5
    assert conv2d(x[None, None], k[None, None])[0, 0, 0, 0] == a * 1 + b * 2 + c * 4 + d * 5


def test_seed_example_3_stride_two_is_zero_insertion():
    """Article B: insert one zero between neighbours of a 3x3 input, pad, convolve: equals scatter."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 3))
    k = rng.standard_normal((3, 3))
    # Built by hand: 5x5 with zeros between samples, padded by k - 1 = 2, then a valid
    # stride-1 cross-correlation with the flipped kernel.
    z = np.zeros((5, 5))
    z[::2, ::2] = x
    z = np.pad(z, 2)
    by_hand = np.array([[np.sum(z[i : i + 3, j : j + 3] * k[::-1, ::-1]) for j in range(7)] for i in range(7)])
    ref = _scatter_reference(x, k, stride=2)
    np.testing.assert_allclose(by_hand, ref, atol=1e-12)
    for method in TRANSPOSE_METHODS:
        np.testing.assert_allclose(conv_transpose2d(x[None, None], k[None, None], stride=2, method=method)[0, 0], ref, atol=1e-12)


def test_seed_example_4_convolution_then_transpose_is_not_the_identity():
    """Article B: 4x4 -conv 3x3-> 2x2 -transposed conv-> 4x4, the input's shape but not the input."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 1, 4, 4))
    k = rng.standard_normal((1, 1, 3, 3))
    y = conv2d(x, k)
    assert y.shape == (1, 1, 2, 2)
    back = conv_transpose2d(y, k)
    assert back.shape == x.shape
    assert np.abs(back - x).max() > 0.1
    # Not even up to a scale: C^T C has rank 4 < 16.
    op = ConvOperator(k[0, 0], (4, 4))
    gram = np.stack([op.adjoint(op.forward(e.reshape(4, 4))).ravel() for e in np.eye(16)])
    assert np.linalg.matrix_rank(gram) == 4


def test_seed_example_5_convolution_matrix_4x16():
    """Articles C and E: 4x4 input, 3x3 kernel -> C is 4x16, each row a kernel placement; C^T is 16x4."""
    k = np.arange(1.0, 10.0).reshape(3, 3)
    c = conv_matrix(k, (4, 4))
    assert c.shape == (4, 16) and c.T.shape == (16, 4)
    assert conv_output_size(4, 3) == (4 + 2 * 0 - 3) // 1 + 1 == 2
    # Row 1 = output pixel (0, 1): the kernel shifted one column right.
    expected = np.zeros((4, 4))
    expected[0:3, 1:4] = k
    np.testing.assert_array_equal(c[1], expected.ravel())
    for row, (i, j) in enumerate(itertools.product(range(2), range(2))):
        placed = np.zeros((4, 4))
        placed[i : i + 3, j : j + 3] = k
        np.testing.assert_array_equal(c[row].reshape(4, 4), placed)
    x = np.random.default_rng(5).standard_normal((4, 4))
    np.testing.assert_allclose((c @ x.ravel()).reshape(2, 2), conv2d(x[None, None], k[None, None])[0, 0], atol=1e-12)
    y = np.random.default_rng(6).standard_normal((2, 2))
    np.testing.assert_allclose((c.T @ y.ravel()).reshape(4, 4), conv_transpose2d(y[None, None], k[None, None])[0, 0], atol=1e-12)
    assert (c.T @ y.ravel()).reshape(4, 4).shape == (4, 4)
    # Article E's single convolution value: kernel rows (0,1,2),(2,2,0),(0,1,2) over one patch -> 12.
    patch = np.array([[3.0, 3, 2], [0, 0, 1], [3, 1, 2]])
    kernel = np.array([[0.0, 1, 2], [2, 2, 0], [0, 1, 2]])
    assert conv2d(patch[None, None], kernel[None, None])[0, 0, 0, 0] == 12
    assert conv_matrix(kernel, (3, 3)) @ patch.ravel() == pytest.approx([12.0])


# --------------------------------------------------------------------------- dtypes


@pytest.mark.parametrize("method", TRANSPOSE_METHODS)
@pytest.mark.parametrize(
    ("x_dtype", "w_dtype", "expected"),
    [
        (np.float32, np.float32, np.float32),
        (np.float16, np.float32, np.float32),
        (np.float64, np.float64, np.float64),
        (np.float32, np.float64, np.float64),
        (np.uint8, np.float32, np.float64),
        (np.int64, np.int64, np.float64),
    ],
)
def test_dtype_policy(method, x_dtype, w_dtype, expected):
    x = np.ones((1, 2, 5, 4), x_dtype)
    assert conv2d(x, np.ones((3, 2, 2, 2), w_dtype)).dtype == expected
    assert conv_transpose2d(x, np.ones((2, 3, 2, 2), w_dtype), stride=2, method=method).dtype == expected
    assert conv_transpose2d(x, np.ones((2, 3, 2, 2), w_dtype), np.ones(3, np.float32), method=method).dtype == expected


# --------------------------------------------------------------------------- bad input


X = np.zeros((1, 4, 6, 6))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: conv2d(np.zeros((4, 6, 6)), np.zeros((2, 4, 3, 3))), r"x must be 4-D \(N, C_in, H, W\), got shape \(4, 6, 6\)"),
        (lambda: conv2d(X, np.zeros((2, 4, 3))), r"weight must be 4-D \(C_out, C_in/groups, kH, kW\), got shape \(2, 4, 3\)"),
        (lambda: conv2d(X, np.zeros((2, 3, 3, 3))), r"expects weight.shape\[1\]\*groups = 3 input channels, got x with 4"),
        (lambda: conv2d(X, np.zeros((3, 2, 3, 3)), groups=2), "groups=2 must divide both the 4 input channels .* and the 3 output"),
        (lambda: conv2d(X, np.zeros((2, 4, 3, 3)), groups=0), "groups must be >= 1, got 0"),
        (lambda: conv2d(X, np.zeros((2, 4, 3, 3)), groups=1.5), "groups must be an integer, got 1.5"),
        (lambda: conv2d(X, np.zeros((2, 4, 7, 3))), r"kernel larger than the padded input \(axis 0\).* = 7 samples"),
        (lambda: conv2d(X, np.zeros((2, 4, 3, 3)), np.zeros(3)), r"bias must have shape \(2,\).*got \(3,\)"),
        (lambda: conv2d(X, np.zeros((2, 4, 3, 3)), stride=(1, 2, 3)), r"stride must be an int or a tuple of 2 ints, got \(1, 2, 3\)"),
        (lambda: conv2d(X, np.zeros((2, 4, 3, 3)), padding=-1), "padding must be >= 0, got -1"),
        (lambda: conv2d(X * np.nan, np.zeros((2, 4, 3, 3))), "x must be finite"),
        (lambda: conv2d(X.astype(complex), np.zeros((2, 4, 3, 3))), "x must hold real numbers"),
        (lambda: conv1d(X, np.zeros((2, 4, 3))), r"x must be 3-D \(N, C_in, L\), got shape \(1, 4, 6, 6\)"),
        (lambda: conv_transpose2d(X, np.zeros((3, 2, 3, 3))), r"expects weight.shape\[0\] = 3 input channels, got x with 4"),
        (lambda: conv_transpose2d(X, np.zeros((4, 2, 3, 3)), groups=3), "groups=3 must divide the 4 input channels"),
        (lambda: conv_transpose2d(X, np.zeros((4, 2, 3, 3)), method="fft"), "method must be one of 'subpixel', 'scatter', 'zero_insertion', 'matrix', got 'fft'"),
        (lambda: conv_transpose2d(X, np.zeros((4, 2, 3, 3)), stride=2, output_padding=2), r"output_padding must be smaller .* = 2 \(axis 0\), got 2"),
        (lambda: conv_transpose2d(X, np.zeros((4, 2, 3, 3)), padding=9), r"= -10; it must be >= 1"),
        (lambda: conv_transpose2d(X, np.zeros((4, 2, 3, 3)), np.zeros(4)), r"bias must have shape \(2,\)"),
        (lambda: conv_transpose1d(np.zeros((1, 4, 6)), np.zeros((4, 2, 3)), method="Scatter"), "got 'Scatter'"),
        (lambda: conv_matrix(np.zeros((3,)), (4, 4)), r"weight must be 4-D .* or 2-D \(kH, kW\), got shape \(3,\)"),
        (lambda: conv_matrix(np.zeros((3, 3)), (2, 4, 4)), r"input_shape must be \(H, W\), got \(2, 4, 4\)"),
        (lambda: conv_matrix(np.zeros((2, 3, 3, 3)), (4, 5, 5)), r"expects input_shape\[0\] = .* = 3 input channels.*got input_shape \(4, 5, 5\)"),
        (lambda: conv_matrix(np.zeros((3, 3)), (4, 4), sparse="yes"), "sparse must be True, False or None, got 'yes'"),
        (lambda: conv_matrix(np.zeros((3, 3)), (2, 2)), "kernel larger than the padded input"),
        (lambda: ConvOperator(np.zeros((2, 4, 3, 3)), (4, 6)), r"input_shape must be \(C_in, H, W\) or \(N, C_in, H, W\), got \(4, 6\)"),
        (lambda: ConvOperator(np.zeros((2, 4, 3, 3)), (3, 6, 6)), r"expects input_shape\[0\] = weight.shape\[1\]\*groups = 4 input channels"),
        (lambda: ConvOperator(np.zeros((2, 4, 3, 3)), (4, 6, 6), method="inverse"), "got 'inverse'"),
    ],
)
def test_bad_input_raises_invalid_parameter_error_naming_the_value(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


def test_invalid_parameter_error_is_a_value_error():
    with pytest.raises(ValueError):
        conv2d(X, np.zeros((2, 4, 3, 3)), stride=0)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(9)
    x, w, b = rng.standard_normal((2, 2, 5, 5)), rng.standard_normal((2, 3, 3, 3)), rng.standard_normal(3)
    copies = [a.copy() for a in (x, w, b)]
    for method in TRANSPOSE_METHODS:
        conv_transpose2d(x, w, b, stride=2, padding=1, method=method)
    conv2d(x, w.transpose(1, 0, 2, 3), b)
    for a, c in zip((x, w, b), copies):
        np.testing.assert_array_equal(a, c)


def test_public_names():
    """The names other modules and users import (an API-surface check)."""
    import learned.conv
    import learned.conv_transpose
    import learned.matrices
    import learned.shapes

    assert set(learned.shapes.__all__) == {"conv_output_size", "conv_transpose_output_size"}
    assert set(learned.conv.__all__) == {"conv2d", "conv1d"}
    assert set(learned.matrices.__all__) == {"conv_matrix", "DENSE_MAX_ENTRIES"}
    assert set(learned.conv_transpose.__all__) == {
        "conv_transpose2d",
        "conv_transpose1d",
        "ConvOperator",
        "TRANSPOSE_METHODS",
    }
    assert TRANSPOSE_METHODS[0] == "subpixel"
    assert set(TRANSPOSE_METHODS) == {"subpixel", "scatter", "zero_insertion", "matrix"}


@pytest.mark.parametrize("bad", [(4.7, 4), (True, 4), ("4", 4)])
def test_non_integer_input_shape_is_refused_not_truncated(bad):
    with pytest.raises(InvalidParameterError, match="input_shape must be"):
        conv_matrix(np.ones((3, 3)), bad)
    with pytest.raises(InvalidParameterError, match="input_shape must be"):
        ConvOperator(np.ones((3, 3)), bad)


def test_list_bias_does_not_promote_float32():
    x = np.ones((1, 2, 5, 5), np.float32)
    assert conv2d(x, np.ones((3, 2, 3, 3), np.float32), [0.0, 1.0, 2.0]).dtype == np.float32
    assert conv_transpose2d(x, np.ones((2, 3, 3, 3), np.float32), [0.0, 1.0, 2.0]).dtype == np.float32
