"""``deconvkit demo``: the main job on bundled images (a report in ``--out``)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"), show_default=True)
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed for the simulated noise.")
@click.option("--overwrite", is_flag=True, help="Replace the files of an existing report.")
def demo_command(out: Path, seed: int, overwrite: bool) -> None:
    """Deblur the bundled images and write a before/after report to --out.

    Uses scikit-image's clock() (a real photo blurred by horizontal camera motion) and a
    simulated motion blur with noise on camera(), where the truth is known and PSNR can
    be measured.

    \b
    Example:
      deconvkit demo --out report
    """
    from deconvkit.demo import run_demo
    from deconvkit.errors import DeconvkitError

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise click.UsageError(f"{str(out)!r} exists and is not empty; pass --overwrite to replace its files")
    try:
        summary = run_demo(out, seed=seed)
    except (DeconvkitError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(summary)
