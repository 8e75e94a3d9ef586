"""Upsample an image by an integer factor: interpolation, transposed convolution or a trained network.

:func:`upsample_image` is what ``deconvkit upsample`` calls. Methods:

- ``"nearest"``, ``"nearest-exact"``, ``"bilinear"``, ``"bicubic"`` (Keys, ``cubic_a``),
  ``"area"``: :func:`learned.interpolate`, half-pixel centres, every channel alike. At an
  integer factor ``nearest``, ``nearest-exact`` and ``area`` all repeat pixels.
- ``"transposed"``: a transposed convolution with the fixed bicubic kernel
  (:func:`~learned.kernels.bicubic_kernel`, ``cubic_a``) on the edge-padded input -- equal to
  ``"bicubic"`` to rounding: the "deconvolution" layer *is* interpolation.
- ``"learned"``: the shipped ESPCN (:mod:`learned.pretrained`, scales 2, 3, 4), and
  ``"learned-transposed"``: the shipped trained bicubic-initialised transposed convolution.
  Both were trained on luminance. A gray image goes through the model; a colour image is
  upsampled with bicubic (a = -0.75) and then gets the model's correction of its luminance,
  ``model(Y) - bicubic(Y)``, added to R, G and B alike -- the same as upsampling Y (BT.601,
  ``0.299 R + 0.587 G + 0.114 B``) with the model and Cb, Cr with bicubic, since YCbCr is a
  linear map of RGB in which Y enters each of R, G, B with weight 1. An alpha channel is
  upsampled with bicubic.

The trained models run in float32 tile by tile (``tile`` low-resolution pixels plus a halo
wider than their reach), so memory stays bounded on large photos and the result equals the
untiled one to float32 rounding (at ×3, up to 1.5e-5: PyTorch's bicubic coordinates of a
tile and of the whole image round differently). Nothing is clipped (conventions: clip only when writing integers).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from deconvkit._validation import as_float_image, check_choice, check_number
from deconvkit.errors import InvalidParameterError

__all__ = ["UPSAMPLE_METHODS", "LEARNED_METHODS", "upsample_image"]

#: methods of :func:`upsample_image`
UPSAMPLE_METHODS = ("learned", "learned-transposed", "nearest", "nearest-exact", "bilinear", "bicubic", "area",
                    "transposed")
#: method -> kind of shipped model (:mod:`learned.pretrained`)
LEARNED_METHODS = {"learned": "espcn", "learned-transposed": "transposed"}
_LUMA = np.array([0.299, 0.587, 0.114])
_HALO = 8  # low-resolution pixels around each tile: more than any shipped model's reach (4)


def upsample_image(
    image: Any,
    scale: int,
    *,
    method: str = "learned",
    cubic_a: float = -0.75,
    tile: int = 256,
    model: Any = None,
) -> np.ndarray:
    """Upsample an ``(H, W)`` or ``(H, W, C)`` image by an integer ``scale``.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array_like
        Floats in [0, 1] (the range is not checked; integer samples are refused). For the learned methods ``C`` is 1 (gray), 2 (gray +
        alpha), 3 (RGB) or 4 (RGBA); the others take any ``C``.
    scale : int
        Factor ``s >= 1``; the learned methods have weights for 2, 3 and 4.
    method : str, optional
        One of :data:`UPSAMPLE_METHODS` (module docstring); default ``"learned"``.
    cubic_a : float, optional
        Keys' parameter of ``"bicubic"`` and ``"transposed"`` (default -0.75; -0.5 is PIL's).
        The learned methods use -0.75, as in training, and refuse another value.
    tile : int, optional
        Tile side in input pixels for the learned methods (default 256).
    model : torch.nn.Module, optional
        For the learned methods: a 1-channel upsampler by ``scale`` to use instead of the
        shipped one (e.g. from :func:`~learned.pretrained.load_pretrained` with retrained weights).

    Returns
    -------
    out : (s H, s W) or (s H, s W, C) ndarray
        float32 for float16/float32 input, float64 otherwise (the learned methods compute in
        float32 either way).

    Raises
    ------
    InvalidParameterError
        Unknown method, scale without shipped weights, bad channel count or parameters.
    deconvkit.errors.WeightsFileError
        The shipped weights file is missing or unreadable.
    """
    raw = image if isinstance(image, np.ndarray) else np.asarray(image)
    if raw.dtype.kind in "biu":
        raise InvalidParameterError(
            f"image must hold floats in [0, 1], got {raw.dtype} samples (divide uint8 by 255, uint16 by 65535)"
        )
    x = as_float_image(raw)
    s = check_number("scale", scale, low=1, integer=True)
    check_choice("method", method, UPSAMPLE_METHODS)
    a = float(check_number("cubic_a", cubic_a))
    tile = check_number("tile", tile, low=1, integer=True)
    planes = x[None, None] if x.ndim == 2 else x.transpose(2, 0, 1)[None]
    if method in LEARNED_METHODS:
        if a != -0.75:
            raise InvalidParameterError(f"method {method!r} was trained with bicubic a=-0.75; got cubic_a={a}")
        out = _learned(x, s, LEARNED_METHODS[method], tile, model)
    elif method == "transposed":
        out = _transposed(planes, s, a)
    else:
        import learned

        out = learned.interpolate(planes, scale_factor=s, mode=method, cubic_a=a)[0]
    if method not in LEARNED_METHODS:
        out = out[0] if x.ndim == 2 else out.transpose(1, 2, 0)
    return np.ascontiguousarray(out, dtype=x.dtype)


def _transposed(planes: np.ndarray, scale: int, a: float) -> np.ndarray:
    """Depthwise bicubic-kernel transposed convolution of ``(1, C, h, w)`` planes, in their dtype."""
    import torch

    from learned.modules import TransposedConvUpsampler

    dtype = torch.float64 if planes.dtype == np.float64 else torch.float32
    layer = TransposedConvUpsampler(scale, planes.shape[1], init="bicubic", cubic_a=a, dtype=dtype)
    with torch.no_grad():
        return layer(torch.from_numpy(np.ascontiguousarray(planes)))[0].numpy()


def _learned(x: np.ndarray, scale: int, kind: str, tile: int, model: Any) -> np.ndarray:
    import learned
    from learned.pretrained import load_pretrained

    channels = 1 if x.ndim == 2 else x.shape[2]
    if channels not in (1, 2, 3, 4):
        raise InvalidParameterError(f"the learned methods take 1, 2, 3 or 4 channels (gray/RGB with alpha), got {channels}")
    if model is None:
        model = load_pretrained(kind, scale)
    elif getattr(model, "scale", scale) != scale or getattr(model, "channels", 1) != 1:
        raise InvalidParameterError(f"model must upsample one channel by {scale}, got {model!r}")
    if x.ndim == 2:
        return _run_tiled(model, x.astype(np.float32), scale, tile, correction=False)
    # Bicubic for every channel (chroma, alpha), then the model's luminance.
    out = learned.interpolate(x.transpose(2, 0, 1)[None], scale_factor=scale, mode="bicubic")[0].transpose(1, 2, 0)
    if channels <= 2:  # gray (+ alpha): the model's output replaces the bicubic gray
        out[..., 0] = _run_tiled(model, x[..., 0].astype(np.float32), scale, tile, correction=False)
    else:
        luma = (x[..., :3] @ _LUMA).astype(np.float32)
        out[..., :3] += _run_tiled(model, luma, scale, tile, correction=True)[..., None]
    return out


def _run_tiled(model: Any, plane: np.ndarray, scale: int, tile: int, *, correction: bool) -> np.ndarray:
    """``model(plane)`` (or ``model(plane) - bicubic(plane)``) in float32, tile by tile with a halo."""
    import torch
    import torch.nn.functional as F

    h, w = plane.shape
    out = np.empty((scale * h, scale * w), dtype=np.float32)
    with torch.inference_mode():
        for r0 in range(0, h, tile):
            for c0 in range(0, w, tile):
                r1, c1 = min(r0 + tile, h), min(c0 + tile, w)
                a0, b0 = max(r0 - _HALO, 0), max(c0 - _HALO, 0)
                a1, b1 = min(r1 + _HALO, h), min(c1 + _HALO, w)
                x = torch.from_numpy(np.ascontiguousarray(plane[a0:a1, b0:b1]))[None, None]
                y = model(x)
                if correction:
                    y = y - F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)
                top, left = scale * (r0 - a0), scale * (c0 - b0)
                out[scale * r0 : scale * r1, scale * c0 : scale * c1] = y[
                    0, 0, top : top + scale * (r1 - r0), left : left + scale * (c1 - c0)
                ].numpy()
    return out
