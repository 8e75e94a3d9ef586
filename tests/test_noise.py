"""add_noise: statistics, reproducibility, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from deconvkit.errors import InvalidParameterError
from restore import add_noise


def test_noise_statistics_and_seed(dtype):
    x = np.full((200, 300), 0.5, dtype=dtype)
    y = add_noise(x, 0.05, rng=3)
    assert y.dtype == dtype
    assert float((y - x).std()) == pytest.approx(0.05, rel=0.02)
    assert abs(float((y - x).mean())) < 0.002
    np.testing.assert_array_equal(y, add_noise(x, 0.05, rng=3))
    np.testing.assert_array_equal(y, add_noise(x, 0.05, rng=np.random.default_rng(3)))
    assert not np.array_equal(y, add_noise(x, 0.05, rng=4))
    np.testing.assert_array_equal(x, 0.5)  # input untouched


def test_zero_sigma_and_colour():
    x = np.random.default_rng(0).random((5, 6, 3))
    np.testing.assert_array_equal(add_noise(x, 0, rng=1), x)
    assert add_noise(x, 0.1, rng=1).shape == (5, 6, 3)


@pytest.mark.parametrize(("sigma", "rng", "match"), [(-0.1, 0, "sigma must be >= 0"), (0.1, "seed", "rng must be"), (0.1, -1, "rng must be")])
def test_bad_input(sigma, rng, match):
    with pytest.raises(InvalidParameterError, match=match):
        add_noise(np.zeros((3, 3)), sigma, rng=rng)
