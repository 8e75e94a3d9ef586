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
- Checkerboard artifacts, measured: :func:`checkerboard_score` (spread of the ``s×s``
  phase means, :func:`phase_means`), :func:`kernel_checkerboard_score`,
  :func:`kernel_phase_sums`, :func:`flat_response`, :func:`flat_checkerboard_score`.
- Upsampling an image by name of method, with the shipped trained models:
  :func:`upsample_image`, :data:`UPSAMPLE_METHODS` (``deconvkit upsample``).
- PyTorch (imported on first use, so ``import learned`` stays light): the upsampler modules
  ``InterpolationUpsampler``, ``TransposedConvUpsampler``, ``ResizeConvUpsampler``,
  ``PixelShuffleUpsampler``, ``UnpoolingUpsampler`` (:mod:`learned.modules`);
  ``fit_upsampler``, ``save_weights``, ``load_weights`` (:mod:`learned.training`); the
  super-resolution network ``ESPCN`` (:mod:`learned.espcn`) and the shipped weights
  ``load_pretrained``, ``train_pretrained``, ``write_pretrained``, ``new_model``,
  ``weights_path`` (:mod:`learned.pretrained`); learned deblurring ``deblur_pairs``,
  ``fit_linear_deblur``, ``linear_deblur``, ``linear_deblur_loss``, ``DeblurCNN``,
  ``fit_deblur_cnn`` (:mod:`learned.deblur`).
"""

from importlib import import_module
from typing import Any

from learned.checkerboard import (
    checkerboard_score,
    flat_checkerboard_score,
    flat_response,
    kernel_checkerboard_score,
    kernel_phase_sums,
    phase_means,
)
from learned.conv import conv1d, conv2d
from learned.conv_transpose import TRANSPOSE_METHODS, ConvOperator, conv_transpose1d, conv_transpose2d
from learned.interpolation import MODES as INTERPOLATION_MODES
from learned.interpolation import interpolate
from learned.kernels import bicubic_kernel, bilinear_kernel, keys_cubic, overlap_map, upsample_padding
from learned.matrices import conv_matrix
from learned.pooling import max_pool2d, max_unpool2d, pool_output_size, unpool_output_size
from learned.shapes import conv_output_size, conv_transpose_output_size
from learned.shuffle import pixel_shuffle, pixel_unshuffle
from learned.upsample import UPSAMPLE_METHODS, upsample_image

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
    "ESPCN": "learned.espcn",
    "new_model": "learned.pretrained",
    "weights_path": "learned.pretrained",
    "load_pretrained": "learned.pretrained",
    "train_pretrained": "learned.pretrained",
    "write_pretrained": "learned.pretrained",
}

__all__ = [
    "ConvOperator",
    "INTERPOLATION_MODES",
    "TRANSPOSE_METHODS",
    "UPSAMPLE_METHODS",
    "bicubic_kernel",
    "bilinear_kernel",
    "checkerboard_score",
    "conv1d",
    "conv2d",
    "conv_matrix",
    "conv_output_size",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose_output_size",
    "flat_checkerboard_score",
    "flat_response",
    "interpolate",
    "keys_cubic",
    "kernel_checkerboard_score",
    "kernel_phase_sums",
    "max_pool2d",
    "max_unpool2d",
    "overlap_map",
    "phase_means",
    "pixel_shuffle",
    "pixel_unshuffle",
    "pool_output_size",
    "unpool_output_size",
    "upsample_image",
    "upsample_padding",
    *_TORCH_NAMES,
]


def __getattr__(name: str) -> Any:
    """Import the PyTorch-backed names on first use (PEP 562)."""
    if name in _TORCH_NAMES:
        return getattr(import_module(_TORCH_NAMES[name]), name)
    raise AttributeError(f"module 'learned' has no attribute {name!r}")
