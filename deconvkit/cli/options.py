"""Options shared by several commands, and the helpers that interpret them."""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from deconvkit.errors import DeconvkitError

log = logging.getLogger("deconvkit")

__all__ = [
    "inputs_and_outputs",
    "report_batch",
    "output_targets",
    "write_output",
    "psf_options",
    "psf_options_with_auto",
    "NsrParam",
    "nsr_value",
    "overwrite_option",
    "build_psf",
    "check_output_path",
    "FiniteFloat",
    "finite",
    "positive",
    "non_negative",
]


class FiniteFloat(click.FloatRange):
    """A float option that refuses ``nan`` and ``inf`` (a usage error, exit 2).

    ``click.FloatRange`` alone accepts ``nan`` (every comparison with it is false), which
    then failed deep inside the numerical code as a runtime error or a traceback.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        rv = super().convert(value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return rv

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:  # "FLOAT", not "FLOAT RANGE"
        return "FLOAT"

    def _describe_range(self) -> str:
        return super()._describe_range() if (self.min is not None or self.max is not None) else ""


finite = FiniteFloat()
positive = FiniteFloat(min=0, min_open=True)
non_negative = FiniteFloat(min=0)


class NsrParam(click.ParamType):
    """``--nsr``: a finite number >= 0, or ``auto`` (estimated from each image)."""

    name = "nsr"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return "auto"
        return non_negative.convert(value, param, ctx)

    def get_metavar(self, *args: Any, **kwargs: Any) -> str:
        return "FLOAT|auto"


nsr_value = NsrParam()

_PSF_PARAMS = {"motion": ("length", "angle"), "defocus": ("radius",), "gaussian": ("sigma",)}


def psf_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--blur``, ``--length``, ``--angle``, ``--radius``, ``--sigma`` and ``--psf``.

    The command receives the kernel they describe as ``psf`` (built by :func:`build_psf`,
    usage errors included) and the ``--psf`` file, if any, as ``psf_file``.
    """
    return _psf_options(func, allow_auto=False)


def psf_options_with_auto(func: Callable[..., Any]) -> Callable[..., Any]:
    """:func:`psf_options` plus ``--blur auto``, for which the command receives ``psf=None``
    (the blur is to be estimated from each image)."""
    return _psf_options(func, allow_auto=True)


def _psf_options(func: Callable[..., Any], *, allow_auto: bool) -> Callable[..., Any]:
    kinds = sorted(_PSF_PARAMS) + (["auto"] if allow_auto else [])
    described = "Parametric PSF: motion (--length, --angle), defocus (--radius) or gaussian (--sigma)"
    options = [
        click.option(
            "--blur",
            type=click.Choice(kinds),
            help=described + ("; auto: estimated from each image (motion, defocus or none)." if allow_auto else "."),
        ),
        click.option("--length", type=positive, help="Motion length in pixels."),
        click.option(
            "--angle",
            type=finite,
            help="Motion angle in degrees, counter-clockwise from +x as seen on screen (default 0).",
        ),
        click.option("--radius", type=positive, help="Defocus disk radius in pixels (not the diameter)."),
        click.option("--sigma", type=positive, help="Gaussian PSF standard deviation in pixels."),
        click.option(
            "--psf",
            "psf_file",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="PSF from a .npy or image file (normalised to sum 1).",
        ),
    ]

    @functools.wraps(func)
    def with_psf(*args: Any, blur, length, angle, radius, sigma, psf_file, **kwargs: Any) -> Any:
        psf = build_psf(blur, length, angle, radius, sigma, psf_file)
        return func(*args, psf=psf, psf_file=psf_file, **kwargs)

    for option in reversed(options):
        with_psf = option(with_psf)
    return with_psf


