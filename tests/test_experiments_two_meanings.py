"""The two-meanings experiment (quick mode): Wiener restores, the transposed convolution is the blur's adjoint.

Independent references: ``scipy.ndimage.correlate`` (the adjoint of a convolution is a
correlation; SciPy's kernel centre is ``k // 2``, our PSF origin), PyTorch's
``conv_transpose2d``, ``scipy.ndimage.convolve`` for the blur matrix, NumPy linear algebra
for the Wiener operator, and the analytic bound ``|H| / (|H|² + NSR) ≤ 1 / (2√NSR)``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from scipy import ndimage

import experiments
import experiments.two_meanings as tm
from restore import BlurOperator, defocus_psf, motion_psf, psf_to_otf, wiener

STEMS = ("images", "spectra", "tiny_matrices")
TABLES = ("scores", "adjoint_checks", "tiny_example")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("two_meanings")
    results = experiments.run(["two-meanings"], out, quick=True)["two-meanings"]
    folder = out / "two-meanings"
    return folder, results, json.loads((folder / "metrics.json").read_text())


def _kernels() -> dict[str, np.ndarray]:
    """The experiment's PSFs plus asymmetric ones, odd and even sized (a symmetric kernel hides a flip)."""
    rng = np.random.default_rng(7)
    odd, even = rng.random((5, 3)), rng.random((4, 6))
    return {"motion": motion_psf(15, 30), "defocus": defocus_psf(4), "odd_asym": odd / odd.sum(), "even_asym": even / even.sum()}


def test_wiener_restores_and_the_adjoint_blurs_further(quick):
    _, results, doc = quick
    rows = doc["tables"]["scores"]
    assert len(rows) == 2 * 4
    for row in rows:
        assert row["psnr_wiener"] > row["psnr_blurred"] > row["psnr_adjoint"], row
    for blur, summary in results["summary"].items():
        sel = [r for r in rows if r["blur"] == blur]
        gain = np.mean([r["psnr_wiener"] - r["psnr_blurred"] for r in sel])
        loss = np.mean([r["psnr_adjoint"] - r["psnr_blurred"] for r in sel])
        assert summary["mean_gain_wiener"] == pytest.approx(gain, abs=0.011) and gain > 1.0
        assert summary["mean_gain_adjoint"] == pytest.approx(loss, abs=0.011) and loss < 0
        assert summary["n_wiener_better"] == summary["n_adjoint_worse"] == len(sel)


@pytest.mark.parametrize("name", list(_kernels()))
def test_transposed_conv_equals_blur_adjoint_and_references(name):
    psf = _kernels()[name]
    y = np.random.default_rng(3).standard_normal((37, 31))
    ours = tm.transposed_conv_adjoint(y, psf)
    assert ours.shape == y.shape
    np.testing.assert_allclose(ours, BlurOperator(psf, y.shape, boundary="zero").adjoint(y), rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, ndimage.correlate(y, psf, mode="constant"), rtol=0, atol=1e-12)
    kh, kw = psf.shape
    ref = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(y)[None, None], torch.from_numpy(psf[::-1, ::-1].copy())[None, None], padding=((kh - 1) // 2, (kw - 1) // 2)
    )[0, 0].numpy()
    np.testing.assert_allclose(ours, ref[: y.shape[0], : y.shape[1]], rtol=0, atol=1e-12)
    if name.endswith("asym"):  # the flip is needed: the unflipped layer computes a convolution, not the adjoint
        assert np.abs(ndimage.convolve(y, psf, mode="constant") - ours).max() > 1e-3


def test_recorded_adjoint_checks(quick):
    _, results, doc = quick
    for blur, check in results["adjoint_checks"].items():
        assert check["max_abs_diff_adjoint"] < 1e-12 and check["max_abs_diff_forward"] < 1e-12, blur
        assert check["dottest_relative_gap"] < 1e-12
        assert check["dottest_lhs"] == pytest.approx(check["dottest_rhs"], rel=1e-12)
        assert check["point_symmetric"] and check["max_abs_asymmetry"] < 1e-15
        assert check["psf_shape"] == results["psf_shapes"][blur]
    assert results["psf_shapes"] == {"motion": list(motion_psf(15, 30).shape), "defocus": list(defocus_psf(4).shape)}
    assert [r["blur"] for r in doc["tables"]["adjoint_checks"]] == ["motion", "defocus"]


def test_tiny_example_against_numpy_and_scipy(quick):
    _, results, doc = quick
    tiny = results["tiny"]
    k, c, w, lam = np.array(tiny["kernel"]), np.array(tiny["C"]), np.array(tiny["W"]), tiny["lambda"]
    assert c.shape == w.shape == (16, 16)
    # C column j = the blur (true convolution, zeros outside) of the j-th unit image, by SciPy.
    ref = np.stack([ndimage.convolve(e.reshape(4, 4), k, mode="constant").ravel() for e in np.eye(16)], axis=1)
    np.testing.assert_allclose(c, ref, rtol=0, atol=1e-15)
    assert not np.allclose(c, c.T)  # the kernel is asymmetric, so Cᵀ is a different operator
    eye = np.eye(16)
    np.testing.assert_allclose(w, np.linalg.solve(c.T @ c + lam * eye, c.T), rtol=0, atol=1e-12)
    u, s, vt = np.linalg.svd(c)
    np.testing.assert_allclose(w, vt.T @ np.diag(s / (s**2 + lam)) @ u.T, rtol=0, atol=1e-10)
    assert tiny["fro_WC_minus_I"] == pytest.approx(np.linalg.norm(w @ c - eye), rel=1e-12)
    assert tiny["fro_CtC_minus_I"] == pytest.approx(np.linalg.norm(c.T @ c - eye), rel=1e-12)
    assert tiny["fro_WC_minus_I"] < 0.5 * tiny["fro_CtC_minus_I"]
    assert tiny["cond_C"] == pytest.approx(s[0] / s[-1], rel=1e-10)
    table = {r["matrix"]: r for r in doc["tables"]["tiny_example"]}
    assert table["W·C"]["fro_minus_I"] < table["CᵀC"]["fro_minus_I"]
    assert table["W·C"]["min_diag"] > 0.5 > table["CᵀC"]["max_diag"]


