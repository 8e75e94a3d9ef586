"""``deconvkit deblur``: deconvolve photos with a known PSF."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from deconvkit.cli.options import (
    check_output_path,
    finite,
    inputs_and_outputs,
    nsr_value,
    output_targets,
    overwrite_option,
    psf_options_with_auto,
    report_batch,
    write_output,
)

log = logging.getLogger("deconvkit")

# Bytes per pixel a deblur needs: input and output samples per channel (at most 4 bytes
# each, float TIFF), plus one padded float32 channel, its half spectrum, the inverse FFT's
# output, the filter and a spectral NSR (about 4 + 4 + 4 + 2 + 2), with some slack.
_WORK_BYTES_PER_CHANNEL = 8
_WORK_BYTES_PER_PIXEL = 22
# Smallest side for which an NSR is estimated (the spectral analysis needs 32 pixels);
# smaller images get restore.wiener's default.
_MIN_AUTO_NSR_SIDE = 32


@dataclass(frozen=True)
class DeblurJob:
    """Everything one file needs; picklable so it can cross to a worker process."""

    source: Path
    target: Path
    psf: Any  # None: estimate it from the image (--blur auto)
    method: str
    nsr: float | str | None  # "auto": estimated from the image and the PSF
    snr_db: float | None
    reg: str
    boundary: str
    iterations: int
    overwrite: bool
    fft_workers: int


def run_job(job: DeblurJob) -> tuple[float, list[str]]:
    """Read, deblur and write one image; return the seconds it took and notes on what was
    chosen automatically (``--blur auto``, ``--nsr auto``). Raises on failure.

    The samples stay integers end to end (uint8/uint16 in, the same out): each channel is
    converted to float32 only inside the FFT buffers, and the result is rounded straight
    into the output samples. No float copy of the whole image is made, which on large photos
    is most of the memory and, through first-touch page faults, much of the time. The
    estimates read only a centred crop of at most 1024 x 1024 pixels.
    """
    import numpy as np

    import restore
    from deconvkit.io import ensure_memory, image_info, read_samples

    start = time.perf_counter()
    header = image_info(job.source)
    ensure_memory(
        header.height * header.width * (header.channels * _WORK_BYTES_PER_CHANNEL + _WORK_BYTES_PER_PIXEL),
        f"deblurring {str(job.source)!r} ({header.width}x{header.height})",
    )
    samples, info = read_samples(job.source)
    result = np.empty_like(samples)
    colour, target = samples, result
    if samples.ndim == 3 and samples.shape[2] == 4:  # alpha passes through unchanged
        colour, target = samples[..., :3], result[..., :3]
        result[..., 3] = samples[..., 3]
    notes: list[str] = []
    psf, nsr = job.psf, job.nsr
    if psf is None:
        found = restore.estimate_blur(colour)
        notes.append(f"blur auto: {found.describe(full_scale=_full_scale(samples.dtype))}")
        psf = found.psf() if found.kind != "none" else None
    if psf is None:
        notes.append("no deblurring: the image is written unchanged")
        target[...] = colour
    else:
        if job.method == "wiener" and nsr == "auto":
            nsr, note = _auto_nsr(colour, psf, reg=job.reg)
            notes.append(note)
        options = {"boundary": job.boundary, "workers": job.fft_workers, "dtype": np.float32, "out": target}
        if job.method == "wiener":
            restore.wiener(colour, psf, nsr=nsr, snr_db=job.snr_db, reg=job.reg, **options)
        else:
            restore.richardson_lucy(colour, psf, num_iter=job.iterations, **options)
    if result.dtype.kind == "f":  # float TIFF samples: values are already in [0, 1] units
        result = result.astype(np.float32, copy=False)
    write_output(job.target, result, input_bit_depth=info.bit_depth, overwrite=job.overwrite)
    return time.perf_counter() - start, notes


def _auto_nsr(colour: Any, psf: Any, *, reg: str) -> tuple[Any, str]:
    """The NSR to pass to wiener for ``--nsr auto`` and a note on what was fitted.

    ``reg="identity"``: the fitted :class:`restore.NaturalSpectrum` (wiener turns it into
    the spectral NSR on its own DFT grid);
    ``reg="laplacian"``: the fitted constant, computed here once. Tiny images get the
    default NSR.
    """
    import restore
    from restore.nsr import auto_nsr
    from restore.wiener import DEFAULT_NSR

    if min(colour.shape[:2]) < _MIN_AUTO_NSR_SIDE:
        return DEFAULT_NSR, f"nsr auto: image smaller than {_MIN_AUTO_NSR_SIDE} px, nsr {DEFAULT_NSR:g} used"
    if reg == "laplacian":
        constant = float(auto_nsr(colour, psf, colour.shape[:2], reg="laplacian"))
        return constant, f"nsr auto: {constant:.3g} x |D|^2 (the constant best under the fitted image spectrum)"
    model = restore.fit_natural_spectrum(colour, psf)  # fitted once: wiener uses this model
    sigma = model.noise_sigma / _full_scale(colour.dtype)
    return model, (
        f"nsr auto: sigma^2 / S(f) + {model.boundary:.2g} with S(f) = A |f|^-{model.exponent:.2f}, noise sigma {sigma:.4f}"
    )


def _full_scale(dtype: Any) -> float:
    """White level of samples of ``dtype``: 255 or 65535 for integers, 1 for floats."""
    import numpy as np

    return float(np.iinfo(dtype).max) if np.dtype(dtype).kind == "u" else 1.0


@click.command("deblur")
@inputs_and_outputs
@psf_options_with_auto
@click.option(
    "--nsr",
    type=nsr_value,
    help="Noise-to-signal power ratio, or auto (default for wiener): estimated from each image and the PSF.",
)
@click.option("--snr-db", type=finite, help="Signal-to-noise ratio in dB instead of --nsr: nsr = 10^(-snr/10).")
@click.option(
    "--reg",
    type=click.Choice(["identity", "laplacian"]),
    help="Wiener regulariser: identity (classic, default) or laplacian (constrained least squares).",
)
@click.option(
    "--boundary",
    type=click.Choice(["symmetric", "wrap", "edgetaper"]),
    default="symmetric",
    show_default=True,
    help="Border handling: mirror padding, periodic, or MATLAB-style edge tapering.",
)
@click.option(
    "--method",
    type=click.Choice(["wiener", "richardson-lucy"]),
    default="wiener",
    show_default=True,
)
@click.option("--iterations", type=click.IntRange(min=1), help="Richardson-Lucy iterations (default 30).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Parallel processes for several inputs (default: CPU cores).")
@overwrite_option
@click.pass_context
def deblur_command(
    ctx: click.Context,
    inputs: tuple[Path, ...],
    output: Path | None,
    out_dir: Path | None,
    psf: Any,
    psf_file: Path | None,
    nsr: float | str | None,
    snr_db: float | None,
    reg: str | None,
    boundary: str,
    method: str,
    iterations: int | None,
    jobs: int | None,
    overwrite: bool,
) -> None:
    """Deblur images INPUTS with a known or estimated PSF.

    The PSF is parametric (--blur), read from a file (--psf), or estimated from each image
    (--blur auto: motion, defocus or none; the choice is reported on stderr). Wiener
    deconvolution (default) computes conj(H) Y / (|H|^2 + nsr |D|^2) with real FFTs; its
    NSR is estimated from each image unless --nsr or --snr-db is given. Richardson-Lucy
    iterates. Outputs keep the input's bit depth (8 or 16) and alpha channel where the
    format allows. One failing file does not stop the others; the exit code is 1 if any
    failed.

    \b
    Examples:
      deconvkit deblur blurred.png -o sharp.png --blur motion --length 21 --angle 0 --nsr 0.005
      deconvkit deblur shots/*.jpg --out-dir sharp/ --blur defocus --radius 4 --snr-db 25
      deconvkit deblur photo.jpg -o sharp.png --blur auto
    """
    inputs_list = list(inputs)
    if method == "richardson-lucy" and (nsr is not None or snr_db is not None or reg is not None):
        raise click.UsageError("--nsr, --snr-db and --reg apply to --method wiener only")
    if method == "wiener" and iterations is not None:
        raise click.UsageError("--iterations applies to --method richardson-lucy only")
    if nsr is not None and snr_db is not None:
        raise click.UsageError(f"give --nsr or --snr-db, not both (got --nsr {nsr} and --snr-db {snr_db})")
    if method == "wiener" and nsr is None and snr_db is None:
        nsr = "auto"
    targets = output_targets(inputs_list, output, out_dir)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
    for target in targets:
        check_output_path(target, inputs_list, overwrite)
    cores = os.cpu_count() or 1
    jobs = min(jobs or cores, len(inputs_list))
    fft_workers = max(1, cores // jobs)
    work = [
        DeblurJob(src, dst, psf, method, nsr, snr_db, reg or "identity", boundary, iterations or 30, overwrite, fft_workers)
        for src, dst in zip(inputs_list, targets)
    ]
    obj = ctx.obj or {}
    failures = _run_all(work, jobs, quiet=obj.get("quiet", False), log_level=obj.get("log_level", logging.WARNING))
    report_batch(ctx, "deblurred", len(work), failures)


def _init_worker(log_level: int) -> None:
    """Set up a batch worker process like the parent: logging and the allocator."""
    from deconvkit.cli import configure_logging, keep_freed_memory

    configure_logging(log_level)
    keep_freed_memory()


def _run_all(
    work: list[DeblurJob], jobs: int, *, quiet: bool, log_level: int = logging.WARNING
) -> list[tuple[Path, str]]:
    """Run the jobs (in a process pool when ``jobs > 1``); return (input, message) failures."""
    from tqdm import tqdm

    from deconvkit.errors import DeconvkitError

    failures: list[tuple[Path, str]] = []

    def record(job: DeblurJob, exc: BaseException | None, done: tuple[float, list[str]] | None) -> None:
        if exc is None and done is not None:
            seconds, notes = done
            for note in notes:  # what was chosen automatically: always reported, unless -q
                if not quiet:
                    tqdm.write(f"deconvkit: {job.source}: {note}", file=sys.stderr)
                log.debug("%s: %s", job.source, note)
            log.info("%s -> %s (%.2f s)", job.source, job.target, seconds)
        elif isinstance(exc, (DeconvkitError, OSError)):
            failures.append((job.source, str(exc)))
        else:
            log.debug("unexpected error on %s", job.source, exc_info=exc)
            failures.append((job.source, f"unexpected {type(exc).__name__}: {exc}"))

    bar = tqdm(total=len(work), unit="image", file=sys.stderr, disable=quiet or len(work) == 1)
    with bar:
        if jobs <= 1:
            for job in work:
                try:
                    record(job, None, run_job(job))
                except Exception as exc:  # one bad file must not stop the batch
                    record(job, exc, None)
                bar.update()
            return failures
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(log_level,),
        ) as pool:
            futures = {pool.submit(run_job, job): job for job in work}
            for future in as_completed(futures):
                job = futures[future]
                try:
                    record(job, None, future.result())
                except Exception as exc:  # includes a worker that died
                    record(job, exc, None)
                bar.update()
    return sorted(failures)
