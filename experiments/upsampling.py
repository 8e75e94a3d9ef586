"""Upsampling: which way up by 2, 3 and 4 restores the most, and which one draws checkerboards?

The four test images are downsampled by 2 and 4 with the degradation model of
``learned.training.make_pairs``, the one the trained layers learn from (PyTorch's antialiased
bicubic resize: Keys' a = -0.5 stretched by the factor, equal to PIL's
``Image.resize(BICUBIC)``), and brought back up by nine methods. Fixed: nearest (PyTorch's
floor rule; at integer factors the same as nearest-exact), bilinear, bicubic with a = -0.75
(PyTorch, OpenCV) and a = -0.5 (PIL, MATLAB), all with half-pixel centres
(``learned.interpolate``), and a transposed convolution with FCN's bilinear kernel, untrained.
Trained on four other bundled images (``coffee``, ``chelsea``, ``grass``, ``text``; the test
images are held out): a transposed convolution of kernel 4s started as bilinear, a
resize-convolution (nearest resize, then a (4s - 1)² convolution started as the identity)
and a sub-pixel convolution (5×5 on the low-resolution grid, then pixel shuffle) with ICNR
initialisation around an identity base kernel, so that it starts as nearest upsampling (the
random ICNR base of ``PixelShuffleUpsampler`` learned much more slowly in trials); Adam on
random 48×48 patches, squared-error loss, a fixed number of epochs, patch draws seeded from
the config's seed. Max-unpooling answers another question: its input is the max-pooled
image, not the antialiased one, and it is also given where the maxima were (the pooling
indices of the sharp image). Scores are PSNR and SSIM over the whole frame (estimate
clipped to [0, 1]).

The shipped trained models (``learned.pretrained``) are scored at ×2, ×3 and ×4 against
bicubic a = -0.75 on the same held-out images, each cropped at the bottom and right to a
multiple of the factor (256×320 at ×2 and ×4, 255×318 at ×3): ESPCN (Shi et al.: 5×5·64,
tanh, 3×3·32, tanh, 3×3·s², pixel shuffle) predicting the residual to bicubic, with an ICNR
start, and a transposed convolution started as bicubic interpolation, both trained on the
luminance of ``coffee``, ``chelsea``, ``grass`` and ``text`` (``learned.pretrained`` gives
the recipes). By default the shipped weights are evaluated; ``retrain=True`` trains them anew
from the config's seed (30-40 s per ESPCN on 2 idle cores; quick mode: a few steps only, to
test the path) and saves them in the output folder's ``weights/``.

The checkerboard study counts how many kernel copies a stride-2 transposed convolution adds
up on each output pixel (k = 3 and 4) and feeds a flat image to seeded randomly initialised
layers (transposed convolution k = 3 and k = 4, resize-convolution, pixel shuffle with
random and with ICNR initialisation, ESPCN with ICNR), before and after training (the first
draw of each is trained on the training images; for ESPCN "after" is the trained model
above), and to the other trained layers. Its score (``learned.checkerboard_score``) is the
standard deviation of the output's mean over the s × s sub-pixel phases (interior pixels)
divided by the output's RMS -- equivalently the square root of the fraction of the output's
energy at the s² - 1 "Nyquist-phase" DFT frequencies (k H/s, l W/s): 0 without a periodic
pattern, 1 for a pure zero-mean checkerboard.

References: J. Long, E. Shelhamer and T. Darrell, "Fully convolutional networks for semantic
segmentation", CVPR 2015. R. Keys, "Cubic convolution interpolation for digital image
processing", IEEE Trans. Acoustics, Speech, and Signal Processing 29(6), 1153–1160, 1981.
A. Odena, V. Dumoulin and C. Olah, "Deconvolution and checkerboard artifacts", Distill, 2016.
W. Shi, J. Caballero, F. Huszár, J. Totz, A. P. Aitken, R. Bishop, D. Rueckert and Z. Wang,
"Real-time single image and video super-resolution using an efficient sub-pixel
convolutional neural network", CVPR 2016. A. Aitken, C. Ledig, L. Theis, J. Caballero,
Z. Wang and W. Shi, "Checkerboard artifact free sub-pixel convolution", arXiv:1707.02937,
2017. J. Kim, J. K. Lee and K. M. Lee, "Accurate image super-resolution using very deep
convolutional networks", CVPR 2016. M. D. Zeiler and R. Fergus, "Visualizing and understanding convolutional networks",
ECCV 2014. V. Badrinarayanan, A. Kendall and R. Cipolla, "SegNet: a deep convolutional
encoder-decoder architecture for image segmentation", IEEE TPAMI 39(12), 2481–2495, 2017.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments._images import IMAGES, busiest_window, image_shape, psnr, ssim, test_images, training_images
from experiments._report import metadata, new_figure, save_figure, show_image, write_metrics
from learned.checkerboard import checkerboard_score, flat_response

__all__ = [
    "Config",
    "run",
    "METHODS",
    "TRAINED",
    "INTERPOLATION",
    "low_resolution",
    "interpolate_image",
    "unpool_image",
    "make_layers",
    "apply_layer",
    "checkerboard_score",
    "random_layers",
    "RANDOM_LAYERS",
    "LEARNED",
    "learned_models",
]

log = logging.getLogger(__name__)

#: fixed interpolation methods -> keyword arguments of :func:`learned.interpolate`
INTERPOLATION = {
    "nearest": {"mode": "nearest"},
    "bilinear": {"mode": "bilinear"},
    "bicubic a=-0.75": {"mode": "bicubic", "cubic_a": -0.75},
    "bicubic a=-0.5": {"mode": "bicubic", "cubic_a": -0.5},
}
#: the layers trained on the training images, in table order
TRAINED = ("transposed conv (trained)", "resize-conv (trained)", "pixel shuffle ICNR (trained)")
_BILINEAR_TCONV = "transposed conv (bilinear init)"
_UNPOOL = "max-unpooling"
#: every upsampling method, in table order
METHODS = (*INTERPOLATION, _BILINEAR_TCONV, *TRAINED, _UNPOOL)
#: the randomly initialised layers of the checkerboard study (scale 2), in figure order
RANDOM_LAYERS = (
    "transposed conv k=3 (random)",
    "transposed conv k=4 (random)",
    "pixel shuffle (random)",
    "resize-conv (random)",
    "pixel shuffle (ICNR)",
    "ESPCN (ICNR)",
)
#: the shipped trained models (learned.pretrained), in table order: name -> kind
LEARNED = {"transposed conv bicubic init (trained)": "transposed", "ESPCN (trained)": "espcn"}
_BICUBIC = "bicubic a=-0.75"
# Streams of numpy.random.default_rng([seed, stream, ...]): one per purpose.
_TRAIN_STREAM, _INIT_STREAM, _CHECKER_STREAM, _CHECKER_TRAIN_STREAM = 1, 2, 3, 4


@dataclass(frozen=True)
class Config:
    """Settings of the upsampling experiment.

    ``*_quick`` fields replace their full-mode counterparts when ``quick`` is set. Kernel
    supports are in low-resolution pixels: the trained transposed convolution has kernel
    ``transposed_support · s`` and the resize-convolution ``resize_support · s - 1``, so both
    see about as many input pixels as bicubic interpolation (4). ``learning_rate`` is Adam's
    step per output pixel: each layer gets ``learning_rate`` divided by the number of its
    kernel taps that reach one output pixel (``(K / s)²`` for the transposed convolution,
    ``K²`` for the others), since Adam moves every parameter by about its step size; one
    rate for all layers made the training loss of the 15×15 resize-convolution rise at first. Training runs
    with one torch thread (restored afterwards): faster for these tiny convolutions on a busy
    2-core machine, and the same on every run. ``retrain`` retrains the shipped ESPCN and
    transposed convolution (:mod:`learned.pretrained`, on 2 threads) instead of loading them;
    in quick mode for ``retrain_steps_quick`` steps only. The first random draw of each
    checkerboard layer is trained for ``checker_epochs`` epochs (cosine-annealed learning rate).
    """

    seed: int = 0
    quick: bool = False
    scales: tuple[int, ...] = (2, 4)
    train_images: tuple[str, ...] = ("coffee", "chelsea", "grass", "text")
    train_crop_quick: int = 192
    epochs: int = 30
    epochs_quick: int = 5
    learning_rate: float = 0.05
    loss: str = "l2"
    patch_size: int = 48
    batch_size: int = 16
    transposed_support: int = 4
    resize_support: int = 4
    shuffle_kernel: int = 5
    zooms: tuple[tuple[str, int], ...] = (("text_chart", 2), ("camera", 4))
    zooms_quick: tuple[tuple[str, int], ...] = (("camera", 4),)
    zoom_size: int = 48
    zoom_size_quick: int = 32
    checker_scale: int = 2
    checker_draws: int = 20
    overlap_input: int = 4
    flat_size: int = 16
    flat_value: float = 0.5
    checker_epochs: int = 10
    checker_epochs_quick: int = 3
    checker_after_range: float = 0.005
    retrain: bool = False
    retrain_steps_quick: int = 5
    learned_scales: tuple[int, ...] = (2, 3, 4)
    learned_zoom: str = "camera"


# ----------------------------------------------------------------------------------------
# The methods


def low_resolution(images: dict[str, np.ndarray], scale: int) -> dict[str, np.ndarray]:
    """Each image downsampled by ``scale`` as the training pairs are (:func:`learned.training.make_pairs`).

    Returns float64 copies of make_pairs' float32 low-resolution images (exact conversions,
    so the float32 layers and the float64 interpolations see the same numbers).
    """
    from learned.training import make_pairs

    pairs = make_pairs(list(images.values()), scale)
    return {name: lo[0].double().numpy() for name, (lo, _) in zip(images, pairs)}


def interpolate_image(lr: np.ndarray, scale: int, method: str) -> np.ndarray:
    """Upsample an ``(h, w)`` image by one of the fixed :data:`INTERPOLATION` methods."""
    import learned

    return learned.interpolate(lr[None, None], scale_factor=scale, **INTERPOLATION[method])[0, 0]


def unpool_image(truth: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Max-pool ``truth`` by ``scale`` and max-unpool it back: ``(pooled, indices, unpooled)``."""
    import learned

    pooled, indices = learned.max_pool2d(truth[None, None], scale)
    unpooled = learned.max_unpool2d(pooled, indices, scale, output_size=truth.shape)
    return pooled[0, 0], indices[0, 0], unpooled[0, 0]


