"""The learned-deblur experiment (quick mode): directions of the results and independent references.

References used here, none of them the code under test: scikit-image's ``wiener`` (with
``reg=[[1]]`` and ``clip=False`` it is the classic Wiener filter on a periodic image), the
analytic power spectrum of white noise (its variance at every frequency), ``restore.wiener``
for the border handling the spectral Wiener filter copies, and re-runs of the training with
the same seeds.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import experiments
import experiments.learned_deblur as L
import restore
from experiments._images import IMAGES, psnr, simulate, test_images, trim

NAME = "learned-deblur"


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = experiments.run([NAME], out, quick=True)[NAME]
    folder = out / NAME
    return folder, results, json.loads((folder / "metrics.json").read_text())


def _rows(doc: dict, table: str, **match: str) -> list[dict]:
    return [r for r in doc["tables"][table] if all(r[k] == v for k, v in match.items())]


def _one(doc: dict, table: str, **match: str) -> dict:
    (row,) = _rows(doc, table, **match)
    return row


# ---------------------------------------------------------------------------- files


def test_files_figures_and_tables(quick):
    folder, results, doc = quick
    stems = [f["stem"] for f in results["figures"]]
    assert stems == ["kernels", "gains", "convergence", "crops"]
    for figure in results["figures"]:
        assert (folder / f"{figure['stem']}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / f"{figure['stem']}.pdf").read_bytes()[:5] == b"%PDF-"
        assert len(figure["caption"]) > 40
    assert set(doc["tables"]) == set(results["table_captions"])
    for name, rows in doc["tables"].items():
        assert rows and all(list(r) == list(rows[0]) for r in rows), name
        assert (folder / f"{name}.md").read_text().count("\n") == len(rows) + 2
        assert (folder / f"{name}.csv").read_text().count("\n") == len(rows) + 1
    assert len(doc["tables"]["psnr"]) == len(IMAGES) * len(L.BLURS)
    assert doc["config"]["quick"] is True and 3 <= len(results["findings"]) <= 6


# ---------------------------------------------------------------------------- directions


def test_restorations_beat_the_blurred_input(quick):
    """Every method but the spectral Wiener filter on real borders (which the periodic control
    below shows to be a border effect) gains at least 1 dB on average over the blurred input."""
    _, results, _ = quick
    for blur in L.BLURS:
        mean = results["mean_psnr"][blur]
        available = L._auto_nsr_available()
        assert results["wiener_auto_available"] is available
        assert set(mean) == set(L.METHODS) - (set() if available else {"wiener_auto"})
        for method in ("wiener_scalar", "wiener_auto", "learned_linear", "learned_cnn"):
            if method in mean:
                assert mean[method] > mean["blurred"] + 1.0, (blur, method)


def test_learned_linear_is_close_to_oracle_wiener(quick):
    _, results, _ = quick
    for blur in L.BLURS:
        mean = results["mean_psnr"][blur]
        assert mean["learned_linear"] > mean["wiener_scalar"] - 0.5, blur


def test_learned_gain_is_the_spectral_wiener_gain(quick):
    """The learned filter is closer to Wiener with σ²/S_x than to Wiener with a scalar NSR,
    in kernel and in gain; a larger learned kernel is closer still (first blur)."""
    _, _, doc = quick
    for blur in L.BLURS:
        spectral = _one(doc, "agreement", blur=blur, compared="learned linear vs Wiener σ²/S_x")
        scalar = _one(doc, "agreement", blur=blur, compared="learned linear vs Wiener scalar")
        assert spectral["gain_rel_l2_in_band"] < 0.45
        assert spectral["gain_rel_l2_in_band"] < scalar["gain_rel_l2_in_band"] - 0.05
        assert spectral["kernel_rel_l2"] < scalar["kernel_rel_l2"] - 0.1
    sizes = sorted(_rows(doc, "kernel_size", blur=L.BLURS[0]), key=lambda r: r["kernel_size"])
    assert len(sizes) >= 2
    for small, large in zip(sizes, sizes[1:]):
        assert large["training_psnr_db"] > small["training_psnr_db"]  # nested models: never worse
        assert large["gain_rel_l2_in_band_vs_wiener_spectral"] < small["gain_rel_l2_in_band_vs_wiener_spectral"]


def test_periodic_control_spectral_wiener_is_the_best_linear_filter(quick):
    """On periodic observations (the stationary model of the theory) the MMSE linear filter is
    Wiener with σ²/S_x: it beats the scalar Wiener and the finite learned filter, which is close."""
    _, results, _ = quick
    for blur in L.BLURS:
        periodic = results["periodic_psnr"][blur]
        assert periodic["wiener_spectral"] > periodic["wiener_scalar"]
        assert periodic["learned_linear"] < periodic["wiener_spectral"] < periodic["learned_linear"] + 2.5
        # With real borders, the long spectral kernel loses more than the short learned one.
        real = results["mean_psnr"][blur]
        assert periodic["wiener_spectral"] - real["wiener_spectral"] > periodic["learned_linear"] - real["learned_linear"]


def test_training_table(quick):
    _, results, doc = quick
    for blur in L.BLURS:
        cg = _one(doc, "training", blur=blur, optimiser="conjugate gradients (NumPy)")
        assert cg["gain_over_linear_optimum_db"] == 0 and cg["steps"] == results["cg_iterations"][blur]
    for optimiser in ("L-BFGS (PyTorch)", "Adam (PyTorch)"):
        row = _one(doc, "training", blur=L.BLURS[0], optimiser=optimiser)
        assert row["gain_over_linear_optimum_db"] < 0  # not converged in a few steps: the optimum is the optimum
    lbfgs = _one(doc, "training", blur=L.BLURS[0], optimiser="L-BFGS (PyTorch)")
    adam = _one(doc, "training", blur=L.BLURS[0], optimiser="Adam (PyTorch)")
    assert lbfgs["training_psnr_db"] > adam["training_psnr_db"]


# ---------------------------------------------------------------------------- independent references


def _observations(blur_index: int) -> tuple[np.ndarray, dict]:
    """The experiment's quick-mode observations, rebuilt from its documented seeds."""
    config = L.Config(quick=True)
    psf = L.make_psfs(config)[L.BLURS[blur_index]]
    big = test_images(True, margin=config.margin)
    out = {}
    for i, name in enumerate(IMAGES):
        truth, observed = simulate(big[name], psf, config.sigma, margin=config.margin,
                                   rng=np.random.default_rng([config.seed, 1, i, blur_index]))
        noise = observed - trim(restore.blur(big[name], psf, boundary="wrap"), config.margin)
        out[name] = (truth, observed, restore.blur(truth, psf, boundary="wrap") + noise)
    return psf, out


