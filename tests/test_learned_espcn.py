"""The ESPCN module (:mod:`learned.espcn`): shapes, the reference composition of torch layers,
ICNR and the bicubic residual at initialisation, the reach (which the tiling relies on),
seeding, gradients, validation.

References: ``torch.nn.Conv2d(padding_mode="replicate")``, ``torch.nn.PixelShuffle`` and
``F.interpolate(mode="bicubic")`` composed by hand with the module's weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from deconvkit.errors import InvalidParameterError
from learned.espcn import ESPCN

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _reference(model: ESPCN, x: torch.Tensor) -> torch.Tensor:
    """The same network from torch.nn layers holding copies of the module's weights."""
    layers: list[nn.Module] = []
    for i, (w, b) in enumerate(zip(model.weights, model.biases)):
        conv = nn.Conv2d(w.shape[1], w.shape[0], w.shape[-1], padding=w.shape[-1] // 2, padding_mode="replicate",
                         dtype=w.dtype)
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(b)
        layers.append(conv)
        if i < len(model.weights) - 1:
            layers.append(nn.Tanh())
    layers.append(nn.PixelShuffle(model.scale))
    with torch.no_grad():
        return nn.Sequential(*layers)(x) + F.interpolate(x, scale_factor=model.scale, mode="bicubic", align_corners=False)


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("channels", [1, 3])
def test_shape_and_reference_composition(scale, channels):
    model = ESPCN(scale, channels, rng=1, init="random", output_gain=1.0, dtype=torch.float64)
    with torch.no_grad():  # give the biases and all weights non-trivial values
        for b in model.biases:
            b.uniform_(-0.2, 0.2, generator=torch.Generator().manual_seed(3))
    x = torch.rand(2, channels, 11, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        out = model(x)
    assert out.shape == (2, channels, 11 * scale, 8 * scale)
    torch.testing.assert_close(out, _reference(model, x), rtol=0, atol=1e-12)


def test_icnr_start_is_bicubic_plus_a_nearest_upsampled_correction():
    model = ESPCN(3, rng=0)
    x = torch.rand(1, 1, 9, 10, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        residual = model.residual_branch(x)
        bicubic = F.interpolate(x, scale_factor=3, mode="bicubic", align_corners=False)
        torch.testing.assert_close(model(x), bicubic + residual)
    # ICNR: the 3 x 3 sub-pixels of each low-res pixel start equal.
    blocks = residual[0, 0].reshape(9, 3, 10, 3)
    assert torch.equal(blocks, blocks[:, :1, :, :1].expand_as(blocks))
    assert residual.abs().max() > 0
    # A zero output gain makes the untrained network exactly bicubic.
    zero = ESPCN(3, rng=0, output_gain=0.0)
    with torch.no_grad():
        assert torch.equal(zero(x), bicubic)


def test_without_residual_the_output_is_the_branch():
    model = ESPCN(2, residual=False, rng=0)
    x = torch.rand(1, 1, 6, 7, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(model(x), model.residual_branch(x))


@pytest.mark.parametrize("scale", [2, 3])
def test_reach_bounds_the_influence_of_one_input_pixel(scale):
    """The tiling of learned.upsample_image relies on it: one changed input pixel changes
    outputs only within ``reach`` low-res pixels."""
    model = ESPCN(scale, rng=0, init="random", output_gain=1.0, dtype=torch.float64)
    assert model.reach == 4
    x = torch.rand(1, 1, 21, 21, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    y = x.clone()
    y[0, 0, 10, 10] += 1.0
    with torch.no_grad():
        changed = (model(x) - model(y)).abs()[0, 0] > 0
    rows, cols = np.nonzero(changed.numpy())
    r = model.reach
    assert rows.min() == scale * (10 - r) and rows.max() == scale * (11 + r) - 1
    assert cols.min() == scale * (10 - r) and cols.max() == scale * (11 + r) - 1


def test_seeded_initialisation_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = ESPCN(2, rng=5), ESPCN(2, rng=5), ESPCN(2, rng=6)
    assert torch.equal(torch.random.get_rng_state(), state)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key])
    assert not torch.equal(a.weights[0], c.weights[0])
    assert list(a.state_dict()) == ["weights.0", "weights.1", "weights.2", "biases.0", "biases.1", "biases.2"]
    assert sum(p.numel() for p in a.parameters()) == 1 * 64 * 25 + 64 + 64 * 32 * 9 + 32 + 32 * 4 * 9 + 4


def test_gradcheck_float64():
    model = ESPCN(2, features=(3,), kernel_sizes=(3, 3), rng=0, output_gain=1.0, dtype=torch.float64)
    x = torch.rand(1, 1, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    assert torch.autograd.gradcheck(model, (x,))


def test_relu_and_zero_padding_options():
    model = ESPCN(2, activation="relu", padding_mode="zeros", rng=0, init="random", output_gain=1.0)
    x = torch.rand(1, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        h = F.relu(F.conv2d(x, model.weights[0], model.biases[0], padding=2))
        h = F.relu(F.conv2d(h, model.weights[1], model.biases[1], padding=1))
        expected = F.pixel_shuffle(F.conv2d(h, model.weights[2], model.biases[2], padding=1), 2)
        expected = expected + F.interpolate(x, scale_factor=2, mode="bicubic", align_corners=False)
        torch.testing.assert_close(model(x), expected)
    assert "activation='relu'" in repr(model) and "padding_mode='zeros'" in repr(model)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kernel_sizes": (5, 3)}, "one size per hidden layer"),
        ({"kernel_sizes": (5, 4, 3)}, "odd"),
        ({"activation": "gelu"}, "activation must be one of"),
        ({"init": "zeros"}, "init must be one of"),
        ({"residual": 1}, "residual must be True or False"),
        ({"output_gain": -1.0}, "output_gain must be >= 0"),
        ({"features": (0, 3)}, "features must be >= 1"),
        ({"rng": -1}, "rng must be"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        ESPCN(2, **kwargs)
    with pytest.raises(InvalidParameterError, match="channels"):
        ESPCN(2, 1)(torch.zeros(1, 3, 4, 4))


# --------------------------------------------------------------------------- fit_upsampler options of the recipes


def _images():
    from conftest import smooth_image

    return [smooth_image((32, 36), seed=i) for i in range(2)]


class _Counting(ESPCN):
    """An ESPCN that counts its forward calls (one per training step)."""

    calls = 0

    def forward(self, x):
        self.calls += 1
        return super().forward(x)


def test_steps_run_exactly_and_exclude_epochs():
    from learned.training import fit_upsampler

    model = _Counting(2, features=(4,), kernel_sizes=(3, 3), rng=0)
    history = fit_upsampler(model, _images(), scale=2, steps=7, patch_size=16, batch_size=4, progress=False)
    assert model.calls == 7
    assert len(history) == 3  # epochs of ceil(2 · 32 · 36 / (16² · 4)) = 3 steps: 3 + 3 + 1 (partial)
    with pytest.raises(InvalidParameterError, match="not both"):
        fit_upsampler(model, _images(), scale=2, steps=3, epochs=1, progress=False)
    with pytest.raises(InvalidParameterError, match="cosine.*needs epochs or steps"):
        fit_upsampler(model, _images(), scale=2, time_budget=1.0, schedule="cosine", progress=False)
    with pytest.raises(InvalidParameterError, match="border 8 leaves nothing"):
        fit_upsampler(model, _images(), scale=2, steps=1, patch_size=16, border=8, progress=False)
    with pytest.raises(InvalidParameterError, match="augment must be True or False"):
        fit_upsampler(model, _images(), scale=2, steps=1, augment=1, progress=False)


def _trained(**kwargs):
    from learned.training import fit_upsampler

    model = ESPCN(2, features=(4,), kernel_sizes=(3, 3), rng=0)
    fit_upsampler(model, _images(), scale=2, patch_size=16, batch_size=4, progress=False, rng=1, **kwargs)
    return torch.cat([p.detach().ravel() for p in model.parameters()])


def test_schedule_augment_and_border_change_training_and_only_when_asked():
    base = _trained(steps=4)
    assert torch.equal(base, _trained(steps=4))  # deterministic
    assert torch.equal(_trained(steps=1, schedule="cosine"), _trained(steps=1))  # the first step uses the full lr
    for options in ({"schedule": "cosine"}, {"augment": True}, {"border": 2}):
        assert not torch.equal(_trained(steps=4, **options), base), options


@pytest.mark.parametrize("scale", [2, 3])
def test_augmentation_is_exact_for_the_degradation(scale):
    """Flips and 90° rotations commute with make_pairs' antialiased bicubic downsampling."""
    from learned.training import make_pairs

    image = _images()[0][: 10 * scale, : 11 * scale]
    lo, _ = make_pairs([image], scale)[0]
    for k in range(4):
        for flip in (False, True):
            moved = np.rot90(image, k)
            moved = np.ascontiguousarray(moved[:, ::-1] if flip else moved)
            expected = torch.rot90(lo, k, dims=(1, 2))
            expected = expected.flip(2) if flip else expected
            torch.testing.assert_close(make_pairs([moved], scale)[0][0], expected, atol=2e-6, rtol=0)
