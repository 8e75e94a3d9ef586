"""Shared argument checks and the exception hierarchy."""

from __future__ import annotations

import numpy as np
import pytest

from deconvkit._validation import as_float_image, check_choice, check_number, float_dtype
from deconvkit.errors import DeconvkitError, ImageReadError, ImageTooLargeError, ImageWriteError, InvalidParameterError


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [(np.float16, np.float32), (np.float32, np.float32), (np.float64, np.float64), (np.uint8, np.float64), (np.uint16, np.float64), (np.int64, np.float64), (bool, np.float64)],
)
def test_float_dtype_policy(dtype, expected):
    assert float_dtype(dtype) == expected


def test_as_float_image_no_copy_for_policy_dtype():
    x = np.zeros((3, 4), np.float32)
    assert as_float_image(x) is x
    assert as_float_image(x.astype(np.uint8)).dtype == np.float64
    assert as_float_image([[1, 2], [3, 4]]).dtype == np.float64


@pytest.mark.parametrize(
    ("value", "kwargs", "match"),
    [
        (0, {"low": 0, "low_open": True}, "x must be > 0, got 0"),
        (-1, {"low": 0}, "x must be >= 0, got -1"),
        (5, {"high": 4}, "x must be <= 4, got 5"),
        (True, {}, "x must be a number, got True"),
        (1.5, {"integer": True}, "x must be an integer, got 1.5"),
        (float("inf"), {}, "x must be finite"),
        ("3", {}, "x must be a number, got '3'"),
    ],
)
def test_check_number_messages(value, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        check_number("x", value, **kwargs)


def test_check_choice():
    assert check_choice("mode", "a", ["a", "b"]) == "a"
    with pytest.raises(InvalidParameterError, match="mode must be one of 'a', 'b', got 'c'"):
        check_choice("mode", "c", ["a", "b"])


def test_exceptions_subclass_project_base_and_builtin():
    assert issubclass(InvalidParameterError, ValueError) and issubclass(InvalidParameterError, DeconvkitError)
    assert issubclass(ImageReadError, OSError) and issubclass(ImageWriteError, OSError)
    assert issubclass(ImageTooLargeError, MemoryError) and issubclass(ImageTooLargeError, DeconvkitError)


def test_public_api_surface():
    """Fails when a public name disappears (kornia-style API-surface test)."""
    import restore

    expected = {
        "BlurOperator", "add_noise", "blur", "check_psf", "defocus_psf", "edgetaper", "gaussian_psf",
        "load_psf", "motion_psf", "psf_to_otf", "richardson_lucy", "wiener", "wiener_gain",
    }
    assert expected <= set(restore.__all__)
    assert all(callable(getattr(restore, name)) for name in expected)