def test_matrix_wiener_is_the_dft_wiener_for_a_circular_blur():
    """With a circular boundary, (CᵀC + λI)⁻¹Cᵀ is exactly restore.wiener(..., boundary="wrap")."""
    k = np.array(tm.Config().tiny_kernel)
    mats = tm.tiny_matrices(k, (4, 4), 0.01, boundary="wrap")
    y = np.random.default_rng(0).random((4, 4))
    np.testing.assert_allclose((mats["W"] @ y.ravel()).reshape(4, 4), wiener(y, k, nsr=0.01, boundary="wrap"), atol=1e-12)


def test_spectra_obey_the_analytic_bounds(quick):
    _, results, _ = quick
    nsr = tm.Config().nsr
    bound = 1 / (2 * math.sqrt(nsr))
    for blur, spec in results["spectra"].items():
        assert spec["bound_G"] == pytest.approx(bound)
        assert 0.9 * bound < spec["max_G"] <= bound * (1 + 1e-12), blur  # nearly reached: |H| crosses √NSR
        assert spec["max_GH"] < 1 and spec["max_H2"] <= spec["max_H"] <= 1 + 1e-12
        assert spec["max_abs_diff_wiener_gain"] < 1e-12
        assert spec["fraction_G_above_1"] > spec["fraction_GH_above_half"] > spec["fraction_H2_above_half"]
    for name, psf in _kernels().items():
        s = tm.spectra(psf, 64, nsr)
        assert np.all(s["G"] <= bound * (1 + 1e-12)) and np.all(s["GH"] < 1) and np.all(s["H2"] <= s["H"] + 1e-15)
        assert s["H"][0, 0] == pytest.approx(1.0) and float(s["G_half_diff"]) < 1e-12, name


@pytest.mark.parametrize("name", ["motion", "even_asym"])
def test_directional_dtft_matches_the_otf_grid(name):
    psf = _kernels()[name]
    n = 48
    otf = np.abs(psf_to_otf(psf, (n, n)))
    f = np.arange(n // 2) / n
    np.testing.assert_allclose(tm.dtft_magnitude(psf, f, 0.0), otf[0, : n // 2], atol=1e-12)  # +x: columns
    np.testing.assert_allclose(tm.dtft_magnitude(psf, f, 90.0), otf[(-np.arange(n // 2)) % n, 0], atol=1e-12)  # up: -rows


def test_files_findings_and_captions(quick):
    folder, results, doc = quick
    for stem in STEMS:
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    assert [f["stem"] for f in results["figures"]] == list(STEMS)
    assert all(f["caption"] for f in results["figures"])
    for table in TABLES:
        assert (folder / f"{table}.md").read_text().count("\n") == len(doc["tables"][table]) + 2
        assert (folder / f"{table}.csv").read_text().count("\n") == len(doc["tables"][table]) + 1
        assert table in results["table_captions"]
    findings = results["findings"]
    assert 3 <= len(findings) <= 6 and not any(mark in " ".join(findings) for mark in ("**", "`", "#", "_F"))
    m, d = results["summary"]["motion"], results["summary"]["defocus"]
    assert f"{m['mean_gain_wiener']:+.2f} dB" in findings[0] and f"{d['mean_psnr_wiener']:.2f}" in findings[0]
    assert f"{m['mean_gain_adjoint']:+.2f} dB (motion)" in findings[1] and f"{d['mean_gain_adjoint']:+.2f}" in findings[1]
    total = m["n_wiener_ssim_worse"] + d["n_wiener_ssim_worse"]
    assert f"lowered SSIM on {total} of 8" in findings[2]
    assert f"{results['spectra']['motion']['max_G']:.2f}" in findings[3]
    worst = max(c["max_abs_diff_adjoint"] for c in results["adjoint_checks"].values())
    assert f"{worst:.1e}" in findings[4]
    tiny = results["tiny"]
    assert f"{tiny['fro_WC_minus_I']:.3f}" in findings[5] and f"{tiny['cond_C']:.2f}" in findings[5]
    assert doc["config"]["nsr"] == tm.Config().nsr and doc["meta"]["seed"] == 0


def test_same_seed_same_numbers_other_seed_other_noise(quick, tmp_path):
    _, results, _ = quick
    again = experiments.run(["two-meanings"], tmp_path, quick=True)["two-meanings"]
    assert again == results
    config = tm.Config(quick=True, seed=1)
    rows, _ = tm._score_images(config, tm._psfs(config), np.random.default_rng(config.seed))
    assert [r["psnr_blurred"] for r in rows] != [r["psnr_blurred"] for r in json.loads(
        (tmp_path / "two-meanings" / "metrics.json").read_text())["tables"]["scores"]]
