"""Sample images: every name loads, charts match their generator, no relative paths."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import data
from data import make_charts
from deconvkit.errors import InvalidParameterError


@pytest.mark.parametrize("name", data.names())
def test_every_sample_loads_in_unit_range(name):
    image = data.load(name)
    assert image.dtype == np.float32 and image.ndim in (2, 3)
    assert 0.0 <= image.min() and image.max() <= 1.0 and image.std() > 0.02
    assert data.load(name, dtype=np.float64).dtype == np.float64
    assert data.load(name, gray=True).ndim == 2
    assert name in data.describe(name)


def test_colour_is_rgb_and_gray_uses_bt601():
    rgb = data.load("astronaut", dtype=np.float64)
    gray = data.load("astronaut", dtype=np.float64, gray=True)
    np.testing.assert_allclose(gray, rgb @ [0.299, 0.587, 0.114], atol=1e-12)
    # The astronaut's suit is white and the flag behind has red: red channel > blue somewhere.
    assert (rgb[..., 0] - rgb[..., 2]).max() > 0.3


@pytest.mark.parametrize("name", ["siemens_star", "checkerboard"])
def test_bundled_charts_equal_the_generator(name):
    np.testing.assert_allclose(data.load(name, dtype=np.float64), np.rint(make_charts.make(name) * 255) / 255, atol=1e-12)


def test_text_chart_has_ink_and_paper():
    chart = data.load("text_chart")
    assert chart.shape == make_charts.SHAPE
    ink = float((chart < 0.5).mean())
    assert 0.02 < ink < 0.3


def test_clock_is_the_real_blurred_photo():
    from skimage import data as skdata

    np.testing.assert_array_equal(data.load("clock", dtype=np.float64) * 255, skdata.clock().astype(np.float64))


def test_loader_works_from_another_folder(tmp_path):
    code = "import data; print(data.load('siemens_star').shape)"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(256, 320)"


def test_unknown_name():
    with pytest.raises(InvalidParameterError, match="unknown sample 'lena'; available: camera"):
        data.load("lena")
