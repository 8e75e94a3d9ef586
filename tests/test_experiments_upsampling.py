"""The upsampling experiment (quick mode): directions of the results and independent references.

References used here, none of them a deconvkit function under test: ``torch.nn.functional``
(``interpolate``, ``max_pool2d``), PIL's ``Image.resize(BICUBIC)`` on float images (the
degradation model), Keys' cubic kernel written out below from the paper's formula, and
analytic counts for the overlap maps and the phase sums of a transposed convolution.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import experiments
import experiments.upsampling as U
from experiments._images import IMAGES, test_images

BICUBIC = "bicubic a=-0.75"
BILINEAR_TCONV = "transposed conv (bilinear init)"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = experiments.run(["upsampling"], out, quick=True)["upsampling"]
    return out / "upsampling", results


@pytest.fixture(scope="module")
def images():
    return test_images(True)


def _psnr(results, method, scale, image):
    return results["per_image"][method][f"x{scale}"][image]["psnr"]


def _mean(results, method, scale):
    return results["mean"][method][f"x{scale}"]["psnr"]


def _learned_mean(results, method, scale):
    return results["learned_mean"][method][f"x{scale}"]["psnr"]


# ---------------------------------------------------------------------------- directions


def test_bicubic_beats_nearest_image_by_image(quick):
    _, results = quick
    for a in ("-0.75", "-0.5"):
        method = f"bicubic a={a}"
        for scale in (2, 4):
            assert _mean(results, method, scale) > _mean(results, "nearest", scale) + 0.5
            for image in IMAGES:
                if scale == 4 and image == "text_chart":
                    # Quick mode's text_chart crop holds large letters that ×4 wipes out: every method
                    # is at ~14.3 dB and bicubic ties with nearest (within 0.05 dB either way).
                    assert abs(_psnr(results, method, 4, image) - _psnr(results, "nearest", 4, image)) < 0.1
                    continue
                assert _psnr(results, method, scale, image) > _psnr(results, "nearest", scale, image), (method, scale, image)


def test_bilinear_beats_nearest_except_on_text(quick):
    _, results = quick
    for scale in (2, 4):
        assert _mean(results, "bilinear", scale) > _mean(results, "nearest", scale)
        for image in ("camera", "astronaut", "brick"):
            assert _psnr(results, "bilinear", scale, image) > _psnr(results, "nearest", scale, image)
    # On the black-on-white chart, bilinear's blur costs more PSNR than nearest's blocks (reported, not hidden).
    assert _psnr(results, "bilinear", 2, "text_chart") < _psnr(results, "nearest", 2, "text_chart")


def test_bicubic_a075_beats_a05_on_average(quick):
    _, results = quick
    for scale in (2, 4):
        assert _mean(results, BICUBIC, scale) > _mean(results, "bicubic a=-0.5", scale)


def test_training_lowers_the_training_loss(quick):
    _, results = quick
    for scale in ("x2", "x4"):
        reference = results["training_reference_mse"][scale]
        for name in U.TRAINED:
            info = results["training"][scale][name]
            assert info["mse_trained"] < info["mse_init"] * 0.995, (scale, name, info["mse_init"], info["mse_trained"])
            assert info["steps"] == info["epochs"] * 4  # quick crops: 4 × 192² pixels = 4 batches of 16 × 48²
        # The trained transposed convolution starts as bilinear: its initial training MSE is bilinear's.
        tconv = results["training"][scale][U.TRAINED[0]]
        assert tconv["mse_init"] == pytest.approx(reference["bilinear"], rel=1e-5)
        # ... and training moved it towards the test-time optimum too (held-out images).
        assert _mean(results, U.TRAINED[0], int(scale[1])) > _mean(results, "bilinear", int(scale[1]))


def test_max_unpooling_is_sparse_and_far_behind(quick):
    _, results = quick
    for scale in (2, 4):
        fraction = results["unpool_nonzero_fraction"][f"x{scale}"]
        assert 0 < fraction <= 1 / scale**2
        assert _mean(results, "max-unpooling", scale) < _mean(results, "nearest", scale) - 10


# ---------------------------------------------------------------------------- exact references


def test_interpolations_equal_torch(images):
    for scale in (2, 4):
        lows = U.low_resolution(images, scale)
        for name in ("camera", "text_chart"):
            lr = lows[name]
            x = torch.from_numpy(lr)[None, None]
            nearest = F.interpolate(x, scale_factor=scale, mode="nearest")[0, 0].numpy()
            np.testing.assert_array_equal(U.interpolate_image(lr, scale, "nearest"), nearest)
            bicubic = F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0, 0].numpy()
            np.testing.assert_allclose(U.interpolate_image(lr, scale, BICUBIC), bicubic, atol=1e-12)
            bilinear = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)[0, 0].numpy()
            np.testing.assert_allclose(U.interpolate_image(lr, scale, "bilinear"), bilinear, atol=1e-12)


def _keys(t: np.ndarray, a: float) -> np.ndarray:
    """Keys (1981), eq. (15): the cubic convolution kernel with parameter a."""
    t = np.abs(t)
    return np.where(t <= 1, (a + 2) * t**3 - (a + 3) * t**2 + 1, np.where(t < 2, a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a, 0))


def _keys_matrix(n: int, scale: int, a: float) -> np.ndarray:
    """(scale n, n) upsampling matrix: half-pixel centres, 4 taps, indices clamped to the edge."""
    m = np.zeros((scale * n, n))
    for i in range(scale * n):
        src = (i + 0.5) / scale - 0.5
        base = math.floor(src)
        for k in range(-1, 3):
            m[i, min(max(base + k, 0), n - 1)] += _keys(np.array(src - (base + k)), a)
    return m


def test_bicubic_a05_equals_keys_formula(images):
    for scale in (2, 4):
        lr = U.low_resolution({"camera": images["camera"]}, scale)["camera"]
        expected = _keys_matrix(lr.shape[0], scale, -0.5) @ lr @ _keys_matrix(lr.shape[1], scale, -0.5).T
        np.testing.assert_allclose(U.interpolate_image(lr, scale, "bicubic a=-0.5"), expected, atol=1e-12)
        expected = _keys_matrix(lr.shape[0], scale, -0.75) @ lr @ _keys_matrix(lr.shape[1], scale, -0.75).T
        np.testing.assert_allclose(U.interpolate_image(lr, scale, BICUBIC), expected, atol=1e-12)


def test_low_resolution_is_pil_bicubic_resize(images):
    """The degradation model: antialiased bicubic, equal to PIL's resize on float images."""
    from PIL import Image

    truth = images["camera"]
    for scale in (2, 4):
        lr = U.low_resolution({"camera": truth}, scale)["camera"]
        pil = Image.fromarray(truth.astype(np.float32), mode="F").resize(
            (truth.shape[1] // scale, truth.shape[0] // scale), Image.Resampling.BICUBIC
        )
        np.testing.assert_allclose(lr, np.asarray(pil), atol=1e-5)


def test_bilinear_transposed_conv_equals_torch_bilinear(quick, images):
    _, results = quick
    config = U.Config(quick=True)
    for scale in (2, 4):
        layer = U.make_layers(config, scale)[BILINEAR_TCONV]
        lr = U.low_resolution(images, scale)["astronaut"].astype(np.float32)
        x = torch.from_numpy(lr)[None, None]
        reference = F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)[0, 0].numpy()
        np.testing.assert_allclose(U.apply_layer(layer, lr), reference, atol=2e-6)
        assert results["bilinear_tconv_max_difference"][f"x{scale}"] < 1e-6
        assert results["mean"][BILINEAR_TCONV][f"x{scale}"]["psnr"] == pytest.approx(
            results["mean"]["bilinear"][f"x{scale}"]["psnr"], abs=1e-4)


