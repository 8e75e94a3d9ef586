"""``python -m deconvkit`` runs the command line."""

from deconvkit.cli import main

main(prog_name="deconvkit")
