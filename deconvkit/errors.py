"""Exception types shared by all deconvkit packages.

Every exception subclasses both :class:`DeconvkitError` and a built-in, so callers can
catch either (``except ValueError`` keeps working for parameter errors).
"""

from __future__ import annotations

__all__ = [
    "DeconvkitError",
    "InvalidParameterError",
    "ImageReadError",
    "ImageWriteError",
    "ImageTooLargeError",
    "AdjointTestError",
    "WeightsFileError",
]


class DeconvkitError(Exception):
    """Base class of all errors raised on purpose by deconvkit."""


class InvalidParameterError(DeconvkitError, ValueError):
    """A parameter or array has a value, shape or dtype that is not accepted."""


class ImageReadError(DeconvkitError, OSError):
    """A file could not be read as an image (missing, not an image, truncated...)."""


class ImageWriteError(DeconvkitError, OSError):
    """An image could not be written (bad folder, existing file, unsupported format...)."""


class ImageTooLargeError(DeconvkitError, MemoryError):
    """An image would not fit in the memory available; refused before allocating."""


class AdjointTestError(DeconvkitError, AssertionError):
    """A dot-test found that an operator's adjoint does not match its forward map."""


class WeightsFileError(DeconvkitError, OSError):
    """A weights file could not be written, or read as a PyTorch ``state_dict``."""
