"""The report: one self-contained web page and one Markdown page over the experiments' folders.

:func:`build_report` reads only what the experiments wrote -- each ``<name>/metrics.json``
(results, findings, figure captions, tables, metadata) and the figures beside it -- and
writes

- ``index.html``: one file a reader opens in a browser, figures embedded as PNG data, tables
  rendered from the JSON, a short text per experiment (its question, its setup, what the
  numbers say), and the metadata (versions, seed, commit, run times);
- ``README.md``: the same content for a Markdown viewer, figures linked by relative path.

Both are written atomically and last, so a report folder with an ``index.html`` is complete.
Experiments whose folder is missing are listed as not run.
"""

from __future__ import annotations

import base64
import html
import json
import re
from pathlib import Path
from typing import Any

from deconvkit.io import write_bytes_atomic
from experiments._report import markdown_table

__all__ = ["build_report", "REPORT_FILES"]

#: the files :func:`build_report` writes into the report folder
REPORT_FILES = ("index.html", "README.md")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 980px;
       margin: 2em auto; padding: 0 1em; color: #1b1b1b; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }
figure { margin: 1.2em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.92em; color: #444; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0 1.2em; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; white-space: nowrap; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
.meta { font-size: 0.8em; color: #666; } .warning { background: #fff3cd; padding: 0.5em 1em; border: 1px solid #e0c36a; }
.findings li { margin: 0.3em 0; } nav a { margin-right: 1em; }
"""


def _section_text(name: str) -> tuple[str, str]:
    """An experiment's title line and the first paragraph of its setup (module docstring)."""
    import experiments

    doc = experiments._module(name).__doc__ or name
    paragraphs = [p.strip() for p in doc.strip().split("\n\n")]
    title = paragraphs[0].splitlines()[0].strip()
    setup = " ".join(paragraphs[1].split()) if len(paragraphs) > 1 and not paragraphs[1].startswith("References") else ""
    return title, setup.replace("``", "`")  # reST literals -> Markdown code spans


def _inline_html(text: str) -> str:
    """Escape ``text`` for HTML, with Markdown code spans as ``<code>`` and ``*emphasis*`` as ``<em>``."""
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
    return re.sub(r"(?<![\w*])\*([^*\s][^*]*?)\*(?![\w*])", r"<em>\1</em>", text)


def _load(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None


def _cell(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _html_table(rows: list[dict]) -> str:
    if not rows:
        return "<p>(no rows)</p>"
    columns = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_cell(row.get(c, '')))}</td>" for c in columns) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _meta_line(meta: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    commit = meta.get("git_commit") or "not a git checkout"
    return f"seed {meta.get('seed')}, {meta.get('seconds', 0):.1f} s, commit {commit}; {versions}"


def _sections(root: Path, names: list[str]) -> list[dict[str, Any]]:
    sections = []
    for name in names:
        title, setup = _section_text(name)
        doc = _load(root / name)
        sections.append({"name": name, "title": title, "setup": setup, "doc": doc})
    return sections


def _html(sections: list[dict[str, Any]], root: Path) -> str:
    quick = any(s["doc"] and s["doc"]["config"].get("quick") for s in sections)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>deconvkit report: the two meanings of deconvolution</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>The two meanings of “deconvolution”</h1>",
        "<p>Image deconvolution undoes a blur (Wiener: a regularised inverse in the Fourier domain); "
        "the “deconvolution” layer of deep learning is a transposed convolution, the adjoint of a strided "
        "convolution, which upsamples but does not invert. Every number below was computed by "
        "<code>deconvkit</code> on its bundled images and read from each experiment's "
        "<code>metrics.json</code>.</p>",
    ]
    if quick:
        parts.append('<p class="warning">Quick mode: small images and short training, for tests. '
                     "Run <code>deconvkit demo</code> without <code>--quick</code> for the report.</p>")
    parts.append("<nav>" + "".join(f'<a href="#{s["name"]}">{html.escape(s["name"])}</a>' for s in sections) + "</nav>")
    for number, section in enumerate(sections, 1):
        name, doc = section["name"], section["doc"]
        parts.append(f'<h2 id="{name}">{number}. {html.escape(section["title"])}</h2>')
        if doc is None:
            parts.append("<p><em>Not run: no results in this folder.</em></p>")
            continue
        if section["setup"]:
            parts.append(f"<p>{_inline_html(section['setup'])}</p>")
        results = doc["results"]
        findings = results.get("findings", [])
        if findings:
            parts.append("<h3>What the numbers say</h3><ul class=\"findings\">")
            parts += [f"<li>{html.escape(f)}</li>" for f in findings]
            parts.append("</ul>")
        for figure in results.get("figures", []):
            png = (root / name / f"{figure['stem']}.png").read_bytes()
            data = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(figure["caption"])}">'
                f"<figcaption>{html.escape(figure['caption'])} "
                f'(<a href="{name}/{figure["stem"]}.pdf">PDF</a>)</figcaption></figure>'
            )
        captions = results.get("table_captions", {})
        for table, rows in doc["tables"].items():
            caption = captions.get(table, table)
            parts.append(f"<h4>{html.escape(caption)} (<a href=\"{name}/{table}.csv\">CSV</a>)</h4>")
            parts.append(_html_table(rows))
        parts.append(f'<p class="meta">{html.escape(_meta_line(doc["meta"]))}</p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _markdown(sections: list[dict[str, Any]]) -> str:
    quick = any(s["doc"] and s["doc"]["config"].get("quick") for s in sections)
    lines = [
        "# The two meanings of “deconvolution”",
        "",
        "Image deconvolution undoes a blur (Wiener: a regularised inverse in the Fourier domain); the "
        "“deconvolution” layer of deep learning is a transposed convolution, the adjoint of a strided "
        "convolution, which upsamples but does not invert. Every number below was computed by `deconvkit` on "
        "its bundled images and read from each experiment's `metrics.json`. `index.html` is the same report as "
        "one self-contained web page.",
        "",
    ]
    if quick:
        lines += ["> **Quick mode**: small images and short training, for tests. Run `deconvkit demo` without "
                  "`--quick` for the report.", ""]
    for number, section in enumerate(sections, 1):
        name, doc = section["name"], section["doc"]
        lines += [f"## {number}. {section['title']}", ""]
        if doc is None:
            lines += ["*Not run: no results in this folder.*", ""]
            continue
        if section["setup"]:
            lines += [section["setup"], ""]
        results = doc["results"]
        if results.get("findings"):
            lines += ["**What the numbers say**", ""] + [f"- {f}" for f in results["findings"]] + [""]
        for figure in results.get("figures", []):
            lines += [f"![{figure['caption']}]({name}/{figure['stem']}.png)", "", f"*{figure['caption']}* "
                      f"([PDF]({name}/{figure['stem']}.pdf))", ""]
        captions = results.get("table_captions", {})
        for table, rows in doc["tables"].items():
            lines += [f"**{captions.get(table, table)}** ([CSV]({name}/{table}.csv))", "", markdown_table(rows)]
        lines += [f"<sub>{_meta_line(doc['meta'])}</sub>", ""]
    return "\n".join(lines)


def build_report(out_dir: str | Path, names: list[str] | None = None) -> list[Path]:
    """Write ``index.html`` and ``README.md`` over the experiment folders in ``out_dir``.

    Parameters
    ----------
    out_dir : str or pathlib.Path
        The report folder holding ``<name>/metrics.json`` of each experiment.
    names : list of str, optional
        Experiments to include, in this order; default all (:func:`experiments.names`).

    Returns
    -------
    paths : list of pathlib.Path
        The two files written.
    """
    import experiments

    root = Path(out_dir)
    sections = _sections(root, experiments.names() if names is None else list(names))
    html_path, md_path = root / REPORT_FILES[0], root / REPORT_FILES[1]
    write_bytes_atomic(md_path, _markdown(sections).encode(), overwrite=True)
    write_bytes_atomic(html_path, _html(sections, root).encode(), overwrite=True)
    return [html_path, md_path]
