"""PSFs against MATLAB's published fspecial values and analytic results."""

from __future__ import annotations

import math

import numpy as np
import pytest

from deconvkit.errors import ImageReadError, InvalidParameterError
from deconvkit.io import write_image
from restore import check_psf, defocus_psf, gaussian_psf, load_psf, motion_psf

# fspecial('motion', 3, 45), printed by MATLAB in MATLAB Answers 307822
# (mathworks.com/matlabcentral/answers/307822), 4 decimals.
MATLAB_MOTION_3_45 = np.array([[0, 0.0754, 0.1883], [0.0754, 0.3215, 0.0754], [0.1883, 0.0754, 0]])

# fspecial('disk', 5): constants that MATLAB Coder folded into generated C code
# (a Stateflow chart computing h = fspecial('disk', 5)), 17 significant digits.
# Columns 1..6 of the 11x11 kernel; columns 7..11 mirror 5..1.
_D5 = {
    0: [0, 0, 0, 0.0012496038320163742, 0.0049669471840339948, 0.0062599347021485806,
        0.0049669471840339948, 0.0012496038320163742, 0, 0, 0],
    1: [0, 3.2046417151121444e-5, 0.00615706957966511, 0.012395873558578515] + [0.012732395447351627] * 3
    + [0.012395873558578515, 0.00615706957966511, 3.2046417151121444e-5, 0],
    2: [0, 0.00615706957966511] + [0.012732395447351627] * 7 + [0.00615706957966511, 0],
    3: [0.0012496038320163742, 0.012395873558578515] + [0.012732395447351627] * 7
    + [0.012395873558578515, 0.0012496038320163742],
    4: [0.0049669471840339948] + [0.012732395447351627] * 9 + [0.0049669471840339948],
    5: [0.0062599347021485806] + [0.012732395447351627] * 9 + [0.0062599347021485806],
}
MATLAB_DISK_5 = np.array([_D5[min(c, 10 - c)] for c in range(11)]).T

# fspecial('disk', 1), 15 digits, hard-coded as "psf array from matlab" in several projects;
# equal to the closed forms 1/π (centre), (π/6 + √3/4 - 1/2)/π (edge), (π/12 - √3/4 + 1/4)/π.
MATLAB_DISK_1 = np.array(
    [
        [0.025078581023833, 0.145343947430219, 0.025078581023833],
        [0.145343947430219, 0.318309886183791, 0.145343947430219],
        [0.025078581023833, 0.145343947430219, 0.025078581023833],
    ]
)


def test_motion_matches_matlab_published_3_45():
    np.testing.assert_allclose(motion_psf(3, 45), MATLAB_MOTION_3_45, atol=6e-5)


@pytest.mark.parametrize(
    ("length", "angle", "shape", "index", "value"),
    [
        # Point values of fspecial pinned to MATLAB R2025b in the numkit test suite (10 digits).
        (9, 45, (7, 7), (3, 3), 0.0997064915),
        (9, 45, (7, 7), (0, 6), 0.0755136399),
        (9, 45, (7, 7), (0, 0), 0.0),
        (5, 45, (5, 5), (2, 2), 0.1771490832),
        (9, 0, (1, 9), (0, 0), 1 / 9),
    ],
)
def test_motion_matches_matlab_point_values(length, angle, shape, index, value):
    h = motion_psf(length, angle)
    assert h.shape == shape
    assert h[index] == pytest.approx(value, abs=1e-9)


def test_motion_non_square_and_sizes():
    assert motion_psf(7, 30).shape == (5, 7)  # MATLAB's motion kernels need not be square
    assert motion_psf(9, 90).shape == (9, 1)
    np.testing.assert_allclose(motion_psf(4, 0), [[0.125, 0.25, 0.25, 0.25, 0.125]])


