"""Writing an experiment's outputs: metadata, ``metrics.json``, tables rendered from it, figures.

Every experiment writes into its own folder:

- ``metrics.json``: ``{"meta": …, "config": …, "results": …, "tables": {name: [rows]}}``;
  ``meta`` holds versions, seed, git commit (if any) and timings;
- ``<table>.md`` and ``<table>.csv`` for each table, rendered *from* that JSON, never typed;
- figures as PNG and PDF at a fixed size and dpi.

All files are written atomically (:func:`deconvkit.io.write_bytes_atomic`).
"""

from __future__ import annotations

import csv
import io
import json
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

from deconvkit.io import write_bytes_atomic

__all__ = ["metadata", "write_metrics", "markdown_table", "csv_table", "save_figure", "new_figure", "show_image", "FIGURE_DPI"]

FIGURE_DPI = 120


def _git_commit() -> str | None:
    """The commit of the source tree deconvkit runs from, if it is a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def metadata(*, seed: int, seconds: float) -> dict[str, Any]:
    """Versions of the libraries in use, the seed, the git commit and the run time."""
    import numpy
    import scipy
    import skimage

    from deconvkit import __version__

    versions = {"python": platform.python_version(), "deconvkit": __version__, "numpy": numpy.__version__,
                "scipy": scipy.__version__, "scikit-image": skimage.__version__}
    for name in ("torch", "cv2", "matplotlib"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "unknown")
    return {"versions": versions, "seed": seed, "git_commit": _git_commit(), "seconds": round(seconds, 3)}


def _jsonable(value: Any) -> Any:
    if is_dataclass(value):
        return _jsonable(asdict(value))
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:  # NumPy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def write_metrics(
    out_dir: Path, *, meta: dict, config: Any, results: dict, tables: dict[str, Sequence[dict]]
) -> dict[str, Any]:
    """Write ``metrics.json`` and render every table from it as Markdown and CSV.

    Returns the JSON document as written.
    """
    document = _jsonable({"meta": meta, "config": config, "results": results, "tables": tables})
    write_bytes_atomic(out_dir / "metrics.json", (json.dumps(document, indent=2) + "\n").encode(), overwrite=True)
    for name, rows in document["tables"].items():
        write_bytes_atomic(out_dir / f"{name}.md", markdown_table(rows).encode(), overwrite=True)
        write_bytes_atomic(out_dir / f"{name}.csv", csv_table(rows).encode(), overwrite=True)
    return document


def _fmt(value: Any) -> str:
    text = f"{value:.4g}" if isinstance(value, float) else str(value)
    return text.replace("|", "\\|")  # a literal | would split the Markdown cell


def markdown_table(rows: Sequence[dict]) -> str:
    """A Markdown table of ``rows`` (dicts with the same keys), columns in key order."""
    if not rows:
        return "(no rows)\n"
    columns = list(rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[dict]) -> str:
    """The same rows as CSV (full precision)."""
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def save_figure(fig: Any, stem: Path, *, dpi: int = FIGURE_DPI) -> list[Path]:
    """Save a matplotlib figure as ``stem.png`` and ``stem.pdf``; return the paths.

    The layout (constrained, if the figure has it) is computed once and then frozen, so both
    formats share it and it is not recomputed for each (that cost more than the drawing).
    """
    if fig.get_layout_engine() is not None:
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
    paths = []
    for fmt in ("png", "pdf"):
        buffer = io.BytesIO()
        metadata = {"CreationDate": None} if fmt == "pdf" else None  # reproducible PDFs
        fig.savefig(buffer, format=fmt, dpi=dpi, metadata=metadata)
        path = stem.with_suffix(f".{fmt}")
        write_bytes_atomic(path, buffer.getbuffer(), overwrite=True)
        paths.append(path)
    return paths


def new_figure(width: float, height: float):
    """A matplotlib Figure on the Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def show_image(ax: Any, image: Any, title: str, *, vmin: float = 0.0, vmax: float = 1.0, cmap: str = "gray") -> Any:
    """Draw a 2-D image panel: nearest-neighbour pixels, a shared ``vmin``/``vmax``, axes off."""
    shown = ax.imshow(image, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])  # no ticks for constrained layout to measure: saving is ~2.5× faster
    ax.set_yticks([])
    ax.set_axis_off()
    return shown
