"""``deconvkit experiments``: list and run the experiments that compare the two meanings."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click

T = TypeVar("T")


def report_progress(ctx: click.Context) -> None:
    """Show the experiments' progress messages on stderr unless ``-q`` was given."""
    from deconvkit.cli import configure_logging

    obj = ctx.find_root().obj or {}
    level = obj.get("log_level", logging.WARNING)
    if not obj.get("quiet"):
        level = min(level, logging.INFO)
    configure_logging(level, loggers=("experiments",))


def run_experiments(job: Callable[[], T]) -> T:
    """Run ``job``, turning the runner's errors into usage errors (exit 2) or failures (exit 1)."""
    import experiments
    from deconvkit.errors import DeconvkitError, InvalidParameterError

    try:
        return job()
    except (InvalidParameterError, experiments.ExperimentOutputError) as exc:
        raise click.UsageError(str(exc)) from exc
    except (DeconvkitError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc


@click.group("experiments")
def experiments_group() -> None:
    """List and run experiments (each writes metrics.json, tables and figures).

    \b
    Example:
      deconvkit experiments run arithmetic --out report --quick
    """


@experiments_group.command("list")
def list_command() -> None:
    """Print each experiment's name and question.

    \b
    Example:
      deconvkit experiments list
    """
    import experiments

    for name in experiments.names():
        click.echo(f"{name}: {experiments.describe(name)}")


@experiments_group.command("run")
@click.argument("names", nargs=-1, required=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Report folder.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The one seed of every random draw.")
@click.option("--quick", is_flag=True, help="Small sizes: seconds instead of minutes (used by the tests).")
@click.option("--overwrite", is_flag=True, help="Replace existing results.")
@click.option("--retrain", is_flag=True, help="Train shipped models anew from --seed instead of loading them.")
@click.pass_context
def run_command(
    ctx: click.Context, names: tuple[str, ...], out: Path, seed: int, quick: bool, overwrite: bool, retrain: bool
) -> None:
    """Run experiments NAMES into OUT/<name>/ and rebuild OUT/index.html and OUT/README.md.

    The report pages cover every experiment folder present in OUT.

    \b
    Example:
      deconvkit experiments run two-meanings arithmetic --out report --seed 0
    """
    import experiments
    from experiments.report import build_report

    report_progress(ctx)
    unknown = [n for n in names if n not in experiments.names()]
    if unknown:
        raise click.UsageError(f"unknown experiment {unknown[0]!r}; available: {', '.join(experiments.names())}")
    run_experiments(
        lambda: experiments.run(list(names), out, seed=seed, quick=quick, overwrite=overwrite, retrain=retrain)
    )
    present = [n for n in experiments.names() if (out / n / "metrics.json").is_file()]
    pages = run_experiments(lambda: build_report(out, present))
    for name in names:
        click.echo(f"{name}: written to {out / name}", err=True)
    click.echo(f"report: {pages[0]}")
