"""Timing machinery shared by the benchmark scripts in this folder.

The scripts are run as ``python benchmarks/bench_x.py`` from the repository root; each
puts this folder on ``sys.path`` and imports from ``_harness``. What is here:

- timing: :func:`time_interleaved` runs the cases of one comparison interleaved (one run
  of each per round, the order rotated every round) after untimed warm-up rounds, so that
  the ratios compare runs made under the same machine conditions;
- statistics: :func:`stats` (median, min, max of the timed runs) and :func:`ratio` (ratio
  of the medians and median of the per-round, paired, ratios);
- contention: :func:`contention_start` / :func:`contention_report`, the CPU time other
  processes used during the run (busy CPU seconds of the whole machine from ``/proc/stat``
  minus this process's own);
- metadata (:func:`metadata`), command-line options common to all scripts
  (:func:`add_common_args`, :func:`check_repeats`), JSON output (:func:`write_json`,
  :func:`finish_run`) and Markdown formatting (:func:`fmt_seconds`, :func:`fmt_ratio`,
  :func:`fmt_commit`, :func:`contention_note`, :func:`verdict`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
WARMUP = 1  # untimed rounds before the timed ones (recorded as metadata "warmup_runs")
QUICK_REPEATS = 3  # timed rounds with --quick
CONTAMINATED_SHARE = 0.05  # other processes' share of the machine above which timings are flagged

Runs = dict[str, list]  # case name -> timed runs (wall seconds, or dicts with "wall" etc.)


def log(msg: str) -> None:
    """Progress message on stderr."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- timing


def time_interleaved(
    cases: Mapping[str, Callable[[], object]],
    repeats: int,
    warmup: int = WARMUP,
    setup: Mapping[str, Callable[[], None]] | None = None,
    *,
    cpu: bool = False,
    pause: float = 0.0,
    progress: bool = False,
) -> Runs:
    """Run ``cases`` interleaved; return the timed runs per case.

    ``warmup`` untimed rounds, then ``repeats`` timed rounds; every round runs each case
    once, the order rotated by one every round. Before each run: ``gc.collect()``, then
    ``setup[name]()`` if given (untimed; e.g. to restore an array the case modifies in
    place), then ``pause`` seconds of sleep. The wall time is ``time.perf_counter``
    around the call only; the case's result is dropped after the clock stops.

    A run is its wall time in seconds, or with ``cpu=True`` a dict: ``wall``, this
    process's CPU ``user`` and ``sys`` seconds (all threads) and minor page faults
    ``minflt`` during the run (getrusage deltas, taken outside the timed interval).
    ``progress`` logs the end of every round.
    """
    names = list(cases)
    setup = setup or {}
    runs: Runs = {name: [] for name in names}
    for r in range(warmup + repeats):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            gc.collect()
            if name in setup:
                setup[name]()
            if pause:
                time.sleep(pause)
            r0 = resource.getrusage(resource.RUSAGE_SELF) if cpu else None
            t0 = time.perf_counter()
            out = cases[name]()
            dt = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_SELF) if cpu else None
            del out
            if r < warmup:
                continue
            if r0 is None or r1 is None:
                runs[name].append(dt)
            else:
                runs[name].append(
                    {
                        "wall": dt,
                        "user": r1.ru_utime - r0.ru_utime,
                        "sys": r1.ru_stime - r0.ru_stime,
                        "minflt": r1.ru_minflt - r0.ru_minflt,
                    }
                )
        if progress:
            log(f"round {r + 1}/{warmup + repeats} done")
    return runs


def walls(runs: list) -> list[float]:
    """Wall times of a list of runs (plain seconds, or dicts with a ``wall`` entry)."""
    return [r["wall"] if isinstance(r, dict) else r for r in runs]


# --------------------------------------------------------------------------- statistics


