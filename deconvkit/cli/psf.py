"""``deconvkit psf``: render a PSF to an image or a .npy file."""

from __future__ import annotations

import os
from pathlib import Path

import click

from deconvkit.cli.options import build_psf, overwrite_option, psf_options


@click.command("psf")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help=".npy (exact values) or an image file.")
@psf_options
@click.option("--print", "print_values", is_flag=True, help="Also print the kernel values to stdout.")
@overwrite_option
def psf_command(
    output: Path,
    blur: str | None,
    length: float | None,
    angle: float | None,
    radius: float | None,
    sigma: float | None,
    psf_file: Path | None,
    print_values: bool,
    overwrite: bool,
) -> None:
    """Render a PSF. A .npy file keeps the exact values (sum 1); an image is scaled so
    its maximum is white (16-bit for PNG/TIFF) and is normalised again when read by --psf.

    \b
    Example:
      deconvkit psf --blur motion --length 9 --angle 45 -o psf.png
    """
    import numpy as np

    from deconvkit.cli.options import check_output_path
    from deconvkit.errors import DeconvkitError
    from deconvkit.io import write_image

    psf = build_psf(blur, length, angle, radius, sigma, psf_file)
    if output.suffix.lower() == ".npy":
        if not output.parent.is_dir():
            raise click.UsageError(f"output folder {str(output.parent)!r} does not exist")
        if output.exists() and not overwrite:
            raise click.UsageError(f"{str(output)!r} exists; pass --overwrite to replace it")
        tmp = output.with_name(f".{output.name}.part.npy")
        np.save(tmp, psf)
        os.replace(tmp, output)
    else:
        check_output_path(output, [], overwrite)
        bit_depth = 16 if output.suffix.lower() in {".png", ".tif", ".tiff"} else 8
        try:
            write_image(output, psf / psf.max(), bit_depth=bit_depth, overwrite=overwrite)
        except DeconvkitError as exc:
            raise click.ClickException(str(exc)) from exc
    if print_values:
        with np.printoptions(precision=4, suppress=True, linewidth=200):
            click.echo(np.array2string(psf))
    click.echo(f"PSF {psf.shape[0]}x{psf.shape[1]} written to {output}", err=True)
