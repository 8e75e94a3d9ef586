"""``python -m experiments`` = ``deconvkit experiments``."""

from deconvkit.cli.experiments import experiments_group

experiments_group(prog_name="python -m experiments")