def stats(runs: list) -> dict:
    """Median, min and max wall time of the timed runs, and the runs themselves.

    If the runs are dicts with ``user``, ``sys`` and ``minflt`` entries (see
    :func:`time_interleaved` with ``cpu=True``), also the median CPU user and system time
    and the median number of minor page faults."""
    w = walls(runs)
    out = {
        "median_s": statistics.median(w),
        "min_s": min(w),
        "max_s": max(w),
        "runs_s": [round(t, 6) for t in w],
    }
    if runs and isinstance(runs[0], dict):
        out["cpu_user_median_s"] = statistics.median(r["user"] for r in runs)
        out["cpu_sys_median_s"] = statistics.median(r["sys"] for r in runs)
        out["minor_faults_median"] = int(statistics.median(r["minflt"] for r in runs))
    return out


def ratio(runs: Runs, num: str, den: str, den_factor: float = 1.0) -> dict:
    """``runs[num]`` over ``den_factor`` times ``runs[den]``: the ratio of the medians, and
    the median of the per-round (paired) ratios; the two cases must have been timed in the
    same :func:`time_interleaved` call."""
    a, b = walls(runs[num]), walls(runs[den])
    return {
        "numerator": num,
        "denominator": f"{den_factor:g} x {den}" if den_factor != 1 else den,
        "ratio_of_medians": statistics.median(a) / (den_factor * statistics.median(b)),
        "median_of_paired_ratios": statistics.median(x / (den_factor * y) for x, y in zip(a, b)),
    }


# --------------------------------------------------------------------------- contention


def machine_busy_seconds() -> float | None:
    """CPU seconds all processes have used since boot (user+nice+system+irq+softirq+steal
    from /proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    except (OSError, ValueError, IndexError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """CPU seconds used by this process and its waited-for children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def contention_start() -> dict:
    """Start of a benchmark run: wall clock, the machine's and our CPU seconds, load average.

    Pass the result to :func:`contention_report` (or :func:`finish_run`) at the end."""
    return {
        "clock": time.perf_counter(),
        "busy": machine_busy_seconds(),
        "own": own_cpu_seconds(),
        "loadavg": list(os.getloadavg()),
    }


def elapsed(start: dict) -> float:
    """Wall seconds since :func:`contention_start`."""
    return time.perf_counter() - start["clock"]


def contention_report(start: dict, elapsed_s: float) -> dict:
    """How much CPU other processes used while the benchmark ran (a noise indicator):
    ``other_processes_cpu_s``, ``other_processes_share_of_machine`` (of ``elapsed_s`` times
    the CPU count) and ``loadavg_end``; empty off Linux."""
    end_busy = machine_busy_seconds()
    if start["busy"] is None or end_busy is None:
        return {}
    other = max(0.0, (end_busy - start["busy"]) - (own_cpu_seconds() - start["own"]))
    return {
        "other_processes_cpu_s": other,
        "other_processes_share_of_machine": other / (elapsed_s * (os.cpu_count() or 1)),
        "loadavg_end": list(os.getloadavg()),
    }


# --------------------------------------------------------------------------- metadata


def git_state(repo: Path = REPO) -> tuple[str | None, bool | None]:
    """(HEAD commit, whether tracked files differ from it), or Nones without git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=repo,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return commit, bool(status.strip())


def cpu_model() -> str | None:
    """The CPU's model name from /proc/cpuinfo, or None."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def numpy_blas() -> dict | None:
    """Name, version and configuration of the BLAS NumPy was built with, if NumPy says."""
    try:
        blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
        return {k: blas.get(k) for k in ("name", "version", "openblas configuration")}
    except Exception:  # noqa: BLE001 - metadata only, never fail the benchmark for it
        return None


