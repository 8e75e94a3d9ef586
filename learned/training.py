"""Training an upsampler on (low-res, high-res) patch pairs, and saving its weights.

:func:`fit_upsampler` is deliberately small: Adam, an L1 or L2 loss, random patches, the
CPU. It is meant for the experiments that compare upsamplers (does a transposed
convolution learn more than bilinear interpolation? does it grow checkerboards?), not
for state-of-the-art super-resolution.

Degradation model: the low-resolution image is the high-resolution one (cropped to a
multiple of ``scale``) downsampled by ``F.interpolate(mode="bicubic", antialias=True,
align_corners=False)`` — PyTorch's antialiased bicubic resize, which uses Keys' ``a = -0.5``
and a kernel stretched by ``scale``: it equals PIL's ``Image.resize(..., BICUBIC)`` (to 2e-7
on float images, measured) and is the same kind of filter as MATLAB's ``imresize``. Not
``a = -0.75``: that is PyTorch's *non*-antialiased bicubic. Low-resolution values are not
clipped.

Reproducibility: every random draw of the training loop (which image, which patch) comes
from a NumPy Generator built from ``rng``, and no PyTorch random function is called, so the
same model initialisation, data and ``rng`` give the same loss history and weights on the
same machine and thread count. :func:`torch.use_deterministic_algorithms` is a global
switch and is left alone; the CPU kernels used here are deterministic in practice, which
the tests check.
"""

from __future__ import annotations

import math
import os
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from deconvkit._validation import as_float_image, as_generator, check_choice, check_number
from deconvkit.errors import InvalidParameterError, WeightsFileError

__all__ = ["fit_upsampler", "make_pairs", "save_weights", "load_weights"]


