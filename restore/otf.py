"""FFT conventions and PSF -> OTF conversion, stated once for the whole package.

Conventions
-----------
- **Transform**: the unnormalised forward DFT ``X[u, v] = Σ x[m, n] exp(-2πi(um/M + vn/N))``
  and its inverse with ``1/(MN)`` (``scipy.fft`` with ``norm="backward"``). Real images use
  the half spectrum of ``scipy.fft.rfft2``: shape ``(M, N // 2 + 1)``.
- **PSF origin**: the pixel ``(kh // 2, kw // 2)`` of a ``(kh, kw)`` PSF is the origin, for
  odd and even sizes (MATLAB ``psf2otf``, scikit-image ``ir2tf``). PSF -> OTF = zero-pad to
  the FFT size, roll by ``-(kh // 2, kw // 2)``, FFT. With this rule, circular convolution
  by the PSF is exactly multiplication by the OTF and nothing shifts.
- **Fast sizes**: FFTs of sizes with large prime factors are several times slower;
  :func:`fast_shape` rounds up to sizes with small factors (``scipy.fft.next_fast_len``).
- **Precision**: float32 data is transformed in complex64, float64 in complex128.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_array
from deconvkit.errors import InvalidParameterError

__all__ = ["psf_to_otf", "fast_shape", "laplacian_power", "complex_dtype"]


def complex_dtype(dtype: np.dtype | type) -> np.dtype:
    """complex64 for float32 data, complex128 otherwise."""
    return np.dtype(np.complex64) if np.dtype(dtype) == np.float32 else np.dtype(np.complex128)


def fast_shape(shape: Sequence[int]) -> tuple[int, ...]:
    """Smallest shape ``>= shape`` (per axis) whose real FFT is fast (5-smooth sizes)."""
    return tuple(sfft.next_fast_len(int(n), real=True) for n in shape)


def _check_shape(shape: Sequence[int], psf_shape: tuple[int, int]) -> tuple[int, int]:
    try:
        m, n = (int(s) for s in shape)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(f"shape must be two positive integers, got {shape!r}") from exc
    if m < psf_shape[0] or n < psf_shape[1]:
        raise InvalidParameterError(
            f"shape {(m, n)} is smaller than the PSF {psf_shape}; the OTF needs a grid at least as large"
        )
    return m, n


def _dft_matrix(size: int, taps: int, origin: int, n_freq: int, cdtype: np.dtype) -> np.ndarray:
    """``E[f, t] = exp(-2πi f (t - origin) / size)`` for ``f < n_freq``, ``t < taps``."""
    f = np.arange(n_freq, dtype=np.int64)[:, None]
    t = (np.arange(taps, dtype=np.int64) - origin)[None, :]
    phase = np.mod(f * t, size).astype(np.float64) * (-2 * math.pi / size)  # exact integer reduction
    return np.exp(1j * phase).astype(cdtype, copy=False)


def psf_to_otf(
    psf: np.ndarray,
    shape: Sequence[int],
    *,
    real: bool = False,
    workers: int | None = None,
) -> np.ndarray:
    """Optical transfer function of a PSF on a ``shape`` DFT grid.

    Parameters
    ----------
    psf : (kh, kw) array_like
        Point-spread function; its origin is pixel ``(kh // 2, kw // 2)``. Not normalised here.
    shape : (M, N) tuple of int
        DFT size, at least the PSF size on each axis.
    real : bool, optional
        If True, return only the half spectrum that ``scipy.fft.rfft2`` uses,
        ``(M, N // 2 + 1)``. Default False: the full ``(M, N)`` spectrum, as MATLAB ``psf2otf``.
    workers : int, optional
        Threads for the FFT path (``scipy.fft`` ``workers``).

    Returns
    -------
    otf : (M, N) or (M, N // 2 + 1) complex ndarray
        complex64 for a float32 PSF, complex128 otherwise.

    Notes
    -----
    ``OTF[u, v] = Σ_{m,n} psf[m, n] exp(-2πi (u (m - kh//2) / M + v (n - kw//2) / N))``,
    which equals ``fft2(roll(pad(psf, shape), -(kh // 2, kw // 2)))``. For a small PSF on a
    large grid the sum is evaluated as two small matrix products, ``E_M · psf · E_Nᵀ``, which
    costs ``O(M N min(kh, kw))`` instead of a full-size FFT; the cheaper path is chosen.
    """
    k = as_float_array(psf, name="psf", ndim=(2,))
    kh, kw = k.shape
    m, n = _check_shape(shape, (kh, kw))
    cdtype = complex_dtype(k.dtype)
    n_cols = n // 2 + 1 if real else n
    # Multiply-add counts of the two orders of the separable sum versus a full FFT.
    cost_matrix = min(kh * kw * n_cols + m * kh * n_cols, m * kh * kw + m * kw * n_cols)
    cost_fft = 2.5 * m * n * math.log2(max(m * n, 2)) * (0.5 if real else 1.0)
    if cost_matrix < cost_fft:
        e_rows = _dft_matrix(m, kh, kh // 2, m, cdtype)
        e_cols = _dft_matrix(n, kw, kw // 2, n_cols, cdtype).T
        kc = k.astype(cdtype)
        if kh * kw * n_cols + m * kh * n_cols <= m * kh * kw + m * kw * n_cols:
            return e_rows @ (kc @ e_cols)
        return (e_rows @ kc) @ e_cols
    padded = np.zeros((m, n), dtype=k.dtype)
    padded[:kh, :kw] = k
    padded = np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1))
    if real:
        return sfft.rfft2(padded, workers=workers)
    return sfft.fft2(padded, workers=workers)


def laplacian_power(shape: Sequence[int], *, real: bool = True, dtype: type = np.float64) -> np.ndarray:
    """``|D|²`` of the 5-point discrete Laplacian on a ``shape`` DFT grid.

    Parameters
    ----------
    shape : (M, N) tuple of int
        DFT size.
    real : bool, optional
        Half spectrum ``(M, N // 2 + 1)`` (default) or full ``(M, N)``.
    dtype : numpy dtype, optional
        Output float dtype.

    Returns
    -------
    power : ndarray
        ``(4 - 2 cos(2πu/M) - 2 cos(2πv/N))²``: the squared OTF of the kernel
        ``[[0, -1, 0], [-1, 4, -1], [0, -1, 0]]`` (scikit-image's default ``reg``, MATLAB's
        ``deconvreg``), real and non-negative.
    """
    m, n = (int(s) for s in shape)
    n_cols = n // 2 + 1 if real else n
    a = 2 - 2 * np.cos(2 * np.pi * np.arange(m) / m)
    b = 2 - 2 * np.cos(2 * np.pi * np.arange(n_cols) / n)
    return ((a[:, None] + b[None, :]) ** 2).astype(dtype, copy=False)
