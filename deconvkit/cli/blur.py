"""``deconvkit blur``: make blurred (and noisy) test images from sharp ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from deconvkit.cli.options import check_output_path, non_negative, overwrite_option, psf_options


@click.command("blur")
@click.argument("input_path", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Output image file.")
@psf_options
@click.option("--noise", type=non_negative, default=0.0, show_default=True, help="Gaussian noise sigma, in [0, 1] units.")
@click.option("--seed", type=click.IntRange(min=0), help="Seed for the noise (reproducible output).")
@click.option(
    "--boundary",
    type=click.Choice(["symmetric", "edge", "zero", "wrap", "valid"]),
    default="symmetric",
    show_default=True,
    help="What the blur sees outside the image; 'valid' crops to the fully known pixels.",
)
@overwrite_option
def blur_command(
    input_path: Path,
    output: Path,
    psf: Any,
    psf_file: Path | None,
    noise: float,
    seed: int | None,
    boundary: str,
    overwrite: bool,
) -> None:
    """Blur image IN with a PSF (true convolution) and optionally add noise.

    \b
    Example:
      deconvkit blur sharp.png -o blurred.png --blur motion --length 15 --angle 30 --noise 0.01 --seed 1
    """
    import logging

    import numpy as np

    import restore
    from deconvkit.errors import DeconvkitError
    from deconvkit.io import read_image, write_image

    check_output_path(output, [input_path], overwrite)
    try:
        image, info = read_image(input_path, dtype=np.float64, with_info=True)
        alpha = None
        if image.ndim == 3 and image.shape[2] == 4:
            image, alpha = image[..., :3], image[..., 3:]
        out = restore.blur(image, psf, boundary=boundary)
        if noise > 0:
            out = restore.add_noise(out, noise, rng=seed)
        if alpha is not None and output.suffix.lower() in {".jpg", ".jpeg"}:
            log = logging.getLogger("deconvkit")
            log.warning("%s: JPEG has no alpha channel; the alpha channel is dropped", output)
        elif alpha is not None:
            if boundary == "valid":  # crop the alpha channel like the colours (see restore.blur)
                top, left = (psf.shape[0] - 1) // 2, (psf.shape[1] - 1) // 2
                alpha = alpha[top : top + out.shape[0], left : left + out.shape[1]]
            out = np.concatenate([out, alpha], axis=2)
        eight_bit_only = output.suffix.lower() in {".jpg", ".jpeg", ".bmp", ".webp"}
        bit_depth = 8 if eight_bit_only or info.bit_depth == 8 else 16
        write_image(output, out, bit_depth=bit_depth, overwrite=overwrite)
    except (DeconvkitError, OSError) as exc:  # Pillow and OpenCV may raise bare OSError on damaged files
        message = str(exc) or type(exc).__name__
        if str(input_path) not in message and str(output) not in message:
            message = f"{str(input_path)!r}: {message}"
        raise click.ClickException(message) from exc