@pytest.mark.parametrize("length", [1, 2.5, 5, 10, 21, 33.3])
@pytest.mark.parametrize("angle", [0, 17, 45, 90, 120, 179])
def test_motion_properties(length, angle):
    h = motion_psf(length, angle)
    assert h.min() >= 0
    assert h.sum() == pytest.approx(1, abs=1e-12)
    assert h.shape[0] % 2 == 1 and h.shape[1] % 2 == 1
    np.testing.assert_allclose(h, h[::-1, ::-1], atol=1e-15)  # point-symmetric: conv == corr
    # Angle periodicity: theta and theta + 180 are the same line.
    np.testing.assert_allclose(motion_psf(length, angle + 180), h, atol=1e-15)


@pytest.mark.parametrize("angle", [10, 30, 60, 80])
def test_motion_angle_is_counter_clockwise_on_screen(angle):
    """Rows grow downward: a CCW angle in (0, 90) puts weight top-right and bottom-left."""
    h = motion_psf(15, angle)
    kh, kw = h.shape
    top_right = h[: kh // 2, kw // 2 + 1 :].sum()
    top_left = h[: kh // 2, : kw // 2].sum()
    assert top_right > 0.2 and top_left == pytest.approx(0, abs=1e-12)
    # The mirrored angle goes the other way.
    np.testing.assert_allclose(motion_psf(15, 180 - angle), h[:, ::-1], atol=1e-12)


def test_motion_centroid_direction_matches_angle():
    """The second moment of the kernel points along the angle (analytic check)."""
    for angle in (0, 25, 45, 70, 110, 160):
        h = motion_psf(31, angle)
        kh, kw = h.shape
        yy, xx = np.mgrid[:kh, :kw]
        x = xx - kw // 2
        y = -(yy - kh // 2)  # screen: up is +y
        cxx, cyy, cxy = (h * x * x).sum(), (h * y * y).sum(), (h * x * y).sum()
        theta = 0.5 * math.degrees(math.atan2(2 * cxy, cxx - cyy)) % 180
        assert theta == pytest.approx(angle, abs=1.0)


def test_disk_matches_matlab_published():
    np.testing.assert_allclose(defocus_psf(1), MATLAB_DISK_1, atol=1e-15)
    np.testing.assert_allclose(defocus_psf(5), MATLAB_DISK_5, atol=1e-16)
    # fspecial('disk', 1.2) printed to 4 decimals.
    np.testing.assert_allclose(
        defocus_psf(1.2), [[0.0479, 0.1468, 0.0479], [0.1468, 0.2210, 0.1468], [0.0479, 0.1468, 0.0479]], atol=6e-5
    )


@pytest.mark.parametrize("radius", [0.3, 0.5, 0.9, 1.0, 1.5, 2.0, 2.7, 3.0, 4.49, 4.51, 7.25, 15.0])
def test_disk_exact_area(radius):
    h = defocus_psf(radius)
    n = 2 * math.ceil(radius - 0.5) + 1
    assert h.shape == (n, n)
    assert h.sum() == pytest.approx(1, abs=1e-12)
    # Fully covered pixels carry 1/(π r²) (MATLAB and Octave assert the same).
    c = n // 2
    if radius > math.sqrt(0.5):
        assert h[c, c] == pytest.approx(1 / (math.pi * radius**2), rel=1e-12)
    # Exact area against dense supersampling of the unit pixels (independent estimate).
    s = max(50, 1600 // n)  # sub-samples per pixel side
    sub = (np.arange(s) + 0.5) / s - 0.5
    coords = np.arange(n) - c
    yy = (coords[:, None] + sub[None, :]).ravel()
    inside = (yy[:, None] ** 2 + yy[None, :] ** 2) <= radius**2
    area = inside.reshape(n, s, n, s).mean(axis=(1, 3))
    # Supersampling misjudges at most ~1/s of an edge pixel's area.
    np.testing.assert_allclose(h, area / area.sum(), atol=2.0 / (s * math.pi * radius**2))


def test_gaussian_psf_is_pixel_integrated():
    from scipy import integrate

    sigma = 0.7
    h = gaussian_psf(sigma)
    assert h.shape == (7, 7)
    assert h.sum() == pytest.approx(1, abs=1e-12)
    g = lambda t: math.exp(-t * t / (2 * sigma**2)) / (sigma * math.sqrt(2 * math.pi))  # noqa: E731
    one_d = np.array([integrate.quad(g, t - 0.5, t + 0.5)[0] for t in range(-3, 4)])
    one_d /= one_d.sum()
    np.testing.assert_allclose(h, np.outer(one_d, one_d), atol=1e-12)
    # Variance of a pixel-integrated Gaussian is σ² + 1/12 (up to truncation).
    big = gaussian_psf(3.0, truncate=8)
    x = np.arange(big.shape[0]) - big.shape[0] // 2
    assert (big.sum(axis=0) * x**2).sum() == pytest.approx(9 + 1 / 12, rel=1e-6)


@pytest.mark.parametrize("make", [motion_psf, defocus_psf, gaussian_psf])
def test_psf_dtype(make):
    args = (5, 30) if make is motion_psf else (2.5,)
    assert make(*args).dtype == np.float64
    assert make(*args, dtype=np.float32).dtype == np.float32
    with pytest.raises(InvalidParameterError, match="dtype"):
        make(*args, dtype=np.int32)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: motion_psf(0, 0), "length must be > 0, got 0"),
        (lambda: motion_psf(-3, 0), "length must be > 0, got -3"),
        (lambda: motion_psf(5, float("nan")), "angle must be finite"),
        (lambda: motion_psf("5", 0), "length must be a number"),
        (lambda: defocus_psf(0), "radius must be > 0, got 0"),
        (lambda: defocus_psf(-1.5), "radius must be > 0, got -1.5"),
        (lambda: gaussian_psf(0), "sigma must be > 0"),
        (lambda: gaussian_psf(-2), "sigma must be > 0"),
    ],
)
def test_psf_bad_parameters(call, match):
    with pytest.raises(InvalidParameterError, match=match):
        call()


@pytest.mark.parametrize(
    ("psf", "match"),
    [
        (np.zeros((3, 3)), "positive sum"),
        (np.array([[0.5, -0.1], [0.3, 0.3]]), "non-negative"),
        (np.array([[np.nan, 1.0]]), "finite"),
        (np.ones(5), "2-D"),
        (np.ones((0, 3)), "empty"),
        (np.array([["a"]]), "real numbers"),
    ],
)
def test_check_psf_rejects(psf, match):
    with pytest.raises(InvalidParameterError, match=match):
        check_psf(psf)


def test_check_psf_normalises_without_touching_input():
    k = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = k.copy()
    out = check_psf(k)
    np.testing.assert_allclose(out, before / 10)
    np.testing.assert_array_equal(k, before)


def test_load_psf_npy_and_image(tmp_path):
    k = motion_psf(7, 30)
    np.save(tmp_path / "k.npy", k * 5)
    np.testing.assert_allclose(load_psf(tmp_path / "k.npy"), k, atol=1e-15)
    write_image(tmp_path / "k.png", k / k.max(), bit_depth=16)
    np.testing.assert_allclose(load_psf(tmp_path / "k.png"), k, atol=1e-5)
    rgb = np.repeat((k / k.max())[..., None], 3, axis=2)
    write_image(tmp_path / "krgb.png", rgb, bit_depth=16)
    np.testing.assert_allclose(load_psf(tmp_path / "krgb.png"), k, atol=1e-5)


@pytest.mark.parametrize(
    ("content", "match"),
    [(np.zeros((5, 5)), "positive sum"), (-np.ones((3, 3)), "non-negative"), (np.full((3, 3), np.nan), "finite")],
)
def test_load_psf_rejects_bad_npy(tmp_path, content, match):
    path = tmp_path / "bad.npy"
    np.save(path, content)
    with pytest.raises(InvalidParameterError, match=match) as info:
        load_psf(path)
    assert "bad.npy" in str(info.value)


def test_load_psf_all_black_image_rejected(tmp_path):
    write_image(tmp_path / "black.png", np.zeros((5, 5)))
    with pytest.raises(InvalidParameterError, match="positive sum"):
        load_psf(tmp_path / "black.png")


def test_load_psf_missing_and_corrupt(tmp_path):
    with pytest.raises(ImageReadError, match="does not exist"):
        load_psf(tmp_path / "nope.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    with pytest.raises(ImageReadError, match="not a readable"):
        load_psf(tmp_path / "junk.npy")
