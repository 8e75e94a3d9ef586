"""``deconvkit psf``: render a PSF to an image or a .npy file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deconvkit.cli.options import check_output_path, overwrite_option, psf_options


@click.command("psf")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help=".npy (exact values) or an image file.")
@psf_options
@click.option("--print", "print_values", is_flag=True, help="Also print the kernel values to stdout.")
@overwrite_option
def psf_command(
    output: Path,
    psf: Any,
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

    from deconvkit.errors import DeconvkitError
    from deconvkit.io import write_image

    check_output_path(output, [psf_file] if psf_file is not None else [], overwrite, extra_suffixes=(".npy",))
    try:
        if output.suffix.lower() == ".npy":
            _save_npy(output, psf, overwrite=overwrite)
        else:
            bit_depth = 16 if output.suffix.lower() in {".png", ".tif", ".tiff"} else 8
            write_image(output, psf / psf.max(), bit_depth=bit_depth, overwrite=overwrite)
    except (DeconvkitError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    if print_values:
        with np.printoptions(precision=4, suppress=True, linewidth=200):
            click.echo(np.array2string(psf))
    click.echo(f"PSF {psf.shape[0]}x{psf.shape[1]} written to {output}", err=True)


def _save_npy(output: Path, psf, *, overwrite: bool) -> None:
    """Write ``psf`` as a ``.npy`` file atomically (see :func:`deconvkit.io.write_bytes_atomic`)."""
    import io

    import numpy as np

    from deconvkit.io import write_bytes_atomic

    buffer = io.BytesIO()
    np.save(buffer, psf, allow_pickle=False)
    write_bytes_atomic(output, buffer.getbuffer(), overwrite=overwrite)
