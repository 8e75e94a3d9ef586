"""Transposed convolution and upsampling: "deconvolution" in the deep-learning sense.

A transposed convolution is the *adjoint* ``Cᵀ`` of a (strided) convolution ``C``: it
restores the input's shape, not its values. This package gives transparent NumPy reference
implementations (NCHW, like PyTorch), proven equal to PyTorch, OpenCV and PIL by the tests,
and trainable PyTorch upsamplers.

- Shapes: :func:`conv_output_size`, :func:`conv_transpose_output_size`.
- Convolution and its adjoint: :func:`conv2d`, :func:`conv1d`, :func:`conv_transpose2d`
  (``method="subpixel" | "scatter" | "zero_insertion" | "matrix"``),
  :func:`conv_transpose1d`, :func:`conv_matrix`, :class:`ConvOperator` (a
  :class:`deconvkit.linop.LinearOperator`, so :func:`deconvkit.linop.dottest` applies).
- Interpolation and friends: :func:`interpolate`, :func:`max_pool2d`, :func:`max_unpool2d`,
  :func:`pixel_shuffle`, :func:`pixel_unshuffle`.
- Kernels: :func:`bilinear_kernel` (FCN), :func:`bicubic_kernel`, :func:`overlap_map`
  (the cause of checkerboard artifacts), :func:`upsample_padding`.
- PyTorch (imported on first use, so ``import learned`` stays light): the upsampler modules
  ``InterpolationUpsampler``, ``TransposedConvUpsampler``, ``ResizeConvUpsampler``,
  ``PixelShuffleUpsampler``, ``UnpoolingUpsampler`` (:mod:`learned.modules`) and
  ``fit_upsampler``, ``save_weights``, ``load_weights`` (:mod:`learned.training`).
"""

from importlib import import_module
from typing import Any

from learned.conv import conv1d, conv2d
from learned.conv_transpose import TRANSPOSE_METHODS, ConvOperator, conv_transpose1d, conv_transpose2d
from learned.interpolation import MODES as INTERPOLATION_MODES
from learned.interpolation import interpolate
from learned.kernels import bicubic_kernel, bilinear_kernel, keys_cubic, overlap_map, upsample_padding
from learned.matrices import conv_matrix
from learned.pooling import max_pool2d, max_unpool2d, pool_output_size, unpool_output_size
from learned.shapes import conv_output_size, conv_transpose_output_size
from learned.shuffle import pixel_shuffle, pixel_unshuffle

_TORCH_NAMES = {
    "InterpolationUpsampler": "learned.modules",
    "TransposedConvUpsampler": "learned.modules",
    "ResizeConvUpsampler": "learned.modules",
    "PixelShuffleUpsampler": "learned.modules",
    "UnpoolingUpsampler": "learned.modules",
    "transposed_conv_upsample": "learned.modules",
    "resize_conv_upsample": "learned.modules",
    "pixel_shuffle_upsample": "learned.modules",
    "icnr_weight": "learned.modules",
    "pool_indices": "learned.modules",
    "torch_generator": "learned.modules",
    "fit_upsampler": "learned.training",
    "save_weights": "learned.training",
    "load_weights": "learned.training",
    "deblur_pairs": "learned.deblur",
    "fit_linear_deblur": "learned.deblur",
    "linear_deblur": "learned.deblur",
    "linear_deblur_loss": "learned.deblur",
    "DeblurCNN": "learned.deblur",
    "fit_deblur_cnn": "learned.deblur",
}

__all__ = [
    "ConvOperator",
    "INTERPOLATION_MODES",
    "TRANSPOSE_METHODS",
    "bicubic_kernel",
    "bilinear_kernel",
    "conv1d",
    "conv2d",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose_output_size",
    "interpolate",
    "keys_cubic",
    "max_pool2d",
    "max_unpool2d",
    "overlap_map",
    "pixel_shuffle",
    "pixel_unshuffle",
    "pool_output_size",
    "unpool_output_size",
    "upsample_padding",
    *_TORCH_NAMES,
]


def __getattr__(name: str) -> Any:
    """Import the PyTorch-backed names on first use (PEP 562)."""
    if name in _TORCH_NAMES:
        return getattr(import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'learned' has no attribute {name!r}")
