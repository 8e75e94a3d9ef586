"""``deconvkit experiments``: list and run the experiments that compare the two meanings."""

from __future__ import annotations

from pathlib import Path

import click


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
def run_command(names: tuple[str, ...], out: Path, seed: int, quick: bool, overwrite: bool) -> None:
    """Run experiments NAMES into OUT/<name>/.

    \b
    Example:
      deconvkit experiments run arithmetic --out report --seed 0
    """
    import experiments
    from deconvkit.errors import DeconvkitError, InvalidParameterError

    unknown = [n for n in names if n not in experiments.names()]
    if unknown:
        raise click.UsageError(f"unknown experiment {unknown[0]!r}; available: {', '.join(experiments.names())}")
    try:
        experiments.run(list(names), out, seed=seed, quick=quick, overwrite=overwrite)
    except InvalidParameterError as exc:
        raise click.UsageError(str(exc)) from exc
    except experiments.ExperimentOutputError as exc:
        raise click.UsageError(str(exc)) from exc
    except (DeconvkitError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    for name in names:
        click.echo(f"{name}: written to {out / name}", err=True)
