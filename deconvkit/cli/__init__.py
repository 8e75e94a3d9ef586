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
from deconvkit.cli.estimate import estimate_command
from deconvkit.cli.experiments import experiments_group
from deconvkit.cli.psf import psf_command
from deconvkit.cli.upsample import upsample_command

__all__ = ["main"]

#: Loggers of the project's packages; the command line configures these, not the root
#: logger (whose DEBUG level would also switch on every library's debug output).
LOGGERS = ("deconvkit", "restore", "learned", "data", "experiments")


class _StderrHandler(logging.Handler):
    """Write log records to stderr as it is *now* (``click.echo(err=True)``), not a stream
    captured when the handler was made: stays correct when ``main`` runs several times in
    one process (tests, embedding)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            click.echo(self.format(record), err=True)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def keep_freed_memory() -> None:
    """Ask glibc to serve large arrays from its heap and keep freed memory for reuse.

    By default every array above 32 MiB is a fresh ``mmap`` that is given back to the
    system when freed, so each FFT buffer of each colour channel is faulted in anew; on the
    virtual machines we measured, first-touch page faults cost more than the FFTs
    (12 MP colour Wiener: 0.5-1.2 s wall with 0.2-1.1 s system time, 0.35-0.45 s once
    memory is reused). This is a process-wide allocator setting, so only the command line
    (the application) makes it, never the library. No-op where glibc is absent.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return
    m_trim_threshold, m_mmap_max = -1, -4
    libc.mallopt(m_mmap_max, 0)
    libc.mallopt(m_trim_threshold, 1 << 30)


def log_level(verbose: int, quiet: int) -> int:
    """WARNING, lowered by each ``-v`` and raised by each ``-q`` (DEBUG to CRITICAL)."""
    return max(logging.DEBUG, min(logging.WARNING + 10 * (quiet - verbose), logging.CRITICAL))


def configure_logging(level: int, *, loggers: tuple[str, ...] = LOGGERS) -> None:
    """Send the log records of ``loggers`` at ``level`` and above to stderr, as "deconvkit: ...".

    Replaces the handler a previous call installed. Also the initializer of the worker
    processes of a batch, so they log like the parent.
    """
    handler = _StderrHandler()
    handler.setFormatter(logging.Formatter("deconvkit: %(message)s"))
    for name in loggers:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if isinstance(h, _StderrHandler)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False


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
    level = log_level(verbose, quiet)
    configure_logging(level)
    keep_freed_memory()
    ctx.ensure_object(dict)
    ctx.obj["quiet"] = quiet > 0
    ctx.obj["log_level"] = level


main.add_command(deblur_command)
main.add_command(blur_command)
main.add_command(psf_command)
main.add_command(demo_command)
main.add_command(estimate_command)
main.add_command(upsample_command)
main.add_command(experiments_group)
