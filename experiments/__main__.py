"""``python -m experiments`` = ``deconvkit experiments``."""

from deconvkit.cli import configure_logging, log_level
from deconvkit.cli.experiments import experiments_group

configure_logging(log_level(0, 0))
experiments_group(prog_name="python -m experiments")
