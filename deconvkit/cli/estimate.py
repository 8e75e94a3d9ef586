"""``deconvkit estimate``: which blur (motion, defocus or none) and how much noise, per photo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from deconvkit.cli.options import positive

_COLUMNS = ("file", "blur", "length_px", "angle_deg", "radius_px", "confidence", "noise_sigma")


def estimate_file(path: Path, *, max_length: float | None = None, max_radius: float | None = None) -> dict[str, Any]:
    """Estimate one file's blur and noise; a JSON-ready dict. Raises on unreadable files.

    The noise level is in [0, 1] units (integer samples are divided by their white level);
    only a centred crop of at most 1024 x 1024 pixels is analysed.
    """
    import numpy as np

    import restore
    from deconvkit.io import read_samples

    samples, _ = read_samples(path)
    colour = samples[..., :3] if samples.ndim == 3 and samples.shape[2] == 4 else samples
    found = restore.estimate_blur(colour, max_length=max_length, max_radius=max_radius)
    scale = float(np.iinfo(samples.dtype).max) if samples.dtype.kind == "u" else 1.0
    return {
        "file": str(path),
        "blur": found.kind,
        "confidence": round(found.confidence, 4),
        "noise_sigma": round(found.noise_sigma / scale, 6),
        # JPEG-shaped noise: the level of its white part and the band where it is white.
        "noise_white_sigma": None if found.white_sigma is None else round(found.white_sigma / scale, 6),
        "noise_band": round(found.band, 4),
        "motion": {
            "length_px": round(found.motion.length, 3),
            "angle_deg": round(found.motion.angle, 3),
            "confidence": round(found.motion.confidence, 4),
        },
        "defocus": {"radius_px": round(found.defocus.radius, 3), "confidence": round(found.defocus.confidence, 4)},
        "shape": list(samples.shape),
    }


def _table(rows: list[dict[str, Any]]) -> str:
    """Aligned plain-text table of the estimates (parameters of the chosen blur only)."""
    cells = [list(_COLUMNS)]
    for r in rows:
        motion, disk = r["blur"] == "motion", r["blur"] == "defocus"
        cells.append(
            [
                r["file"],
                r["blur"],
                f"{r['motion']['length_px']:.1f}" if motion else "-",
                f"{r['motion']['angle_deg']:.1f}" if motion else "-",
                f"{r['defocus']['radius_px']:.2f}" if disk else "-",
                f"{r['confidence']:.2f}",
                f"{r['noise_sigma']:.4f}" if r["noise_white_sigma"] is None else f"{r['noise_white_sigma']:.4f}*",
            ]
        )
    widths = [max(len(row[i]) for row in cells) for i in range(len(_COLUMNS))]
    table = "\n".join("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip() for row in cells)
    if any(r["noise_white_sigma"] is not None for r in rows):
        table += ("\n* JPEG-shaped noise: the level of its white part, below noise_band cycles/px (--json); "
                  "the finest wavelet scale reads less (noise_sigma in --json)")
    return table


@click.command("estimate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list (one object per file) instead of a table.")
@click.option("--max-length", type=positive, help="Longest motion searched, in pixels (default: a fifth of the analysis tile, 102 px).")
@click.option("--max-radius", type=positive, help="Largest defocus radius searched, in pixels (default 30 on large photos).")
@click.pass_context
def estimate_command(
    ctx: click.Context, inputs: tuple[Path, ...], as_json: bool, max_length: float | None, max_radius: float | None
) -> None:
    """Estimate the blur (motion, defocus or none) and noise of images INPUTS.

    For each file: the blur kind, its parameters (motion length in pixels and angle in
    degrees counter-clockwise from +x as seen on screen; defocus radius in pixels), a
    confidence in [0, 1] and the noise standard deviation in [0, 1] units (for a JPEG whose
    compression removed the noise's high frequencies, marked *, the level of the white part
    that is left: the one deblurring regularises against). "none" means no
    blur showed its spectral zeros clearly enough (confidence of the best blur below 0.5).
    The numbers plug into `deconvkit deblur --blur motion --length L --angle A`, or let
    `deconvkit deblur --blur auto` do both steps. A file that cannot be read is reported on
    stderr and the exit code is 1; the others are still estimated.

    \b
    Examples:
      deconvkit estimate photo.jpg
      deconvkit estimate shots/*.jpg --json > estimates.json
    """
    from deconvkit.errors import DeconvkitError
    from restore.blur_estimate import check_limits

    try:
        check_limits(max_length, max_radius)
    except DeconvkitError as exc:
        raise click.UsageError(str(exc).replace("max_length", "--max-length").replace("max_radius", "--max-radius")) from exc
    rows: list[dict[str, Any]] = []
    failures: list[tuple[Path, str]] = []
    for path in inputs:
        try:
            rows.append(estimate_file(path, max_length=max_length, max_radius=max_radius))
        except (DeconvkitError, OSError, MemoryError) as exc:  # one bad file must not stop the others
            message = str(exc) or type(exc).__name__
            failures.append((path, message if str(path) in message else f"{str(path)!r}: {message}"))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif rows:
        click.echo(_table(rows))
    for _, message in failures:
        click.echo(f"  failed: {message}", err=True)
    if failures:
        click.echo(f"estimated {len(rows)} of {len(inputs)} image(s)", err=True)
        ctx.exit(1)
