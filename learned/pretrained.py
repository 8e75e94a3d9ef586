"""The shipped trained upsamplers: how they were trained, where their weights are, how to retrain.

Two kinds, one model per scale 2, 3 and 4, all on **luminance** (one channel: Y of BT.601,
``0.299 R + 0.587 G + 0.114 B``, as :func:`data.load` with ``gray=True``):

- ``"espcn"``: :class:`~learned.espcn.ESPCN` (5×5·64, tanh, 3×3·32, tanh, 3×3·s²,
  pixel shuffle) predicting the residual to bicubic, ICNR-initialised;
- ``"transposed"``: a depthwise :class:`~learned.modules.TransposedConvUpsampler`
  initialised as bicubic interpolation (Keys a = -0.75, kernel ``4 s - s % 2``) and trained:
  a *linear* upsampler, the most a single transposed convolution can learn.

Training data: the bundled photos that are **not** test images of the experiments
(``coffee``, ``chelsea``, ``grass``, ``text``; the test images ``camera``, ``astronaut``,
``brick`` and ``text_chart`` are held out, and so are the charts ``siemens_star`` and
``checkerboard`` -- in trials they lowered the gain on the photos -- and ``clock``, which is
blurred). Pairs from :func:`~learned.training.make_pairs` (antialiased bicubic
downsampling), random patches with flips and 90° rotations, Adam with cosine annealing,
squared error, a fixed number of steps (:data:`RECIPES`) with a seeded patch stream and
initialisation, on ``threads`` PyTorch threads (2: the target machine's cores): the same
seed and thread count give the same weights.

Weights are ``state_dict`` files ``learned/weights/<kind>_x<scale>.pt`` (float32, tens of
kilobytes), read with ``torch.load(weights_only=True)`` (:func:`~learned.training.load_weights`),
and ``manifest.json`` records how each was made (recipe, seconds, versions). Retrain them
with ``python -m learned.pretrained --out learned/weights`` (30-40 s per ESPCN on 2
cores).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from deconvkit._validation import check_choice, check_number
from deconvkit.errors import InvalidParameterError

__all__ = [
    "KINDS",
    "SCALES",
    "Recipe",
    "RECIPES",
    "new_model",
    "weights_path",
    "load_pretrained",
    "train_pretrained",
    "write_pretrained",
    "main",
]

log = logging.getLogger(__name__)

#: kinds of shipped models
KINDS = ("espcn", "transposed")
#: scales with shipped weights
SCALES = (2, 3, 4)
#: the training images (bundled, not among the experiments' test images)
TRAIN_IMAGES = ("coffee", "chelsea", "grass", "text")
_WEIGHTS = "weights"


@dataclass(frozen=True)
class Recipe:
    """How one shipped model is trained (the arguments of :func:`~learned.training.fit_upsampler`).

    ``patch_size`` is the high-resolution patch side (the low-resolution patch is
    ``patch_size / scale``); ``border`` high-res pixels at each patch edge are left out of
    the loss; ``threads`` is the PyTorch thread count during training (restored afterwards).
    """

    kind: str
    scale: int
    steps: int
    lr: float
    patch_size: int
    batch_size: int = 16
    loss: str = "l2"
    schedule: str = "cosine"
    augment: bool = True
    border: int = 0
    threads: int = 2
    images: tuple[str, ...] = TRAIN_IMAGES


#: (kind, scale) -> the recipe of the shipped weights
RECIPES: dict[tuple[str, int], Recipe] = {
    **{("espcn", s): Recipe("espcn", s, steps=800, lr=1e-3, patch_size=32 * s) for s in SCALES},
    **{("transposed", s): Recipe("transposed", s, steps=300, lr=3e-3, patch_size=32 * s) for s in SCALES},
}


def _check(kind: str, scale: int) -> tuple[str, int]:
    check_choice("kind", kind, KINDS)
    s = check_number("scale", scale, low=1, integer=True)
    if s not in SCALES:
        raise InvalidParameterError(f"trained {kind!r} models exist for scales {SCALES}, got {s}")
    return kind, s


def new_model(kind: str, scale: int, *, rng: Any = 0) -> Any:
    """An untrained model of a shipped kind: ESPCN (ICNR) or the bicubic transposed convolution.

    ``rng`` seeds ESPCN's initial weights; the transposed convolution starts as exact bicubic
    interpolation (no randomness). One channel (luminance), float32.
    """
    from learned.espcn import ESPCN
    from learned.modules import TransposedConvUpsampler

    kind, s = _check(kind, scale)
    if kind == "espcn":
        return ESPCN(s, 1, rng=rng)
    return TransposedConvUpsampler(s, 1, init="bicubic")


def weights_path(kind: str, scale: int) -> Path:
    """Path of a shipped weights file, ``learned/weights/<kind>_x<scale>.pt`` (found with importlib.resources)."""
    kind, s = _check(kind, scale)
    return Path(str(resources.files("learned") / _WEIGHTS / f"{kind}_x{s}.pt"))


def load_pretrained(kind: str = "espcn", scale: int = 2, *, path: str | Path | None = None) -> Any:
    """A shipped trained model, in eval mode without gradients.

    Parameters
    ----------
    kind : {"espcn", "transposed"}, optional
    scale : {2, 3, 4}, optional
    path : str or pathlib.Path, optional
        Another weights file for the same architecture (e.g. retrained ones); default: the
        shipped file (:func:`weights_path`).

    Raises
    ------
    deconvkit.errors.WeightsFileError
        Missing or unreadable file (loaded with ``weights_only=True``).
    deconvkit.errors.InvalidParameterError
        Unknown kind or scale, or weights that do not fit the architecture.
    """
    from learned.training import load_weights

    model = new_model(kind, scale)
    load_weights(model, weights_path(kind, scale) if path is None else path)
    model.eval()
    model.requires_grad_(False)
    return model


def _training_images(names: Sequence[str]) -> list[np.ndarray]:
    import data

    return [data.load(name, dtype=np.float64, gray=True) for name in names]


def train_pretrained(
    kind: str,
    scale: int,
    *,
    seed: int = 0,
    steps: int | None = None,
    progress: bool = True,
    images: Sequence[np.ndarray] | None = None,
) -> tuple[Any, dict]:
    """Train one shipped model from scratch by its :data:`RECIPES` entry.

    Parameters
    ----------
    kind : {"espcn", "transposed"}
    scale : {2, 3, 4}
    seed : int, optional
        Seeds the initial weights and the patch stream (default 0: the shipped weights).
    steps : int, optional
        Override the recipe's number of steps (for tests; the cosine schedule follows).
    progress : bool, optional
        tqdm progress bar on stderr.
    images : list of (H, W) arrays, optional
        Training images instead of the recipe's (for tests).

    Returns
    -------
    model : torch.nn.Module
        Trained, in eval mode.
    info : dict
        ``recipe`` (as a dict, with the steps actually run), ``seconds`` (wall clock),
        ``cpu_seconds`` (process CPU time), ``history`` (loss per epoch) and ``parameters``.
    """
    import torch

    from learned.training import fit_upsampler

    kind, s = _check(kind, scale)
    seed = check_number("seed", seed, low=0, integer=True)
    recipe = RECIPES[kind, s]
    n_steps = recipe.steps if steps is None else check_number("steps", steps, low=1, integer=True)
    stream = KINDS.index(kind)
    model = new_model(kind, s, rng=np.random.default_rng([seed, 1, s, stream]))
    train = _training_images(recipe.images) if images is None else list(images)
    threads = torch.get_num_threads()
    torch.set_num_threads(recipe.threads)
    try:
        start, cpu = time.perf_counter(), time.process_time()
        history = fit_upsampler(
            model, train, scale=s, steps=n_steps, patch_size=recipe.patch_size, batch_size=recipe.batch_size,
            lr=recipe.lr, loss=recipe.loss, schedule=recipe.schedule, augment=recipe.augment, border=recipe.border,
            rng=np.random.default_rng([seed, 2, s, stream]), progress=progress,
        )
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    finally:
        torch.set_num_threads(threads)
    model.eval()
    info = {"recipe": {**asdict(recipe), "steps": n_steps, "seed": seed}, "seconds": seconds,
            "cpu_seconds": cpu_seconds, "history": history, "parameters": sum(p.numel() for p in model.parameters())}
    log.info("%s x%d: %d steps in %.1f s (CPU %.1f s), loss %.3g -> %.3g", kind, s, n_steps, seconds, cpu_seconds,
             history[0], history[-1])
    return model, info


def write_pretrained(
    out_dir: str | Path,
    *,
    kinds: Sequence[str] = KINDS,
    scales: Sequence[int] = SCALES,
    seed: int = 0,
    steps: int | None = None,
    progress: bool = True,
) -> dict[str, dict]:
    """Train the given models and save ``<kind>_x<scale>.pt`` and ``manifest.json`` into ``out_dir``.

    The manifest (JSON, updated in place: entries of models not retrained are kept) records
    per file its recipe, training seconds, CPU seconds, thread count, final loss, size,
    SHA-256 and the torch version. Returns the new entries.
    """
    import torch

    from learned.training import save_weights

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    entries = {}
    for kind in kinds:
        for s in scales:
            model, info = train_pretrained(kind, s, seed=seed, steps=steps, progress=progress)
            target = save_weights(model, folder / f"{kind}_x{s}.pt")
            entries[target.name] = {
                "recipe": info["recipe"], "seconds": round(info["seconds"], 2),
                "cpu_seconds": round(info["cpu_seconds"], 2), "parameters": info["parameters"],
                "final_loss": info["history"][-1], "bytes": target.stat().st_size,
                "sha256": hashlib.sha256(target.read_bytes()).hexdigest(), "torch": torch.__version__,
            }
    manifest.update(entries)
    tmp = manifest_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(dict(sorted(manifest.items())), indent=2) + "\n")
    tmp.replace(manifest_path)
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m learned.pretrained --out DIR [--kinds ...] [--scales ...] [--seed N]``: retrain the shipped weights."""
    parser = argparse.ArgumentParser(
        prog="python -m learned.pretrained",
        description="Retrain the shipped upsamplers (ESPCN and the bicubic transposed convolution, x2 x3 x4).",
        epilog="Example: python -m learned.pretrained --out learned/weights",
    )
    parser.add_argument("--out", type=Path, required=True, help="folder for <kind>_x<scale>.pt and manifest.json")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--scales", nargs="+", type=int, choices=SCALES, default=list(SCALES))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    entries = write_pretrained(args.out, kinds=args.kinds, scales=args.scales, seed=args.seed)
    for name, entry in entries.items():
        print(f"{name}: {entry['parameters']} parameters, {entry['bytes']} bytes, {entry['seconds']:.1f} s "
              f"(CPU {entry['cpu_seconds']:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