def make_layers(config: Config, scale: int) -> dict[str, Any]:
    """The bilinear-initialised transposed convolution and the three layers to train, untrained.

    Every layer starts as a fixed interpolation: the transposed convolutions as bilinear
    (FCN's kernel; the trained one holds it in the centre of a ``transposed_support · s``
    kernel), the resize-convolution as nearest (identity kernel) and the pixel shuffle as
    nearest too (ICNR with an identity base kernel, :func:`learned.icnr_weight`).
    """
    import torch

    import learned

    k = config.shuffle_kernel
    shuffle = learned.PixelShuffleUpsampler(
        scale, 1, kernel_size=k, rng=np.random.default_rng([config.seed, _INIT_STREAM, scale])
    )
    base = torch.zeros(1, 1, k, k)
    base[0, 0, k // 2, k // 2] = 1.0
    with torch.no_grad():
        shuffle.weight.copy_(learned.icnr_weight(base, scale))
    return {
        _BILINEAR_TCONV: learned.TransposedConvUpsampler(scale, 1),
        TRAINED[0]: learned.TransposedConvUpsampler(scale, 1, kernel_size=config.transposed_support * scale),
        TRAINED[1]: learned.ResizeConvUpsampler(scale, 1, kernel_size=config.resize_support * scale - 1),
        TRAINED[2]: shuffle,
    }


def apply_layer(layer: Any, lr: np.ndarray) -> np.ndarray:
    """Run a torch upsampler on an ``(h, w)`` image (as float32, no gradient); float64 result."""
    import torch

    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(lr, dtype=np.float32))[None, None]
        return layer(x)[0, 0].double().numpy()


