"""Experiments that put the two meanings of "deconvolution" side by side.

Each experiment is one module with a docstring whose first line states its question, a
frozen ``Config`` dataclass (``seed`` and ``quick`` plus its own settings) and
``run(config, out_dir, *, started=None) -> dict``, which writes ``metrics.json``, tables
and figures into ``out_dir`` (see :mod:`experiments._report`). The results it returns (and
stores in ``metrics.json``) hold ``"figures"``, a list of ``{"stem", "caption"}``, and
``"findings"``, sentences that state what the numbers mean, computed from them; the report
(:mod:`experiments.report`) is built from these files alone. All experiments use the same
images (:mod:`experiments._images`). :func:`run` runs several into a report folder, each into a
temporary folder that is renamed only when the experiment has finished, so an interrupted
run never leaves a half-written result that looks complete.

``python -m experiments`` and ``deconvkit experiments`` are the command lines.
"""

from __future__ import annotations

import dataclasses
import importlib
import logging
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from deconvkit.errors import DeconvkitError, InvalidParameterError

__all__ = ["EXPERIMENTS", "names", "describe", "run", "demo", "ExperimentOutputError"]

log = logging.getLogger(__name__)

#: name -> module
EXPERIMENTS = {
    "two-meanings": "experiments.two_meanings",
    "wiener-tuning": "experiments.wiener_tuning",
    "upsampling": "experiments.upsampling",
    "learned-deblur": "experiments.learned_deblur",
    "arithmetic": "experiments.arithmetic",
}


class ExperimentOutputError(DeconvkitError, OSError):
    """The output folder exists and is not empty (pass ``overwrite=True``) or is not writable."""


def names() -> list[str]:
    """Names of the experiments, in report order."""
    return list(EXPERIMENTS)


def _module(name: str) -> Any:
    if name not in EXPERIMENTS:
        raise InvalidParameterError(f"unknown experiment {name!r}; available: {', '.join(EXPERIMENTS)}")
    return importlib.import_module(EXPERIMENTS[name])


def describe(name: str) -> str:
    """The first line of an experiment's docstring: its question."""
    return (_module(name).__doc__ or name).strip().splitlines()[0]


def run(
    selected: list[str],
    out_dir: str | Path,
    *,
    seed: int = 0,
    quick: bool = False,
    overwrite: bool = False,
    retrain: bool = False,
) -> dict[str, dict]:
    """Run experiments into ``out_dir/<name>/``; return each one's results.

    Parameters
    ----------
    selected : list of str
        Experiment names (see :func:`names`).
    out_dir : str or pathlib.Path
        Report folder, created if missing.
    seed : int, optional
        The one seed every random draw of every experiment derives from.
    quick : bool, optional
        Small sizes and few repeats (seconds instead of minutes), for tests.
    overwrite : bool, optional
        Replace existing results; without it an existing non-empty result folder is an error.
    retrain : bool, optional
        Experiments that evaluate shipped trained weights (their ``Config`` has a
        ``retrain`` field) train them anew from ``seed`` instead; the others ignore it.

    Raises
    ------
    InvalidParameterError
        Unknown experiment name (checked before anything runs).
    ExperimentOutputError
        A result folder exists and ``overwrite`` is False, or the folder cannot be written.
    """
    modules = {name: _module(name) for name in selected}
    root = Path(out_dir)
    for name in modules:
        target = root / name
        if target.exists() and any(target.iterdir()) and not overwrite:
            raise ExperimentOutputError(f"{str(target)!r} exists and is not empty; pass overwrite=True (--overwrite)")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExperimentOutputError(f"cannot create the output folder {str(root)!r}: {exc}") from exc
    summaries = {}
    for name, module in modules.items():
        partial = root / f".{name}.partial-{uuid.uuid4().hex[:8]}"
        try:
            partial.mkdir()
        except OSError as exc:
            raise ExperimentOutputError(f"cannot write into {str(root)!r}: {exc}") from exc
        try:
            start = time.perf_counter()
            log.info("%s: running%s", name, " (quick)" if quick else "")
            config = _config(module, seed=seed, quick=quick, retrain=retrain)
            summaries[name] = module.run(config, partial, started=start)
            log.info("%s: done in %.1f s", name, time.perf_counter() - start)
            target = root / name
            if target.exists():
                shutil.rmtree(target)
            partial.rename(target)
        finally:
            if partial.exists():
                shutil.rmtree(partial, ignore_errors=True)
    return summaries


def _config(module: Any, *, seed: int, quick: bool, retrain: bool) -> Any:
    """The experiment's ``Config``; ``retrain`` only where the experiment has the setting."""
    fields = {field.name for field in dataclasses.fields(module.Config)}
    extra = {"retrain": retrain} if "retrain" in fields else {}
    return module.Config(seed=seed, quick=quick, **extra)


def demo(
    out_dir: str | Path, *, seed: int = 0, quick: bool = False, overwrite: bool = False, retrain: bool = False
) -> list[Path]:
    """Run every experiment into ``out_dir`` and build the report; return its two pages.

    The main job (``deconvkit demo``). An existing non-empty ``out_dir`` is refused unless
    ``overwrite``; with it, the old report pages are removed *first*, so a run that is
    interrupted never leaves an old ``index.html`` presenting new and old results as one
    complete report. Files the report does not own are left alone. ``retrain`` as in
    :func:`run`.

    Raises
    ------
    ExperimentOutputError
        ``out_dir`` is not empty and ``overwrite`` is False, or it cannot be written.
    """
    from experiments.report import REPORT_FILES, build_report

    root = Path(out_dir)
    if root.exists() and not root.is_dir():
        raise ExperimentOutputError(f"{str(root)!r} exists and is not a folder")
    if root.is_dir() and any(root.iterdir()):
        if not overwrite:
            raise ExperimentOutputError(f"{str(root)!r} exists and is not empty; pass overwrite=True (--overwrite)")
        for page in REPORT_FILES:
            (root / page).unlink(missing_ok=True)
    run(names(), root, seed=seed, quick=quick, overwrite=overwrite, retrain=retrain)
    return build_report(root)