@pytest.mark.parametrize("blur_index", [0, 1])
def test_periodic_scalar_wiener_matches_scikit_image(quick, blur_index):
    from skimage.restoration import wiener as sk_wiener

    _, results, doc = quick
    blur = L.BLURS[blur_index]
    nsr = results["scalar_nsr"][blur]
    psf, cases = _observations(blur_index)
    scores = [psnr(t, sk_wiener(p, psf, balance=nsr, reg=np.ones((1, 1)), clip=False)) for t, _, p in cases.values()]
    row = _one(doc, "periodic_control", blur=blur, method=L.METHODS["wiener_scalar"])
    assert float(np.mean(scores)) == pytest.approx(row["periodic_psnr"], abs=0.006)
    # The oracle scalar NSR is a maximum of the mean PSNR on the real observations.
    def mean_psnr(value: float) -> float:
        return float(np.mean([psnr(t, restore.wiener(o, psf, nsr=value)) for t, o, _ in cases.values()]))
    best = mean_psnr(nsr)
    assert best == pytest.approx(results["mean_psnr"][blur]["wiener_scalar"], abs=1e-3)
    assert best >= mean_psnr(nsr * 1.5) and best >= mean_psnr(nsr / 1.5)


def test_spectral_wiener_with_a_flat_spectrum_is_restore_wiener():
    """The spectral filter copies restore.wiener's border handling: with a flat S_x = c it is
    restore.wiener with nsr = σ²/c, to rounding."""
    psf, cases = _observations(0)
    _, observed, _ = cases["camera"]
    flat = np.full((31, 31), 0.04)
    ours = L.wiener_spectral(observed, psf, flat, 0.01)
    np.testing.assert_allclose(ours, restore.wiener(observed, psf, nsr=0.01**2 / 0.04), atol=1e-9)
    assert L.spectrum_at(flat, np.array([0.0, 0.013, -0.4]), np.array([0.5, 0.2, 0.01])) == pytest.approx(0.04)


