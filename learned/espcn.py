"""ESPCN: a small sub-pixel convolutional network that predicts the residual to bicubic.

The efficient sub-pixel CNN of Shi et al. (2016) works on the low-resolution grid:
convolution 5×5 to 64 features, tanh, convolution 3×3 to 32 features, tanh, convolution
3×3 to ``C s²`` channels, pixel shuffle by ``s``. Two changes, both documented choices:

- **Residual over bicubic** (as VDSR, Kim et al. 2016, and most later networks): the
  output is ``bicubic_s(x) + pixel_shuffle(f(x))`` with PyTorch's bicubic (Keys a = -0.75,
  half-pixel centres), so the network learns only what bicubic misses. With the last layer
  started small (``output_gain``) the untrained network already is bicubic interpolation
  plus a small correction, and a few hundred CPU steps beat bicubic; without the residual
  it must first learn interpolation itself.
- **ICNR initialisation** of the last layer (Aitken et al. 2017,
  :func:`~learned.modules.icnr_weight`): its ``s²`` sub-pixel kernels start equal, so the
  untrained network has no checkerboard (on a flat input its residual is flat).
  ``init="random"`` draws them independently instead, for the checkerboard study.

Convolutions keep the size with ``replicate`` padding (no zero border that the network
would have to learn around); the receptive field reaches ``Σ k // 2 = 4`` low-resolution
pixels (:attr:`ESPCN.reach`), 2 for the bicubic residual. Random initialisation draws from
a local generator built from ``rng`` (:func:`~learned.modules.torch_generator`); the global
PyTorch RNG is never used.

References
----------
W. Shi, J. Caballero, F. Huszár, J. Totz, A. P. Aitken, R. Bishop, D. Rueckert and Z. Wang,
"Real-time single image and video super-resolution using an efficient sub-pixel
convolutional neural network", CVPR 2016. A. Aitken, C. Ledig, L. Theis, J. Caballero,
Z. Wang and W. Shi, "Checkerboard artifact free sub-pixel convolution", arXiv:1707.02937,
2017. J. Kim, J. K. Lee and K. M. Lee, "Accurate image super-resolution using very deep
convolutional networks", CVPR 2016.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from deconvkit._validation import check_choice, check_number
from deconvkit.errors import InvalidParameterError
from learned.kernels import _check_scale
from learned.modules import (
    PADDING_MODES,
    _check_channels,
    _check_input,
    _conv_same,
    _uniform_,
    icnr_weight,
    pixel_shuffle_upsample,
    torch_generator,
)

__all__ = ["ESPCN", "ACTIVATIONS"]

#: hidden-layer activations: name -> function
ACTIVATIONS = {"tanh": torch.tanh, "relu": F.relu}


class ESPCN(nn.Module):
    """Sub-pixel convolutional network (ESPCN) with a bicubic residual and ICNR initialisation.

    Parameters
    ----------
    scale : int
        Upsampling factor ``s >= 1``.
    channels : int, optional
        ``C`` in and out (default 1: luminance).
    features : sequence of int, optional
        Feature channels of the hidden layers (default ``(64, 32)``, Shi et al.).
    kernel_sizes : sequence of int, optional
        Odd kernel sizes, one per hidden layer plus one for the output layer (default
        ``(5, 3, 3)``).
    activation : {"tanh", "relu"}, optional
        After every hidden layer (default tanh, Shi et al.).
    residual : bool, optional
        Add ``F.interpolate(x, scale_factor=s, mode="bicubic", align_corners=False)`` to the
        output (default True; module docstring).
    init : {"icnr", "random"}, optional
        Output layer: ICNR (default) or independent random kernels per sub-pixel.
    output_gain : float, optional
        The output layer's initial weights are PyTorch's default uniform draw times this
        (default 0.1: a small initial residual). Its bias starts at 0.
    padding_mode : {"replicate", "zeros"}, optional
        Border handling of every convolution (default ``replicate``).
    rng : int, torch.Generator, numpy.random.Generator or None
        Source of the initial weights (hidden layers: PyTorch's default
        ``U(-1/√fan_in, 1/√fan_in)`` for weights and biases).
    device, dtype : optional
        Of the parameters, as in ``torch.nn`` layers.

    Notes
    -----
    Parameters live in ``weights`` and ``biases`` (:class:`torch.nn.ParameterList`, state-dict
    keys ``weights.0``, ``biases.0``, ...); the output layer is the last. Forward:
    ``h_0 = x``, ``h_i = act(conv(h_{i-1}))``, ``y = pixel_shuffle(conv(h_n), s) [+ bicubic(x)]``.
    """

    def __init__(
        self,
        scale: int,
        channels: int = 1,
        *,
        features: Sequence[int] = (64, 32),
        kernel_sizes: Sequence[int] = (5, 3, 3),
        activation: str = "tanh",
        residual: bool = True,
        init: str = "icnr",
        output_gain: float = 0.1,
        padding_mode: str = "replicate",
        rng: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        s = self.scale = _check_scale(scale)
        c = self.channels = _check_channels(channels)
        self.features = tuple(check_number("features", f, low=1, integer=True) for f in features)
        self.kernel_sizes = tuple(check_number("kernel_sizes", k, low=1, integer=True) for k in kernel_sizes)
        if len(self.kernel_sizes) != len(self.features) + 1:
            raise InvalidParameterError(
                f"kernel_sizes needs one size per hidden layer plus the output layer ({len(self.features) + 1}), "
                f"got {len(self.kernel_sizes)}"
            )
        if any(k % 2 == 0 for k in self.kernel_sizes):
            raise InvalidParameterError(f"kernel_sizes must be odd to keep the image size, got {self.kernel_sizes}")
        self.activation = check_choice("activation", activation, tuple(ACTIVATIONS))
        if not isinstance(residual, bool):
            raise InvalidParameterError(f"residual must be True or False, got {residual!r}")
        self.residual = residual
        self.init = check_choice("init", init, ("icnr", "random"))
        self.output_gain = float(check_number("output_gain", output_gain, low=0))
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        g = torch_generator(rng)
        dtype = dtype or torch.get_default_dtype()
        weights, biases = [], []
        fan_in_channels = c
        for f, k in zip(self.features, self.kernel_sizes):
            fan_in = fan_in_channels * k * k
            weights.append(_uniform_(torch.empty(f, fan_in_channels, k, k, dtype=dtype), fan_in, g))
            biases.append(_uniform_(torch.empty(f, dtype=dtype), fan_in, g))
            fan_in_channels = f
        k = self.kernel_sizes[-1]
        fan_in = fan_in_channels * k * k
        if init == "icnr":
            last = icnr_weight(_uniform_(torch.empty(c, fan_in_channels, k, k, dtype=dtype), fan_in, g), s)
        else:
            last = _uniform_(torch.empty(c * s * s, fan_in_channels, k, k, dtype=dtype), fan_in, g)
        weights.append(last * self.output_gain)
        biases.append(torch.zeros(c * s * s, dtype=dtype))
        self.weights = nn.ParameterList([nn.Parameter(w.to(device)) for w in weights])
        self.biases = nn.ParameterList([nn.Parameter(b.to(device)) for b in biases])

    @property
    def reach(self) -> int:
        """How far (in input pixels) an output depends on its input: ``Σ k // 2``, and 2 for bicubic."""
        return max(sum(k // 2 for k in self.kernel_sizes), 2 if self.residual else 0)

    def residual_branch(self, x: torch.Tensor) -> torch.Tensor:
        """The network without the bicubic term: ``pixel_shuffle(conv(h_n), s)``."""
        _check_input(x, self.channels)
        act = ACTIVATIONS[self.activation]
        h = x
        for w, b in zip(self.weights[:-1], self.biases[:-1]):
            h = act(_conv_same(h, w, b, self.padding_mode))
        return pixel_shuffle_upsample(h, self.weights[-1], self.scale, bias=self.biases[-1], padding_mode=self.padding_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.residual_branch(x)
        if self.residual:
            out = out + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
        return out

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, channels={self.channels}, features={self.features}, "
            f"kernel_sizes={self.kernel_sizes}, activation={self.activation!r}, residual={self.residual}, "
            f"init={self.init!r}, padding_mode={self.padding_mode!r}"
        )
