"""deconvkit: the two meanings of "deconvolution" in imaging.

The distribution ships four top-level packages:

- :mod:`restore` -- image deconvolution (PSFs, DFT Wiener, Richardson--Lucy);
- :mod:`learned` -- transposed convolution and upsampling (the deep-learning meaning);
- :mod:`experiments` -- comparisons of the two, writing figures and tables;
- :mod:`deconvkit` -- this package: the shared base (errors, argument checks, linear
  operators, image I/O) and the command line (:mod:`deconvkit.cli`).

``restore`` and ``learned`` import only the base modules of this package, never the CLI.
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("deconvkit")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["__version__"]
