"""``deconvkit estimate``: the table and JSON outputs, their numbers, exit codes and bad input.

Run through click's CliRunner on the ``deconvkit`` group. Images are crops of
scikit-image's camera, blurred with realistic borders and noisy, written as PNG.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from skimage import data

import restore
from conftest import invoke_cli
from deconvkit.io import read_image, write_image

CAMERA = data.camera() / 255.0


pytestmark = pytest.mark.usefixtures("restore_cli_loggers")


def photo(path: Path, psf: np.ndarray, *, bit_depth: int = 8, channels: int = 1, seed: int = 0) -> Path:
    kh, kw = psf.shape
    scene = CAMERA[120 : 120 + 240 + kh - 1, 100 : 100 + 256 + kw - 1]
    y = np.clip(restore.add_noise(restore.blur(scene, psf, boundary="valid"), 0.01, rng=seed), 0, 1)
    if channels > 1:
        y = np.stack([y] * 3 + ([np.ones_like(y)] if channels == 4 else []), axis=-1)
    write_image(path, y, bit_depth=bit_depth)
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("estimate")
    return {
        "motion": photo(d / "motion.png", restore.motion_psf(21, 30)),
        "disk": photo(d / "disk.png", restore.defocus_psf(5), bit_depth=16, channels=4),
        "sharp": photo(d / "sharp.png", np.ones((1, 1)), channels=3),
    }


def test_table_lists_each_file_with_its_estimate(files):
    result = invoke_cli("estimate", files["motion"], files["disk"], files["sharp"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["file", "blur", "length_px", "angle_deg", "radius_px", "confidence", "noise_sigma"]
    rows = {Path(line.split()[0]).name: line.split()[1:] for line in lines[1:]}
    kind, length, angle, radius, confidence, sigma = rows["motion.png"]
    assert kind == "motion" and abs(float(length) - 21) <= 1 and abs(float(angle) - 30) <= 1.5 and radius == "-"
    assert float(confidence) > 0.9
    assert float(sigma) == pytest.approx(0.01, rel=0.15)  # in [0, 1] units, not 8-bit steps
    kind, length, angle, radius, _, sigma = rows["disk.png"]
    assert kind == "defocus" and length == angle == "-" and abs(float(radius) - 5) <= 0.5
    assert float(sigma) == pytest.approx(0.01, rel=0.15)  # 16-bit samples, same units
    assert rows["sharp.png"][:4] == ["none", "-", "-", "-"]


def test_json_output(files):
    result = invoke_cli("estimate", "--json", files["motion"], files["sharp"])
    assert result.exit_code == 0, result.output
    motion, sharp = json.loads(result.stdout)
    assert motion["file"] == str(files["motion"]) and motion["blur"] == "motion"
    assert abs(motion["motion"]["length_px"] - 21) <= 1 and abs(motion["motion"]["angle_deg"] - 30) <= 1.5
    assert set(motion) == {"file", "blur", "confidence", "noise_sigma", "noise_white_sigma", "noise_band", "motion",
                           "defocus", "shape"}
    assert sharp["blur"] == "none" and sharp["shape"] == [240, 256, 3]
    assert motion["noise_white_sigma"] is None and motion["noise_band"] == 0.5  # lossless: white noise


def test_jpeg_reports_the_white_part_of_its_noise(tmp_path):
    """A JPEG at quality 90 quantises most of the noise above ~0.3 cycles/px away: the
    finest scale reads a fraction of the added 0.01; the white part's level is reported
    with the band where it is white, and the blur is still found."""
    scene = CAMERA[60 : 60 + 400 + 20, 40 : 40 + 420 + 20]
    y = np.clip(restore.add_noise(restore.blur(scene, restore.motion_psf(21, 30), boundary="valid"), 0.01, rng=0), 0, 1)
    path = tmp_path / "motion.jpg"
    write_image(path, y, quality=90)
    result = invoke_cli("estimate", "--json", path)
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)
    assert found["blur"] == "motion" and abs(found["motion"]["length_px"] - 21) <= 1
    assert 0.006 < found["noise_white_sigma"] < 0.015
    assert found["noise_sigma"] < 0.5 * found["noise_white_sigma"]
    assert 0.25 <= found["noise_band"] < 0.5
    assert "JPEG-shaped noise: sigma 0.0" in restore.estimate_blur(read_image(path)).describe()
    table = invoke_cli("estimate", path).stdout.splitlines()
    assert table[1].split()[-1] == f"{found['noise_white_sigma']:.4f}*" and table[2].startswith("* JPEG-shaped noise")


def test_one_bad_file_exits_1_after_the_others(files, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    result = invoke_cli("estimate", files["motion"], bad, files["sharp"])
    assert result.exit_code == 1
    assert "motion.png" in result.stdout and "sharp.png" in result.stdout and "notes.png" not in result.stdout
    assert "notes.png" in result.stderr and "not an image" in result.stderr
    assert "estimated 2 of 3" in result.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [(["--max-length", "3"], "--max-length must be >= 6"), (["--max-radius", "-1"], "--max-radius"), ([], "INPUTS")],
)
def test_usage_errors_exit_2(files, args, expected):
    inputs = [files["motion"]] if args else []
    result = invoke_cli("estimate", *args, *inputs)
    assert result.exit_code == 2
    assert expected in result.stderr and result.stdout == ""


def test_help_has_an_example():
    result = invoke_cli("estimate", "--help")
    assert result.exit_code == 0
    assert "deconvkit estimate photo.jpg" in result.stdout
