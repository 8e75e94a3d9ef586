"""The shipped upsamplers and ``learned.upsample_image`` (:mod:`learned.pretrained`, :mod:`learned.upsample`).

References: ``learned.interpolate`` (itself tested against PyTorch, OpenCV and PIL), ``np.repeat``
for nearest, an explicit BT.601 YCbCr round trip for colour, the untiled model for the
tiling, PSNR on the experiments' held-out test images against bicubic, and the weights files'
own manifest (sizes and SHA-256).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch

import learned
from conftest import smooth_image
from deconvkit.errors import InvalidParameterError, WeightsFileError
from experiments._images import psnr, test_images
from learned.pretrained import KINDS, RECIPES, SCALES, load_pretrained, new_model, train_pretrained, weights_path
from learned.training import make_pairs
from learned.upsample import UPSAMPLE_METHODS, upsample_image

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# --------------------------------------------------------------------------- shipped weights


def test_every_shipped_weights_file_is_small_and_loads_safely(monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("weights_only"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    manifest = json.loads((weights_path("espcn", 2).parent / "manifest.json").read_text())
    for kind in KINDS:
        for scale in SCALES:
            path = weights_path(kind, scale)
            assert path.is_file() and path.stat().st_size < 200_000, path
            entry = manifest[path.name]
            assert entry["bytes"] == path.stat().st_size
            assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
            assert entry["recipe"]["steps"] == RECIPES[kind, scale].steps and entry["recipe"]["seed"] == 0
            model = load_pretrained(kind, scale)
            assert not model.training and not any(p.requires_grad for p in model.parameters())
            assert model.scale == scale
    assert calls and all(c is True for c in calls)


def test_wrong_kind_scale_or_file():
    with pytest.raises(InvalidParameterError, match="scales"):
        load_pretrained("espcn", 5)
    with pytest.raises(InvalidParameterError, match="kind must be one of"):
        load_pretrained("srcnn", 2)
    with pytest.raises(InvalidParameterError, match="do not fit"):
        load_pretrained("espcn", 2, path=weights_path("espcn", 3))
    with pytest.raises(WeightsFileError, match="does not exist"):
        load_pretrained("espcn", 2, path="/nonexistent/espcn.pt")


@pytest.fixture(scope="module")
def held_out():
    """The experiments' test images (full size), none of them seen in training."""
    return test_images(False)


def _gain(model, images, scale):
    gains = []
    for truth in images.values():
        h, w = truth.shape[0] // scale * scale, truth.shape[1] // scale * scale
        truth = truth[:h, :w]
        lr = make_pairs([truth], scale)[0][0][0].double().numpy()
        bicubic = learned.interpolate(lr[None, None], scale_factor=scale, mode="bicubic")[0, 0]
        estimate = upsample_image(lr, scale, model=model)
        gains.append(psnr(truth, estimate) - psnr(truth, bicubic))
    return float(np.mean(gains)), gains


def test_shipped_espcn_beats_bicubic_on_held_out_images(held_out):
    """The issue's target: >= 1.0 dB over bicubic (a = -0.75) at x2 on held-back natural images."""
    gain2, per_image = _gain(load_pretrained("espcn", 2), held_out, 2)
    assert gain2 >= 1.0, per_image
    assert all(g > 0.5 for g in per_image)
    for scale in (3, 4):
        assert _gain(load_pretrained("espcn", scale), held_out, scale)[0] > 0.3


def test_shipped_transposed_conv_beats_bicubic_less_than_espcn(held_out):
    gains = {kind: _gain(load_pretrained(kind, 2), held_out, 2)[0] for kind in KINDS}
    assert 0 < gains["transposed"] < gains["espcn"]


# --------------------------------------------------------------------------- retraining


def test_retraining_is_seeded_and_reproducible():
    images = [smooth_image((40, 44), seed=i) for i in range(2)]
    runs = [train_pretrained("espcn", 2, seed=seed, steps=3, progress=False, images=images)
            for seed in (0, 0, 1)]
    (a, info), (b, _), (c, _) = runs
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert not torch.equal(a.weights[0], c.weights[0])
    assert info["recipe"]["steps"] == 3 and info["recipe"]["threads"] == 2 and info["seconds"] > 0
    assert torch.get_num_threads() == 1  # the fixture's count is restored after training on 2
    tconv, _ = train_pretrained("transposed", 3, steps=2, progress=False, images=images)
    assert not torch.equal(tconv.weight, new_model("transposed", 3).weight)  # it moved away from bicubic


# --------------------------------------------------------------------------- upsample_image


def _planes(image):
    return image[None, None] if image.ndim == 2 else image.transpose(2, 0, 1)[None]