def inputs_and_outputs(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the ``INPUTS...`` argument (existing files) and ``-o/--output`` / ``--out-dir``
    (see :func:`output_targets`) of the commands that turn images into images."""
    func = click.option(
        "--out-dir",
        type=click.Path(path_type=Path),
        help="Folder for the outputs (created if missing); each keeps its input's name.",
    )(func)
    func = click.option("-o", "--output", type=click.Path(path_type=Path), help="Output file (one input only).")(func)
    return click.argument(
        "inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
    )(func)


def overwrite_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--overwrite``."""
    return click.option("--overwrite", is_flag=True, help="Replace existing output files.")(func)


def build_psf(
    blur: str | None,
    length: float | None,
    angle: float | None,
    radius: float | None,
    sigma: float | None,
    psf_file: Path | None,
):
    """Turn the PSF options into a kernel, or raise a usage error naming the bad option.

    ``blur="auto"`` (offered by :func:`psf_options_with_auto` only) takes no parameters and
    returns None: the command estimates the PSF from each image.
    """
    given = {"length": length, "angle": angle, "radius": radius, "sigma": sigma}
    if (blur is None) == (psf_file is None):
        raise click.UsageError("give exactly one of --blur (motion, defocus, gaussian) or --psf FILE")
    allowed = _PSF_PARAMS.get(blur, ()) if blur else ()
    stray = [f"--{k}" for k, v in given.items() if v is not None and k not in allowed]
    if stray:
        where = f"--blur {blur}" if blur else "--psf"
        raise click.UsageError(f"{', '.join(stray)} does not apply to {where}")
    if blur == "auto":
        return None
    import restore

    if psf_file is not None:
        try:
            return restore.load_psf(psf_file)
        except (DeconvkitError, OSError, MemoryError) as exc:  # Pillow raises bare OSError on some damaged files
            raise click.BadParameter(_message(exc, psf_file), param_hint="--psf") from exc
    required = {"motion": "length", "defocus": "radius", "gaussian": "sigma"}[blur]
    if given[required] is None:
        raise click.UsageError(f"--blur {blur} needs --{required}")
    try:
        if blur == "motion":
            return restore.motion_psf(length, angle if angle is not None else 0.0)
        if blur == "defocus":
            return restore.defocus_psf(radius)
        return restore.gaussian_psf(sigma)
    except (DeconvkitError, ValueError, MemoryError) as exc:
        where = f"--blur {blur} --{required} {given[required]}"
        raise click.UsageError(f"{where}: cannot build the PSF: {_message(exc)}") from exc


def _message(exc: BaseException, path: Path | None = None) -> str:
    """An exception as one line for the user, naming ``path`` if the text does not already."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, MemoryError) and not isinstance(exc, DeconvkitError):
        text = f"out of memory: {text}"
    if path is not None and str(path) not in text:
        text = f"{str(path)!r}: {text}"
    return text


def check_output_path(
    output: Path, inputs: list[Path], overwrite: bool, *, extra_suffixes: tuple[str, ...] = ()
) -> None:
    """Usage errors for an output that is an input, sits in a missing folder, or exists.

    The suffix must be an image format :func:`deconvkit.io.write_image` writes, or one of
    ``extra_suffixes`` (such as ``".npy"``).
    """
    resolved = output.resolve()
    if any(resolved == p.resolve() for p in inputs):
        raise click.UsageError(f"output {str(output)!r} is also an input; choose another name")
    if not output.parent.is_dir():
        raise click.UsageError(f"output folder {str(output.parent)!r} does not exist")
    if output.is_dir():
        raise click.UsageError(f"output {str(output)!r} is a directory")
    if output.exists() and not overwrite:
        raise click.UsageError(f"{str(output)!r} exists; pass --overwrite to replace it")
    from deconvkit.io import WRITE_FORMATS

    known = sorted(set(WRITE_FORMATS) | set(extra_suffixes))
    if output.suffix.lower() not in known:
        raise click.UsageError(
            f"output {str(output)!r} has unknown suffix {output.suffix!r}; use one of {', '.join(known)}"
        )


def output_targets(inputs: list[Path], output: Path | None, out_dir: Path | None) -> list[Path]:
    """One output path per input: ``-o FILE`` for a single input or ``--out-dir DIR/<name>``; usage errors otherwise."""
    if (output is None) == (out_dir is None):
        raise click.UsageError("give exactly one of -o/--output (one input) or --out-dir DIR (any number)")
    if output is not None:
        if len(inputs) != 1:
            raise click.UsageError(f"-o/--output takes one input, got {len(inputs)}; use --out-dir for several")
        return [output]
    if out_dir.exists() and not out_dir.is_dir():
        raise click.UsageError(f"--out-dir {str(out_dir)!r} is not a directory")
    names = [p.name for p in inputs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise click.UsageError(f"several inputs share the file name {dupes[0]!r}; they would overwrite each other in --out-dir")
    return [out_dir / p.name for p in inputs]


def write_output(target: Path, result: Any, *, input_bit_depth: int, overwrite: bool) -> None:
    """Write a command's result image, keeping the input's bit depth where the format allows.

    JPEG, BMP and WebP store 8 bits (a 16-bit input is reduced, with a warning); PNG and
    TIFF keep 16. JPEG has no alpha channel: it is dropped, with a warning.
    """
    from deconvkit.io import write_image

    suffix = target.suffix.lower()
    eight_bit_only = suffix in {".jpg", ".jpeg", ".bmp", ".webp"}
    if result.ndim == 3 and result.shape[2] == 4 and suffix in {".jpg", ".jpeg"}:
        log.warning("%s: JPEG has no alpha channel; the alpha channel is dropped", target)
        result = result[..., :3]
    bit_depth = 8 if eight_bit_only or input_bit_depth == 8 else 16
    if input_bit_depth > 8 and eight_bit_only:
        log.warning("%s: %s stores 8 bits; the %d-bit input is reduced", target, suffix, input_bit_depth)
    write_image(target, result, bit_depth=bit_depth, overwrite=overwrite)


def report_batch(ctx: click.Context, verb: str, total: int, failures: list[tuple[Path, str]]) -> None:
    """Summarise a batch on stderr ("<verb> N of M image(s)", then each failure) and exit
    with 1 if any file failed. A single successful file gets no summary."""
    if total > 1 or failures:
        click.echo(f"{verb} {total - len(failures)} of {total} image(s)", err=True)
    for src, message in failures:
        click.echo(f"  failed: {src}: {message}", err=True)
    if failures:
        ctx.exit(1)
