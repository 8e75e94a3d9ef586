"""The public surface of ``learned``: names stay, torch is imported only on demand."""

from __future__ import annotations

import subprocess
import sys

import pytest

import learned


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
