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
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_array
from deconvkit.errors import InvalidParameterError

__all__ = ["psf_to_otf", "real_otf", "otf_row_blocks", "otf_uses_fft", "is_point_symmetric", "fast_shape", "laplacian_power", "complex_dtype"]


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


def otf_uses_fft(psf_shape: Sequence[int], shape: Sequence[int]) -> bool:
    """True when one padded FFT is cheaper than the matrix form of the DFT sum.

    Compares ``M · kh · (N // 2 + 1)`` complex multiply-adds with the FFT's
    ``~2.5 · M N log2(M N)``: small PSFs on large grids use matrix products.
    """
    kh, m, n = int(psf_shape[0]), int(shape[0]), int(shape[1])
    return 4 * m * kh * (n // 2 + 1) > 2.5 * m * n * math.log2(max(m * n, 2))


def otf_row_blocks(
    psf: np.ndarray,
    shape: Sequence[int],
    *,
    real: bool = False,
    workers: int | None = None,
    rows: tuple[int, int] | None = None,
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield the half-spectrum OTF ``(M, N // 2 + 1)`` in blocks of rows: ``(first_row, block)``.

    ``rows=(first, last)`` restricts the blocks to those rows (default: all ``M``).

    The Wiener filter is built block by block from these, each block still in cache, instead
    of in several passes over a spectrum-sized array. ``real=True`` needs a point-symmetric
    PSF (:func:`is_point_symmetric`) and yields real blocks (the imaginary part of such an
    OTF is zero and is not formed).

    Notes
    -----
    For a small PSF on a large grid the DFT sum is two small matrix products per block,
    ``E_M[rows] · R`` with ``R`` the DFTs of the kernel's rows; it is computed as one *real*
    product giving the real and imaginary planes, and for a point-symmetric PSF as a real
    product with half the terms (``R[-m] = conj(R[m])``). The products are cut into pieces
    small enough that BLAS runs them on one thread: a multi-threaded BLAS call leaves its
    threads spinning for about 0.1 s afterwards, which was measured to slow the FFTs that
    follow by a third to a half. When the PSF is large compared with the grid, one padded FFT is
    cheaper, and its result is yielded in one block.
    """
    k = as_float_array(psf, name="psf", ndim=(2,))
    kh, kw = k.shape
    m, n = _check_shape(shape, (kh, kw))
    if real and not is_point_symmetric(k):
        raise InvalidParameterError(f"a real OTF needs an odd-sized, point-symmetric PSF, got shape {k.shape}")
    first, last = (0, m) if rows is None else (int(rows[0]), int(rows[1]))
    cdtype = complex_dtype(k.dtype)
    n_cols = n // 2 + 1
    if otf_uses_fft(k.shape, (m, n)):
        padded = np.zeros((m, n), dtype=k.dtype)
        padded[:kh, :kw] = k
        otf = sfft.rfft2(np.roll(padded, (-(kh // 2), -(kw // 2)), axis=(0, 1)), workers=workers)[first:last]
        yield first, (np.ascontiguousarray(otf.real) if real else otf)
        return
    # R[m, v] = Σ_n k[m, n] exp(-2πi v (n - kw//2) / N): the kernel rows' DFTs, by FFT.
    kernel_rows = np.zeros((kh, n), dtype=k.dtype)
    kernel_rows[:, :kw] = k
    r = sfft.rfft(np.roll(kernel_rows, -(kw // 2), axis=1), axis=1)
    # θ[u, m] = 2π u (m - kh//2) / M, reduced exactly in integers first.
    offsets = np.arange(kh) - kh // 2
    theta = np.mod(np.arange(first, last)[:, None] * offsets[None, :], m) * (2 * math.pi / m)
    if real:
        # Point symmetry makes R[-m'] = conj(R[m']), so with H[u] = Σ_m' exp(-iθ) R[m']:
        # H[u] = R[0] + 2 Σ_{m'>0} (cos θ Re R[m'] + sin θ Im R[m']).
        c = kh // 2
        left = np.concatenate([np.ones((last - first, 1)), 2 * np.cos(theta[:, c + 1 :]), 2 * np.sin(theta[:, c + 1 :])], axis=1)
        right = np.concatenate([r.real[c : c + 1], r.real[c + 1 :], r.imag[c + 1 :]])
    else:
        # exp(-iθ) R = (cos θ Re R + sin θ Im R) + i (cos θ Im R - sin θ Re R): one real
        # product gives the real and imaginary planes side by side.
        left = np.concatenate([np.cos(theta), np.sin(theta)], axis=1)
        right = np.block([[r.real, r.imag], [r.imag, -r.real]])
    left = left.astype(k.dtype)
    right = np.ascontiguousarray(right, dtype=k.dtype)
    block_rows = max(1, _BLOCK_ELEMENTS // n_cols)
    for b in range(0, last - first, block_rows):
        planes = _matmul_one_thread(left[b : b + block_rows], right)
        if real:
            yield first + b, planes
        else:
            block = np.empty((planes.shape[0], n_cols), dtype=cdtype)
            block.real = planes[:, :n_cols]
            block.imag = planes[:, n_cols:]
            yield first + b, block


def _matmul_one_thread(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` (real) in pieces small enough for BLAS to run each on the calling thread.

    Complex products are avoided altogether: OpenBLAS multi-threads complex ones at much
    smaller sizes.
    """
    rows, inner = a.shape
    cols = b.shape[1]
    out = np.empty((rows, cols), dtype=np.result_type(a, b))
    col_step = max(1, min(cols, _BLAS_SINGLE_THREAD_WORK // inner))
    row_step = max(1, _BLAS_SINGLE_THREAD_WORK // (inner * col_step))
    for j in range(0, cols, col_step):
        for i in range(0, rows, row_step):
            np.matmul(a[i : i + row_step], b[:, j : j + col_step], out=out[i : i + row_step, j : j + col_step])
    return out


# Multiply-adds below which OpenBLAS runs a matrix product on one thread (65536 times its
# GEMM_MULTITHREAD_THRESHOLD of 4). Only speed depends on it, never results.
_BLAS_SINGLE_THREAD_WORK = 65536 * 4
# Elements per yielded block: about 1 MiB of float32, so a block's follow-up work stays in cache.
_BLOCK_ELEMENTS = 1 << 18


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
    which equals ``fft2(roll(pad(psf, shape), -(kh // 2, kw // 2)))``. It is evaluated by
    :func:`otf_row_blocks` (small matrix products, or one FFT for large PSFs); the full
    spectrum follows from the half by Hermitian symmetry.
    """
    k = as_float_array(psf, name="psf", ndim=(2,))
    m, n = _check_shape(shape, k.shape)
    half = np.empty((m, n // 2 + 1), dtype=complex_dtype(k.dtype))
    for start, block in otf_row_blocks(k, (m, n), workers=workers):
        half[start : start + block.shape[0]] = block
    if real:
        return half
    full = np.empty((m, n), dtype=half.dtype)
    full[:, : n // 2 + 1] = half
    # H[u, v] = conj(H[-u, -v]) for a real PSF.
    rest = np.arange(n // 2 + 1, n)
    full[:, rest] = np.conj(half[(-np.arange(m)) % m][:, n - rest])
    return full


def real_otf(psf: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Half-spectrum OTF of a point-symmetric PSF, which is real: ``(M, N // 2 + 1)`` floats.

    Parameters
    ----------
    psf : (kh, kw) array_like
        Odd-sized PSF with ``psf == psf[::-1, ::-1]`` (see :func:`is_point_symmetric`).
    shape : (M, N) tuple of int
        DFT grid.

    Returns
    -------
    otf : (M, N // 2 + 1) ndarray
        float32 for a float32 PSF, float64 otherwise; equals ``psf_to_otf(psf, shape,
        real=True).real``, whose imaginary part is zero for such PSFs.
    """
    k = as_float_array(psf, name="psf", ndim=(2,))
    m, n = _check_shape(shape, k.shape)
    out = np.empty((m, n // 2 + 1), dtype=k.dtype)
    for start, block in otf_row_blocks(k, (m, n), real=True):
        out[start : start + block.shape[0]] = block
    return out


def is_point_symmetric(psf: np.ndarray) -> bool:
    """True if ``psf`` is odd-sized and equal to itself rotated by 180° (to rounding).

    Such a PSF is symmetric about its origin ``(kh // 2, kw // 2)``, so its OTF is real.
    All motion, disk and Gaussian PSFs are.
    """
    k = np.asarray(psf)
    if k.ndim != 2 or k.shape[0] % 2 == 0 or k.shape[1] % 2 == 0:
        return False
    tol = 64 * np.finfo(k.dtype if k.dtype.kind == "f" else np.float64).eps * float(np.abs(k).max())
    return bool(np.abs(k - k[::-1, ::-1]).max() <= tol)


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
