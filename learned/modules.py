"""Upsampling layers for PyTorch, fixed and learnable, with one interface.

Every module maps ``(N, C, H, W)`` to ``(N, C, s H, s W)`` for an integer scale ``s``:

- :class:`InterpolationUpsampler`: ``F.interpolate``; no parameters.
- :class:`TransposedConvUpsampler`: transposed convolution ("deconvolution"); starts as
  exact bilinear or bicubic interpolation, or random.
- :class:`ResizeConvUpsampler`: resize, then convolution (Odena et al. 2016's fix for
  checkerboard artifacts); starts as the plain resize.
- :class:`PixelShuffleUpsampler`: convolution to ``C s²`` channels, then pixel shuffle
  (Shi et al. 2016); the ICNR start equals nearest upsampling + convolution.
- :class:`UnpoolingUpsampler`: max-unpooling with the caller's argmax indices (Zeiler &
  Fergus 2014, SegNet); no parameters.

As in kornia, each learnable module is a thin holder of parameters around a pure function
(:func:`transposed_conv_upsample`, :func:`resize_conv_upsample`,
:func:`pixel_shuffle_upsample`), and the tests check module == function.

Random initialisation draws from a local ``torch.Generator`` built from ``rng`` (an int
seed, a ``torch.Generator``, a ``numpy.random.Generator`` or ``None`` for fresh OS
entropy); the global PyTorch RNG is never used nor seeded. Coordinates follow PyTorch:
half-pixel centres (``align_corners=False``) for bilinear and bicubic, ``nearest`` = floor.

This module imports torch; :mod:`learned` itself does not.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from deconvkit._validation import check_choice, check_number
from deconvkit.errors import InvalidParameterError
from learned.kernels import _check_scale, bicubic_kernel, bilinear_kernel, upsample_padding

__all__ = [
    "torch_generator",
    "transposed_conv_upsample",
    "resize_conv_upsample",
    "pixel_shuffle_upsample",
    "icnr_weight",
    "pool_indices",
    "InterpolationUpsampler",
    "TransposedConvUpsampler",
    "ResizeConvUpsampler",
    "PixelShuffleUpsampler",
    "UnpoolingUpsampler",
]

INTERPOLATION_MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")
PADDING_MODES = ("replicate", "zeros")


# ----------------------------------------------------------------------------- helpers


def torch_generator(rng: Any = None) -> torch.Generator:
    """A CPU ``torch.Generator`` from an int seed, a Generator (torch or NumPy) or None.

    A ``torch.Generator`` is returned as is (its state advances as it is used); a NumPy
    Generator gives one seed drawn from it; ``None`` seeds from OS entropy (not
    reproducible). The global PyTorch RNG is left alone.
    """
    if isinstance(rng, torch.Generator):
        return rng
    g = torch.Generator()
    if rng is None:
        g.seed()
    elif isinstance(rng, np.random.Generator):
        g.manual_seed(int(rng.integers(2**63)))
    elif isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        g.manual_seed(int(rng))
    else:
        raise InvalidParameterError(
            f"rng must be a non-negative int seed, a torch.Generator, a numpy.random.Generator "
            f"or None, got {rng!r}"
        )
    return g


def _check_channels(channels: Any) -> int:
    return check_number("channels", channels, low=1, integer=True)


def _check_input(x: Any, channels: int | None = None) -> None:
    if not isinstance(x, torch.Tensor):
        raise InvalidParameterError(f"input must be a torch.Tensor (N, C, H, W), got {type(x).__name__}")
    if x.dim() != 4:
        raise InvalidParameterError(f"input must be 4-D (N, C, H, W), got shape {tuple(x.shape)}")
    if channels is not None and x.shape[1] != channels:
        raise InvalidParameterError(f"input has {x.shape[1]} channels, expected {channels} (shape {tuple(x.shape)})")


def _uniform_(t: torch.Tensor, fan_in: int, generator: torch.Generator) -> torch.Tensor:
    """PyTorch's default convolution initialisation, ``U(-1/√fan_in, 1/√fan_in)``, seeded."""
    bound = 1.0 / float(np.sqrt(fan_in))
    with torch.no_grad():
        return t.uniform_(-bound, bound, generator=generator)


