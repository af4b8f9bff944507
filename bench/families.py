"""Which program each trained network runs: the targets of the program-families work, measured.

Usage: python bench/families.py [--only NAME ...] [--workers 2] [--out DIR]
Trains (or resumes, if DIR already holds them) each configuration below, then reads the program out
of its last checkpoint and prints one row per run: the algorithm the rule picks, the discovered
input/output maps, the frequencies, program accuracy and agreement, the distance dependence,
gradient symmetricity and distance irrelevance, and the wall time of the comparison itself.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from groklab.config import RunConfig, override, preset

# name -> (preset, overrides)
RUNS: dict[str, tuple[str, dict]] = {
    **{f"pizza-seed{s}": ("pizza", {"seed": s}) for s in range(3)},
    **{f"clock-seed{s}": ("clock", {"seed": s}) for s in range(3)},
    "demo-relabeled": ("demo", {"task": {"relabel_seed": 1}}),
    "demo-mul": ("demo", {"task": {"name": "mul"}}),
    "x2y2": ("demo", {"task": {"name": "x2y2", "p": 59, "frac_train": 0.5},
                      "train": {"epochs": 8000, "stop_patience": 1000}}),
}


def config(name: str) -> RunConfig:
    base, changes = RUNS[name]
    return override(preset(base), changes)


def measure(name: str, out: str) -> dict:
    import torch

    from groklab.sources import load_run_model
    from groklab.analysis.cyclic.diagnostics import diagnose
    from groklab.engine import extract_model
    from groklab.tasks import make_dataset
    from groklab.train import run

    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    cfg = config(name)
    t0 = time.perf_counter()
    trained = run(cfg, Path(out) / name, quiet=True, threads=1)
    train_s = time.perf_counter() - t0
    model, epoch = load_run_model(trained.path)
    data = make_dataset(cfg.task)
    t0, c0 = time.perf_counter(), time.process_time()
    r = extract_model(model, data, {"run": name})
    from groklab.analysis.cyclic.frame import build_frame

    diag = diagnose(model, build_frame(model, data))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    v = r.verification
    return {"run": name, "epoch": epoch, "test_acc": v.network_test_accuracy,
            "algorithm": r.algorithm, "maps": f"{r.program.input_kind}/{r.program.output_kind}",
            "generator": r.program.generator, "freqs": list(r.program.freqs),
            "program_acc": v.program_accuracy, "agreement": v.agreement, "verdict": v.verdict,
            "dependence": r.comparison.distance_dependence, "gs": diag.gradient_symmetricity,
            "di": diag.distance_irrelevance, "train_s": train_s, "extract_wall_s": wall,
            "extract_cpu_s": cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=list(RUNS), choices=list(RUNS))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary dir)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="groklab-families-")
    print(f"runs in {out}")
    header = (f"{'run':16s} {'epoch':>6s} {'test':>6s} {'algorithm':9s} {'maps':26s} "
              f"{'freqs':22s} {'prog':>6s} {'agree':>6s} {'dep':>6s} {'GS':>6s} {'DI':>6s} "
              f"{'cmp s':>6s}")
    print(header)
    with ProcessPoolExecutor(args.workers) as pool:
        for row in pool.map(measure, args.only, [out] * len(args.only)):
            print(f"{row['run']:16s} {row['epoch']:6d} {row['test_acc']:6.1%} "
                  f"{row['algorithm']:9s} {row['maps']:26s} {str(row['freqs']):22s} "
                  f"{row['program_acc']:6.1%} {row['agreement']:6.1%} {row['dependence']:6.3f} "
                  f"{row['gs']:6.3f} {row['di']:6.3f} {row['extract_cpu_s']:6.2f}", flush=True)


if __name__ == "__main__":
    main()
