"""bench_estimate's exact cases (same seed, plan and draws), estimate_blur's answers only, no deblurring (about 1 min per quality).

Run from the repository root: .venv/bin/python benchmarks/bench_estimate_answers.py lossless|95|90|75
"""
import sys, time; sys.path.insert(0, 'benchmarks')
import numpy as np, restore
import bench_estimate as B
q = None if sys.argv[1] == 'lossless' else int(sys.argv[1])
rng = np.random.default_rng(B.SEED); cases = 20
max_psf = max(restore.motion_psf(B.LENGTHS[1], 45).shape[0], restore.motion_psf(B.LENGTHS[1], 0).shape[1], restore.defocus_psf(B.RADII[1]).shape[0])
rows = []; t0 = time.time()
for name in B.IMAGES:
    scene = B.load_photo(name)
    out = min(B.MAX_OUT, scene.shape[0] - max_psf + 1, scene.shape[1] - max_psf + 1)
    plan = [("motion", float(rng.uniform(*B.LENGTHS)), float(rng.uniform(0, 180))) for _ in range(cases)]
    plan += [("defocus", float(rng.uniform(*B.RADII)), None) for _ in range(cases)]
    plan += [("none", None, None) for _ in range(max(2, cases // 4))]
    for i, (kind, p1, p2) in enumerate(plan):
        psf = restore.motion_psf(p1, p2) if kind == "motion" else restore.defocus_psf(p1) if kind == "defocus" else np.ones((1, 1))
        y, truth = B.observe(scene, psf, out, rng, q)
        e = restore.estimate_blur(y)
        row = {"image": name, "kind": kind, "chosen": e.kind, "chosen_length": e.motion.length, "chosen_angle": e.motion.angle,
               "chosen_radius": e.defocus.radius, "conf": e.confidence}
        if kind == "motion": row.update(length=p1, angle=p2)
        if kind == "defocus": row.update(radius=p1)
        a = B.answer(row)
        if a in ("wrong parameters", "wrong kind") or (kind == "none" and a != "right"):
            print("  WRONG", name, i, kind, p1, p2, e.kind, f"{e.confidence:.2f}", f"L{e.motion.length:.1f}@{e.motion.angle:.1f} r{e.defocus.radius:.1f}", flush=True)
        rows.append(row)
print(sys.argv[1], B.answers(rows), f"{time.time() - t0:.0f} s", flush=True)
