"""``deconvkit demo``: the main job -- every experiment on the bundled images, one report."""

from __future__ import annotations

from pathlib import Path

import click

from deconvkit.cli.experiments import report_progress, run_experiments


@click.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("report"), show_default=True,
              help="Report folder.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The one seed of every random draw.")
@click.option("--quick", is_flag=True, help="Small images and short training: seconds, for tests (not for reports).")
@click.option("--overwrite", is_flag=True, help="Replace the report in a non-empty --out.")
@click.option("--retrain", is_flag=True,
              help="Train the shipped upsampling models anew from --seed instead of loading them (about 2 min more).")
@click.pass_context
def demo_command(ctx: click.Context, out: Path, seed: int, quick: bool, overwrite: bool, retrain: bool) -> None:
    """Run all experiments on the bundled images and write the report to --out.

    The report is OUT/index.html (one self-contained page for a browser) and OUT/README.md
    (the same in Markdown), over one folder per experiment with metrics.json, tables (.md,
    .csv) and figures (.png, .pdf). About 3 minutes on 2 cores; --quick about 30 s.

    \b
    Example:
      deconvkit demo --out report
    """
    import experiments

    report_progress(ctx)
    pages = run_experiments(
        lambda: experiments.demo(out, seed=seed, quick=quick, overwrite=overwrite, retrain=retrain)
    )
    click.echo(f"report: {pages[0]}")
