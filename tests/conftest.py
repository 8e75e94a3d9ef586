"""Shared fixtures: test images of odd, even and non-square sizes, gray and colour."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

SHAPES = [(37, 31), (32, 48), (45, 64)]  # odd/odd, even/even, odd/even: all non-square


def smooth_image(shape: tuple[int, ...], seed: int = 0, dtype: type = np.float64) -> np.ndarray:
    """Random image with natural-ish content: smoothed noise plus a few sharp edges, in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=(2, 2) + (0,) * (len(shape) - 2))
    img = (img - img.min()) / (img.max() - img.min())
    h, w = shape[:2]
    img[h // 3 : h // 2, w // 4 : w // 2] += 0.3
    img[(2 * h) // 3 :, (3 * w) // 5 :] -= 0.2
    return np.clip(img, 0, 1).astype(dtype)


@pytest.fixture(params=SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def shape(request) -> tuple[int, int]:
    return request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["f32", "f64"])
def dtype(request) -> type:
    return request.param


@pytest.fixture(params=["gray", "rgb"])
def channels(request) -> int | None:
    return None if request.param == "gray" else 3


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for modules of tiny-tensor tests: a second OpenMP thread only adds
    overhead there (measured ~60 ms per conv backward instead of 0.2 ms on a busy 2-core
    machine). Restored afterwards."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def restore_cli_loggers():
    """``deconvkit.cli.main`` configures the project's loggers (level, handler, no
    propagation); undo that after a test so other tests see the default logging set-up.
    CLI test modules use it for every test (``pytestmark``)."""
    import logging

    from deconvkit.cli import LOGGERS

    loggers = [logging.getLogger(name) for name in LOGGERS]
    saved = [(lg.level, list(lg.handlers), lg.propagate) for lg in loggers]
    yield
    for logger, (level, handlers, propagate) in zip(loggers, saved):
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


def invoke_cli(*args: object):
    """Run ``deconvkit ARGS`` in-process (click's CliRunner); fail the test on any Python traceback."""
    from click.testing import CliRunner

    from deconvkit.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args], prog_name="deconvkit")
    # CliRunner catches exceptions: anything but SystemExit (click's exit) is a crash.
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"deconvkit {' '.join(map(str, args))} crashed with {result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result