@pytest.mark.parametrize("method", ["bilinear", "bicubic", "area", "nearest-exact"])
def test_interpolations_are_learned_interpolate(method, channels):
    image = smooth_image((13, 10) if channels is None else (13, 10, channels))
    out = upsample_image(image, 3, method=method, cubic_a=-0.5)
    expected = learned.interpolate(_planes(image), scale_factor=3, mode=method, cubic_a=-0.5)[0]
    expected = expected[0] if image.ndim == 2 else expected.transpose(1, 2, 0)
    np.testing.assert_array_equal(out, expected)


def test_nearest_repeats_pixels():
    image = smooth_image((7, 9, 3))
    np.testing.assert_array_equal(upsample_image(image, 2, method="nearest"), image.repeat(2, 0).repeat(2, 1))


@pytest.mark.parametrize("a", [-0.75, -0.5])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_fixed_transposed_conv_is_bicubic(a, scale):
    image = smooth_image((11, 14, 3))
    np.testing.assert_allclose(upsample_image(image, scale, method="transposed", cubic_a=a),
                               upsample_image(image, scale, method="bicubic", cubic_a=a), atol=1e-12)
    single = image[..., 0].astype(np.float32)
    out = upsample_image(single, scale, method="transposed", cubic_a=a)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, upsample_image(single, scale, method="bicubic", cubic_a=a), atol=2e-6)


@pytest.mark.parametrize("method", ["learned", "learned-transposed"])
def test_learned_gray_is_the_model_and_tiles_do_not_show(method):
    image = smooth_image((37, 31)).astype(np.float32)
    model = load_pretrained("espcn" if method == "learned" else "transposed", 2)
    with torch.no_grad():
        direct = model(torch.from_numpy(image)[None, None])[0, 0].numpy()
    whole = upsample_image(image, 2, method=method)
    assert whole.dtype == np.float32 and whole.shape == (74, 62)
    np.testing.assert_allclose(whole, direct, atol=1e-6)
    np.testing.assert_allclose(upsample_image(image, 2, method=method, tile=7), whole, atol=1e-6)
    assert np.abs(whole - upsample_image(image, 2, method="bicubic")).max() > 1e-3  # it is not just bicubic


def _ycbcr(rgb):
    """BT.601 full-range YCbCr without offsets: Y, (B - Y) / 1.772, (R - Y) / 1.402."""
    y = rgb @ np.array([0.299, 0.587, 0.114])
    return y, (rgb[..., 2] - y) / 1.772, (rgb[..., 0] - y) / 1.402


def test_colour_is_learned_luminance_and_bicubic_chroma():
    rgba = smooth_image((23, 26, 4))
    out = upsample_image(rgba, 3)
    assert out.shape == (69, 78, 4) and out.dtype == np.float64
    y, cb, cr = _ycbcr(rgba[..., :3])
    y_up = upsample_image(y, 3)
    cb_up, cr_up = (upsample_image(c, 3, method="bicubic") for c in (cb, cr))
    rgb = np.stack([y_up + 1.402 * cr_up, y_up - (0.299 * 1.402 * cr_up + 0.114 * 1.772 * cb_up) / 0.587,
                    y_up + 1.772 * cb_up], axis=-1)
    np.testing.assert_allclose(out[..., :3], rgb, atol=1e-5)
    np.testing.assert_allclose(out[..., 3], upsample_image(rgba[..., 3], 3, method="bicubic"), atol=1e-12)
    gray_alpha = rgba[..., [0, 3]]
    both = upsample_image(gray_alpha, 2)
    np.testing.assert_allclose(both[..., 0], upsample_image(gray_alpha[..., 0], 2), atol=1e-6)
    np.testing.assert_allclose(both[..., 1], upsample_image(gray_alpha[..., 1], 2, method="bicubic"), atol=1e-12)


def test_upsample_image_refuses_bad_arguments():
    image = smooth_image((8, 8))
    with pytest.raises(InvalidParameterError, match="method must be one of"):
        upsample_image(image, 2, method="lanczos")
    with pytest.raises(InvalidParameterError, match="scales"):
        upsample_image(image, 5)
    with pytest.raises(InvalidParameterError, match="trained with bicubic a=-0.75"):
        upsample_image(image, 2, cubic_a=-0.5)
    with pytest.raises(InvalidParameterError, match="1, 2, 3 or 4 channels"):
        upsample_image(np.zeros((8, 8, 5)), 2)
    with pytest.raises(InvalidParameterError, match="one channel by 3"):
        upsample_image(image, 3, model=load_pretrained("espcn", 2))
    with pytest.raises(InvalidParameterError, match="floats"):
        upsample_image((image * 255).astype(np.uint8), 2)
    assert set(UPSAMPLE_METHODS) >= {"learned", "nearest", "nearest-exact", "bilinear", "bicubic", "area", "transposed"}
