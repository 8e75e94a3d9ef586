"""Training loop and weight files: learning happens, runs repeat exactly, files round-trip.

Data: four smooth random 32x32 images (``conftest.smooth_image``), scale 2, 16x16 patches,
so an epoch is 4 steps of 4 patches and every test runs in well under a second.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image
from deconvkit.errors import DeconvkitError, InvalidParameterError, WeightsFileError
from learned.modules import (
    InterpolationUpsampler,
    PixelShuffleUpsampler,
    ResizeConvUpsampler,
    TransposedConvUpsampler,
    UnpoolingUpsampler,
)
from learned.training import fit_upsampler, load_weights, make_pairs, save_weights

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FAST = {"scale": 2, "patch_size": 16, "batch_size": 4, "lr": 1e-2, "progress": False}


@pytest.fixture(scope="module")
def images():
    return [smooth_image((32, 32), seed=i) for i in range(4)]


# ----------------------------------------------------------------------------- learning


@pytest.mark.parametrize(
    "make",
    [
        lambda: TransposedConvUpsampler(2, 1, init="random", rng=0),
        lambda: PixelShuffleUpsampler(2, 1, rng=0),
        lambda: ResizeConvUpsampler(2, 1, init="random", rng=0),
    ],
    ids=["transposed", "pixel-shuffle", "resize-conv"],
)

def test_three_epochs_lower_the_loss(images, make):
    history = fit_upsampler(make(), images, epochs=3, **FAST)
    assert len(history) == 3
    assert all(np.isfinite(history))
    assert history[-1] < 0.85 * history[0], history


def test_l2_loss_and_rgb_images():
    rgb = [smooth_image((24, 20, 3), seed=i) for i in range(2)]
    model = TransposedConvUpsampler(2, 3, init="random", rng=0)
    history = fit_upsampler(model, rgb, epochs=3, loss="l2", **FAST)
    assert history[-1] < history[0]


def test_same_rng_same_history_and_weights(images):
    runs = []
    for _ in range(2):
        model = PixelShuffleUpsampler(2, 1, rng=3)
        runs.append((fit_upsampler(model, images, epochs=2, rng=5, **FAST), model.state_dict()))
    (h1, w1), (h2, w2) = runs
    assert h1 == h2  # exact, not approximate
    assert w1.keys() == w2.keys() and all(torch.equal(w1[k], w2[k]) for k in w1)
    other = fit_upsampler(PixelShuffleUpsampler(2, 1, rng=3), images, epochs=2, rng=6, **FAST)
    assert other != h1


@pytest.mark.parametrize(("dtype", "top"), [(np.uint8, 255), (np.uint16, 65535)])
def test_integer_images_are_scaled_to_unit_range(dtype, top):
    ramp = (np.linspace(0, 1, 64).reshape(8, 8) * top).astype(dtype)
    lr, hr = make_pairs([ramp], 2)[0]
    np.testing.assert_allclose(hr[0].numpy(), ramp / top, atol=1e-7)
    with pytest.raises(InvalidParameterError, match="int32 samples are ambiguous"):
        make_pairs([ramp.astype(np.int32)], 2)


def test_training_mode_is_restored(images):
    model = TransposedConvUpsampler(2, 1).eval()
    fit_upsampler(model, images, epochs=1, **FAST)
    assert not model.training


def test_time_budget_stops_early(images):
    """100 000 epochs would take hours: returning at all proves the budget stopped it."""
    model = TransposedConvUpsampler(2, 1, init="random", rng=0)
    history = fit_upsampler(model, images, epochs=100_000, time_budget=0.5, **FAST)
    assert 1 <= len(history) < 100_000
    assert len(fit_upsampler(TransposedConvUpsampler(2, 1), images, time_budget=0.3, **FAST)) >= 1  # no epochs


def test_progress_bar_goes_to_stderr(images, capsys):
    fit_upsampler(TransposedConvUpsampler(2, 1), images, epochs=1, **{**FAST, "progress": True})
    out, err = capsys.readouterr()
    assert out == ""
    assert "step" in err


# ----------------------------------------------------------------------------- data


def test_pairs_are_pil_bicubic_downsampling():
    """The documented degradation: antialiased bicubic = PIL's BICUBIC resize (a = -0.5),
    after cropping the image to a multiple of the scale."""
    img = smooth_image((35, 26), seed=1)
    (lo, hi), = make_pairs([img], 3)
    assert hi.shape == (1, 33, 24) and lo.shape == (1, 11, 8)
    np.testing.assert_array_equal(hi[0].numpy(), img[:33, :24].astype(np.float32))
    pil = np.asarray(Image.fromarray(img[:33, :24].astype(np.float32)).resize((8, 11), Image.BICUBIC))
    np.testing.assert_allclose(lo[0].numpy(), pil, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- refusals


def test_refuses_models_without_parameters(images):
    with pytest.raises(InvalidParameterError, match="UnpoolingUpsampler has no trainable parameters"):
        fit_upsampler(UnpoolingUpsampler(2), images, epochs=1, **FAST)
    with pytest.raises(InvalidParameterError, match="InterpolationUpsampler has no trainable parameters"):
        fit_upsampler(InterpolationUpsampler(2), images, epochs=1, **FAST)


def test_bad_arguments_name_the_value(images):
    model = TransposedConvUpsampler(2, 1)
    with pytest.raises(InvalidParameterError, match="epochs or time_budget"):
        fit_upsampler(model, images, **FAST)
    with pytest.raises(InvalidParameterError, match="scale 3 does not match the model's scale 2"):
        fit_upsampler(model, images, epochs=1, **{**FAST, "scale": 3})
    with pytest.raises(InvalidParameterError, match="3 channel.*expects 1"):
        fit_upsampler(model, [smooth_image((16, 16, 3))], epochs=1, **FAST)
    with pytest.raises(InvalidParameterError, match="loss must be one of.*'l3'"):
        fit_upsampler(model, images, epochs=1, **{**FAST, "loss": "l3"})
    with pytest.raises(InvalidParameterError, match="time_budget must be > 0, got -1"):
        fit_upsampler(model, images, time_budget=-1, **FAST)
    with pytest.raises(InvalidParameterError, match="images must be a non-empty list"):
        fit_upsampler(model, images[0], epochs=1, **FAST)


# ----------------------------------------------------------------------------- weight files


def test_save_load_round_trip(tmp_path, images):
    trained = PixelShuffleUpsampler(2, 1, rng=0)
    fit_upsampler(trained, images, epochs=1, **FAST)
    path = save_weights(trained, tmp_path / "ps.pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ps.pt"]  # no temporary file left
    assert set(torch.load(path, weights_only=True)) == {"weight", "bias"}
    fresh = load_weights(PixelShuffleUpsampler(2, 1, rng=99), path)
    x = torch.rand(2, 1, 7, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(fresh(x), trained(x))
    save_weights(fresh, path)  # replacing an existing file is allowed and atomic
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ps.pt"]


def test_load_missing_or_corrupt_file(tmp_path):
    model = TransposedConvUpsampler(2, 1)
    with pytest.raises(WeightsFileError, match="does not exist"):
        load_weights(model, tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a zip archive")
    with pytest.raises(WeightsFileError, match="not a readable PyTorch weights file"):
        load_weights(model, bad)
    assert issubclass(WeightsFileError, DeconvkitError) and issubclass(WeightsFileError, OSError)


class _NotATensor:  # pickled by torch.save, refused by weights_only=True
    pass


def test_load_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "object.pt"
    torch.save({"weight": _NotATensor()}, path)
    with pytest.raises(WeightsFileError, match="not a readable PyTorch weights file") as info:
        load_weights(TransposedConvUpsampler(2, 1), path)
    # torch's advice to retry with weights_only=False (run the file's code) is not passed on
    assert "weights_only" not in str(info.value) and "\n" not in str(info.value)


def test_load_mismatching_keys_or_shapes(tmp_path):
    path = save_weights(TransposedConvUpsampler(2, 1, bias=True), tmp_path / "w.pt")
    with pytest.raises(InvalidParameterError, match=r"unexpected keys \['bias'\]"):
        load_weights(TransposedConvUpsampler(2, 1), path)
    with pytest.raises(InvalidParameterError, match=r"weight: file \(1, 1, 4, 4\), model \(1, 1, 5, 5\)"):
        load_weights(TransposedConvUpsampler(3, 1, bias=True), path)
    path2 = save_weights(TransposedConvUpsampler(2, 1), tmp_path / "w2.pt")
    with pytest.raises(InvalidParameterError, match=r"missing keys \['bias'\]"):
        load_weights(ResizeConvUpsampler(2, 1), path2)


def test_save_into_missing_folder(tmp_path):
    with pytest.raises(WeightsFileError, match="does not exist"):
        save_weights(TransposedConvUpsampler(2, 1), tmp_path / "no" / "w.pt")
