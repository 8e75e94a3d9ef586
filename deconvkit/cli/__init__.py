"""The ``deconvkit`` command line: a thin layer over the public functions.

Exit codes (a tested contract): 0 success, 1 runtime failure (in a batch: any file failed,
after a summary), 2 usage error. Logs and progress go to stderr. Heavy libraries (NumPy,
SciPy, OpenCV, matplotlib, torch) are imported inside the commands, so ``--help`` and
``--version`` stay instant.
"""

from __future__ import annotations

import logging

import click

from deconvkit import __version__
from deconvkit.cli.blur import blur_command
from deconvkit.cli.deblur import deblur_command
from deconvkit.cli.demo import demo_command
from deconvkit.cli.psf import psf_command

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="deconvkit")
@click.option("-v", "--verbose", count=True, help="More log output (repeat for debug).")
@click.option("-q", "--quiet", count=True, help="Less output: warnings off, no progress bar.")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: int) -> None:
    """Deblur photos (Wiener, Richardson-Lucy) and compare with learned upsampling.

    \b
    Example:
      deconvkit deblur photo.jpg -o sharp.png --blur motion --length 15 --angle 30
    """
    level = logging.WARNING + 10 * (quiet - verbose)
    logging.basicConfig(level=max(logging.DEBUG, min(level, logging.CRITICAL)), format="deconvkit: %(message)s")
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet > 0


main.add_command(deblur_command)
main.add_command(blur_command)
main.add_command(psf_command)
main.add_command(demo_command)
