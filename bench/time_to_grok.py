"""Epochs and wall time to reach >= 99% test accuracy: the demo preset over 3 seeds (median), the
paper-exact nanda2023 preset for seed 0, and the group presets s5 and s5-transformer for seed 0.

Usage: python bench/time_to_grok.py [--demo-seeds 0 1 2] [--nanda-seeds 0] [--s5-seeds 0]
       [--s5-transformer-seeds 0] [--threads 1] [--out DIR]
Runs train with early stopping at the first epoch of >= 99% test accuracy (patience 0 would never
stop, so patience is set to the evaluation interval) and prints one row per run plus the medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from groklab.config import override, preset
from groklab.train import run


def grok(name: str, seed: int, out: Path, threads: int) -> dict:
    cfg = preset(name)
    cfg = override(cfg, {"seed": seed, "train": {"stop_patience": cfg.train.eval_every}})
    t0, c0 = time.perf_counter(), time.process_time()
    result = run(cfg, out / f"{name}-seed{seed}", threads=threads, quiet=True, overwrite=True)
    s = result.summary
    return {"preset": name, "seed": seed, "memorized": s["memorized_epoch"],
            "grokked": s["grokked_epoch"], "wall_s": time.perf_counter() - t0,
            "cpu_s": time.process_time() - c0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--demo-seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--nanda-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--s5-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--s5-transformer-seeds", type=int, nargs="*", default=[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None, help="keep the runs here (default: a temporary dir)")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="groklab-bench-"))
    for name, seeds in (("demo", args.demo_seeds), ("nanda2023", args.nanda_seeds),
                        ("s5", args.s5_seeds), ("s5-transformer", args.s5_transformer_seeds)):
        rows = []
        for seed in seeds:
            r = grok(name, seed, out, args.threads)
            rows.append(r)
            print(f"{name:14s} seed {seed}: memorized at {r['memorized']}, grokked at {r['grokked']} "
                  f"epochs, {r['wall_s']:.1f} s wall, {r['cpu_s']:.1f} CPU-s", flush=True)
        if rows:
            wall = statistics.median(r["wall_s"] for r in rows)
            epochs = statistics.median(r["grokked"] or float("nan") for r in rows)
            print(f"{name:14s} median over {len(rows)} seed(s): grokked at {epochs:.0f} epochs, "
                  f"{wall:.1f} s wall (threads {args.threads})", flush=True)


if __name__ == "__main__":
    main()