def _conv_same(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, padding_mode: str) -> torch.Tensor:
    """Stride-1 convolution (PyTorch's cross-correlation) keeping the size; odd kernels."""
    kh, kw = weight.shape[-2:]
    if kh % 2 == 0 or kw % 2 == 0:
        raise InvalidParameterError(f"kernel must have odd sizes to keep the image size, got {(kh, kw)}")
    ph, pw = kh // 2, kw // 2
    if padding_mode == "replicate":
        return F.conv2d(F.pad(x, (pw, pw, ph, ph), mode="replicate"), weight, bias)
    return F.conv2d(x, weight, bias, padding=(ph, pw))


# ----------------------------------------------------------------------------- functions


def transposed_conv_upsample(
    x: torch.Tensor,
    weight: torch.Tensor,
    scale: int,
    *,
    bias: torch.Tensor | None = None,
    groups: int = 1,
    edge: int = 0,
) -> torch.Tensor:
    """Transposed convolution with stride ``scale`` whose output is exactly ``(s H, s W)``.

    Parameters
    ----------
    x : (N, C_in, H, W) tensor
    weight : (C_in, C_out / groups, kH, kW) tensor
        PyTorch's transposed-convolution layout.
    scale : int
        Stride ``s``.
    bias : (C_out,) tensor, optional
    groups : int, optional
        As in ``conv_transpose2d`` (``groups = C`` for depthwise).
    edge : int, optional
        Edge-pad (replicate) the input by this many pixels first (default 0 = zero padding
        at the borders). See :mod:`learned.kernels`: ``edge = 1`` with
        :func:`~learned.kernels.bilinear_kernel` and ``edge = 2`` with
        :func:`~learned.kernels.bicubic_kernel` reproduce ``F.interpolate`` everywhere.

    Returns
    -------
    (N, C_out, s H, s W) tensor
        Padding and output padding from :func:`~learned.kernels.upsample_padding`.

    Notes
    -----
    ``out[i s - p + m] += x[i] · w[m]`` (PyTorch's scatter-add form), the adjoint of a
    stride-``s`` convolution — not its inverse.
    """
    _check_input(x)
    s = _check_scale(scale)
    if weight.dim() != 4:
        raise InvalidParameterError(f"weight must be 4-D (C_in, C_out/groups, kH, kW), got shape {tuple(weight.shape)}")
    e = check_number("edge", edge, low=0, integer=True)
    (ph, oph), (pw, opw) = (upsample_padding(k, s, edge=e) for k in weight.shape[-2:])
    if e:
        x = F.pad(x, (e, e, e, e), mode="replicate")
    return F.conv_transpose2d(x, weight, bias, stride=s, padding=(ph, pw), output_padding=(oph, opw), groups=groups)


def resize_conv_upsample(
    x: torch.Tensor,
    weight: torch.Tensor,
    scale: int,
    *,
    bias: torch.Tensor | None = None,
    mode: str = "nearest",
    padding_mode: str = "replicate",
) -> torch.Tensor:
    """Resize by ``scale`` with ``F.interpolate(mode)``, then a size-keeping convolution.

    ``weight`` is ``(C_out, C_in, k, k)`` with odd ``k``; ``padding_mode`` is ``"replicate"``
    (default) or ``"zeros"``. Bilinear and bicubic use ``align_corners=False``.
    """
    _check_input(x)
    s = _check_scale(scale)
    check_choice("mode", mode, INTERPOLATION_MODES)
    check_choice("padding_mode", padding_mode, PADDING_MODES)
    align = False if mode in ("bilinear", "bicubic") else None
    up = F.interpolate(x, scale_factor=s, mode=mode, align_corners=align)
    return _conv_same(up, weight, bias, padding_mode)


