"""``learned.interpolate`` against PyTorch, OpenCV and PIL, and the seeds' worked example 2.

References and where they come from:

- ``torch.nn.functional.interpolate`` (the installed torch, CPU): the definition we follow
  for every mode, size and scale factor.
- ``cv2.resize`` on float32 HWC images with ``dsize`` (OpenCV's float path; its 8-bit path
  uses fixed-point weights): INTER_LINEAR, INTER_CUBIC, INTER_AREA, INTER_NEAREST(_EXACT).
- ``PIL.Image.resize`` on mode ``"F"`` (float32) images: BILINEAR, BICUBIC (Keys a = -0.5),
  NEAREST.

Each documented disagreement in the module docstring is tested too, so the table stays true.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

import learned.interpolation as li
from deconvkit.errors import InvalidParameterError
from learned.interpolation import interpolate

TOL = {np.float32: 1e-6, np.float64: 1e-12}
# Odd/even, non-square planes; N and C > 1 in the first two.
SHAPES = [(2, 3, 7, 5), (3, 2, 8, 12), (1, 1, 13, 16)]
FACTORS = [2, 3, 4, 1.5, 0.5, 1.7, 0.3, (2, 3), (0.5, 2), (1.25, 0.75)]
SIZES = [(14, 10), (3, 7), (20, 9), (1, 1), (5, 5), (31, 2)]


def _rand(shape, dtype, seed=0):
    return np.random.default_rng(seed).random(shape).astype(dtype)


def _torch(x, **kw):
    return F.interpolate(torch.from_numpy(x), **kw).numpy()


def _hwc(x):
    """(1, C, H, W) -> (H, W, C) float32, contiguous, for OpenCV."""
    return np.ascontiguousarray(x[0].transpose(1, 2, 0))


def _cv(x, size, flag):
    out = cv2.resize(_hwc(x), (size[1], size[0]), interpolation=flag)
    return out.reshape(size[0], size[1], -1).transpose(2, 0, 1)[None]


# --------------------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize(
    "mode, align_corners",
    [("nearest", False), ("nearest-exact", False), ("bilinear", False), ("bilinear", True),
     ("bicubic", False), ("bicubic", True), ("area", False)],
)
def test_matches_torch(mode, align_corners, dtype):
    """Every mode, scale factors (integer, non-integer, < 1, per axis) and sizes (up, down)."""
    kw = {"mode": mode}
    if mode in ("bilinear", "bicubic"):
        kw["align_corners"] = align_corners
    tol = 0.0 if mode.startswith("nearest") else TOL[dtype]
    worst = 0.0
    for i, shape in enumerate(SHAPES):
        x = _rand(shape, dtype, seed=i)
        cases = [{"scale_factor": f} for f in FACTORS] + [{"size": s} for s in SIZES]
        for case in cases:
            if "scale_factor" in case:
                f = case["scale_factor"]
                fh, fw = f if isinstance(f, tuple) else (f, f)
                if int(shape[2] * fh) < 1 or int(shape[3] * fw) < 1:
                    continue  # an empty output, refused here (test_rejects_empty_output)
            ref = _torch(x, **case, **kw)
            got = interpolate(x, **case, **kw)
            assert got.shape == ref.shape, (case, got.shape, ref.shape)
            assert got.dtype == dtype
            err = float(np.abs(got - ref).max())
            assert err <= tol, (shape, case, err)
            worst = max(worst, err)
    assert worst <= tol


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_tiled_path_equals_banded_path_and_torch(dtype, monkeypatch):
    """The periodic tile-by-tile path (scale factors 2, 4, 1/2, ...; widths that fill whole
    tiles and widths that do not) equals PyTorch and the general banded path."""
    calls = []
    tiled = li._resize_tiled
    monkeypatch.setattr(li, "_resize_tiled", lambda *a: calls.append(a[3]) or tiled(*a))
    monkeypatch.setattr(li, "_TILED_MIN_PLANE", 0)  # small test planes take the tiled path too
    cases = [("bicubic", 2), ("bilinear", 2), ("bicubic", (4, 2)), ("bilinear", 0.5), ("area", 0.5),
             ("bicubic", 0.5), ("area", 3)]
    for shape in [(1, 2, 67, 130), (2, 1, 33, 64)]:  # 130 and 33 leave a partial tile
        x = _rand(shape, dtype, seed=5)
        kws = [{"scale_factor": f, "mode": mode} for mode, f in cases]
        # align_corners with (in - 1) / (out - 1) = 1/2 is periodic as well.
        kws.append({"size": (2 * shape[2] - 1, 2 * shape[3] - 1), "mode": "bicubic", "align_corners": True})
        for kw in kws:
            ours = interpolate(x, **kw)
            np.testing.assert_allclose(ours, _torch(x, **kw), rtol=0, atol=TOL[dtype])
            with monkeypatch.context() as m:  # the periodic shortcut off: the general banded path
                m.setattr(li, "_candidate_period", lambda *args: None)
                banded = interpolate(x, **kw)
            np.testing.assert_allclose(ours, banded, rtol=0, atol=TOL[dtype])
    # The shortcut was taken every time but twice: "area" x 0.5 on 67 or 33 rows (odd) pools
    # windows of 2 and 3 rows, which do not repeat; bilinear and bicubic x 0.5 on the same
    # rows sample with scale 1 / 0.5 = 2 (PyTorch), which does.
    assert len(calls) == 2 * (len(cases) + 1) - 2


def test_scale_factor_uses_its_inverse_not_in_over_out():
    """scale_factor=1.5 on 7 pixels: 10 outputs sampled with 1/1.5 (torch), not 7/10."""
    x = _rand((1, 1, 7, 7), np.float64)
    by_factor = interpolate(x, scale_factor=1.5, mode="bilinear")
    by_size = interpolate(x, size=10, mode="bilinear")
    assert by_factor.shape == by_size.shape == (1, 1, 10, 10)
    np.testing.assert_allclose(by_factor, _torch(x, scale_factor=1.5, mode="bilinear"), atol=1e-12)
    assert np.abs(by_factor - by_size).max() > 0.01


def test_seed_example_2_nearest_doubles_each_value():
    """Article A: [[a,b,c],[d,e,f],[g,h,i]] nearest x2 is the 6x6 array of 2x2 blocks."""
    x = np.arange(1, 10).reshape(1, 1, 3, 3)
    expected = np.array(
        [[1, 1, 2, 2, 3, 3],
         [1, 1, 2, 2, 3, 3],
         [4, 4, 5, 5, 6, 6],
         [4, 4, 5, 5, 6, 6],
         [7, 7, 8, 8, 9, 9],
         [7, 7, 8, 8, 9, 9]], dtype=np.float64)
    for kw in ({"scale_factor": 2}, {"size": (6, 6)}):
        for mode in ("nearest", "nearest-exact"):
            y = interpolate(x, mode=mode, **kw)
            np.testing.assert_array_equal(y[0, 0], expected)
    assert interpolate(x, scale_factor=2).dtype == np.float64


@pytest.mark.parametrize(
    "dtype, expected", [(np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64),
                        (np.uint8, np.float64), (np.int32, np.float64)]
)
def test_dtype_policy(dtype, expected):
    x = (np.random.default_rng(0).random((1, 2, 5, 6)) * 100).astype(dtype)
    for mode in ("nearest", "bilinear", "bicubic", "area"):
        assert interpolate(x, scale_factor=2, mode=mode).dtype == expected


def test_output_is_new_array_and_views_are_accepted():
    x = _rand((2, 3, 9, 8), np.float64)
    for mode in ("nearest", "bilinear", "bicubic", "area"):
        y = interpolate(x, size=(9, 8), mode=mode)  # scale 1: an exact copy
        np.testing.assert_array_equal(y, x)
        assert not np.shares_memory(x, y)
    view = np.random.default_rng(1).random((9, 8, 3, 2)).transpose(3, 2, 0, 1)  # not contiguous
    np.testing.assert_allclose(
        interpolate(view, scale_factor=2, mode="bicubic"),
        _torch(np.ascontiguousarray(view), scale_factor=2, mode="bicubic"),
        atol=1e-12,
    )


# --------------------------------------------------------------------------- OpenCV


@pytest.mark.parametrize(
    "mode, flag", [("bilinear", cv2.INTER_LINEAR), ("bicubic", cv2.INTER_CUBIC)], ids=["linear", "cubic"]
)
def test_matches_opencv_linear_and_cubic(mode, flag):
    """Half-pixel centres, clamped borders, no antialiasing: equal to OpenCV's float path.
    Power-of-two scales to 1e-6; other scales to 1e-5 (OpenCV keeps the scale in double,
    PyTorch and we in float32: module doc, "coordinate precision")."""
    def power_of_two(n_in, n_out):
        return float(np.log2(n_in / n_out)).is_integer()

    for i, (h, w) in enumerate([(37, 31), (32, 48), (45, 64)]):
        x = _rand((1, 3, h, w), np.float32, seed=10 + i)
        for size in [(2 * h, 2 * w), (4 * h, 2 * w), (h // 2, w // 2), (3 * h, 3 * w), (h + 5, w * 5 // 3),
                     (h * 2 // 3, w * 3 // 4)]:
            tol = 1e-6 if power_of_two(h, size[0]) and power_of_two(w, size[1]) else 1e-5
            got = interpolate(x, size=size, mode=mode)
            err = float(np.abs(got - _cv(x, size, flag)).max())
            assert err <= tol, (mode, (h, w), size, err)


def test_area_vs_opencv_agrees_for_integer_and_half_upscaling_only():
    """Integer down- and upscaling: equal (box means; pixel copies). Other factors differ,
    OpenCV weighing fractional pixel areas and adaptive pooling whole pixels, except
    upscaling by k + 1/2, where every output pixel is split evenly (module doc)."""
    for i, (h, w) in enumerate([(36, 30), (32, 48), (42, 64)]):
        x = _rand((1, 3, h, w), np.float32, seed=20 + i)
        for fh, fw in [(2, 2), (3, 3), (3, 2), (1, 4)]:
            if h % fh or w % fw:
                continue
            size = (h // fh, w // fw)
            np.testing.assert_allclose(interpolate(x, size=size, mode="area"), _cv(x, size, cv2.INTER_AREA), atol=1e-6)
        for size in [(2 * h, 2 * w), (3 * h, w), (3 * h // 2, 5 * w // 2)]:  # even: h, w
            np.testing.assert_allclose(interpolate(x, size=size, mode="area"), _cv(x, size, cv2.INTER_AREA), atol=1e-6)
        # Documented disagreement: other non-integer factors, down and up.
        for size in [(h * 2 // 3, w * 3 // 4), (h + 1, w + 3), (h * 4 // 3, w * 4 // 3)]:
            assert np.abs(interpolate(x, size=size, mode="area") - _cv(x, size, cv2.INTER_AREA)).max() > 0.01


def _index_map(n_in, n_out, mode):
    """Indices chosen along one axis: resize a row of column numbers."""
    row = np.tile(np.arange(n_in, dtype=np.float32), (2, 1))[None, None]
    return interpolate(row, size=(2, n_out), mode=mode)[0, 0, 0].astype(int), row[0, 0]


def _ties(n_in, n_out, exact):
    k = np.arange(n_out)
    num, den = ((2 * k + 1) * n_in, 2 * n_out) if exact else (k * n_in, n_out)
    return num % den == 0


@pytest.mark.parametrize(
    "mode, flag, example",
    [("nearest", cv2.INTER_NEAREST, (6, 34, 17)), ("nearest-exact", cv2.INTER_NEAREST_EXACT, (2, 7, 3))],
    ids=["nearest", "nearest-exact"],
)
def test_nearest_vs_opencv_differs_only_at_ties(mode, flag, example):
    """Same pixels as OpenCV except at exact ties, and there by one pixel (module doc)."""
    exact = mode == "nearest-exact"
    rng = np.random.default_rng(3)
    pairs = [tuple(int(v) for v in rng.integers(1, 257, 2)) for _ in range(300)]
    differing = 0
    for n_in, n_out in pairs + [example[:2]]:
        ours, row = _index_map(n_in, n_out, mode)
        theirs = cv2.resize(row, (n_out, 2), interpolation=flag)[0].astype(int)
        diff = ours != theirs
        differing += bool(diff.any())
        assert not (diff & ~_ties(n_in, n_out, exact)).any(), (n_in, n_out)
        assert np.all(np.abs(ours - theirs)[diff] == 1)
        # Powers of two make every tie exact in binary: full agreement.
    for n_in, n_out in [(8, 16), (8, 32), (16, 8), (12, 48), (64, 4)]:
        ours, row = _index_map(n_in, n_out, mode)
        np.testing.assert_array_equal(ours, cv2.resize(row, (n_out, 2), interpolation=flag)[0].astype(int))
    n_in, n_out, k = example
    ours, row = _index_map(n_in, n_out, mode)
    theirs = cv2.resize(row, (n_out, 2), interpolation=flag)[0].astype(int)
    assert ours[k] != theirs[k] and _ties(n_in, n_out, exact)[k]
    assert differing > 0


def test_nearest_exact_vs_pil_differs_only_at_ties():
    rng = np.random.default_rng(4)
    for n_in, n_out in [tuple(int(v) for v in rng.integers(1, 129, 2)) for _ in range(200)]:
        ours, row = _index_map(n_in, n_out, "nearest-exact")
        theirs = np.asarray(Image.fromarray(row, mode="F").resize((n_out, 2), Image.NEAREST))[0].astype(int)
        diff = ours != theirs
        assert not (diff & ~_ties(n_in, n_out, True)).any(), (n_in, n_out)


def test_opencv_fx_rounds_the_size_but_samples_like_scale_factor():
    x = _rand((1, 1, 5, 5), np.float32)
    assert cv2.resize(_hwc(x), None, fx=1.5, fy=1.5).shape[:2] == (8, 8)
    assert interpolate(x, scale_factor=1.5).shape[2:] == (7, 7)
    x7 = _rand((1, 1, 7, 7), np.float32, seed=1)  # 7 * 1.5 = 10.5: both give 10
    cv_fx = cv2.resize(_hwc(x7), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
    np.testing.assert_allclose(interpolate(x7, scale_factor=1.5, mode="bilinear")[0, 0], cv_fx, atol=1e-5)


# --------------------------------------------------------------------------- PIL


def _pil(x2d, size, flt):
    return np.asarray(Image.fromarray(x2d, mode="F").resize((size[1], size[0]), flt), dtype=np.float32)


def test_cubic_a_half_matches_pil_bicubic_inside():
    """a = -0.5 equals PIL BICUBIC except the outer ceil(1.5 s) output pixels, where PIL
    renormalises the truncated kernel (module doc). Tolerance: 1e-6 for s = 2, 4; 1e-5 for
    s = 3 (PIL's double-precision scale)."""
    for i, (h, w) in enumerate([(37, 31), (32, 48), (8, 8)]):
        img = _rand((h, w), np.float32, seed=30 + i)
        for s, tol in [(2, 1e-6), (4, 1e-6), (3, 1e-5)]:
            size = (h * s, w * s)
            ours = interpolate(img[None, None], size=size, mode="bicubic", cubic_a=-0.5)[0, 0]
            theirs = _pil(img, size, Image.BICUBIC)
            band = int(np.ceil(1.5 * s))
            inside = np.abs(ours - theirs)[band:-band, band:-band]
            assert inside.max() <= tol, ((h, w), s, inside.max())
            assert np.abs(ours - theirs).max() > 1e-3  # the borders do differ
            # PyTorch's a = -0.75 is not PIL's kernel, even inside.
            default = interpolate(img[None, None], size=size, mode="bicubic")[0, 0]
            assert np.abs(default - theirs)[band:-band, band:-band].max() > 1e-3


def test_bilinear_matches_pil_everywhere_when_upscaling():
    for i, (h, w) in enumerate([(37, 31), (8, 8)]):
        img = _rand((h, w), np.float32, seed=40 + i)
        for s, tol in [(2, 1e-6), (4, 1e-6), (3, 1e-5)]:
            size = (h * s, w * s)
            ours = interpolate(img[None, None], size=size, mode="bilinear")[0, 0]
            np.testing.assert_allclose(ours, _pil(img, size, Image.BILINEAR), atol=tol)


def test_keys_a_changes_sharp_edges_measurably():
    """a = -0.5 vs -0.75 on sharp [0, 1] test images, upscaled 2x: 0.035 across a step edge
    (the conventions' "up to ~0.05" holds along one axis), 0.08 on a one-pixel checkerboard
    where both axes add up (module doc). Measurable, not rounding."""

    def diff(img):
        a75 = interpolate(img, scale_factor=2, mode="bicubic", cubic_a=-0.75)
        a50 = interpolate(img, scale_factor=2, mode="bicubic", cubic_a=-0.5)
        return float(np.abs(a75 - a50).max())

    step = np.zeros((1, 1, 16, 16))
    step[..., 8:] = 1.0
    # Δa = 0.25 times ∂W/∂a = d³ - 5d² + 8d - 4 = 0.140625 of the outer tap at d = 1.25:
    assert diff(step) == pytest.approx(0.25 * 0.140625, abs=1e-12)
    checker = (np.indices((16, 16)).sum(axis=0) % 2).astype(float)[None, None]
    assert 0.05 < diff(checker) <= 0.1
    # Along one axis the difference is at most 0.25 · Σ max(∂w/∂a, 0) = 0.047 for [0, 1] data.
    rng = np.random.default_rng(6)
    rows = (rng.random((1, 1, 1, 400)) > 0.5).astype(float)
    assert diff(rows) <= 0.25 * (0.140625 + 0.046875) + 1e-12
    # Keys' weights sum to 1 for every a: flat regions are unchanged.
    flat = np.full((1, 1, 6, 6), 0.25)
    np.testing.assert_allclose(interpolate(flat, scale_factor=2, mode="bicubic", cubic_a=-0.5), 0.25, atol=1e-15)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "x_shape, kwargs, match",
    [
        ((5, 6), {"scale_factor": 2}, r"4-D \(N, C, H, W\).*got shape \(5, 6\).*image\[None, None\]"),
        ((3, 5, 6), {"scale_factor": 2}, r"got shape \(3, 5, 6\)"),
        ((1, 1, 1, 5, 6), {"scale_factor": 2}, r"got shape \(1, 1, 1, 5, 6\)"),
        ((1, 1, 5, 6), {}, r"exactly one of size and scale_factor, got size=None and scale_factor=None"),
        ((1, 1, 5, 6), {"size": 4, "scale_factor": 2}, r"exactly one.*size=4 and scale_factor=2"),
        ((1, 1, 5, 6), {"scale_factor": 2, "align_corners": True}, r"align_corners=True.*mode='nearest'"),
        ((1, 1, 5, 6), {"scale_factor": 2, "mode": "area", "align_corners": True}, r"mode='area'"),
        ((1, 1, 5, 6), {"size": 0}, r"size must be positive integers, got 0"),
        ((1, 1, 5, 6), {"size": (4, -1)}, r"got \(4, -1\)"),
        ((1, 1, 5, 6), {"size": 2.5}, r"got 2.5"),
        ((1, 1, 5, 6), {"size": (1, 2, 3)}, r"pair \(height, width\), got \(1, 2, 3\)"),
        ((1, 1, 5, 6), {"scale_factor": 0}, r"positive and finite, got 0"),
        ((1, 1, 5, 6), {"scale_factor": (2, -1.5)}, r"got \(2, -1.5\)"),
        ((1, 1, 5, 6), {"scale_factor": float("nan")}, r"got nan"),
        ((1, 1, 5, 6), {"scale_factor": float("inf")}, r"got inf"),
        ((1, 1, 5, 6), {"scale_factor": "2"}, r"got '2'"),
        ((1, 1, 5, 6), {"scale_factor": 2, "mode": "linear"}, r"mode must be one of .*'area', got 'linear'"),
        ((1, 1, 5, 6), {"scale_factor": 2, "mode": "bicubic", "cubic_a": "x"}, r"cubic_a must be a number, got 'x'"),
        ((1, 1, 5, 6), {"scale_factor": 2, "align_corners": 1}, r"align_corners must be True or False, got 1"),
    ],
)
def test_rejects_bad_input(x_shape, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        interpolate(np.zeros(x_shape), **kwargs)


def test_rejects_empty_output_and_bad_values():
    x = np.zeros((1, 1, 2, 5))
    with pytest.raises(InvalidParameterError, match=r"output height of floor\(2 \* 0.3\) = 0"):
        interpolate(x, scale_factor=0.3, mode="area")
    with pytest.raises(InvalidParameterError, match="must be finite"):
        interpolate(np.full((1, 1, 2, 2), np.nan), scale_factor=2)
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        interpolate(np.zeros((1, 0, 2, 2)), scale_factor=2)
    with pytest.raises(ValueError):  # InvalidParameterError is also a ValueError
        interpolate(x, scale_factor=-1)
