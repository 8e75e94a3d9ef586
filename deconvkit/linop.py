"""Linear operators with a forward map and its adjoint, and the dot-test that ties them.

This is the idea both halves of deconvkit share. A blur is a linear operator ``A``
(:class:`restore.BlurOperator`); Wiener deconvolution is a regularised inverse of it,
``(AᵀA + λDᵀD)⁻¹Aᵀ``. A strided convolution is another linear operator ``C``; the layer
deep learning calls "deconvolution" is its *adjoint* ``Cᵀ`` (transposed convolution), not
an inverse.

An adjoint is only trusted once it passes the dot-test: for random ``u`` and ``v``,
``⟨A u, v⟩ = ⟨u, Aᵀ v⟩`` to rounding error (as PyLops' ``dottest``).
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from deconvkit._validation import as_generator, check_number
from deconvkit.errors import AdjointTestError, InvalidParameterError

__all__ = ["LinearOperator", "dottest"]


class LinearOperator(abc.ABC):
    """A real linear map ``A : R^in_shape -> R^out_shape`` with its adjoint ``Aᵀ``.

    Subclasses set :attr:`in_shape` and :attr:`out_shape` and implement ``_forward`` and
    ``_adjoint``; the public methods check shapes.
    """

    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Apply ``A`` to an array of shape :attr:`in_shape`."""
        return self._forward(self._check(x, self.in_shape, "forward"))

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        """Apply ``Aᵀ`` to an array of shape :attr:`out_shape`."""
        return self._adjoint(self._check(y, self.out_shape, "adjoint"))

    @staticmethod
    def _check(a: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
        arr = np.asarray(a)
        if arr.shape != tuple(shape):
            raise InvalidParameterError(f"{what} input: got shape {arr.shape}, expected {tuple(shape)}")
        return arr

    @abc.abstractmethod
    def _forward(self, x: np.ndarray) -> np.ndarray: ...

    @abc.abstractmethod
    def _adjoint(self, y: np.ndarray) -> np.ndarray: ...


def dottest(
    op: LinearOperator,
    *,
    rng: int | np.random.Generator | None = None,
    rtol: float = 1e-10,
    dtype: type = np.float64,
) -> tuple[float, float]:
    """Check ``⟨A u, v⟩ = ⟨u, Aᵀ v⟩`` for random Gaussian ``u`` and ``v``.

    Parameters
    ----------
    op : LinearOperator
        The operator to test.
    rng : int or numpy.random.Generator, optional
        Seed or generator for ``u`` and ``v``.
    rtol : float, optional
        Relative tolerance on the two inner products (use about ``1e-4`` for float32).
    dtype : numpy dtype, optional
        dtype of the random vectors.

    Returns
    -------
    lhs, rhs : float
        ``⟨A u, v⟩`` and ``⟨u, Aᵀ v⟩``.

    Raises
    ------
    AdjointTestError
        If the two inner products differ by more than ``rtol`` relative to their size.
    """
    check_number("rtol", rtol, low=0, low_open=True)
    gen = as_generator(rng)
    u = gen.standard_normal(op.in_shape).astype(dtype)
    v = gen.standard_normal(op.out_shape).astype(dtype)
    au, atv = op.forward(u), op.adjoint(v)
    lhs = float(np.vdot(au.astype(np.float64), v.astype(np.float64)))
    rhs = float(np.vdot(u.astype(np.float64), atv.astype(np.float64)))
    scale = max(float(np.linalg.norm(au)) * float(np.linalg.norm(v)), np.finfo(float).tiny)
    if abs(lhs - rhs) > rtol * scale:
        raise AdjointTestError(
            f"dot-test failed for {type(op).__name__}: <A u, v> = {lhs!r} but <u, A^T v> = {rhs!r} "
            f"(difference {abs(lhs - rhs):.3e}, allowed {rtol * scale:.3e})"
        )
    return lhs, rhs