def metadata(extra: Mapping[str, object]) -> dict:
    """Metadata every benchmark records, followed by the script's own ``extra`` entries
    (library versions, options, cases).

    Common: UTC date, Python, platform, CPU count, affinity and model, NumPy and SciPy
    versions, git commit and dirty flag, warm-up rounds, timer, thread-count environment
    variables."""
    import scipy

    commit, dirty = git_state()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        affinity = None
    return {
        "date_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": affinity,
        "cpu_model": cpu_model(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "git_commit": commit,
        "git_dirty_tracked_files": dirty,
        "warmup_runs": WARMUP,
        "timer": "time.perf_counter (wall)",
        "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
        **extra,
    }


# --------------------------------------------------------------------------- options and output


def add_common_args(ap: argparse.ArgumentParser, json_name: str, quick_help: str) -> None:
    """``--repeats`` (default 5), ``--out`` (folder for ``json_name``) and ``--quick``."""
    ap.add_argument("--repeats", type=int, default=5, help=f"timed runs per case after {WARMUP} warm-up (default 5)")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"folder for {json_name} (default benchmarks/results)")
    ap.add_argument("--quick", action="store_true", help=quick_help)


def check_repeats(ap: argparse.ArgumentParser, args: argparse.Namespace, minimum: int) -> None:
    """``--quick`` sets ``--repeats`` to :data:`QUICK_REPEATS`; otherwise it must be at
    least ``minimum``."""
    if args.quick:
        args.repeats = QUICK_REPEATS
    elif args.repeats < minimum:
        ap.error(f"--repeats must be >= {minimum} (medians and spread need several runs), got {args.repeats}")


def write_json(path: Path, data: object) -> Path:
    """Write ``data`` as indented JSON (creating the folder); return ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def finish_run(res: dict, start: dict, path: Path, markdown: Callable[[dict], str]) -> int:
    """End of a benchmark: record ``elapsed_s``, the load average at the start and the
    contention (see :func:`contention_start`) in ``res``, write it to ``path`` as JSON and
    print ``markdown(res)`` to stdout; return the exit status 0."""
    res["elapsed_s"] = elapsed(start)
    res["metadata"]["loadavg_start"] = start["loadavg"]
    res["metadata"]["contention"] = contention_report(start, res["elapsed_s"])
    write_json(path, res)
    print(markdown(res))
    log(f"wrote {path} ({res['elapsed_s']:.0f} s)")
    return 0


# --------------------------------------------------------------------------- Markdown


def fmt_seconds(t: float | None, ms_digits: int = 0) -> str:
    """A time for a table: ``"123 ms"`` below one second (``ms_digits`` decimals), else
    ``"1.23 s"``; ``"n/a"`` for None."""
    if t is None:
        return "n/a"
    return f"{t * 1000:.{ms_digits}f} ms" if t < 1 else f"{t:.2f} s"


def fmt_ratio(r: Mapping[str, float], unit: str = "") -> str:
    """A :func:`ratio` as ``"1.23 (1.20)"``: ratio of medians, paired median in brackets."""
    return f"{r['ratio_of_medians']:.2f}{unit} ({r['median_of_paired_ratios']:.2f}{unit})"


def fmt_commit(meta: Mapping) -> str:
    """``commit `abcdef123456` (dirty)`` from :func:`metadata`."""
    dirty = " (dirty)" if meta["git_dirty_tracked_files"] else ""
    return f"commit `{(meta['git_commit'] or 'unknown')[:12]}`{dirty}"


def verdict(ok: bool | None) -> str:
    """``met``, ``**missed**``, or ``n/a`` (target not judged here)."""
    return "n/a" if ok is None else ("met" if ok else "**missed**")


def contention_note(meta: Mapping) -> str:
    """One sentence on the other processes' CPU use during the run (from ``meta["contention"]``
    and ``meta["loadavg_start"]``), flagging contaminated timings; empty if not measured."""
    cont = meta.get("contention") or {}
    if not cont:
        return ""
    share = cont["other_processes_share_of_machine"]
    return (
        f"Other processes used {cont['other_processes_cpu_s']:.1f} CPU-s during the run "
        f"({100 * share:.0f}% of the machine; load average {meta['loadavg_start'][0]:.2f} at start)"
        + (": **timings are contaminated, rerun on an idle machine**." if share > CONTAMINATED_SHARE else ".")
    )