def make_pairs(images: Sequence[Any], scale: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(low-res, high-res) float32 tensors ``(C, h, w)`` and ``(C, s h, s w)`` from images.

    Each ``(H, W)`` or ``(H, W, C)`` image in [0, 1] (uint8/uint16 samples are scaled by
    255/65535 as on reading) is cropped to a multiple of ``scale``
    (bottom and right rows and columns dropped) and downsampled with antialiased bicubic
    interpolation (module docstring). All images must have the same number of channels.
    """
    s = check_number("scale", scale, low=1, integer=True)
    if isinstance(images, np.ndarray) or not isinstance(images, Sequence) or len(images) == 0:
        raise InvalidParameterError(f"images must be a non-empty list of (H, W[, C]) arrays, got {type(images).__name__}")
    pairs = []
    n_channels = None
    for i, image in enumerate(images):
        raw = np.asarray(image) if isinstance(image, np.ndarray) else image
        if isinstance(raw, np.ndarray) and raw.dtype in (np.uint8, np.uint16):  # samples: as deconvkit.io reads them
            raw = raw / float(np.iinfo(raw.dtype).max)
        elif isinstance(raw, np.ndarray) and raw.dtype.kind in "biu":
            raise InvalidParameterError(
                f"images[{i}]: {raw.dtype} samples are ambiguous; pass floats in [0, 1] (or uint8/uint16)"
            )
        arr = as_float_image(raw, name=f"images[{i}]")
        arr = arr[:, :, None] if arr.ndim == 2 else arr
        h, w, c = arr.shape
        if n_channels is None:
            n_channels = c
        elif c != n_channels:
            raise InvalidParameterError(f"images[{i}] has {c} channels, images[0] has {n_channels}")
        if h < s or w < s:
            raise InvalidParameterError(f"images[{i}] of shape {arr.shape} is smaller than scale {s}")
        h, w = h - h % s, w - w % s
        hr = torch.from_numpy(np.ascontiguousarray(arr[:h, :w].transpose(2, 0, 1), dtype=np.float32))
        lr = F.interpolate(hr[None], size=(h // s, w // s), mode="bicubic", antialias=True, align_corners=False)[0]
        pairs.append((lr, hr))
    return pairs


def fit_upsampler(
    model: nn.Module,
    images: Sequence[Any],
    *,
    scale: int,
    epochs: int | None = None,
    time_budget: float | None = None,
    patch_size: int = 48,
    batch_size: int = 16,
    lr: float = 1e-3,
    rng: Any = 0,
    progress: bool = True,
    loss: str = "l1",
    steps: int | None = None,
    augment: bool = False,
    schedule: str = "constant",
    border: int = 0,
) -> list[float]:
    """Train ``model`` to map low-resolution patches to their high-resolution originals.

    Parameters
    ----------
    model : nn.Module
        An upsampler ``(N, C, h, w) -> (N, C, s h, s w)`` with trainable parameters, e.g.
        from :mod:`learned.modules`. Trained in place on the device of its parameters, in
        their dtype. :class:`~learned.modules.UnpoolingUpsampler` and
        :class:`~learned.modules.InterpolationUpsampler` have nothing to train and are refused.
    images : list of (H, W) or (H, W, C) arrays
        Training images in [0, 1], all with the same channel count ``C`` (the model's).
        Pairs are made by :func:`make_pairs` (antialiased bicubic downsampling).
    scale : int
        Upsampling factor ``s``; must match ``model.scale`` when the model has one.
    epochs : int, optional
        Number of epochs. An epoch is ``ceil(P_total / (patch² · batch_size))`` steps, where
        ``P_total`` is the number of high-res pixels: about as many patches as cover the
        data once.
    time_budget : float, optional
        Wall-clock limit in seconds, checked after every step (at least one step runs).
        Training stops at whichever of ``epochs`` (or ``steps``) and ``time_budget`` comes
        first; at least one must be given. Not reproducible: prefer ``epochs`` or ``steps``.
    patch_size : int, optional
        High-res patch side (default 48), reduced to the smallest image side if needed and
        rounded down to a multiple of ``s``. Low-res patches are ``patch / s``.
    batch_size : int, optional
        Patches per step (default 16). Patches are drawn uniformly over all high-res pixel
        positions (images weighted by their number of patch positions).
    lr : float, optional
        Adam learning rate (default 1e-3).
    rng : int, numpy.random.Generator or None, optional
        Seed of the patch sampling (default 0). Model initialisation is the model's own.
    progress : bool, optional
        Show a tqdm progress bar on stderr (default True).
    loss : {"l1", "l2"}, optional
        Mean absolute (default) or mean squared error.
    steps : int, optional
        Number of optimisation steps instead of ``epochs`` (give one of the two, or neither
        with ``time_budget``).
    augment : bool, optional
        Apply one of the 8 flips and 90° rotations of the square, drawn uniformly, to each
        patch pair (default False). Exact: the antialiased bicubic downsampling of
        :func:`make_pairs` commutes with them (separable, symmetric, sizes multiples of ``s``).
    schedule : {"constant", "cosine"}, optional
        Learning rate: constant (default), or cosine annealing from ``lr`` to 0 over the
        planned steps (Loshchilov & Hutter 2017; needs ``epochs`` or ``steps``).
    border : int, optional
        High-res pixels left out of the loss at every patch edge (default 0): there the
        model sees its own padding instead of the image around the patch.

    Returns
    -------
    history : list of float
        Mean training loss of each epoch; when ``time_budget`` or ``steps`` stops training
        in the middle of an epoch, the last entry is the mean over the steps of that partial
        epoch.

    Raises
    ------
    InvalidParameterError
        For a model without trainable parameters, a scale or channel mismatch, or bad
        arguments.
    """
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise InvalidParameterError(
            f"model {type(model).__name__} has no trainable parameters; there is nothing to fit "
            "(unpooling and interpolation upsamplers are fixed)"
        )
    s = check_number("scale", scale, low=1, integer=True)
    model_scale = getattr(model, "scale", None)
    if model_scale is not None and model_scale != s:
        raise InvalidParameterError(f"scale {s} does not match the model's scale {model_scale}")
    if epochs is None and steps is None and time_budget is None:
        raise InvalidParameterError("give epochs or time_budget (or steps), got none of them")
    if epochs is not None and steps is not None:
        raise InvalidParameterError(f"give epochs or steps, not both (got epochs={epochs!r}, steps={steps!r})")
    if epochs is not None:
        epochs = check_number("epochs", epochs, low=1, integer=True)
    if steps is not None:
        steps = check_number("steps", steps, low=1, integer=True)
    if not isinstance(augment, bool):
        raise InvalidParameterError(f"augment must be True or False, got {augment!r}")
    check_choice("schedule", schedule, ("constant", "cosine"))
    if schedule == "cosine" and epochs is None and steps is None:
        raise InvalidParameterError("schedule='cosine' needs epochs or steps (the length to anneal over)")
    border = check_number("border", border, low=0, integer=True)
    if time_budget is not None:
        time_budget = float(check_number("time_budget", time_budget, low=0, low_open=True))
    patch_size = check_number("patch_size", patch_size, low=1, integer=True)
    batch_size = check_number("batch_size", batch_size, low=1, integer=True)
    lr = float(check_number("lr", lr, low=0, low_open=True))
    check_choice("loss", loss, ("l1", "l2"))
    gen = as_generator(rng)

    pairs = make_pairs(images, s)
    n_channels = pairs[0][1].shape[0]
    model_channels = getattr(model, "channels", None)
    if model_channels is not None and model_channels != n_channels:
        raise InvalidParameterError(f"images have {n_channels} channel(s), the model expects {model_channels}")
    smallest = min(min(hr.shape[1:]) for _, hr in pairs)
    hr_patch = min(patch_size, smallest) // s * s
    if hr_patch < s:
        raise InvalidParameterError(f"patch_size {patch_size} is smaller than scale {s}")
    lr_patch = hr_patch // s
    if 2 * border >= hr_patch:
        raise InvalidParameterError(f"border {border} leaves nothing of the {hr_patch}×{hr_patch} high-res patches")
    device, dtype = params[0].device, params[0].dtype
    pairs = [(lo.to(device, dtype), hi.to(device, dtype)) for lo, hi in pairs]
    # Number of patch positions per image: sampling images in proportion to it makes every
    # position of the whole set equally likely.
    positions = np.array([(lo.shape[1] - lr_patch + 1) * (lo.shape[2] - lr_patch + 1) for lo, _ in pairs], float)
    weights = positions / positions.sum()
    total_pixels = sum(hi.shape[1] * hi.shape[2] for _, hi in pairs)
    steps_per_epoch = max(1, math.ceil(total_pixels / (hr_patch * hr_patch * batch_size)))
    loss_fn = F.l1_loss if loss == "l1" else F.mse_loss
    optimizer = torch.optim.Adam(params, lr=lr)
    total = steps if steps is not None else None if epochs is None else epochs * steps_per_epoch
    scheduler = None
    if schedule == "cosine":
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    inner = slice(border, hr_patch - border)

    def batch() -> tuple[torch.Tensor, torch.Tensor]:
        which = gen.choice(len(pairs), size=batch_size, p=weights)
        xs, ys = [], []
        for i in which:
            lo, hi = pairs[i]
            r = int(gen.integers(lo.shape[1] - lr_patch + 1))
            c = int(gen.integers(lo.shape[2] - lr_patch + 1))
            x = lo[:, r : r + lr_patch, c : c + lr_patch]
            y = hi[:, r * s : r * s + hr_patch, c * s : c * s + hr_patch]
            if augment:
                k = int(gen.integers(8))
                x, y = torch.rot90(x, k % 4, dims=(1, 2)), torch.rot90(y, k % 4, dims=(1, 2))
                if k >= 4:
                    x, y = x.flip(2), y.flip(2)
            xs.append(x)
            ys.append(y)
        return torch.stack(xs), torch.stack(ys)

    history: list[float] = []
    was_training = model.training
    model.train()
    start = time.perf_counter()
    done = 0
    try:
        with tqdm(total=total, desc="fit", unit="step", file=sys.stderr, disable=not progress, leave=False) as bar:
            epoch = 0
            stop = False
            while (total is None or done < total) and not stop:
                losses = []
                for _ in range(steps_per_epoch):
                    x, y = batch()
                    optimizer.zero_grad(set_to_none=True)
                    value = loss_fn(model(x)[..., inner, inner], y[..., inner, inner])
                    value.backward()
                    optimizer.step()
                    if scheduler is not None:
                        scheduler.step()
                    done += 1
                    losses.append(float(value.detach()))
                    bar.update(1)
                    bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.4g}", refresh=False)
                    out_of_time = time_budget is not None and time.perf_counter() - start >= time_budget
                    if out_of_time or done == total:
                        stop = out_of_time
                        break
                history.append(float(np.mean(losses)))
                epoch += 1
    finally:
        model.train(was_training)
    return history


def save_weights(model: nn.Module, path: str | os.PathLike) -> Path:
    """Save ``model.state_dict()`` to ``path`` atomically (temporary file, then ``os.replace``).

    An existing file is replaced; a crash mid-write leaves the old file (or none), never a
    truncated one. Returns the path. Raises :class:`WeightsFileError` if the folder does not
    exist or cannot be written.
    """
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    target = Path(path)
    if not target.parent.is_dir():
        raise WeightsFileError(f"cannot save weights to {str(target)!r}: folder {str(target.parent)!r} does not exist")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    tmp = target.parent / f".{target.name}.{uuid.uuid4().hex[:12]}.tmp"
    try:
        # Mode 0o666 less the umask, as any new file (tempfile's would be 0o600).
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WeightsFileError(f"cannot save weights to {str(target)!r}: {exc}") from exc
    return target


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load a ``state_dict`` saved by :func:`save_weights` into ``model`` (in place) and return it.

    Uses ``torch.load(path, weights_only=True)``: only tensors and plain containers are
    unpickled, never arbitrary objects. Tensors are moved to the model's device.

    Raises
    ------
    WeightsFileError
        If the file is missing, unreadable or not a PyTorch weights file.
    InvalidParameterError
        If its keys or tensor shapes do not match the model's (all differences listed).
    """
    if not isinstance(model, nn.Module):
        raise InvalidParameterError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    source = Path(path)
    if not source.is_file():
        raise WeightsFileError(f"weights file {str(source)!r} does not exist")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises RuntimeError, UnpicklingError, EOFError...
        # Only the first line of torch's message: the rest suggests weights_only=False, which
        # would execute whatever an untrusted file contains.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise WeightsFileError(
            f"{str(source)!r} is not a readable PyTorch weights file ({type(exc).__name__}: {first})"
        ) from exc
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsFileError(f"{str(source)!r} does not hold a state_dict (a mapping of names to tensors)")
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = [
        f"{k}: file {tuple(state[k].shape)}, model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if wrong:
            parts.append(f"shape mismatches [{'; '.join(wrong)}]")
        raise InvalidParameterError(
            f"weights in {str(source)!r} do not fit {type(model).__name__}: " + ", ".join(parts)
        )
    model.load_state_dict(state, strict=True)
    return model
