"""The experiments runner and the arithmetic experiment (quick mode)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import experiments
from deconvkit.cli import main
from deconvkit.errors import InvalidParameterError


@pytest.fixture(scope="module")
def arithmetic(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    results = experiments.run(["arithmetic"], out, quick=True)["arithmetic"]
    return out / "arithmetic", results


def test_arithmetic_seed_examples_are_right(arithmetic):
    _, results = arithmetic
    scatter = np.array(results["transposed_3x3_by_2x2"])
    assert scatter.shape == (4, 4) and results["article_claimed_shape"] == [5, 5]
    # a, b, c, d = 1, 10, 100, 1000: out[1, 1] = 5a + 4b + 2c + 1d (checked against torch below).
    assert scatter[1, 1] == 5 + 40 + 200 + 1000
    reference = torch.nn.functional.conv_transpose2d(
        torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3),
        torch.tensor([[1.0, 10.0], [100.0, 1000.0]], dtype=torch.float64).reshape(1, 1, 2, 2),
    )[0, 0].numpy()
    np.testing.assert_array_equal(scatter, reference)
    assert results["one_d_example"] == [3.0, 4.0, 6.0, 8.0]
    assert results["conv_matrix_shape"] == [4, 16] and results["conv_matrix_transpose_shape"] == [16, 4]
    assert results["rank_CtC"] == 4 and results["round_trip_max_abs_difference"] > 0.1
    assert results["article_e_patch_sum"] == 12.0
    assert results["overlap_k3_s2"] == [[4, 2], [2, 1]]


def test_arithmetic_size_tables_agree_with_torch(arithmetic):
    folder, _ = arithmetic
    doc = json.loads((folder / "metrics.json").read_text())
    for row in doc["tables"]["conv_sizes"]:
        y = torch.nn.functional.conv2d(torch.zeros(1, 1, row["in"], row["in"]), torch.zeros(1, 1, row["k"], row["k"]), stride=row["s"], padding=row["p"])
        assert y.shape[-1] == row["out"] and row["checked"]
    for row in doc["tables"]["transpose_sizes"]:
        y = torch.nn.functional.conv_transpose2d(torch.zeros(1, 1, row["in"], row["in"]), torch.zeros(1, 1, row["k"], row["k"]), stride=row["s"], padding=row["p"])
        assert y.shape[-1] == row["out"] and row["checked"]


def test_outputs_metadata_tables_and_figures(arithmetic):
    folder, _ = arithmetic
    doc = json.loads((folder / "metrics.json").read_text())
    assert {"versions", "seed", "git_commit", "seconds"} <= set(doc["meta"])
    assert doc["meta"]["versions"]["numpy"] == np.__version__
    for table in ("conv_sizes", "transpose_sizes", "seed_examples"):
        md = (folder / f"{table}.md").read_text()
        assert md.count("\n") == len(doc["tables"][table]) + 2  # header, rule, one line per row
        assert (folder / f"{table}.csv").read_text().count("\n") == len(doc["tables"][table]) + 1
    for stem in ("conv_matrix", "overlap_maps"):
        assert (folder / f"{stem}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (folder / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    assert not list(folder.parent.glob(".*partial*"))


def test_same_seed_same_numbers(tmp_path):
    a = experiments.run(["arithmetic"], tmp_path / "a", seed=3, quick=True)["arithmetic"]
    b = experiments.run(["arithmetic"], tmp_path / "b", seed=3, quick=True)["arithmetic"]
    assert a == b


def test_refuses_existing_results_and_unknown_names(tmp_path):
    experiments.run(["arithmetic"], tmp_path, quick=True)
    with pytest.raises(experiments.ExperimentOutputError, match="exists and is not empty"):
        experiments.run(["arithmetic"], tmp_path, quick=True)
    experiments.run(["arithmetic"], tmp_path, quick=True, overwrite=True)
    with pytest.raises(InvalidParameterError, match="unknown experiment 'nope'"):
        experiments.run(["nope"], tmp_path)


def test_interrupted_run_leaves_no_result(tmp_path, monkeypatch):
    import experiments.arithmetic as module

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "write_metrics", boom)
    with pytest.raises(KeyboardInterrupt):
        experiments.run(["arithmetic"], tmp_path, quick=True)
    assert list(tmp_path.iterdir()) == []


def test_cli_list_run_and_errors(tmp_path):
    runner = CliRunner()
    listed = runner.invoke(main, ["experiments", "list"])
    assert listed.exit_code == 0
    assert listed.output.splitlines() == [f"{name}: {experiments.describe(name)}" for name in experiments.names()]
    assert "arithmetic: Arithmetic: what sizes" in listed.output
    ok = runner.invoke(main, ["experiments", "run", "arithmetic", "--out", str(tmp_path), "--quick"])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "arithmetic" / "metrics.json").exists()
    assert ok.stdout == f"report: {tmp_path / 'index.html'}\n"  # the pages cover the experiments present
    assert "Not run" not in (tmp_path / "index.html").read_text() and "## 1. Arithmetic" in (tmp_path / "README.md").read_text()
    again = runner.invoke(main, ["experiments", "run", "arithmetic", "--out", str(tmp_path), "--quick"])
    assert again.exit_code == 2 and "--overwrite" in again.output
    unknown = runner.invoke(main, ["experiments", "run", "nope", "--out", str(tmp_path)])
    assert unknown.exit_code == 2 and "unknown experiment 'nope'" in unknown.output


def test_retrain_reaches_only_experiments_with_the_setting(tmp_path, monkeypatch):
    """``--retrain`` goes to the Config of experiments that have the field; the others get their defaults."""
    import dataclasses

    import experiments.arithmetic as arithmetic
    import experiments.upsampling as upsampling

    seen = {}

    def record(config, out_dir, *, started=None):
        seen[type(config).__module__] = config
        return {}

    monkeypatch.setattr(arithmetic, "run", record)
    monkeypatch.setattr(upsampling, "run", record)
    assert "retrain" not in {f.name for f in dataclasses.fields(arithmetic.Config)}
    experiments.run(["arithmetic", "upsampling"], tmp_path, seed=5, quick=True, retrain=True)
    assert seen["experiments.upsampling"].retrain is True and seen["experiments.upsampling"].seed == 5
    assert seen["experiments.arithmetic"] == arithmetic.Config(seed=5, quick=True)
    seen.clear()
    cli = CliRunner().invoke(
        main, ["experiments", "run", "upsampling", "--out", str(tmp_path / "cli"), "--quick", "--retrain"]
    )
    assert cli.exit_code == 0, cli.output
    assert seen["experiments.upsampling"].retrain is True
