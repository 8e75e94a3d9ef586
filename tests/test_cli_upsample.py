"""``deconvkit upsample``, run through click's ``CliRunner``.

The contract (see ``deconvkit.cli``): exit codes 0 / 1 (a file failed, after a summary) / 2
(usage error); no overwrite without ``--overwrite``; bit depth and alpha kept; and the
numbers are those of :func:`learned.upsample.upsample_image` called directly (within one
quantisation step of the output file).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import invoke_cli
from deconvkit.cli.upsample import METHODS
from deconvkit.io import read_image, write_image
from learned.upsample import UPSAMPLE_METHODS, upsample_image

H, W = 19, 24


pytestmark = pytest.mark.usefixtures("restore_cli_loggers")
invoke = invoke_cli


def image(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    """Smooth random content in [0.1, 0.9] (a network input should look like an image)."""
    rng = np.random.default_rng(seed)
    small = rng.random((shape[0] // 3 + 2, shape[1] // 3 + 2) + shape[2:])
    big = cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return 0.1 + 0.8 * np.clip(big, 0, 1).reshape(shape)


def read_raw(path: Path) -> np.ndarray:
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert raw is not None, f"{path} is not a readable image"
    return raw


def test_methods_match_the_library():
    assert METHODS == UPSAMPLE_METHODS


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("channels", [1, 3, 4], ids=["gray", "rgb", "rgba"])
def test_learned_keeps_bit_depth_and_alpha_and_equals_the_library(tmp_path, bit_depth, channels):
    shape = (H, W) if channels == 1 else (H, W, channels)
    write_image(tmp_path / "in.png", image(shape), bit_depth=bit_depth)
    result = invoke("upsample", tmp_path / "in.png", "-o", tmp_path / "out.png", "--scale", "3")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    raw = read_raw(tmp_path / "out.png")
    assert raw.dtype == (np.uint16 if bit_depth == 16 else np.uint8)
    assert raw.shape == (3 * H, 3 * W) + shape[2:]
    top = 65535.0 if bit_depth == 16 else 255.0
    expected = np.clip(upsample_image(read_image(tmp_path / "in.png"), 3), 0, 1) * top
    got = read_image(tmp_path / "out.png", dtype=np.float64) * top
    assert np.abs(got - expected).max() <= 0.5 + 1e-3  # the writer's rounding only
    if channels == 4:
        alpha = upsample_image(read_image(tmp_path / "in.png")[..., 3], 3, method="bicubic")
        assert np.abs(got[..., 3] - np.clip(alpha, 0, 1) * top).max() <= 0.5 + 1e-3


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("scale", [2, 4])
def test_every_method_and_scale(tmp_path, method, scale):
    write_image(tmp_path / "in.png", image((H, W, 3), seed=1))
    result = invoke("upsample", tmp_path / "in.png", "-o", tmp_path / "out.png", "--scale", scale, "--method", method)
    assert result.exit_code == 0, result.output
    assert read_raw(tmp_path / "out.png").shape == (scale * H, scale * W, 3)


def test_transposed_equals_bicubic_and_cubic_a_is_used(tmp_path):
    write_image(tmp_path / "in.png", image((H, W), seed=2), bit_depth=16)
    outputs = {}
    for method, a in [("bicubic", "-0.5"), ("transposed", "-0.5"), ("bicubic", "-0.75")]:
        target = tmp_path / f"{method}{a}.png"
        result = invoke("upsample", tmp_path / "in.png", "-o", target, "--method", method, "--cubic-a", a)
        assert result.exit_code == 0, result.output
        outputs[method, a] = read_raw(target).astype(np.int64)
    assert np.abs(outputs["bicubic", "-0.5"] - outputs["transposed", "-0.5"]).max() <= 1
    assert np.abs(outputs["bicubic", "-0.5"] - outputs["bicubic", "-0.75"]).max() > 10


def test_batch_with_one_bad_file(tmp_path):
    write_image(tmp_path / "a.png", image((H, W)))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    write_image(tmp_path / "c.jpg", image((H, W, 3)))
    out = tmp_path / "out"
    result = invoke("upsample", tmp_path / "a.png", tmp_path / "broken.png", tmp_path / "c.jpg", "--out-dir", out)
    assert result.exit_code == 1, result.output
    assert read_raw(out / "a.png").shape == (2 * H, 2 * W)
    assert read_raw(out / "c.jpg").shape == (2 * H, 2 * W, 3)
    assert not (out / "broken.png").exists()
    assert "upsampled 2 of 3" in result.stderr
    failed = [line for line in result.stderr.splitlines() if "failed" in line]
    assert len(failed) == 1 and "broken.png" in failed[0]
    assert "3/3" in result.stderr  # progress bar on stderr


def test_existing_output_needs_overwrite(tmp_path):
    write_image(tmp_path / "in.png", image((H, W)))
    target = tmp_path / "out.png"
    target.write_bytes(b"precious")
    result = invoke("upsample", tmp_path / "in.png", "-o", target)
    assert result.exit_code == 2, result.output
    assert "--overwrite" in result.stderr and target.read_bytes() == b"precious"
    result = invoke("upsample", tmp_path / "in.png", "-o", target, "--overwrite")
    assert result.exit_code == 0, result.output
    assert read_raw(target).shape == (2 * H, 2 * W)
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name or p.name.startswith(".")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--scale", "5"], "--scale 2, 3 and 4"),
        (["--scale", "9", "--method", "bicubic"], "9"),
        (["--cubic-a", "-0.5"], "--cubic-a applies to"),
        (["--method", "lanczos"], "lanczos"),
        (["--cubic-a", "nan", "--method", "bicubic"], "finite"),
    ],
)
def test_usage_errors(tmp_path, args, message):
    write_image(tmp_path / "in.png", image((H, W)))
    result = invoke("upsample", tmp_path / "in.png", "-o", tmp_path / "out.png", *args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not (tmp_path / "out.png").exists()


def test_rgba_to_jpeg_drops_alpha_with_a_warning(tmp_path):
    write_image(tmp_path / "in.png", image((H, W, 4)))
    result = invoke("upsample", tmp_path / "in.png", "-o", tmp_path / "out.jpg")
    assert result.exit_code == 0, result.output
    assert "alpha" in result.stderr
    assert read_raw(tmp_path / "out.jpg").shape == (2 * H, 2 * W, 3)


def test_missing_weights_fail_every_file_with_exit_1(tmp_path, monkeypatch):
    import learned.pretrained

    monkeypatch.setattr(learned.pretrained, "weights_path", lambda kind, scale: tmp_path / "nope.pt")
    write_image(tmp_path / "in.png", image((H, W)))
    result = invoke("upsample", tmp_path / "in.png", "-o", tmp_path / "out.png")
    assert result.exit_code == 1, result.output
    assert "nope.pt" in result.stderr and not (tmp_path / "out.png").exists()


def test_help_has_an_example():
    result = invoke("upsample", "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "--method" in result.stdout