def test_max_unpooling_one_value_per_window_at_argmax(images):
    for scale in (2, 4):
        truth = 0.05 + 0.9 * images["brick"]  # strictly positive
        pooled, indices, unpooled = U.unpool_image(truth, scale)
        h, w = truth.shape
        windows = unpooled.reshape(h // scale, scale, w // scale, scale).transpose(0, 2, 1, 3).reshape(h // scale, w // scale, -1)
        source = truth.reshape(h // scale, scale, w // scale, scale).transpose(0, 2, 1, 3).reshape(h // scale, w // scale, -1)
        assert np.all(np.count_nonzero(windows, axis=2) == 1)
        np.testing.assert_array_equal(np.argmax(windows, axis=2), np.argmax(source, axis=2))  # first maximum
        np.testing.assert_array_equal(windows.max(axis=2), source.max(axis=2))
        values, torch_indices = F.max_pool2d(torch.from_numpy(truth)[None, None], scale, return_indices=True)
        np.testing.assert_array_equal(pooled, values[0, 0].numpy())
        np.testing.assert_array_equal(indices, torch_indices[0, 0].numpy())


# ---------------------------------------------------------------------------- shipped trained models


def test_learned_models_beat_bicubic_and_the_espcn_more(quick):
    _, results = quick
    for scale in (2, 3, 4):
        bicubic = _learned_mean(results, BICUBIC, scale)
        tconv = _learned_mean(results, "transposed conv bicubic init (trained)", scale)
        espcn = _learned_mean(results, "ESPCN (trained)", scale)
        assert bicubic < tconv < espcn, (scale, bicubic, tconv, espcn)
        for image in IMAGES:
            per = results["learned_per_image"]
            assert per["ESPCN (trained)"][f"x{scale}"][image]["psnr"] > per[BICUBIC][f"x{scale}"][image]["psnr"]
        info = results["learned_models"][f"x{scale}"]["ESPCN (trained)"]
        assert info["weights"] == "shipped" and info["bytes"] < 200_000 and info["parameters"] > 20_000


def test_learned_scores_equal_an_independent_computation(quick, images):
    """ESPCN x3 on camera: the shipped weights through torch directly, the image cropped to a multiple of 3
    (96 x 126 in quick mode), PSNR from scikit-image on the clipped estimate; bicubic from F.interpolate."""
    from skimage.metrics import peak_signal_noise_ratio

    from learned.pretrained import load_pretrained

    _, results = quick
    truth = images["camera"][:96, :126]
    x = F.interpolate(torch.from_numpy(truth.astype(np.float32))[None, None], size=(32, 42), mode="bicubic",
                      antialias=True, align_corners=False)
    with torch.no_grad():
        espcn = load_pretrained("espcn", 3)(x)[0, 0].double().numpy()
    bicubic = F.interpolate(x.double(), scale_factor=3, mode="bicubic", align_corners=False)[0, 0].numpy()
    for method, estimate in (("ESPCN (trained)", espcn), (BICUBIC, bicubic)):
        expected = peak_signal_noise_ratio(truth, np.clip(estimate, 0, 1), data_range=1.0)
        assert results["learned_per_image"][method]["x3"]["camera"]["psnr"] == pytest.approx(expected, abs=1e-3)


def test_retrain_trains_saves_and_reproduces(tmp_path):
    """The retrain path (quick: a few steps): weights saved in the output folder, identical for the same seed,
    different from the shipped ones."""
    from learned.pretrained import weights_path

    config = U.Config(quick=True, retrain=True, learned_scales=(2,), retrain_steps_quick=2)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, info = U.learned_models(config, tmp_path / "a")
    second, _ = U.learned_models(config, tmp_path / "b")
    for name, kind in U.LEARNED.items():
        a, b = (tmp_path / d / "weights" / f"{kind}_x2.pt" for d in ("a", "b"))
        assert a.read_bytes() == b.read_bytes()
        assert info[2][name]["weights"] == "retrained" and info[2][name]["steps"] == 2
        shipped = torch.load(weights_path(kind, 2), weights_only=True)
        assert any(not torch.equal(v, first[2][name].state_dict()[k]) for k, v in shipped.items())


# ---------------------------------------------------------------------------- checkerboards


def _rows(results):
    return {(r["layer"], r["scale"]): r for r in results["checkerboard"]}


def test_checkerboard_scores(quick):
    _, results = quick
    rows = _rows(results)
    k3 = rows["transposed conv k=3 (random)", 2]["score_median"]
    assert k3 > 0.3
    assert rows["transposed conv k=4 (random)", 2]["score_median"] > 0.3  # random weights: uneven phase sums
    for layer in ("pixel shuffle (ICNR)", "resize-conv (random)"):
        assert rows[layer, 2]["score_max"] < 1e-6 < k3
    assert rows["pixel shuffle (random)", 2]["score_median"] > 0.1
    for scale in (2, 4):
        assert rows[BILINEAR_TCONV, scale]["score_max"] < 1e-6  # bilinear phases all sum to 1
        assert rows["resize-conv (trained)", scale]["score_max"] < 1e-6  # resize-conv cannot make one
        assert rows["transposed conv (trained)", scale]["score_max"] < 0.1 * k3
    # Before and after training (first draw): the checkering layers lose much of it even in quick mode's 3 epochs,
    # the ones that started flat stay (nearly) flat.
    for layer in ("transposed conv k=3 (random)", "transposed conv k=4 (random)", "pixel shuffle (random)"):
        row = rows[layer, 2]
        assert row["score_draw0_trained"] < 0.8 * row["score_draw0"], row
    assert rows["ESPCN (ICNR)", 2]["score_max"] < 1e-6
    for layer in ("resize-conv (random)", "pixel shuffle (ICNR)", "ESPCN (ICNR)"):
        assert rows[layer, 2]["score_draw0_trained"] < 0.01
    for scale in (2, 3, 4):
        for name in U.LEARNED:
            assert rows[name, scale]["score_max"] < 0.01


def test_checkerboard_score_analytic():
    checker = np.indices((12, 12)).sum(axis=0) % 2 * 2.0 - 1.0  # ±1 alternating
    assert U.checkerboard_score(checker, 2, margin=2) == pytest.approx(1.0)
    assert U.checkerboard_score(np.full((12, 12), 0.3), 2, margin=2) == 0.0
    # 1 + 0.5 checker: phase means 1.5, 0.5, 0.5, 1.5 -> std 0.5, RMS sqrt(1.25)
    assert U.checkerboard_score(1.0 + 0.5 * checker, 2, margin=2) == pytest.approx(0.5 / math.sqrt(1.25))
    with pytest.raises(ValueError):
        U.checkerboard_score(checker, 2, margin=3)


def test_random_k3_transposed_conv_on_flat_input_gives_the_phase_sums():
    """Analytic: with k=3, s=2 the four output phases of a flat input c get c·(sum of taps w[m, n]) over
    m, n in {0, 2} x {0, 2}, {0, 2} x {1}, {1} x {0, 2} and {1} x {1}: 4, 2, 2 and 1 copies."""
    config = U.Config(quick=True)
    layer = U.random_layers(config, 0)["transposed conv k=3 (random)"]
    w = layer.weight.detach().double().numpy()[0, 0]
    out = U.apply_layer(layer, np.full((12, 12), 0.5))[4:-4, 4:-4]
    phases = [out[r::2, q::2] for r in range(2) for q in range(2)]
    assert all(np.ptp(phase) < 1e-6 for phase in phases)  # periodic with period 2
    expected = 0.5 * np.array([w[::2, ::2].sum(), w[::2, 1].sum(), w[1, ::2].sum(), w[1, 1]])
    np.testing.assert_allclose(np.sort([phase.mean() for phase in phases]), np.sort(expected), atol=2e-6)
    assert U.checkerboard_score(U.apply_layer(layer, np.full((10, 10), 0.5)), 2, margin=4) > 0
    # ICNR: every sub-pixel starts equal, so the flat output is flat.
    icnr = U.apply_layer(U.random_layers(config, 0)["pixel shuffle (ICNR)"], np.full((10, 10), 0.5))
    assert np.ptp(icnr) < 1e-6


def test_overlap_maps_analytic(quick):
    _, results = quick
    # Interior, per axis: taps m in [0, k) with m ≡ phase (mod 2) -> k=3: 2, 1; k=4: 2, 2.
    assert results["overlap_period"] == {"k3": [[4, 2], [2, 1]], "k4": [[4, 4], [4, 4]]}
    n = U.Config().overlap_input
    for k in (3, 4):
        counts = np.zeros(((n - 1) * 2 + k, (n - 1) * 2 + k), dtype=int)  # scatter one k×k block per input pixel
        for i in range(n):
            for j in range(n):
                counts[2 * i : 2 * i + k, 2 * j : 2 * j + k] += 1
        np.testing.assert_array_equal(np.array(results["overlap_full"][f"k{k}"]), counts)


def test_seeds_change_random_layers_only_through_the_seed():
    a = U.random_layers(U.Config(seed=0), 0)
    b = U.random_layers(U.Config(seed=0), 0)
    c = U.random_layers(U.Config(seed=1), 0)
    for name in U.RANDOM_LAYERS:
        weights = [next(layer[name].parameters()) for layer in (a, b, c)]
        assert torch.equal(weights[0], weights[1])
        assert not torch.equal(weights[0], weights[2])


# ---------------------------------------------------------------------------- files and text


def test_outputs_tables_and_figures(quick):
    folder, results = quick
    doc = json.loads((folder / "metrics.json").read_text())
    assert doc["meta"]["seed"] == 0 and doc["config"]["quick"] is True
    assert {"scores", "psnr_per_image", "training", "learned", "checkerboard"} == set(doc["tables"])
    for table, rows in doc["tables"].items():
        assert (folder / f"{table}.md").read_text().count("\n") == len(rows) + 2
        assert (folder / f"{table}.csv").read_text().count("\n") == len(rows) + 1
        assert table in results["table_captions"]
    assert [r["method"] for r in doc["tables"]["scores"]] == list(U.METHODS)
    assert results["figures"] and all(f["caption"] for f in results["figures"])
    for figure in results["figures"]:
        assert (folder / f"{figure['stem']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / f"{figure['stem']}.pdf").read_bytes()[:5] == b"%PDF-"
    assert [f["stem"] for f in results["figures"]] == ["zoom_camera_x4", "learned_camera", "checkerboard"]
    assert not list(folder.parent.glob(".*partial*"))
    assert experiments.describe("upsampling").startswith("Upsampling: ") and experiments.describe("upsampling").endswith("?")


def test_findings_state_the_computed_numbers(quick):
    _, results = quick
    findings = results["findings"]
    assert 3 <= len(findings) <= 6
    assert not any(c in text for text in findings for c in "*#`_[")
    best2 = max(U.METHODS, key=lambda m: _mean(results, m, 2))
    assert f"{best2} {_mean(results, best2, 2):.2f}" in findings[0]
    gain = _mean(results, BICUBIC, 4) - _mean(results, "nearest", 4)
    assert f"{gain:+.2f} dB over nearest" in findings[1]
    beat = sum(_mean(results, m, s) > _mean(results, BICUBIC, s) for m in U.TRAINED for s in (2, 4))
    assert f"{beat} of 6 trained cases beat bicubic" in findings[2]
    assert f"{results['bilinear_tconv_max_difference']['x2']:.1e} at ×2" in findings[2]
    for scale in (2, 3, 4):
        gain = _learned_mean(results, "ESPCN (trained)", scale) - _learned_mean(results, BICUBIC, scale)
        assert f"{gain:+.2f} dB at ×{scale}" in findings[3]
    gain2 = _learned_mean(results, "ESPCN (trained)", 2) - _learned_mean(results, BICUBIC, 2)
    assert (f"target met by {gain2 - 1:.2f} dB" if gain2 >= 1 else f"target missed by {1 - gain2:.2f} dB") in findings[3]
    k3 = _rows(results)["transposed conv k=3 (random)", 2]
    assert f"transposed conv k=3 (random) {k3['score_median']:.3f} → {k3['score_draw0_trained']:.3f}" in findings[4]
    assert f"{_mean(results, 'max-unpooling', 4):.2f} dB at ×4" in findings[5]


def _without_timings(value):
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def test_same_seed_same_numbers(quick, tmp_path):
    _, first = quick
    second = experiments.run(["upsampling"], tmp_path, quick=True)["upsampling"]
    assert _without_timings(second) == _without_timings(first)
