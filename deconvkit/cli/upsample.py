"""``deconvkit upsample``: enlarge images by 2, 3 or 4 with a trained network or interpolation."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click

from deconvkit.cli.options import (
    check_output_path,
    finite,
    inputs_and_outputs,
    output_targets,
    overwrite_option,
    report_batch,
    write_output,
)

log = logging.getLogger("deconvkit")

#: the --method choices (learned.upsample.UPSAMPLE_METHODS, without importing NumPy here)
METHODS = ("learned", "learned-transposed", "nearest", "nearest-exact", "bilinear", "bicubic", "area", "transposed")
_LEARNED = ("learned", "learned-transposed")
_LEARNED_SCALES = (2, 3, 4)
# Bytes per output pixel and channel: the float32 result, the float32 input scaled up and
# the integer samples written, with some slack.
_WORK_BYTES_PER_SAMPLE = 12


@dataclass(frozen=True)
class UpsampleJob:
    """Everything one file needs."""

    source: Path
    target: Path
    scale: int
    method: str
    cubic_a: float
    overwrite: bool


def run_job(job: UpsampleJob, *, model: object = None) -> float:
    """Read, upsample and write one image; return the seconds it took. Raises on failure.

    The image is read as float32 in [0, 1] and upsampled by :func:`learned.upsample.upsample_image`;
    the output keeps the input's bit depth (8 or 16; float TIFF gives 16) and its alpha
    channel where the format allows (JPEG drops it, with a warning).
    """
    import numpy as np

    from deconvkit.io import ensure_memory, image_info, read_image
    from learned.upsample import upsample_image

    start = time.perf_counter()
    header = image_info(job.source)
    ensure_memory(
        header.height * header.width * header.channels * job.scale**2 * _WORK_BYTES_PER_SAMPLE,
        f"upsampling {str(job.source)!r} ({header.width}x{header.height}) by {job.scale}",
    )
    image, info = read_image(job.source, dtype=np.float32, with_info=True)
    result = upsample_image(image, job.scale, method=job.method, cubic_a=job.cubic_a, model=model)
    del image
    write_output(job.target, result, input_bit_depth=info.bit_depth, overwrite=job.overwrite)
    return time.perf_counter() - start


@click.command("upsample")
@inputs_and_outputs
@click.option("--scale", type=click.IntRange(min=2, max=8), default=2, show_default=True,
              help="Integer factor; the learned methods have weights for 2, 3 and 4.")
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default="learned",
    show_default=True,
    help="learned: the shipped ESPCN network (luminance; colour via bicubic chroma). learned-transposed: the "
    "shipped trained transposed convolution. transposed: a transposed convolution with the fixed bicubic kernel "
    "(equal to bicubic). The rest are interpolations with half-pixel centres.",
)
@click.option("--cubic-a", type=finite, help="Keys' a for bicubic and transposed (default -0.75; PIL uses -0.5).")
@overwrite_option
@click.pass_context
def upsample_command(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    output: Path | None,
    out_dir: Path | None,
    scale: int,
    method: str,
    cubic_a: float | None,
    overwrite: bool,
) -> None:
    """Upsample images INPUTS by --scale.

    The default method is a small sub-pixel network (ESPCN) trained on bundled photos,
    shipped with the package: it adds to bicubic interpolation what bicubic misses, on
    the luminance channel. Outputs keep the input's bit depth (8 or 16) and alpha channel
    where the format allows. One failing file does not stop the others; the exit code is
    1 if any failed.

    \b
    Examples:
      deconvkit upsample small.png -o large.png --scale 2
      deconvkit upsample photos/*.jpg --out-dir big/ --scale 3 --method bicubic --cubic-a -0.5
    """
    inputs_list = list(inputs)
    if cubic_a is not None and method not in ("bicubic", "transposed"):
        raise click.UsageError(f"--cubic-a applies to --method bicubic and transposed only, not {method}")
    if method in _LEARNED and scale not in _LEARNED_SCALES:
        raise click.UsageError(f"--method {method} has trained weights for --scale 2, 3 and 4, got {scale}")
    targets = output_targets(inputs_list, output, out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for target in targets:
        check_output_path(target, inputs_list, overwrite)
    work = [UpsampleJob(src, dst, scale, method, -0.75 if cubic_a is None else cubic_a, overwrite)
            for src, dst in zip(inputs_list, targets)]
    obj = ctx.obj or {}
    failures = _run_all(work, quiet=obj.get("quiet", False))
    report_batch(ctx, "upsampled", len(work), failures)


def _run_all(work: list[UpsampleJob], *, quiet: bool) -> list[tuple[Path, str]]:
    """Run the jobs one after the other (the network uses every core); return (input, message) failures."""
    from tqdm import tqdm

    from deconvkit.errors import DeconvkitError

    failures: list[tuple[Path, str]] = []
    model = None
    if work and work[0].method in _LEARNED:  # load the weights once for the whole batch
        from learned.pretrained import load_pretrained
        from learned.upsample import LEARNED_METHODS

        try:
            model = load_pretrained(LEARNED_METHODS[work[0].method], work[0].scale)
        except DeconvkitError as exc:
            return [(job.source, str(exc)) for job in work]
    with tqdm(total=len(work), unit="image", file=sys.stderr, disable=quiet or len(work) == 1) as bar:
        for job in work:
            try:
                seconds = run_job(job, model=model)
                log.info("%s -> %s (%.2f s)", job.source, job.target, seconds)
            except (DeconvkitError, OSError) as exc:
                failures.append((job.source, str(exc)))
            except Exception as exc:  # one bad file must not stop the batch
                log.debug("unexpected error on %s", job.source, exc_info=exc)
                failures.append((job.source, f"unexpected {type(exc).__name__}: {exc}"))
            bar.update()
    return failures
