"""Argument checks shared by the numerical packages.

Each check raises :class:`~deconvkit.errors.InvalidParameterError` with a message that
names the offending value and says what is accepted, so that users never see a traceback
from deep inside NumPy.

dtype policy (as scikit-image): float16 -> float32, float32 stays float32, every other
dtype (integers, bool, float64, longdouble) -> float64. Values are *not* rescaled here:
a linear filter commutes with scaling. Rescaling integers to [0, 1] happens only when
reading files (:mod:`deconvkit.io`).
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from deconvkit.errors import InvalidParameterError

__all__ = [
    "float_dtype",
    "check_array",
    "to_array",
    "as_float_image",
    "as_float_array",
    "check_number",
    "check_choice",
    "as_generator",
]


def float_dtype(dtype: np.dtype | type) -> np.dtype:
    """Return the floating dtype an array of ``dtype`` is computed in (see module doc)."""
    dtype = np.dtype(dtype)
    if dtype in (np.float16, np.float32):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def as_float_array(array: Any, *, name: str, ndim: Iterable[int], finite: bool = True) -> np.ndarray:
    """Convert ``array`` to a floating ndarray after checking its rank and values.

    Returns the input itself (no copy) when it is already of the policy dtype. Callers must
    therefore never write into the result.
    """
    arr = check_array(array, name=name, ndim=ndim, finite=finite)
    return arr.astype(float_dtype(arr.dtype), copy=False)


def to_array(value: Any, *, name: str) -> np.ndarray:
    """``numpy.asarray(value)``, or a clear error for ragged lists and other non-arrays."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"{name} must be an array of numbers, got a {type(value).__name__} that is not one ({exc})"
        ) from exc


def check_array(array: Any, *, name: str, ndim: Iterable[int], finite: bool = True) -> np.ndarray:
    """Check an array of real numbers (rank, non-empty, finite floats) without converting it."""
    ndims = tuple(ndim)
    arr = to_array(array, name=name)
    if arr.dtype.kind not in "biuf":
        raise InvalidParameterError(
            f"{name} must hold real numbers (bool, integer or float), got dtype {arr.dtype}"
        )
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise InvalidParameterError(f"{name} must be {want}, got shape {arr.shape}")
    if arr.size == 0:
        raise InvalidParameterError(f"{name} must not be empty, got shape {arr.shape}")
    if finite and arr.dtype.kind == "f" and not _all_finite(arr):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise InvalidParameterError(f"{name} must be finite, got {bad} NaN or infinite value(s)")
    return arr


def _all_finite(a: np.ndarray) -> bool:
    """``isfinite(a).all()`` at the cost of one sum: NaN and inf propagate into the sum,
    and only a sum that overflowed needs the exact (allocating) check."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a)):
            return True
    return bool(np.isfinite(a).all())


def as_float_image(image: Any, *, name: str = "image") -> np.ndarray:
    """Check an image ``(H, W)`` or ``(H, W, C)`` and return it in the policy dtype."""
    return as_float_array(image, name=name, ndim=(2, 3))


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    low_open: bool = False,
    high: float | None = None,
    integer: bool = False,
) -> float | int:
    """Check that ``value`` is a finite real number in the given range and return it.

    ``low_open=True`` excludes ``low`` itself (``low=0, low_open=True`` means "positive").
    """
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(f"{name} must be {kind}, got {value!r}")
    if integer and not float(value).is_integer():
        raise InvalidParameterError(f"{name} must be {kind}, got {value!r}")
    if not np.isfinite(float(value)):
        raise InvalidParameterError(f"{name} must be finite, got {value!r}")
    if low is not None and (value < low or (low_open and value == low)):
        bound = f"> {low}" if low_open else f">= {low}"
        raise InvalidParameterError(f"{name} must be {bound}, got {value!r}")
    if high is not None and value > high:
        raise InvalidParameterError(f"{name} must be <= {high}, got {value!r}")
    return int(value) if integer else value


def check_choice(name: str, value: Any, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of ``choices`` and return it."""
    options = tuple(choices)
    if value not in options:
        listed = ", ".join(repr(c) for c in options)
        raise InvalidParameterError(f"{name} must be one of {listed}, got {value!r}")
    return value


def as_generator(rng: Any) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from an int seed, a Generator or None.

    ``None`` draws fresh entropy from the OS (not reproducible); pass an int to reproduce.
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise InvalidParameterError(
        f"rng must be a non-negative int seed, a numpy.random.Generator or None, got {rng!r}"
    )
