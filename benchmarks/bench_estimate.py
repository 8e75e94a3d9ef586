#!/usr/bin/env python
"""Benchmark blur and noise estimation (``restore.estimate_*``, ``wiener(nsr="auto")``)
against the targets of issue 5, on synthetic blurs of natural photos.

Run from the repository root::

    .venv/bin/python benchmarks/bench_estimate.py [--cases 20] [--repeats 5] [--out DIR] [--quick] [--jpeg Q ...]

Markdown tables go to stdout, progress to stderr, and the same data to
``DIR/bench_estimate.json`` (default ``benchmarks/results``).

Method
------
- **Images**: scikit-image's photos astronaut, coffee, chelsea, rocket, the left view of
  stereo_motorcycle and immunohistochemistry, as 8-bit colour. None of them is used by the
  tests or was used to develop the estimators (those used camera, brick, grass, gravel,
  moon, text, page, coins, cell and the real clock photo).
- **Realistic borders**: each case blurs a crop larger than the output by the PSF with
  ``restore.blur(..., boundary="valid")`` (the scene continues beyond the frame, so the
  borders are not circular), adds Gaussian noise of sigma 0.01 and quantises to 8 bits.
  The output crop has the same size for every case of an image (the largest that fits the
  largest PSF, at most 512 x 512) at a random position.
- **JPEG** (``--jpeg Q``, repeatable): every observation is also JPEG-encoded at quality
  ``Q`` (OpenCV, 4:2:0 chroma as cameras store it) after the noise and the 8-bit
  quantisation, and decoded before anything is estimated or deblurred; the whole set of
  cases (the same draws) runs once per quality, ``lossless`` being the default and the
  only run without the option. JPEG removes most of the high-frequency noise (the noise
  is no longer white), which blur estimation must survive.
- **Cases**: ``--cases`` per image of each kind: motion with length uniform in [5, 45] px and
  angle uniform in [0, 180); defocus with radius uniform in [2, 15] px; and, for the choice
  of blur kind only, sharp crops (noise and quantisation only). One seed
  (:data:`SEED`) drives every draw.
- **Targets** (issue 5): motion median angle error <= 1 deg and length within +-1 px in
  >= 90 % of cases (``restore.estimate_motion``); defocus radius within +-0.5 px in >= 90 %
  (``restore.estimate_defocus``); deblurring with the estimated PSF within 0.5 dB PSNR of
  deblurring with the true one (``restore.estimate_blur``'s choice, both deblurred with
  ``wiener(nsr="auto")``; mean over all blurred cases, the median and share within 0.5 dB
  also reported); automatic NSR beats the best single fixed NSR chosen over the whole set
  (true PSF; fixed NSRs 10^-4 ... 10^-0.5 in quarter decades; mean PSNR). PSNR: clipped to
  [0, 1], ``data_range=1``, 16 px border excluded.
- **Timing**: ``restore.estimate_blur`` on a 12 MP (3000 x 4000) colour photo (astronaut,
  mirror-tiled, motion-blurred with ``motion_psf(21, 30)``, noise 0.01, float32) against ``restore.wiener`` on the same photo (float32,
  nsr 0.01, 2 FFT threads), interleaved with the shared harness (one warm-up, ``--repeats``
  runs, medians); target ratio <= 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
for _path in (HERE.parent, HERE):  # the repository (run without installing) and _harness.py
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from _harness import (  # noqa: E402
    add_common_args,
    check_repeats,
    contention_note,
    contention_start,
    finish_run,
    fmt_commit,
    fmt_ratio,
    fmt_seconds,
    log,
    metadata,
    ratio,
    stats,
    time_interleaved,
    verdict,
)

import restore  # noqa: E402

SEED = 20261121
SIGMA = 0.01
MAX_OUT = 512
BORDER = 16
LENGTHS = (5.0, 45.0)
RADII = (2.0, 15.0)
FIXED_NSRS = 10.0 ** np.arange(-4.0, -0.49, 0.25)
IMAGES = ("astronaut", "coffee", "chelsea", "rocket", "motorcycle", "immunohistochemistry")
TARGETS = {
    "motion_median_angle_error_deg_max": 1.0,
    "motion_length_within_1px_share_min": 0.9,
    "defocus_radius_within_half_px_share_min": 0.9,
    "deblur_psnr_loss_db_max": 0.5,
    "auto_nsr_beats_best_fixed": True,
    "estimate_over_wiener_12mp_max": 1.0,
}
WORKERS = 2


# --------------------------------------------------------------------------- data


def load_photo(name: str) -> np.ndarray:
    """An 8-bit colour photo from scikit-image as float64 in [0, 1]."""
    from skimage import data

    img = data.stereo_motorcycle()[0] if name == "motorcycle" else getattr(data, name)()
    img = np.asarray(img, dtype=np.float64) / 255.0
    return img[..., :3] if img.ndim == 3 else np.stack([img] * 3, axis=-1)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """An RGB image in [0, 1] through JPEG at ``quality`` (OpenCV's encoder, which takes BGR)."""
    import cv2

    bgr = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)[..., ::-1]
    ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(bgr), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError(f"JPEG encoding at quality {quality} failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float64) / 255.0


def observe(scene: np.ndarray, psf: np.ndarray, out: int, rng: np.random.Generator,
            quality: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Blur a random crop as a camera would; return (observation, sharp truth), both
    ``(out, out, 3)``: the truth is the scene under the observation's pixels. With a JPEG
    ``quality`` the observation goes through JPEG last."""
    kh, kw = psf.shape
    h, w = scene.shape[:2]
    r = int(rng.integers(0, h - (out + kh - 1) + 1))
    c = int(rng.integers(0, w - (out + kw - 1) + 1))
    crop = scene[r : r + out + kh - 1, c : c + out + kw - 1]
    y = restore.blur(crop, psf, boundary="valid") if psf.size > 1 else crop.copy()
    y = y + SIGMA * rng.standard_normal(y.shape)
    y = np.round(np.clip(y, 0, 1) * 255) / 255
    truth = crop[(kh - 1) // 2 :][:out, (kw - 1) // 2 :][:, :out]
    return (y if quality is None else jpeg(y, quality)), truth


def psnr(truth: np.ndarray, est: np.ndarray) -> float:
    from skimage.metrics import peak_signal_noise_ratio

    b = BORDER
    return float(peak_signal_noise_ratio(truth[b:-b, b:-b], np.clip(est, 0, 1)[b:-b, b:-b], data_range=1.0))


def angle_error(a: float, b: float) -> float:
    return abs((a - b + 90.0) % 180.0 - 90.0)


# --------------------------------------------------------------------------- accuracy


def run_cases(cases_per_image: int, rng: np.random.Generator, quality: int | None = None, *,
              answers_only: bool = False) -> list[dict]:
    """Every case: truth, estimates, errors, PSNRs. Motion and defocus cases are deblurred
    with the true PSF at every fixed NSR and with nsr="auto", and with the estimated PSF.
    ``quality``: JPEG quality of the observations (None: lossless). ``answers_only``: the
    same cases (same draws), ``estimate_blur``'s answer only (no deblurring)."""
    rows: list[dict] = []
    max_psf = max(restore.motion_psf(LENGTHS[1], 45).shape[0], restore.motion_psf(LENGTHS[1], 0).shape[1],
                  restore.defocus_psf(RADII[1]).shape[0])
    for name in IMAGES:
        scene = load_photo(name)
        out = min(MAX_OUT, scene.shape[0] - max_psf + 1, scene.shape[1] - max_psf + 1)
        plan = [("motion", float(rng.uniform(*LENGTHS)), float(rng.uniform(0, 180))) for _ in range(cases_per_image)]
        plan += [("defocus", float(rng.uniform(*RADII)), None) for _ in range(cases_per_image)]
        plan += [("none", None, None) for _ in range(max(2, cases_per_image // 4))]
        log(f"{name}: {len(plan)} cases, {out}x{out} crops{'' if quality is None else f', JPEG quality {quality}'}")
        for kind, p1, p2 in plan:
            psf = restore.motion_psf(p1, p2) if kind == "motion" else restore.defocus_psf(p1) if kind == "defocus" else np.ones((1, 1))
            y, truth = observe(scene, psf, out, rng, quality)
            row: dict = {"image": name, "kind": kind, "size": out}
            t0 = time.perf_counter()
            found = restore.estimate_blur(y)
            row["estimate_blur_s"] = time.perf_counter() - t0
            row["chosen"] = found.kind
            row["chosen_confidence"] = found.confidence
            row["chosen_length"], row["chosen_angle"] = found.motion.length, found.motion.angle
            row["chosen_radius"] = found.defocus.radius
            if answers_only:
                row.update({"motion": {"length": p1, "angle": p2}, "defocus": {"radius": p1}}.get(kind, {}))
                rows.append(row)
                continue
            row["noise_sigma_est"] = restore.estimate_noise(y)
            if kind == "motion":
                est = restore.estimate_motion(y)
                row.update(length=p1, angle=p2, length_est=est.length, angle_est=est.angle, confidence=est.confidence,
                           length_error=est.length - p1, angle_error=angle_error(est.angle, p2))
            elif kind == "defocus":
                est = restore.estimate_defocus(y)
                row.update(radius=p1, radius_est=est.radius, confidence=est.confidence, radius_error=est.radius - p1)
            if kind != "none":
                row["psnr_blurred"] = psnr(truth, y)
                row["psnr_true_auto"] = psnr(truth, restore.wiener(y, psf, nsr="auto"))
                row["psnr_true_fixed"] = [psnr(truth, restore.wiener(y, psf, nsr=float(v))) for v in FIXED_NSRS]
                nsr_scalar = restore.estimate_nsr(y, psf)
                row["nsr_scalar"] = nsr_scalar
                row["psnr_true_scalar"] = psnr(truth, restore.wiener(y, psf, nsr=nsr_scalar))
                var_x = max(float(np.var(y)) - found.noise_sigma**2, 1e-12)
                row["psnr_true_textbook"] = psnr(truth, restore.wiener(y, psf, nsr=found.noise_sigma**2 / var_x))
                chosen_psf = found.psf()
                row["psnr_est_auto"] = psnr(truth, restore.wiener(y, chosen_psf, nsr="auto")) if chosen_psf.size > 1 else psnr(truth, y)
                row["deblur_loss_db"] = row["psnr_true_auto"] - row["psnr_est_auto"]
            rows.append(row)
    return rows


def answer(row: dict) -> str:
    """What ``estimate_blur`` told for a case: ``"right"`` (the true kind, and for a blur
    its parameters: length within 1 px and angle within 5 deg, radius within 0.5 px),
    ``"wrong parameters"`` (the true kind, parameters off), ``"wrong kind"`` (another blur,
    or a blur for a sharp crop) or ``"none"`` (no blur; right for a sharp crop). The two
    wrong answers are confident ones: a PSF that deblurring would use."""
    kind, chosen = row["kind"], row["chosen"]
    if chosen == "none":
        return "right" if kind == "none" else "none"
    if chosen != kind:
        return "wrong kind"
    if kind == "motion":
        ok = abs(row["chosen_length"] - row["length"]) <= 1.0 and angle_error(row["chosen_angle"], row["angle"]) <= 5.0
    else:
        ok = abs(row["chosen_radius"] - row["radius"]) <= 0.5
    return "right" if ok else "wrong parameters"


ANSWERS = ("right", "wrong parameters", "wrong kind", "none")


def answers(rows: list[dict]) -> dict:
    """Counts of :func:`answer` per true kind."""
    return {k: {a: sum(1 for r in rows if r["kind"] == k and answer(r) == a) for a in ANSWERS}
            for k in ("motion", "defocus", "none")}


def confusion(rows: list[dict]) -> dict:
    """Counts of the chosen kind per true kind."""
    kinds = ("motion", "defocus", "none")
    return {k: {c: sum(1 for r in rows if r["kind"] == k and r["chosen"] == c) for c in kinds} for k in kinds}


def summarise_answers(rows: list[dict]) -> dict:
    """The summary of an ``--answers-only`` run."""
    return {"answers_only": True, "choice_confusion": confusion(rows), "answers": answers(rows),
            "estimate_blur_seconds_median": float(np.median([r["estimate_blur_s"] for r in rows]))}


def summarise(rows: list[dict]) -> dict:
    motion = [r for r in rows if r["kind"] == "motion"]
    disk = [r for r in rows if r["kind"] == "defocus"]
    blurred = motion + disk
    aerr = np.array([r["angle_error"] for r in motion])
    lerr = np.array([r["length_error"] for r in motion])
    rerr = np.array([r["radius_error"] for r in disk])
    loss = np.array([r["deblur_loss_db"] for r in blurred])
    fixed = np.array([r["psnr_true_fixed"] for r in blurred])
    best = int(np.argmax(fixed.mean(axis=0)))
    auto = np.array([r["psnr_true_auto"] for r in blurred])

    def by(group: list[dict], key: str) -> dict:
        return {name: float(np.mean([r[key] for r in group if r["image"] == name])) for name in IMAGES}

    return {
        "motion": {
            "cases": len(motion),
            "median_angle_error_deg": float(np.median(aerr)),
            "mean_angle_error_deg": float(np.mean(aerr)),
            "p90_angle_error_deg": float(np.percentile(aerr, 90)),
            "share_length_within_1px": float(np.mean(np.abs(lerr) <= 1.0)),
            "median_abs_length_error_px": float(np.median(np.abs(lerr))),
            "share_angle_within_1deg": float(np.mean(aerr <= 1.0)),
            "failures": [{k: r[k] for k in ("image", "length", "angle", "length_est", "angle_est", "confidence")}
                         for r in motion if abs(r["length_error"]) > 1 or r["angle_error"] > 5],
            "by_length_band": {
                f"{lo}-{hi}": {
                    "cases": int(np.sum((lo <= np.array([r["length"] for r in motion])) & (np.array([r["length"] for r in motion]) < hi))),
                    "median_angle_error_deg": float(np.median([r["angle_error"] for r in motion if lo <= r["length"] < hi] or [np.nan])),
                    "share_length_within_1px": float(np.mean([abs(r["length_error"]) <= 1 for r in motion if lo <= r["length"] < hi] or [np.nan])),
                }
                for lo, hi in ((5, 10), (10, 20), (20, 30), (30, 46))
            },
        },
        "defocus": {
            "cases": len(disk),
            "share_radius_within_half_px": float(np.mean(np.abs(rerr) <= 0.5)),
            "median_abs_radius_error_px": float(np.median(np.abs(rerr))),
            "failures": [{k: r[k] for k in ("image", "radius", "radius_est", "confidence")} for r in disk if abs(r["radius_error"]) > 0.5],
        },
        "deblur": {
            "cases": len(blurred),
            "mean_loss_db": float(np.mean(loss)),
            "median_loss_db": float(np.median(loss)),
            "p90_loss_db": float(np.percentile(loss, 90)),
            "share_within_half_db": float(np.mean(loss <= 0.5)),
            "worst_loss_db": float(np.max(loss)),
        },
        "nsr": {
            "best_single_fixed_nsr": float(FIXED_NSRS[best]),
            "mean_psnr_best_single_fixed": float(fixed[:, best].mean()),
            "mean_psnr_auto": float(auto.mean()),
            "mean_gain_auto_over_best_fixed_db": float((auto - fixed[:, best]).mean()),
            "share_auto_beats_best_fixed": float(np.mean(auto > fixed[:, best])),
            "worst_auto_minus_best_fixed_db": float((auto - fixed[:, best]).min()),
            "mean_psnr_per_case_oracle_fixed": float(fixed.max(axis=1).mean()),
            "mean_psnr_default_0.01": float(fixed[:, int(np.argmin(np.abs(FIXED_NSRS - 0.01)))].mean()),
            "mean_psnr_estimate_nsr_scalar": float(np.mean([r["psnr_true_scalar"] for r in blurred])),
            "mean_psnr_textbook_sigma2_over_var": float(np.mean([r["psnr_true_textbook"] for r in blurred])),
            "mean_psnr_blurred": float(np.mean([r["psnr_blurred"] for r in blurred])),
            "auto_minus_best_fixed_by_image_db": {
                name: float(np.mean([a - f[best] for a, f, r in zip(auto, fixed, blurred) if r["image"] == name])) for name in IMAGES
            },
        },
        "choice_confusion": confusion(rows),
        "answers": answers(rows),
        "noise": {
            "median_relative_error": float(np.median([abs(r["noise_sigma_est"] / SIGMA - 1) for r in blurred])),
            "share_within_10_percent": float(np.mean([abs(r["noise_sigma_est"] / SIGMA - 1) <= 0.1 for r in blurred])),
        },
        "by_image": {
            "motion_median_angle_error_deg": {n: float(np.median([r["angle_error"] for r in motion if r["image"] == n])) for n in IMAGES},
            "motion_share_length_within_1px": {n: float(np.mean([abs(r["length_error"]) <= 1 for r in motion if r["image"] == n])) for n in IMAGES},
            "defocus_share_within_half_px": {n: float(np.mean([abs(r["radius_error"]) <= 0.5 for r in disk if r["image"] == n])) for n in IMAGES},
            "deblur_mean_loss_db": by(blurred, "deblur_loss_db"),
        },
        "estimate_blur_seconds_median": float(np.median([r["estimate_blur_s"] for r in rows])),
    }


# --------------------------------------------------------------------------- timing


def bench_timing(repeats: int) -> dict:
    """estimate_blur vs wiener on a 12 MP colour photo (float32), interleaved."""
    import cv2

    h, w = 3000, 4000
    photo = load_photo("astronaut").astype(np.float32)
    # Mirror-tiled to 12 MP: the content keeps the photo's own resolution (an upscaled
    # photo would have no high frequencies left for the blur to remove).
    big = np.pad(photo, ((0, h - photo.shape[0]), (0, w - photo.shape[1]), (0, 0)), mode="symmetric")
    psf = restore.motion_psf(21, 30)
    big = np.stack([cv2.filter2D(big[..., c], -1, psf[::-1, ::-1].astype(np.float32), borderType=cv2.BORDER_REFLECT)
                    for c in range(3)], axis=-1)
    big += (SIGMA * np.random.default_rng(SEED).standard_normal(big.shape)).astype(np.float32)
    gray = np.ascontiguousarray(big.mean(axis=2, dtype=np.float32))
    found = restore.estimate_blur(big)
    cases = {
        "estimate_blur_rgb": lambda: restore.estimate_blur(big),
        "wiener_rgb": lambda: restore.wiener(big, psf, nsr=0.01, workers=WORKERS),
        "wiener_rgb_auto": lambda: restore.wiener(big, psf, nsr="auto", workers=WORKERS),
        "estimate_blur_gray": lambda: restore.estimate_blur(gray),
        "wiener_gray": lambda: restore.wiener(gray, psf, nsr=0.01, workers=WORKERS),
    }
    log(f"timing at 12 MP ({w}x{h}): {len(cases)} cases x {repeats + 1} runs")
    runs = time_interleaved(cases, repeats)
    return {
        "shape_hwc": [h, w, 3],
        "psf": "restore.motion_psf(21, 30)",
        "estimate_found": found.describe(),
        "timings": {k: stats(v) for k, v in runs.items()},
        "ratios": {
            "estimate_blur_rgb/wiener_rgb": ratio(runs, "estimate_blur_rgb", "wiener_rgb"),
            "estimate_blur_gray/wiener_gray": ratio(runs, "estimate_blur_gray", "wiener_gray"),
            "wiener_rgb_auto/wiener_rgb": ratio(runs, "wiener_rgb_auto", "wiener_rgb"),
        },
    }


# --------------------------------------------------------------------------- report


def quality_name(quality: int | None) -> str:
    return "lossless" if quality is None else f"JPEG quality {quality}"


def markdown(res: dict) -> str:
    meta = res["metadata"]
    lines = [f"## bench_estimate: blur and noise estimation, {meta['date_utc']}", "",
             f"{fmt_commit(meta)}; {meta['cpu_count']} CPUs ({meta['cpu_model']}); numpy {meta['numpy']}, scipy "
             f"{meta['scipy']}, scikit-image {meta['skimage']}; seed {meta['seed']}; {meta['cases_per_image']} cases per "
             f"image and kind on {', '.join(IMAGES)} (8-bit colour; non-circular borders; noise sigma {SIGMA}; 8-bit quantised"
             f"; then {', '.join(quality_name(q) for q in meta['jpeg_qualities'])}).", ""]
    for i, run in enumerate(res["runs"]):
        lines += run_markdown(run, res["targets"], res.get("timing") if i == 0 else None)
    note = contention_note(meta)
    lines.append(f"Total benchmark time: {res['elapsed_s']:.0f} s.{' ' + note if note else ''}")
    return "\n".join(lines)


def answers_markdown(s: dict) -> list[str]:
    """The tables of ``estimate_blur``'s choices and answers of one run's summary."""
    lines: list[str] = []
    add = lines.append
    add("### Choice of blur kind (`estimate_blur`)")
    add("")
    add("| truth \\ chosen | motion | defocus | none |")
    add("|---|---:|---:|---:|")
    for k, row in s["choice_confusion"].items():
        add(f"| {k} | {row['motion']} | {row['defocus']} | {row['none']} |")
    add("")
    add("### Answers of `estimate_blur` (right: true kind, length within 1 px and angle within 5 deg, radius within 0.5 px)")
    add("")
    add("| truth | " + " | ".join(ANSWERS) + " |")
    add("|---|" + "---:|" * len(ANSWERS))
    for k, row in s["answers"].items():
        add(f"| {k} | " + " | ".join(str(row[a]) for a in ANSWERS) + " |")
    wrong = sum(row["wrong parameters"] + row["wrong kind"] for row in s["answers"].values())
    add("")
    add(f"Confident wrong answers (a blur with wrong parameters or of the wrong kind, or a blur for a sharp crop): {wrong} "
        f"of {sum(sum(row.values()) for row in s['answers'].values())}.")
    add("")
    return lines


def run_markdown(run: dict, t: dict, tm: dict | None) -> list[str]:
    """The tables of one run (one JPEG quality, or lossless); the timing row if given."""
    s = run["summary"]
    lines: list[str] = []
    add = lines.append
    add(f"## {quality_name(run['jpeg_quality'])}")
    add("")
    if s.get("answers_only"):
        return lines + answers_markdown(s)
    m, d, b, n = s["motion"], s["defocus"], s["deblur"], s["nsr"]
    add("### Targets")
    add("")
    add("| target | measured | goal | verdict |")
    add("|---|---|---|---|")
    add(f"| motion: median angle error ({m['cases']} cases, L 5-45 px, all angles) | {m['median_angle_error_deg']:.2f} deg "
        f"(mean {m['mean_angle_error_deg']:.2f}, 90th pct {m['p90_angle_error_deg']:.2f}) | <= 1 deg | "
        f"{verdict(m['median_angle_error_deg'] <= t['motion_median_angle_error_deg_max'])} |")
    add(f"| motion: length within +-1 px | {100 * m['share_length_within_1px']:.0f} % (median abs error "
        f"{m['median_abs_length_error_px']:.2f} px) | >= 90 % | {verdict(m['share_length_within_1px'] >= t['motion_length_within_1px_share_min'])} |")
    add(f"| defocus: radius within +-0.5 px ({d['cases']} cases, R 2-15 px) | {100 * d['share_radius_within_half_px']:.0f} % "
        f"(median abs error {d['median_abs_radius_error_px']:.2f} px) | >= 90 % | "
        f"{verdict(d['share_radius_within_half_px'] >= t['defocus_radius_within_half_px_share_min'])} |")
    add(f"| deblur with estimated vs true PSF (both nsr=auto; {b['cases']} cases) | mean loss {b['mean_loss_db']:.2f} dB "
        f"(median {b['median_loss_db']:.2f}, 90th pct {b['p90_loss_db']:.2f}, worst {b['worst_loss_db']:.1f}; "
        f"{100 * b['share_within_half_db']:.0f} % of cases within 0.5 dB) | <= 0.5 dB | {verdict(b['mean_loss_db'] <= t['deblur_psnr_loss_db_max'])} |")
    add(f"| auto NSR vs best single fixed NSR ({n['best_single_fixed_nsr']:.2g}) | {n['mean_psnr_auto']:.2f} vs "
        f"{n['mean_psnr_best_single_fixed']:.2f} dB ({n['mean_gain_auto_over_best_fixed_db']:+.2f} dB; better in "
        f"{100 * n['share_auto_beats_best_fixed']:.0f} % of cases, worst {n['worst_auto_minus_best_fixed_db']:+.2f} dB) | beats | "
        f"{verdict(n['mean_gain_auto_over_best_fixed_db'] > 0)} |")
    if tm:
        r = tm["ratios"]["estimate_blur_rgb/wiener_rgb"]
        add(f"| estimate_blur / wiener, 12 MP colour | {fmt_ratio(r)} ({fmt_seconds(tm['timings']['estimate_blur_rgb']['median_s'])} vs "
            f"{fmt_seconds(tm['timings']['wiener_rgb']['median_s'])}) | <= 1 | {verdict(r['ratio_of_medians'] <= t['estimate_over_wiener_12mp_max'])} |")
        r = tm["ratios"]["estimate_blur_gray/wiener_gray"]
        add(f"| estimate_blur / wiener, 12 MP gray | {fmt_ratio(r)} ({fmt_seconds(tm['timings']['estimate_blur_gray']['median_s'])} vs "
            f"{fmt_seconds(tm['timings']['wiener_gray']['median_s'])}) | <= 1 | {verdict(r['ratio_of_medians'] <= t['estimate_over_wiener_12mp_max'])} |")
    add("")
    add("### NSR choices (true PSF, mean PSNR over all blurred cases)")
    add("")
    add("| NSR | mean PSNR (dB) |")
    add("|---|---:|")
    add(f"| blurred input (no deconvolution) | {n['mean_psnr_blurred']:.2f} |")
    add(f"| `nsr=\"auto\"` (spectral, power law + boundary term) | {n['mean_psnr_auto']:.2f} |")
    add(f"| best single fixed NSR over the set ({n['best_single_fixed_nsr']:.2g}) | {n['mean_psnr_best_single_fixed']:.2f} |")
    add(f"| library default, fixed 0.01 | {n['mean_psnr_default_0.01']:.2f} |")
    add(f"| per-case best fixed NSR (oracle, needs the truth) | {n['mean_psnr_per_case_oracle_fixed']:.2f} |")
    add(f"| `estimate_nsr` (best constant under the fitted model) | {n['mean_psnr_estimate_nsr_scalar']:.2f} |")
    add(f"| textbook sigma^2 / (var(y) - sigma^2) | {n['mean_psnr_textbook_sigma2_over_var']:.2f} |")
    add("")
    add("### By image")
    add("")
    add("| image | motion median angle error | motion length within 1 px | defocus within 0.5 px | deblur mean loss | auto minus best fixed |")
    add("|---|---:|---:|---:|---:|---:|")
    bi = s["by_image"]
    for name in IMAGES:
        add(f"| {name} | {bi['motion_median_angle_error_deg'][name]:.2f} deg | {100 * bi['motion_share_length_within_1px'][name]:.0f} % | "
            f"{100 * bi['defocus_share_within_half_px'][name]:.0f} % | {bi['deblur_mean_loss_db'][name]:.2f} dB | "
            f"{n['auto_minus_best_fixed_by_image_db'][name]:+.2f} dB |")
    add("")
    add("### Motion by length")
    add("")
    add("| length (px) | cases | median angle error | length within 1 px |")
    add("|---|---:|---:|---:|")
    for band, v in m["by_length_band"].items():
        add(f"| {band} | {v['cases']} | {v['median_angle_error_deg']:.2f} deg | {100 * v['share_length_within_1px']:.0f} % |")
    add("")
    lines += answers_markdown(s)
    add(f"Noise estimate (sigma 0.01): median relative error {100 * s['noise']['median_relative_error']:.1f} %, "
        f"{100 * s['noise']['share_within_10_percent']:.0f} % of cases within 10 %. "
        f"estimate_blur on the benchmark crops: median {fmt_seconds(s['estimate_blur_seconds_median'])}.")
    if m["failures"] or d["failures"]:
        add("")
        add(f"Motion misses (length off by > 1 px or angle by > 5 deg): {len(m['failures'])}; defocus misses: {len(d['failures'])} "
            "(listed in the JSON).")
    add("")
    return lines


# --------------------------------------------------------------------------- main


def _rounded(value: object) -> object:
    """Floats rounded to 4 decimals, recursively (keeps the per-case JSON small)."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value



def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=20, help="cases per image and blur kind (default 20)")
    ap.add_argument("--no-timing", action="store_true", help="skip the 12 MP timing")
    ap.add_argument("--answers-only", action="store_true",
                    help="the same cases, estimate_blur's answers only: no deblurring, no targets, no timing (about a minute per quality)")
    ap.add_argument("--jpeg", type=int, action="append", metavar="Q",
                    help="JPEG-encode every observation at quality Q (1-100) before estimating; repeatable, one run of "
                         "all cases per quality (default: lossless only)")
    add_common_args(ap, "bench_estimate.json", "smoke test: 3 cases per image and kind, 3 timing repeats")
    args = ap.parse_args(argv)
    check_repeats(ap, args, minimum=3)
    if args.quick:
        args.cases = 3
    if args.cases < 1:
        ap.error(f"--cases must be >= 1, got {args.cases}")
    for q in args.jpeg or []:
        if not 1 <= q <= 100:
            ap.error(f"--jpeg must be in 1 .. 100, got {q}")
    return args


def main(argv: list[str] | None = None) -> int:
    import skimage

    args = parse_args(argv)
    start = contention_start()
    qualities = args.jpeg or [None]
    extra = {"skimage": skimage.__version__, "seed": SEED, "cases_per_image": args.cases, "images": list(IMAGES),
             "noise_sigma": SIGMA, "fixed_nsrs": [float(v) for v in FIXED_NSRS], "repeats": args.repeats, "quick": args.quick,
             "jpeg_qualities": qualities, "answers_only": args.answers_only}
    res: dict = {"metadata": metadata(extra), "targets": TARGETS, "runs": []}
    for quality in qualities:
        rng = np.random.default_rng(SEED)  # the same cases at every quality
        t0 = time.perf_counter()
        rows = run_cases(args.cases, rng, quality, answers_only=args.answers_only)
        res["runs"].append({
            "jpeg_quality": quality,
            "accuracy_seconds": time.perf_counter() - t0,
            "summary": summarise_answers(rows) if args.answers_only else summarise(rows),
            "median_case_seconds": statistics.median(r["estimate_blur_s"] for r in rows),
            "cases": [_rounded(r) for r in rows],  # every case, to recompute any summary
        })
    if not (args.no_timing or args.answers_only):
        res["timing"] = bench_timing(args.repeats)
    return finish_run(res, start, args.out / "bench_estimate.json", markdown)


if __name__ == "__main__":
    sys.exit(main())