def _estimates(lr: np.ndarray, truth: np.ndarray, scale: int, layers: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every method's upsampled image of one test image (max-unpooling from ``truth``'s pooling)."""
    out = {method: interpolate_image(lr, scale, method) for method in INTERPOLATION}
    out.update({name: apply_layer(layer, lr) for name, layer in layers.items()})
    out[_UNPOOL] = unpool_image(truth, scale)[2]
    return {method: out[method] for method in METHODS}


# ----------------------------------------------------------------------------------------
# Training


def _training_images(config: Config) -> list[np.ndarray]:
    """The training images; in quick mode their central ``train_crop_quick``² crops."""
    return training_images(config.train_images, crop=config.train_crop_quick if config.quick else None)


def _train_mse(layer: Any, pairs: list) -> float:
    """Pixel-weighted mean squared error of ``layer`` over the whole training images."""
    import torch

    with torch.no_grad():
        sse = sum(float(((layer(lo[None]) - hi[None]) ** 2).sum()) for lo, hi in pairs)
    return sse / sum(hi.numel() for _, hi in pairs)


def _reference_mse(pairs: list, scale: int, method: str) -> float:
    sse = sum(float(((interpolate_image(lo[0].double().numpy(), scale, method) - hi[0].double().numpy()) ** 2).sum())
              for lo, hi in pairs)
    return sse / sum(hi.numel() for _, hi in pairs)


def _taps_per_output(layer: Any, scale: int) -> int:
    """How many kernel taps reach one output pixel: ``(K / s)²`` for a transposed convolution, ``K²`` otherwise."""
    import learned

    k = int(layer.weight.shape[-1])
    return (k // scale) ** 2 if isinstance(layer, learned.TransposedConvUpsampler) else k * k


def _fit(config: Config, layer: Any, train: list[np.ndarray], scale: int, epochs: int, rng: np.random.Generator,
         *, schedule: str = "constant") -> tuple[list[float], float, float]:
    """Train one single layer in place (Adam, the config's loss and patches); ``(history, seconds, lr)``."""
    import learned

    lr = config.learning_rate / _taps_per_output(layer, scale)
    start = time.perf_counter()
    history = learned.fit_upsampler(
        layer, train, scale=scale, epochs=epochs, patch_size=config.patch_size, batch_size=config.batch_size,
        lr=lr, loss=config.loss, progress=False, rng=rng, schedule=schedule,
    )
    return history, time.perf_counter() - start, lr


def _train(config: Config, layers: dict[str, Any], train: list[np.ndarray], scale: int) -> dict[str, dict]:
    """Train the :data:`TRAINED` layers in place; return their losses, steps and times."""
    from learned.training import make_pairs

    epochs = config.epochs_quick if config.quick else config.epochs
    pairs = make_pairs(train, scale)
    patch = min(config.patch_size, min(min(hi.shape[1:]) for _, hi in pairs)) // scale * scale
    pixels = sum(hi.shape[1] * hi.shape[2] for _, hi in pairs)
    steps = epochs * max(1, math.ceil(pixels / (patch * patch * config.batch_size)))  # fit_upsampler's epoch
    info = {}
    for index, name in enumerate(TRAINED):
        layer = layers[name]
        before = _train_mse(layer, pairs)
        history, seconds, lr = _fit(config, layer, train, scale, epochs,
                                    np.random.default_rng([config.seed, _TRAIN_STREAM, scale, index]))
        info[name] = {"mse_init": before, "mse_trained": _train_mse(layer, pairs), "history": history,
                      "epochs": epochs, "steps": steps, "seconds": seconds, "lr": lr,
                      "parameters": sum(p.numel() for p in layer.parameters()),
                      "kernel": int(layer.weight.shape[-1])}
        log.info("x%d %s: %d steps in %.1f s, training MSE %.5f -> %.5f", scale, name, steps, seconds,
                 before, info[name]["mse_trained"])
    info["reference"] = {m: _reference_mse(pairs, scale, m) for m in ("bilinear", _BICUBIC)}
    return info


# ----------------------------------------------------------------------------------------
# The shipped trained models


def learned_models(config: Config, out_dir: Path) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, dict]]]:
    """The trained :data:`LEARNED` models per scale, and how each was made.

    Shipped weights (:func:`learned.pretrained.load_pretrained`) by default; with
    ``config.retrain`` trained anew by their recipes from ``config.seed`` (quick mode:
    ``retrain_steps_quick`` steps) and saved into ``out_dir / "weights"``. The info per model:
    ``weights`` ("shipped" or "retrained"), ``steps``, ``seconds`` (training wall clock: from
    the shipped manifest or measured now), ``bytes`` (file size) and ``parameters``.
    """
    import json

    from learned.pretrained import load_pretrained, train_pretrained, weights_path
    from learned.training import save_weights

    models: dict[int, dict[str, Any]] = {s: {} for s in config.learned_scales}
    info: dict[int, dict[str, dict]] = {s: {} for s in config.learned_scales}
    if config.retrain:
        folder = out_dir / "weights"
        folder.mkdir(exist_ok=True)
    else:
        manifest = json.loads((weights_path("espcn", 2).parent / "manifest.json").read_text())
    for s in config.learned_scales:
        for name, kind in LEARNED.items():
            if config.retrain:
                log.info("x%d: retraining %s", s, name)
                model, meta = train_pretrained(kind, s, seed=config.seed, progress=False,
                                               steps=config.retrain_steps_quick if config.quick else None)
                path = save_weights(model, folder / f"{kind}_x{s}.pt")
                record = {"weights": "retrained", "steps": meta["recipe"]["steps"], "seconds": meta["seconds"],
                          "bytes": path.stat().st_size}
            else:
                model = load_pretrained(kind, s)
                entry = manifest[weights_path(kind, s).name]
                record = {"weights": "shipped", "steps": entry["recipe"]["steps"], "seconds": entry["seconds"],
                          "bytes": entry["bytes"]}
            models[s][name] = model
            info[s][name] = {**record, "parameters": sum(p.numel() for p in model.parameters())}
    return models, info


