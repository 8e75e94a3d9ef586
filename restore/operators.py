"""The blur as a linear operator (forward ``A x = k ⊛ x`` and adjoint ``Aᵀ``), and ``blur``.

Boundary models (what the blur sees outside the image):

``"wrap"``
    Circular convolution: the image is one period. ``A`` is diagonal in the DFT basis,
    ``A = F⁻¹ diag(OTF) F``, and ``Aᵀ = F⁻¹ diag(conj OTF) F`` (correlation).
``"valid"``
    The realistic camera model: the scene extends beyond the frame, so only pixels whose
    whole neighbourhood is known are produced. Output ``(H - kh + 1, W - kw + 1)``; output
    pixel ``(i, j)`` is centred on input pixel ``(i + (kh - 1) // 2, j + (kw - 1) // 2)``.
``"symmetric"``, ``"edge"``, ``"zero"``
    Same-size output after padding the input by mirroring (half-sample symmetric),
    replicating the edge pixel, or zeros (``numpy.pad`` modes ``symmetric``, ``edge``,
    ``constant``). The adjoint folds the padding back.

All use true convolution (the kernel is flipped), with the PSF origin at
``(kh // 2, kw // 2)``: ``y[p] = Σ_m k[m] x[p - m + kh // 2]`` per axis.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.fft as sfft

from deconvkit._validation import as_float_image, check_choice
from deconvkit.errors import InvalidParameterError
from deconvkit.linop import LinearOperator
from restore.otf import psf_to_otf
from restore.psf import check_psf

__all__ = ["BlurOperator", "blur", "BLUR_BOUNDARIES"]

BLUR_BOUNDARIES = ("wrap", "valid", "symmetric", "edge", "zero")
_NP_PAD_MODE = {"symmetric": "symmetric", "edge": "edge", "zero": "constant"}


class BlurOperator(LinearOperator):
    """Convolution by a PSF on ``(H, W)`` images, with its adjoint.

    Parameters
    ----------
    psf : (kh, kw) array_like
        PSF (normalised to sum 1 here).
    image_shape : (H, W) tuple of int
        Shape of the images the operator applies to (one channel).
    boundary : {"wrap", "valid", "symmetric", "edge", "zero"}, optional
        Boundary model, see the module docstring. Default ``"wrap"``.
    dtype : numpy dtype, optional
        float64 (default) or float32 arithmetic.

    Notes
    -----
    Forward ``A x = k ⊛ x``; adjoint ``Aᵀ y = k ⋆ y`` (correlation), both checked by
    :func:`deconvkit.linop.dottest`. Wiener deconvolution is the regularised inverse
    ``(AᵀA + λ I)⁻¹ Aᵀ`` of the ``"wrap"`` operator.
    """

    def __init__(
        self,
        psf: np.ndarray,
        image_shape: Sequence[int],
        *,
        boundary: str = "wrap",
        dtype: type = np.float64,
    ) -> None:
        self.boundary = check_choice("boundary", boundary, BLUR_BOUNDARIES)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InvalidParameterError(f"dtype must be float32 or float64, got {self.dtype}")
        self.psf = check_psf(psf).astype(self.dtype)
        try:
            h, w = (int(s) for s in image_shape)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(f"image_shape must be (H, W), got {image_shape!r}") from exc
        kh, kw = self.psf.shape
        if h < kh or w < kw:
            raise InvalidParameterError(f"image of shape {(h, w)} is smaller than the PSF {(kh, kw)}")
        self.in_shape = (h, w)
        self.out_shape = (h - kh + 1, w - kw + 1) if boundary == "valid" else (h, w)
        if boundary == "wrap":
            self._otf = psf_to_otf(self.psf, (h, w), real=True)
        # Pad widths that turn a "valid" convolution into a same-size one.
        self._pad = ((kh - 1 - kh // 2, kh // 2), (kw - 1 - kw // 2, kw // 2))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(self.dtype, copy=False)
        if self.boundary == "wrap":
            return sfft.irfft2(sfft.rfft2(x) * self._otf, s=self.in_shape).astype(self.dtype, copy=False)
        from scipy.signal import fftconvolve  # lazy: scipy.signal pulls in scipy.stats (~1 s)

        if self.boundary != "valid":
            x = np.pad(x, self._pad, mode=_NP_PAD_MODE[self.boundary])
        return fftconvolve(x, self.psf, mode="valid").astype(self.dtype, copy=False)

    def _adjoint(self, y: np.ndarray) -> np.ndarray:
        from scipy.signal import fftconvolve

        y = y.astype(self.dtype, copy=False)
        if self.boundary == "wrap":
            return sfft.irfft2(sfft.rfft2(y) * np.conj(self._otf), s=self.in_shape).astype(self.dtype, copy=False)
        # Adjoint of a valid convolution is the full correlation.
        z = fftconvolve(y, self.psf[::-1, ::-1], mode="full").astype(self.dtype, copy=False)
        if self.boundary == "valid":
            return z
        return _pad_adjoint(z, self._pad, _NP_PAD_MODE[self.boundary])


def _pad_adjoint(z: np.ndarray, pad: tuple[tuple[int, int], ...], mode: str) -> np.ndarray:
    """Adjoint of ``numpy.pad(x, pad, mode)``: add every padded sample back to its source."""
    out = z
    for axis, (before, after) in enumerate(pad):
        n = out.shape[axis] - before - after
        if mode == "constant":
            src = np.pad(np.arange(n), (before, after), mode="constant", constant_values=-1)
        else:
            src = np.pad(np.arange(n), (before, after), mode=mode)
        moved = np.moveaxis(out, axis, 0)
        keep = src >= 0
        acc = np.zeros((n,) + moved.shape[1:], dtype=out.dtype)
        np.add.at(acc, src[keep], moved[keep])
        out = np.moveaxis(acc, 0, axis)
    return out


def blur(image: np.ndarray, psf: np.ndarray, *, boundary: str = "wrap") -> np.ndarray:
    """Blur an image with a PSF (true convolution): ``y = k ⊛ x``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Sharp image; float32 stays float32, other dtypes become float64.
    psf : (kh, kw) array_like
        PSF, normalised to sum 1 here. Must not be larger than the image.
    boundary : {"wrap", "valid", "symmetric", "edge", "zero"}, optional
        What lies outside the image (see :mod:`restore.operators`). ``"wrap"`` (default) is
        the circular model the DFT assumes; ``"valid"`` is the realistic one, returning
        ``(H - kh + 1, W - kw + 1[, C])``.

    Returns
    -------
    blurred : ndarray
        Blurred image, a new array.

    Notes
    -----
    Per channel, ``y = A x`` with the :class:`BlurOperator` of the same boundary.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((5, 5)); x[2, 2] = 1
    >>> k = np.array([[1.0, 2.0], [3.0, 4.0]]) / 10
    >>> blur(x, k)[1:3, 1:3]  # the kernel itself, origin at (1, 1): nothing shifts
    array([[0.1, 0.2],
           [0.3, 0.4]])
    """
    x = as_float_image(image)
    op = BlurOperator(psf, x.shape[:2], boundary=boundary, dtype=x.dtype)
    if x.ndim == 2:
        return op.forward(x)
    return np.stack([op.forward(x[..., c]) for c in range(x.shape[2])], axis=-1)