def pixel_shuffle_upsample(
    x: torch.Tensor,
    weight: torch.Tensor,
    scale: int,
    *,
    bias: torch.Tensor | None = None,
    padding_mode: str = "replicate",
) -> torch.Tensor:
    """Sub-pixel convolution: size-keeping convolution to ``C s²`` channels, then ``F.pixel_shuffle``.

    ``weight`` is ``(C s², C_in, k, k)`` with odd ``k``. PyTorch's channel order: channel
    ``c s² + i s + j`` of the convolution becomes pixel ``(i, j)`` of each ``s × s`` block of
    output channel ``c``.
    """
    _check_input(x)
    s = _check_scale(scale)
    check_choice("padding_mode", padding_mode, PADDING_MODES)
    if weight.shape[0] % (s * s):
        raise InvalidParameterError(
            f"weight must have a multiple of scale² = {s * s} output channels, got shape {tuple(weight.shape)}"
        )
    return F.pixel_shuffle(_conv_same(x, weight, bias, padding_mode), s)


def icnr_weight(base: torch.Tensor, scale: int) -> torch.Tensor:
    """ICNR (Aitken et al. 2017): repeat each output channel of ``base`` ``scale²`` times.

    ``base`` is ``(C, C_in, k, k)``; the result ``(C s², C_in, k, k)`` has rows ``c s² ..
    c s² + s² - 1`` equal to ``base[c]`` — ``repeat_interleave``, because PyTorch's pixel
    shuffle takes the ``s²`` sub-pixels of channel ``c`` from consecutive channels. Then
    ``pixel_shuffle(conv(x, W)) = nearest_s(conv(x, base))``: every sub-pixel starts equal,
    with no checkerboard. (The same holds for a bias repeated the same way.)

    References
    ----------
    A. Aitken, C. Ledig, L. Theis, J. Caballero, Z. Wang, W. Shi, "Checkerboard artifact free
    sub-pixel convolution", arXiv:1707.02937, 2017.
    """
    s = _check_scale(scale)
    return base.repeat_interleave(s * s, dim=0)