def _evaluate_learned(config: Config, images: dict[str, np.ndarray], models: dict[int, dict[str, Any]]
                      ) -> tuple[dict, dict]:
    """PSNR/SSIM of bicubic and the :data:`LEARNED` models per scale (images cropped to multiples of it).

    Returns ``per_image[method][scale][image] = {"psnr", "ssim"}`` and the estimates of
    ``config.learned_zoom`` per scale (with its truth and low-resolution input) for the figure.
    """
    methods = (_BICUBIC, *LEARNED)
    per_image: dict = {m: {s: {} for s in config.learned_scales} for m in methods}
    shown = {}
    for s in config.learned_scales:
        cropped = {n: im[: im.shape[0] // s * s, : im.shape[1] // s * s] for n, im in images.items()}
        lows = low_resolution(cropped, s)
        for name, truth in cropped.items():
            estimates = {_BICUBIC: interpolate_image(lows[name], s, _BICUBIC)}
            estimates.update({m: apply_layer(models[s][m], lows[name]) for m in LEARNED})
            for m, est in estimates.items():
                per_image[m][s][name] = {"psnr": psnr(truth, est), "ssim": ssim(truth, est)}
            if name == config.learned_zoom:
                shown[s] = (truth, lows[name], estimates)
    return per_image, shown


# ----------------------------------------------------------------------------------------
# Checkerboards


def random_layers(config: Config, draw: int) -> dict[str, Any]:
    """The :data:`RANDOM_LAYERS` of one seeded draw (scale ``checker_scale``, one channel)."""
    import learned
    from learned.espcn import ESPCN

    s = config.checker_scale

    def rng(index: int) -> np.random.Generator:
        return np.random.default_rng([config.seed, _CHECKER_STREAM, index, draw])

    return {
        RANDOM_LAYERS[0]: learned.TransposedConvUpsampler(s, 1, kernel_size=3, init="random", rng=rng(0)),
        RANDOM_LAYERS[1]: learned.TransposedConvUpsampler(s, 1, kernel_size=4, init="random", rng=rng(1)),
        RANDOM_LAYERS[2]: learned.PixelShuffleUpsampler(s, 1, init="random", rng=rng(2)),
        RANDOM_LAYERS[3]: learned.ResizeConvUpsampler(s, 1, init="random", rng=rng(3)),
        RANDOM_LAYERS[4]: learned.PixelShuffleUpsampler(s, 1, init="icnr", rng=rng(4)),
        RANDOM_LAYERS[5]: ESPCN(s, 1, rng=rng(5)),
    }


def _kernel(layer: Any) -> str:
    """Kernel size(s) of a layer for the tables: ``"3"``, or ``"5,3,3"`` for ESPCN."""
    sizes = getattr(layer, "kernel_sizes", None)
    return ",".join(map(str, sizes)) if sizes else str(int(layer.weight.shape[-1]))


def _flat_output(config: Config, layer: Any, scale: int) -> tuple[np.ndarray, float]:
    """A layer's output for a flat input, and its checkerboard score."""
    out = flat_response(layer, size=config.flat_size, value=config.flat_value)
    return out, checkerboard_score(out, scale, margin=2 * scale)


def _trained_random_layers(config: Config, train: list[np.ndarray], espcn: Any) -> dict[str, Any]:
    """The first draw of each random layer after ``checker_epochs`` epochs of training (ESPCN: ``espcn``)."""
    s = config.checker_scale
    epochs = config.checker_epochs_quick if config.quick else config.checker_epochs
    layers = random_layers(config, 0)
    for index, name in enumerate(RANDOM_LAYERS[:-1]):
        _, seconds, _ = _fit(config, layers[name], train, s, epochs,
                             np.random.default_rng([config.seed, _CHECKER_TRAIN_STREAM, index]), schedule="cosine")
        log.info("checkerboard: trained %s for %d epochs in %.1f s", name, epochs, seconds)
    layers[RANDOM_LAYERS[-1]] = espcn
    return layers


def _checkerboard_study(config: Config, trained: dict[int, dict[str, Any]], shipped: dict[int, dict[str, Any]],
                        train: list[np.ndarray]) -> tuple[list[dict], dict]:
    """Scores of the random layers over ``checker_draws`` draws, of their first draw after training,
    and of the fixed and trained layers; the flat outputs shown (draw 0, before and after)."""
    s = config.checker_scale
    scores: dict[str, list[float]] = {name: [] for name in RANDOM_LAYERS}
    shown: dict[str, dict] = {"before": {}, "after": {}}
    kernels = {}
    for draw in range(config.checker_draws):
        for name, layer in random_layers(config, draw).items():
            out, score = _flat_output(config, layer, s)
            scores[name].append(score)
            if draw == 0:
                shown["before"][name] = (out, score)
                kernels[name] = _kernel(layer)
    after_layers = _trained_random_layers(config, train, shipped[s]["ESPCN (trained)"])
    rows = []
    for name, v in scores.items():
        out, score = shown["after"][name] = _flat_output(config, after_layers[name], s)
        rows.append({"layer": name, "scale": s, "kernel": kernels[name], "draws": len(v),
                     "score_median": float(np.median(v)), "score_min": float(np.min(v)), "score_max": float(np.max(v)),
                     "score_draw0": shown["before"][name][1], "score_draw0_trained": score})
    others = [(scale, name, layers[name]) for scale, layers in trained.items() for name in (_BILINEAR_TCONV, *TRAINED)]
    others += [(scale, name, models[name]) for scale, models in shipped.items() for name in LEARNED]
    for scale, name, layer in others:
        score = _flat_output(config, layer, scale)[1]
        rows.append({"layer": name, "scale": scale, "kernel": _kernel(layer), "draws": 1, "score_median": score,
                     "score_min": score, "score_max": score, "score_draw0": "", "score_draw0_trained": ""})
    return rows, shown


# ----------------------------------------------------------------------------------------
# Figures


def _panel(ax: Any, image: np.ndarray, title: str, **kwargs: Any) -> Any:
    """:func:`show_image` with a thin frame and no ticks (tick-free axes also halve the layout time)."""
    shown = show_image(ax, image, title, **kwargs)
    ax.set_axis_on()  # a thin frame, so that white crops stay visible on the white page
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.6")
        spine.set_linewidth(0.6)
    return shown


_SHORT = {
    "nearest": "nearest", "bilinear": "bilinear", "bicubic a=-0.75": "bicubic a=−0.75",
    "bicubic a=-0.5": "bicubic a=−0.5", _BILINEAR_TCONV: "transp. conv\nbilinear init",
    TRAINED[0]: "transp. conv\ntrained", TRAINED[1]: "resize-conv\ntrained", TRAINED[2]: "pixel shuffle\nICNR trained",
    _UNPOOL: "max-unpooling",
}


def _zoom_figure(config: Config, name: str, scale: int, truth: np.ndarray, lr: np.ndarray,
                 estimates: dict[str, np.ndarray], scores: dict[str, float], out_dir: Path) -> tuple[str, tuple]:
    size = config.zoom_size_quick if config.quick else config.zoom_size
    top, left = busiest_window(truth, size, step=2 * scale)
    rows, cols = slice(top, top + size), slice(left, left + size)
    low = slice(top // scale, (top + size) // scale), slice(left // scale, (left + size) // scale)
    pooled = unpool_image(truth, scale)[0]
    fig = new_figure(11.0, 4.6)
    axes = fig.subplots(2, 6).ravel()
    _panel(axes[0], truth[rows, cols], "truth")
    _panel(axes[1], lr[low], f"input, 1/{scale}\n(antialiased bicubic)")
    for ax, method in zip(axes[2:11], METHODS):
        _panel(ax, estimates[method][rows, cols], f"{_SHORT[method]}\n{scores[method]:.2f} dB")
    _panel(axes[11], pooled[low], "max-pooled input\n(for unpooling)")
    stem = f"zoom_{name}_x{scale}"
    save_figure(fig, out_dir / stem)
    return stem, (top, left, size)


_SHORT_LAYER = {
    RANDOM_LAYERS[0]: "transp. conv k=3", RANDOM_LAYERS[1]: "transp. conv k=4", RANDOM_LAYERS[2]: "pixel shuffle",
    RANDOM_LAYERS[3]: "resize-conv", RANDOM_LAYERS[4]: "pixel shuffle ICNR", RANDOM_LAYERS[5]: "ESPCN (ICNR)",
}


def _deviation(out: np.ndarray) -> np.ndarray:
    """``(out - mean) / rms``: the flat output's pattern in units of its RMS."""
    rms = float(np.sqrt(np.mean(out**2)))
    return (out - out.mean()) / rms if rms > 0 else out * 0


def _checkerboard_figure(config: Config, shown: dict[str, dict], out_dir: Path) -> str:
    import learned

    fig = new_figure(12.0, 4.4)
    axes = fig.subplots(2, 1 + len(RANDOM_LAYERS))
    for ax, k in zip(axes[:, 0], (3, 4)):
        counts = learned.overlap_map(k, config.checker_scale, input_size=config.overlap_input)
        _panel(ax, counts, f"copies per pixel,\nk={k}, s={config.checker_scale}", vmin=0, vmax=5, cmap="magma")
        ax.title.set_fontsize(8)
        for (i, j), value in np.ndenumerate(counts):
            ax.text(j, i, str(value), ha="center", va="center", fontsize=5, color="white" if value < 3 else "black",
                    in_layout=False)
    ranges = {"before": 1.0, "after": config.checker_after_range}
    for row, (stage, limit) in enumerate(ranges.items()):
        image = None
        for ax, name in zip(axes[row, 1:], RANDOM_LAYERS):
            out, score = shown[stage][name]
            label = "random init" if stage == "before" else "trained"
            image = _panel(ax, _deviation(out), f"{_SHORT_LAYER[name]}\n{label}, score {_score(score)}",
                           vmin=-limit, vmax=limit, cmap="RdBu_r")
            ax.title.set_fontsize(7)
        bar = fig.colorbar(image, ax=list(axes[row, 1:]), shrink=0.8, pad=0.01)
        bar.set_label("(out − mean) / RMS", fontsize=7)
        bar.set_ticks([-limit, 0.0, limit])
        bar.ax.tick_params(labelsize=7)
    save_figure(fig, out_dir / "checkerboard")
    return "checkerboard"


def _learned_figure(config: Config, shown: dict[int, tuple], per_image: dict, out_dir: Path) -> tuple[str, tuple]:
    """Rows: scales; columns: truth, bicubic, the trained transposed conv, ESPCN, ESPCN − bicubic."""
    size = config.zoom_size_quick if config.quick else config.zoom_size
    step = math.lcm(*config.learned_scales)
    smallest = min((truth for truth, _, _ in shown.values()), key=lambda t: t.size)
    top, left = busiest_window(smallest, size, step=step)
    rows, cols = slice(top, top + size), slice(left, left + size)
    fig = new_figure(9.0, 1.9 * len(shown) + 0.3)
    axes = np.atleast_2d(fig.subplots(len(shown), 5))
    espcn, tconv = list(LEARNED)[1], list(LEARNED)[0]
    name = config.learned_zoom
    diff = None
    for ax_row, (s, (truth, _, estimates)) in zip(axes, shown.items()):
        _panel(ax_row[0], truth[rows, cols], "truth")
        for ax, (method, label) in zip(ax_row[1:4], ((_BICUBIC, "bicubic a=−0.75"), (tconv, "transp. conv\nbicubic init, trained"),
                                                     (espcn, "ESPCN"))):
            _panel(ax, estimates[method][rows, cols], f"{label}, ×{s}\n{per_image[method][s][name]['psnr']:.2f} dB")
        delta = (estimates[espcn] - estimates[_BICUBIC])[rows, cols]
        diff = _panel(ax_row[4], delta, f"ESPCN − bicubic, ×{s}", vmin=-0.15, vmax=0.15, cmap="RdBu_r")
        for ax in ax_row:
            ax.title.set_fontsize(8)
    bar = fig.colorbar(diff, ax=list(axes[:, 4]), shrink=0.6, pad=0.02)
    bar.ax.tick_params(labelsize=7)
    stem = f"learned_{name}"
    save_figure(fig, out_dir / stem)
    return stem, (top, left, size)


# ----------------------------------------------------------------------------------------
# Tables and findings


def _score_tables(config: Config, per_image: dict) -> tuple[list[dict], list[dict], dict]:
    """``scores`` (means), ``psnr_per_image`` rows and the means as a dict."""
    means = {m: {s: {k: float(np.mean([per_image[m][s][n][k] for n in IMAGES])) for k in ("psnr", "ssim")}
                 for s in config.scales} for m in METHODS}
    rows, image_rows = [], []
    for m in METHODS:
        row = {"method": m, "trained": "yes" if m in TRAINED else "no",
               "low-res input": "max-pooled + argmax indices" if m == _UNPOOL else "antialiased bicubic"}
        for s in config.scales:
            row[f"psnr_x{s}"] = round(means[m][s]["psnr"], 2)
            row[f"ssim_x{s}"] = round(means[m][s]["ssim"], 4)
        rows.append(row)
        image_row = {"method": m}
        for s in config.scales:
            image_row.update({f"{n}_x{s}": round(per_image[m][s][n]["psnr"], 2) for n in IMAGES})
        image_rows.append(image_row)
    return rows, image_rows, means


def _training_rows(config: Config, training: dict[int, dict], means: dict) -> list[dict]:
    rows = []
    for s, info in training.items():
        for name in TRAINED:
            t = info[name]
            rows.append({"layer": name, "scale": s, "kernel": t["kernel"], "parameters": t["parameters"],
                         "lr": float(f"{t['lr']:.3g}"), "epochs": t["epochs"], "steps": t["steps"],
                         "seconds": round(t["seconds"], 2),
                         "train_mse_init": round(t["mse_init"], 6), "train_mse_trained": round(t["mse_trained"], 6),
                         "train_mse_bicubic": round(info["reference"]["bicubic a=-0.75"], 6),
                         "test_psnr": round(means[name][s]["psnr"], 2),
                         "vs_bicubic_db": round(means[name][s]["psnr"] - means["bicubic a=-0.75"][s]["psnr"], 2)})
    return rows


def _learned_rows(config: Config, per_image: dict, info: dict) -> tuple[list[dict], dict]:
    """The ``learned`` table (one row per method and scale) and the mean PSNR/SSIM as a dict."""
    means = {m: {s: {k: float(np.mean([per_image[m][s][n][k] for n in IMAGES])) for k in ("psnr", "ssim")}
                 for s in config.learned_scales} for m in per_image}
    height, width = image_shape(config.quick)
    rows = []
    for m in per_image:
        for s in config.learned_scales:
            made = info[s].get(m, {})
            gains = [per_image[m][s][n]["psnr"] - per_image[_BICUBIC][s][n]["psnr"] for n in IMAGES]
            rows.append({
                "method": m, "scale": s, "crop": f"{height // s * s}×{width // s * s}", "weights": made.get("weights", "none"),
                "parameters": made.get("parameters", 0), "weights_kb": round(made.get("bytes", 0) / 1000, 1),
                "train_steps": made.get("steps", 0), "train_seconds": round(made.get("seconds", 0.0), 1),
                "psnr": round(means[m][s]["psnr"], 2), "ssim": round(means[m][s]["ssim"], 4),
                "vs_bicubic_db": round(means[m][s]["psnr"] - means[_BICUBIC][s]["psnr"], 2),
                "images_above_bicubic": sum(g > 0 for g in gains),
                **{n: round(per_image[m][s][n]["psnr"], 2) for n in IMAGES},
            })
    return rows, means


def _learned_finding(config: Config, means: dict, per_image: dict, info: dict) -> str:
    espcn, tconv = list(LEARNED)[1], list(LEARNED)[0]

    def gain(m: str, s: int) -> float:
        return means[m][s]["psnr"] - means[_BICUBIC][s]["psnr"]

    first = config.learned_scales[0]
    target = gain(espcn, first) - 1.0
    verdict = f"target met by {target:.2f} dB" if target >= 0 else f"target missed by {-target:.2f} dB"
    wins = sum(per_image[espcn][s][n]["psnr"] > per_image[_BICUBIC][s][n]["psnr"]
               for s in config.learned_scales for n in IMAGES)
    made = info[first][espcn]
    return (
        f"The trained ESPCN ({made['weights']} weights, {made['parameters']} parameters, {made['steps']} steps in "
        f"{made['seconds']:.0f} s at ×{first}) against bicubic a=-0.75 on the held-out images: "
        + ", ".join(f"{gain(espcn, s):+.2f} dB at ×{s}" for s in config.learned_scales)
        + f" (≥ 1.0 dB wanted at ×{first}: {verdict}); it beats bicubic in {wins} of "
        f"{len(IMAGES) * len(config.learned_scales)} (image, scale) cases. The linear transposed convolution "
        "started as bicubic and trained the same way gains "
        + ", ".join(f"{gain(tconv, s):+.2f} dB at ×{s}" for s in config.learned_scales) + "."
    )


def _checker_finding(config: Config, checker: list[dict]) -> str:
    s = config.checker_scale
    rows = {r["layer"]: r for r in checker if r["scale"] == s and r["layer"] in RANDOM_LAYERS}
    k4 = rows[RANDOM_LAYERS[1]]["score_median"]
    pairs = ", ".join(f"{name} {_score(rows[name]['score_median'])} → {_score(rows[name]['score_draw0_trained'])}"
                      for name in RANDOM_LAYERS)
    return (
        f"Checkerboard score of a flat input at ×{s} (√ of the energy fraction at the Nyquist-phase frequencies; 0 = "
        f"no periodic pattern), median of {config.checker_draws} random initialisations → the first draw after "
        f"training (ESPCN: the trained model): {pairs}; k=4 "
        + ("checkers too, although its overlap counts are even" if k4 > 0.1 else "does not checker")
        + ", and ICNR and resize-conv start exactly flat."
    )


def _findings(config: Config, means: dict, per_image: dict, training: dict, equality: dict, checker: list[dict],
              unpool_fraction: dict, learned: tuple[dict, dict, dict]) -> list[str]:
    def p(m: str, s: int) -> float:
        return means[m][s]["psnr"]

    cases = len(IMAGES) * len(config.scales)
    wins = {m: sum(per_image[m][s][n]["psnr"] > per_image["nearest"][s][n]["psnr"] for s in config.scales for n in IMAGES)
            for m in ("bilinear", _BICUBIC)}
    ranking = []
    for s in config.scales:
        order = sorted(METHODS, key=lambda m: -p(m, s))
        ranking.append(f"at ×{s} {order[0]} {p(order[0], s):.2f}, {order[1]} {p(order[1], s):.2f}, {order[2]} "
                       f"{p(order[2], s):.2f}, ..., last {order[-1]} {p(order[-1], s):.2f}")
    bicubic = _BICUBIC
    gaps = "; ".join(
        f"at ×{s} it gains {p(bicubic, s) - p('nearest', s):+.2f} dB over nearest and "
        f"{p(bicubic, s) - p('bilinear', s):+.2f} dB over bilinear, and a=-0.5 scores "
        f"{p('bicubic a=-0.5', s) - p(bicubic, s):+.2f} dB relative to a=-0.75" for s in config.scales)
    trained = "; ".join(
        f"at ×{s} " + ", ".join(f"{_plain(m)} {p(m, s) - p(bicubic, s):+.2f} dB" for m in TRAINED)
        for s in config.scales)
    beat = sum(p(m, s) > p(bicubic, s) for m in TRAINED for s in config.scales)
    epochs = next(iter(training.values()))[TRAINED[0]]["epochs"]
    steps = next(iter(training.values()))[TRAINED[0]]["steps"]
    return [
        "Interpolations and single layers, mean PSNR (dB) over the four held-out test images, best first: "
        + "; ".join(ranking) + ".",
        f"Bicubic a=-0.75 against the simpler interpolations: {gaps}; image by image, bicubic a=-0.75 beats nearest "
        f"in {wins[_BICUBIC]} and bilinear beats nearest in {wins['bilinear']} of {cases} (image, scale) cases.",
        f"The single trained layers, fitted to this very downsampling model on other images ({epochs} epoch"
        f"{'s' if epochs != 1 else ''}, {steps} steps of {config.batch_size} patches), against bicubic a=-0.75: {trained}; "
        f"{beat} of {len(TRAINED) * len(config.scales)} trained cases beat bicubic. Untrained, the transposed "
        "convolution with FCN's bilinear kernel equals bilinear interpolation to "
        + ", ".join(f"{equality[s]:.1e} at ×{s}" for s in config.scales) + ".",
        _learned_finding(config, *learned),
        _checker_finding(config, checker),
        "Max-unpooling puts each window's maximum back at its argmax and zeros elsewhere (non-zero fraction "
        + ", ".join(f"{unpool_fraction[s]:.3f} at ×{s}" for s in config.scales) + "), so its PSNR is "
        + ", ".join(f"{p(_UNPOOL, s):.2f} dB at ×{s}" for s in config.scales)
        + ": it restores where the maxima were, not the image.",
    ]


def _score(value: float) -> str:
    """A checkerboard score: three decimals, or two significant digits below 0.001 ("0" when exactly 0)."""
    return f"{value:.3f}" if value >= 1e-3 else _small(value)


def _small(value: float) -> str:
    """A score near zero: "0" when exactly 0, else two significant digits."""
    return "0" if value == 0 else f"{value:.1e}"


def _plain(method: str) -> str:
    """A trained method's name without " (trained)"."""
    return method.replace(" (trained)", "")


# ----------------------------------------------------------------------------------------
# The experiment


def _evaluate(config: Config, images: dict, train: list, figures: list, out_dir: Path) -> tuple[dict, ...]:
    """Train and score every method at every scale; draw the zoomed crops."""
    per_image = {m: {s: {} for s in config.scales} for m in METHODS}
    training, layers_by_scale, equality, unpool_fraction, zooms = {}, {}, {}, {}, {}
    for s in config.scales:
        log.info("x%d: training %s", s, ", ".join(TRAINED))
        layers = layers_by_scale[s] = make_layers(config, s)
        training[s] = _train(config, layers, train, s)
        lows = low_resolution(images, s)
        equality[s], nonzero = 0.0, []
        for name, truth in images.items():
            estimates = _estimates(lows[name], truth, s, layers)
            for m, est in estimates.items():
                per_image[m][s][name] = {"psnr": psnr(truth, est), "ssim": ssim(truth, est)}
            equality[s] = max(equality[s], float(np.abs(estimates[_BILINEAR_TCONV] - estimates["bilinear"]).max()))
            nonzero.append(float(np.count_nonzero(estimates[_UNPOOL]) / truth.size))
            if (name, s) in (config.zooms_quick if config.quick else config.zooms):
                scores = {m: per_image[m][s][name]["psnr"] for m in METHODS}
                stem, window = _zoom_figure(config, name, s, truth, lows[name], estimates, scores, out_dir)
                zooms[stem] = (name, s, window)
        unpool_fraction[s] = float(np.mean(nonzero))
    for stem, (name, s, (top, left, size)) in zooms.items():
        figures.append({"stem": stem, "caption": (
            f"{name} at ×{s}: a {size}×{size} crop (rows {top}–{top + size - 1}, columns {left}–{left + size - 1}, "
            "the window with the most gradient energy) of the truth, the low-resolution input and every method, "
            "shared grey range [0, 1], pixels shown as squares; titles give the PSNR of the whole image. "
            "Max-unpooling starts from the max-pooled input (last panel) and also knows where the maxima were.")})
    return per_image, training, layers_by_scale, equality, unpool_fraction


def _round_scores(rows: list[dict]) -> list[dict]:
    """The checkerboard rows with every score rounded to 3 significant digits (empty cells stay empty)."""
    return [{k: float(f"{v:.3g}") if k.startswith("score") and isinstance(v, float) else v for k, v in r.items()}
            for r in rows]


def _table_captions(config: Config) -> dict[str, str]:
    scales = ", ".join(f"×{s}" for s in config.learned_scales)
    return {
        "scores": "Mean PSNR (dB) and SSIM over the four test images (held out from training) after downsampling "
        "by 2 and 4 (antialiased bicubic, as the training pairs) and upsampling back; max-unpooling instead "
        "starts from the max-pooled image and its argmax indices.",
        "psnr_per_image": "PSNR (dB) of every method on every test image, per scale.",
        "training": "The trained single layers: kernel size, parameters, training length and time, MSE on the whole "
        "training images before (the initial interpolation) and after training, and test PSNR against bicubic "
        "a=−0.75.",
        "learned": f"The trained ESPCN and bicubic-initialised transposed convolution (luminance models of "
        f"learned.pretrained) against bicubic a=−0.75 at {scales} on the four held-out test images, cropped at the "
        "bottom and right to a multiple of the factor (crop): mean PSNR (dB) and SSIM, gain over bicubic, images on "
        "which the model beats bicubic, PSNR per image; parameters, weights file size and training steps and "
        "seconds (2 PyTorch threads; for shipped weights, as recorded when they were trained).",
        "checkerboard": "Checkerboard score of each layer's output for a flat input (std of the sub-pixel phase "
        "means / RMS = √ of the energy fraction at the Nyquist-phase frequencies; 0 = no periodic pattern): random "
        f"layers over {config.checker_draws} seeded draws (median, min, max), their first draw before and after "
        "training (score_draw0, score_draw0_trained; for ESPCN the trained model), and the fixed and trained layers "
        "of the comparisons.",
    }


def _figure_captions(config: Config) -> dict[str, str]:
    s = config.checker_scale
    return {
        "learned": f"{config.learned_zoom}, one row per factor: the same crop (the window with the most gradient "
        "energy) of the truth, bicubic a=−0.75, the trained bicubic-initialised transposed convolution and ESPCN, "
        "grey range [0, 1]; titles give the PSNR of the whole image. Last column: what ESPCN adds to bicubic "
        "(red positive, blue negative, ±0.15).",
        "checkerboard": f"Checkerboards at stride {s}. Left: how many kernel copies a transposed convolution adds "
        f"into each output pixel of a {config.overlap_input}×{config.overlap_input} input (uneven for k=3, even "
        "inside for k=4). Right: the output of a flat input as deviation from its mean in units of its RMS, top "
        "through seeded randomly initialised layers (range ±1; pixel shuffle: an independent kernel per sub-pixel), bottom through the same draws after training and "
        f"the trained ESPCN (range ±{config.checker_after_range:g}: the patterns that remain are small); the score "
        "is the spread of the sub-pixel phase means over the RMS.",
    }


def run(config: Config, out_dir: Path, *, started: float | None = None) -> dict:
    """Upsample, train, score, study checkerboards; write metrics, tables and figures into ``out_dir``."""
    import torch

    import learned

    start = time.perf_counter() if started is None else started
    images = test_images(config.quick)
    train = _training_images(config)
    figures: list[dict] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        per_image, training, layers, equality, unpool_fraction = _evaluate(config, images, train, figures, out_dir)
        log.info("trained models at %s", ", ".join(f"x{s}" for s in config.learned_scales))
        shipped, made = learned_models(config, out_dir)
        learned_per_image, learned_shown = _evaluate_learned(config, images, shipped)
        log.info("checkerboard study")
        checker_rows, shown = _checkerboard_study(config, layers, shipped, train)
    finally:
        torch.set_num_threads(threads)
    score_rows, image_rows, means = _score_tables(config, per_image)
    learned_rows, learned_means = _learned_rows(config, learned_per_image, made)
    captions = _figure_captions(config)
    stem, _ = _learned_figure(config, learned_shown, learned_per_image, out_dir)
    figures.append({"stem": stem, "caption": captions["learned"]})
    figures.append({"stem": _checkerboard_figure(config, shown, out_dir), "caption": captions["checkerboard"]})
    results = {
        "mean": {m: {f"x{s}": v for s, v in by_scale.items()} for m, by_scale in means.items()},
        "per_image": {m: {f"x{s}": v for s, v in by_scale.items()} for m, by_scale in per_image.items()},
        "bilinear_tconv_max_difference": {f"x{s}": v for s, v in equality.items()},
        "unpool_nonzero_fraction": {f"x{s}": v for s, v in unpool_fraction.items()},
        "training": {f"x{s}": {m: {k: v for k, v in info[m].items()} for m in TRAINED}
                     for s, info in training.items()},
        "training_reference_mse": {f"x{s}": info["reference"] for s, info in training.items()},
        "learned_mean": {m: {f"x{s}": v for s, v in by_scale.items()} for m, by_scale in learned_means.items()},
        "learned_per_image": {m: {f"x{s}": v for s, v in by_scale.items()} for m, by_scale in learned_per_image.items()},
        "learned_models": {f"x{s}": info for s, info in made.items()},
        "checkerboard": checker_rows,
        "overlap_period": {f"k{k}": learned.overlap_map(k, config.checker_scale).tolist() for k in (3, 4)},
        "overlap_full": {f"k{k}": learned.overlap_map(k, config.checker_scale, input_size=config.overlap_input).tolist()
                         for k in (3, 4)},
        "figures": figures,
        "table_captions": _table_captions(config),
    }
    results["findings"] = _findings(config, means, per_image, training, equality, checker_rows, unpool_fraction,
                                    (learned_means, learned_per_image, made))
    write_metrics(
        out_dir,
        meta=metadata(seed=config.seed, seconds=time.perf_counter() - start),
        config=config,
        results=results,
        tables={"scores": score_rows, "psnr_per_image": image_rows, "training": _training_rows(config, training, means),
                "learned": learned_rows, "checkerboard": _round_scores(checker_rows)},
    )
    return results
