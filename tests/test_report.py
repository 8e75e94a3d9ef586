"""The main job: ``deconvkit demo --quick`` runs every experiment and writes a complete report.

The experiments' science is tested in their own modules; here: the report is complete,
self-contained, consistent with the JSON it is built from, refuses to overwrite, never looks
complete after an interruption, and renders in a real browser (headless Chromium, skipped
when it is not installed).
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import experiments
from deconvkit.cli import main
from experiments.report import build_report


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "report"
    result = CliRunner().invoke(main, ["demo", "--quick", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"report: {out / 'index.html'}"
    for name in experiments.names():  # progress on stderr, one line per experiment start and end
        assert f"{name}: running (quick)" in result.stderr and f"{name}: done in" in result.stderr
    return out


def test_report_holds_every_experiment(report: Path) -> None:
    assert sorted(p.name for p in report.iterdir()) == sorted([*experiments.names(), "README.md", "index.html"])
    for name in experiments.names():
        doc = json.loads((report / name / "metrics.json").read_text())
        assert doc["config"]["quick"] is True and doc["meta"]["seed"] == 0
        results = doc["results"]
        assert results["figures"] and 3 <= len(results["findings"]) <= 8
        for figure in results["figures"]:
            assert (report / name / f"{figure['stem']}.png").stat().st_size > 1000
            assert (report / name / f"{figure['stem']}.pdf").read_bytes()[:5] == b"%PDF-"
        for table in doc["tables"]:
            assert (report / name / f"{table}.md").is_file() and (report / name / f"{table}.csv").is_file()


def test_index_is_self_contained_and_built_from_the_json(report: Path) -> None:
    page = (report / "index.html").read_text()
    assert not re.search(r"""(src|href)=["']https?://""", page), "the page must not load anything from the network"
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    stems = [(name, f["stem"]) for name in experiments.names()
             for f in json.loads((report / name / "metrics.json").read_text())["results"]["figures"]]
    assert len(images) == len(stems)
    for data, (name, stem) in zip(images, stems):  # embedded bytes are the saved figures, in order
        assert base64.b64decode(data) == (report / name / f"{stem}.png").read_bytes()
    for name in experiments.names():
        doc = json.loads((report / name / "metrics.json").read_text())
        assert f'id="{name}"' in page and html.escape(experiments.describe(name)) in page
        for finding in doc["results"]["findings"]:
            assert html.escape(finding) in page
        for rows in doc["tables"].values():
            first = rows[0]
            assert "<td>" + html.escape(str(next(iter(first.values())))) in page
    assert "Quick mode" in page


def test_markdown_report_has_the_same_content(report: Path) -> None:
    text = (report / "README.md").read_text()
    for name in experiments.names():
        doc = json.loads((report / name / "metrics.json").read_text())
        assert f"## {experiments.names().index(name) + 1}. {experiments.describe(name)}" in text
        for figure in doc["results"]["figures"]:
            assert f"]({name}/{figure['stem']}.png)" in text
        for finding in doc["results"]["findings"]:
            assert f"- {finding}" in text
        for table in doc["tables"]:
            assert (report / name / f"{table}.md").read_text() in text


def test_missing_experiment_is_reported_as_not_run(report: Path, tmp_path: Path) -> None:
    shutil.copytree(report / "arithmetic", tmp_path / "arithmetic")
    build_report(tmp_path)
    page = (tmp_path / "index.html").read_text()
    assert page.count("Not run: no results in this folder.") == len(experiments.names()) - 1


def test_demo_refuses_existing_report_and_overwrites_on_request(report: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    shutil.copytree(report, out)
    before = (out / "index.html").read_bytes()
    refused = CliRunner().invoke(main, ["demo", "--quick", "--out", str(out)])
    assert refused.exit_code == 2 and "--overwrite" in refused.stderr
    assert (out / "index.html").read_bytes() == before


def test_interrupted_demo_leaves_no_report_page(report: Path, tmp_path: Path, monkeypatch) -> None:
    """With --overwrite the old pages go first: an interrupted run shows no complete-looking report."""
    import importlib

    first = experiments.names()[0]
    module = importlib.import_module(experiments.EXPERIMENTS[first])
    out = tmp_path / "report"
    shutil.copytree(report, out)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(module, "run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        experiments.demo(out, quick=True, overwrite=True)
    assert not (out / "index.html").exists() and not (out / "README.md").exists()
    assert not list(out.glob(".*partial*"))
    assert (out / first / "metrics.json").read_bytes() == (report / first / "metrics.json").read_bytes()


def test_unwritable_output_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = CliRunner().invoke(main, ["demo", "--quick", "--out", str(blocker / "report")])
    assert result.exit_code == 2 and "cannot create the output folder" in result.stderr


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="Chromium is not installed (CI installs Debian's chromium)")
def test_report_renders_in_a_browser(report: Path, tmp_path: Path) -> None:
    """Headless Chromium draws the page, with its embedded figures, offline."""
    import cv2

    shot = tmp_path / "shot.png"
    command = [
        _chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,2400", "--hide-scrollbars",
        f"--screenshot={shot}", (report / "index.html").as_uri(),
    ]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0 and shot.exists(), proc.stderr[-2000:]
    image = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (2400, 1000)
    not_white = (image < 245).any(axis=2).mean()
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    coloured = ((hsv[..., 1] > 100) & (hsv[..., 2] > 60)).mean()
    # text alone would give a few percent of dark pixels and no saturated colour; figures give both
    assert not_white > 0.08, not_white
    assert coloured > 0.01, coloured
    assert np.unique(image.reshape(-1, 3), axis=0).shape[0] > 500
