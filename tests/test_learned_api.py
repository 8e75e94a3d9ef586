"""The public surface of ``learned``: names stay, torch is imported only on demand."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import learned
from deconvkit.errors import InvalidParameterError


def test_every_public_name_resolves():
    for name in learned.__all__:
        assert getattr(learned, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        learned.nope  # noqa: B018


def test_import_learned_does_not_import_torch():
    code = "import sys, learned; print('torch' in sys.modules); learned.fit_upsampler; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def test_contract_names_from_the_issue():
    expected = {
        "conv_output_size", "conv_transpose_output_size", "conv2d", "conv_transpose2d", "conv_matrix",
        "interpolate", "max_pool2d", "max_unpool2d", "pixel_shuffle", "pixel_unshuffle", "bilinear_kernel",
        "overlap_map", "fit_upsampler", "InterpolationUpsampler", "TransposedConvUpsampler",
        "ResizeConvUpsampler", "PixelShuffleUpsampler", "UnpoolingUpsampler",
    }
    assert expected <= set(learned.__all__)


@pytest.mark.parametrize(
    "call",
    [
        lambda: learned.conv2d([[[[1.0, 2.0], [1.0]]]], np.ones((1, 1, 1, 1))),
        lambda: learned.interpolate([[[[1.0, 2.0], [1.0]]]], size=3),
        lambda: learned.max_pool2d([[[[1.0, 2.0], [1.0]]]], 2),
        lambda: learned.pixel_shuffle([[[[1.0, 2.0], [1.0]]]], 1),
    ],
)
def test_ragged_lists_get_a_clear_error(call):
    with pytest.raises(InvalidParameterError, match="must be an array of numbers"):
        call()