def test_training_spectrum_of_white_noise_is_its_variance():
    rng = np.random.default_rng(5)
    images = [rng.normal(0.0, 0.3, (256, 256)) for _ in range(3)]
    spectrum = L.training_spectrum(images, 63)
    assert spectrum.shape == (63, 63)
    assert float(np.mean(spectrum)) == pytest.approx(0.09, rel=0.03)
    assert float(np.std(spectrum[1:, 1:])) < 0.2 * 0.09  # flat: averaged periodograms


def test_same_seed_same_training(quick):
    """Re-training one blur with the experiment's seeds repeats every number, and the
    recorded training PSNR is that of the re-trained kernel."""
    from learned.deblur import deblur_pairs, linear_deblur_loss

    _, _, doc = quick
    config = L.Config(quick=True)
    psf = L.make_psfs(config)["defocus"]
    pairs = deblur_pairs(L._training_images(config), psf, config.sigma, rng=np.random.default_rng([config.seed, 0, 1]))
    with L._torch_threads(1):
        a, b = L._train(config, 1, pairs), L._train(config, 1, pairs)
    np.testing.assert_array_equal(a["kernel"], b["kernel"])
    assert a["cg_history"] == b["cg_history"] and a["cnn_history"] == b["cnn_history"]
    for p, q in zip(a["cnn"].state_dict().values(), b["cnn"].state_dict().values()):
        assert np.array_equal(p.numpy(), q.numpy())
    row = _one(doc, "training", blur="defocus", optimiser="conjugate gradients (NumPy)")
    assert 10 * np.log10(1 / linear_deblur_loss(pairs, a["kernel"])) == pytest.approx(row["training_psnr_db"], abs=1e-3)


# ---------------------------------------------------------------------------- findings


def test_findings_quote_the_numbers(quick):
    _, results, doc = quick
    findings = results["findings"]
    mean, periodic = results["mean_psnr"], results["periodic_psnr"]
    for blur in L.BLURS:
        assert f"{mean[blur]['learned_linear'] - mean[blur]['wiener_scalar']:+.2f} dB ({blur})" in findings[0]
        assert f"{results['scalar_nsr'][blur]:.2g}" in findings[0]
        agree = _one(doc, "agreement", blur=blur, compared="learned linear vs Wiener σ²/S_x")
        assert f"{agree['gain_rel_l2_in_band']:.0%}" in findings[1]
        assert f"{periodic[blur]['wiener_spectral']:.2f}" in findings[2]
        assert f"{mean[blur]['learned_cnn'] - mean[blur]['learned_linear']:+.2f} dB ({blur})" in findings[3]
        assert str(results["cg_iterations"][blur]) in findings[4]
    met = all(mean[b]["learned_linear"] - mean[b]["wiener_scalar"] >= -0.3 for b in L.BLURS)
    assert ("was met" if met else "was missed") in findings[0]
    above = all(mean[b]["learned_linear"] > mean[b]["wiener_scalar"] for b in L.BLURS)
    assert ("from above" in findings[0]) is above