def pool_indices(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Argmax indices of ``scale × scale`` max-pooling of ``hr``, for :class:`UnpoolingUpsampler`.

    Parameters
    ----------
    hr : (N, C, H, W) tensor
        High-resolution image.
    scale : int
        Pooling window and stride.

    Returns
    -------
    indices : (N, C, H // s, W // s) int64 tensor
        ``F.max_pool2d(hr, s, return_indices=True)[1]``: flat indices into each ``H × W``
        plane (rows and columns beyond a multiple of ``s`` are dropped by the pooling). The
        pooled values themselves are ``F.max_pool2d(hr, s)``. Ties go to the first maximum
        in PyTorch's scan order.
    """
    _check_input(hr)
    s = _check_scale(scale)
    return F.max_pool2d(hr, s, stride=s, return_indices=True)[1]


# ----------------------------------------------------------------------------- modules


class InterpolationUpsampler(nn.Module):
    """``F.interpolate`` by an integer scale, as a module; no parameters.

    Parameters
    ----------
    scale : int
        Factor ``s >= 1``.
    mode : {"bilinear", "bicubic", "nearest", "nearest-exact"}, optional
        ``nearest`` is PyTorch's legacy floor rule; ``nearest-exact`` rounds half up
        (PIL, OpenCV ``INTER_NEAREST_EXACT``). Bicubic is Keys with ``a = -0.75``.
    align_corners : bool, optional
        Default False (half-pixel centres). Only for bilinear and bicubic; nearest modes
        refuse ``True``.
    """

    def __init__(self, scale: int, mode: str = "bilinear", *, align_corners: bool = False) -> None:
        super().__init__()
        self.scale = _check_scale(scale)
        self.mode = check_choice("mode", mode, INTERPOLATION_MODES)
        if not isinstance(align_corners, bool):
            raise InvalidParameterError(f"align_corners must be True or False, got {align_corners!r}")
        if align_corners and mode not in ("bilinear", "bicubic"):
            raise InvalidParameterError(f"align_corners=True needs mode 'bilinear' or 'bicubic', got mode {mode!r}")
        self.align_corners = align_corners

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x)
        align = self.align_corners if self.mode in ("bilinear", "bicubic") else None
        return F.interpolate(x, scale_factor=self.scale, mode=self.mode, align_corners=align)

    def extra_repr(self) -> str:
        return f"scale={self.scale}, mode={self.mode!r}, align_corners={self.align_corners}"


def _embed_centred(kernel: np.ndarray, size: int, init: str) -> np.ndarray:
    natural = kernel.shape[0]
    if size < natural or (size - natural) % 2:
        raise InvalidParameterError(
            f"kernel_size {size} does not fit init={init!r}: it needs the natural size {natural} "
            f"or that plus an even number (the kernel is zero-padded on both sides)"
        )
    off = (size - natural) // 2
    out = np.zeros((size, size))
    out[off : off + natural, off : off + natural] = kernel
    return out


class TransposedConvUpsampler(nn.Module):
    """Learnable transposed convolution ("deconvolution") with stride ``scale``.

    Parameters
    ----------
    scale : int
        Factor and stride ``s >= 1``.
    channels : int
        ``C``; input and output channels are equal.
    kernel_size : int, optional
        Default: ``2 s - s % 2`` for ``init="bilinear"`` and ``"random"`` (FCN's size),
        ``4 s - s % 2`` for ``"bicubic"``. A larger size (by an even amount) holds the fixed
        kernel in its centre, zeros around it.
    init : {"bilinear", "bicubic", "random"}, optional
        ``bilinear`` (default, FCN) and ``bicubic`` make the layer start as *exactly*
        ``F.interpolate(mode, align_corners=False)`` — everywhere with the default
        ``padding_mode``; ``random`` is PyTorch's ``U(-1/√fan_in, 1/√fan_in)``.
    bias : bool, optional
        Add a learnable bias, initialised to 0 (default False).
    depthwise : bool, optional
        True (default): one kernel per channel (``groups = C``, weight ``(C, 1, K, K)``).
        False: full channel mixing (weight ``(C, C, K, K)``); the fixed inits put the kernel
        on the diagonal (identity mixing), as FCN does.
    padding_mode : {"replicate", "zeros"}, optional
        ``replicate`` (default) edge-pads the input by ``ceil((K - s) / (2 s))`` pixels
        (1 for the bilinear kernel, 2 for the bicubic) before the transposed convolution,
        so that border outputs see complete kernel copies; ``zeros`` is the usual layer,
        whose outermost outputs miss the copies of absent neighbours.
    rng : int, torch.Generator, numpy.random.Generator or None
        Source of the random initialisation (``init="random"`` only).
    device, dtype : optional
        Of the parameters, as in ``torch.nn`` layers (default: CPU, PyTorch's default
        dtype). The fixed kernels are computed in float64 and rounded once, so a float64
        layer reproduces interpolation to ~1e-15 (``.double()`` on a float32 layer would
        keep the float32 rounding of taps like 1/3).
    cubic_a : float, optional
        Keys' parameter of the ``"bicubic"`` kernel (default -0.75, PyTorch's; -0.5 is PIL's):
        the layer then starts as :func:`learned.interpolate` with that ``cubic_a``.

    Notes
    -----
    Padding and output padding come from :func:`~learned.kernels.upsample_padding`, so the
    output is ``(s H, s W)`` for every kernel size (an even ``K - s`` centres the kernel on
    the half-pixel grid; an odd one leaves it half a pixel off). :func:`~learned.kernels.overlap_map`
    shows where the copies overlap unevenly (checkerboard).
    """

    def __init__(
        self,
        scale: int,
        channels: int,
        *,
        kernel_size: int | None = None,
        init: str = "bilinear",
        bias: bool = False,
        depthwise: bool = True,
        padding_mode: str = "replicate",
        rng: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        cubic_a: float = -0.75,
    ) -> None:
        super().__init__()
        s = self.scale = _check_scale(scale)
        c = self.channels = _check_channels(channels)
        self.init = check_choice("init", init, ("bilinear", "bicubic", "random"))
        self.cubic_a = float(check_number("cubic_a", cubic_a))
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        self.depthwise = bool(depthwise)
        natural = 4 * s - s % 2 if init == "bicubic" else 2 * s - s % 2
        k = self.kernel_size = natural if kernel_size is None else check_number("kernel_size", kernel_size, low=1, integer=True)
        upsample_padding(k, s)  # refuses an impossible size now rather than in forward
        self.groups = c if self.depthwise else 1
        self.edge = -(-(k - s) // (2 * s)) if padding_mode == "replicate" and k > s else 0
        dtype = dtype or torch.get_default_dtype()
        if init == "random":
            weight = _uniform_(torch.empty(c, c // self.groups, k, k, dtype=dtype), (c // self.groups) * k * k,
                               torch_generator(rng))
        else:
            fixed = bilinear_kernel(s) if init == "bilinear" else bicubic_kernel(s, a=self.cubic_a)
            kern = torch.from_numpy(_embed_centred(fixed, k, init))
            weight = torch.zeros(c, c // self.groups, k, k, dtype=torch.float64)
            for ch in range(c):
                weight[ch, 0 if self.depthwise else ch] = kern
        self.weight = nn.Parameter(weight.to(device=device, dtype=dtype))
        self.bias = nn.Parameter(torch.zeros(c, device=device, dtype=dtype)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.channels)
        return transposed_conv_upsample(
            x, self.weight, self.scale, bias=self.bias, groups=self.groups, edge=self.edge
        )

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, channels={self.channels}, kernel_size={self.kernel_size}, init={self.init!r}, "
            + (f"cubic_a={self.cubic_a}, " if self.init == "bicubic" else "")
            + f"bias={self.bias is not None}, depthwise={self.depthwise}, padding_mode={self.padding_mode!r}"
        )


class ResizeConvUpsampler(nn.Module):
    """Resize-convolution: ``F.interpolate`` by ``scale``, then a learnable convolution.

    The fix for checkerboard artifacts proposed by Odena, Dumoulin & Olah ("Deconvolution
    and Checkerboard Artifacts", Distill 2016): every output pixel sees the same number of
    kernel taps, so no periodic pattern can come from uneven overlap.

    Parameters
    ----------
    scale : int
        Factor ``s >= 1``.
    channels : int
        ``C`` in and out.
    mode : {"nearest", "nearest-exact", "bilinear", "bicubic"}, optional
        Resize mode (default ``nearest``, as in the article); ``align_corners=False``.
    kernel_size : int, optional
        Odd convolution size (default 3).
    init : {"identity", "random"}, optional
        ``identity`` (default): the centre tap of each channel's own kernel is 1, the rest
        0, bias 0 — the layer starts as the plain resize. ``random``: PyTorch's default
        uniform initialisation, bias 0.
    bias : bool, optional
        Learnable bias (default True).
    padding_mode : {"replicate", "zeros"}, optional
        Border handling of the convolution (default ``replicate``).
    rng : int, torch.Generator, numpy.random.Generator or None
        Source of the random initialisation.
    device, dtype : optional
        Of the parameters, as in ``torch.nn`` layers.
    """

    def __init__(
        self,
        scale: int,
        channels: int,
        *,
        mode: str = "nearest",
        kernel_size: int = 3,
        init: str = "identity",
        bias: bool = True,
        padding_mode: str = "replicate",
        rng: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.scale = _check_scale(scale)
        c = self.channels = _check_channels(channels)
        self.mode = check_choice("mode", mode, INTERPOLATION_MODES)
        k = self.kernel_size = check_number("kernel_size", kernel_size, low=1, integer=True)
        if k % 2 == 0:
            raise InvalidParameterError(f"kernel_size must be odd to keep the image size, got {k}")
        self.init = check_choice("init", init, ("identity", "random"))
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        dtype = dtype or torch.get_default_dtype()
        weight = torch.zeros(c, c, k, k, dtype=dtype)
        if init == "identity":
            weight[range(c), range(c), k // 2, k // 2] = 1.0
        else:
            _uniform_(weight, c * k * k, torch_generator(rng))
        self.weight = nn.Parameter(weight.to(device))
        self.bias = nn.Parameter(torch.zeros(c, device=device, dtype=dtype)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.channels)
        return resize_conv_upsample(
            x, self.weight, self.scale, bias=self.bias, mode=self.mode, padding_mode=self.padding_mode
        )

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, channels={self.channels}, mode={self.mode!r}, kernel_size={self.kernel_size}, "
            f"init={self.init!r}, bias={self.bias is not None}, padding_mode={self.padding_mode!r}"
        )


class PixelShuffleUpsampler(nn.Module):
    """Sub-pixel convolution (ESPCN, Shi et al. 2016): convolution to ``C s²`` channels, pixel shuffle.

    Parameters
    ----------
    scale : int
        Factor ``s >= 1``.
    channels : int
        ``C`` in and out.
    kernel_size : int, optional
        Odd convolution size (default 3).
    init : {"icnr", "random"}, optional
        ``icnr`` (default, Aitken et al. 2017): a random base kernel ``W0`` of shape
        ``(C, C, k, k)`` repeated with :func:`icnr_weight`, so that at initialisation the
        layer equals ``nearest_s(conv(x, W0))`` — which is also nearest upsampling followed
        by the same ``W0`` dilated by ``s`` — and has no checkerboard. ``random``: every
        one of the ``C s²`` kernels drawn independently.
    bias : bool, optional
        Learnable bias (default True), initialised to 0.
    padding_mode : {"replicate", "zeros"}, optional
        Border handling of the convolution (default ``replicate``).
    rng : int, torch.Generator, numpy.random.Generator or None
        Source of the random initialisation.
    device, dtype : optional
        Of the parameters, as in ``torch.nn`` layers.
    """

    def __init__(
        self,
        scale: int,
        channels: int,
        *,
        kernel_size: int = 3,
        init: str = "icnr",
        bias: bool = True,
        padding_mode: str = "replicate",
        rng: Any = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        s = self.scale = _check_scale(scale)
        c = self.channels = _check_channels(channels)
        k = self.kernel_size = check_number("kernel_size", kernel_size, low=1, integer=True)
        if k % 2 == 0:
            raise InvalidParameterError(f"kernel_size must be odd to keep the image size, got {k}")
        self.init = check_choice("init", init, ("icnr", "random"))
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        g = torch_generator(rng)
        dtype = dtype or torch.get_default_dtype()
        if init == "icnr":
            weight = icnr_weight(_uniform_(torch.empty(c, c, k, k, dtype=dtype), c * k * k, g), s)
        else:
            weight = _uniform_(torch.empty(c * s * s, c, k, k, dtype=dtype), c * k * k, g)
        self.weight = nn.Parameter(weight.to(device))
        self.bias = nn.Parameter(torch.zeros(c * s * s, device=device, dtype=dtype)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.channels)
        return pixel_shuffle_upsample(x, self.weight, self.scale, bias=self.bias, padding_mode=self.padding_mode)

    def extra_repr(self) -> str:
        return (
            f"scale={self.scale}, channels={self.channels}, kernel_size={self.kernel_size}, init={self.init!r}, "
            f"bias={self.bias is not None}, padding_mode={self.padding_mode!r}"
        )


class UnpoolingUpsampler(nn.Module):
    """Max-unpooling by ``scale``: values go back to the argmax positions, zeros elsewhere.

    The indices come from the caller — the max-pooling this layer undoes (Zeiler & Fergus
    2014; SegNet, Badrinarayanan et al. 2017) — for instance :func:`pool_indices` of the
    high-resolution image. No parameters: :func:`~learned.training.fit_upsampler` refuses it.

    ``forward(x, indices, output_size=None)`` is ``F.max_unpool2d(x, indices, scale,
    stride=scale, output_size=output_size)``; the default output is ``(s H, s W)``; pass the
    high-resolution size when it was not a multiple of ``s``.
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = _check_scale(scale)

    def forward(
        self, x: torch.Tensor, indices: torch.Tensor, output_size: tuple[int, int] | None = None
    ) -> torch.Tensor:
        _check_input(x)
        if not isinstance(indices, torch.Tensor) or indices.shape != x.shape:
            got = tuple(indices.shape) if isinstance(indices, torch.Tensor) else type(indices).__name__
            raise InvalidParameterError(f"indices must be a tensor of the input's shape {tuple(x.shape)}, got {got}")
        return F.max_unpool2d(x, indices, self.scale, stride=self.scale, output_size=output_size)

    def extra_repr(self) -> str:
        return f"scale={self.scale}"
