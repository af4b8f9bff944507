"""Sweep speed: N seeds of a preset run one after another (each alone, 1 thread), against the same
N runs through `groklab sweep run` with the local executor (W workers), side by side.

Usage: python bench/sweep_speed.py [--preset demo] [--seeds 8] [--workers 2] [--out DIR]
Prints the sum of the single-run wall times, the sweep's wall time and their ratio (target <= 0.6).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="groklab-sweep-speed-"))
    single = []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "groklab.cli", "train", "--preset", args.preset,
                        "--seed", str(seed), "--out", str(out / f"single{seed}"), "--quiet",
                        "--threads", "1"], check=True)
        single.append(time.perf_counter() - t0)
        print(f"seed {seed} alone: {single[-1]:.1f} s", flush=True)
    spec = out / "sweep.toml"
    spec.write_text(f'stages = ["train"]\n[base]\npreset = "{args.preset}"\n[axes]\n'
                    f"seed = {list(range(args.seeds))}\n")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "groklab.cli", "sweep", "run", str(spec), "--out",
                    str(out / "sweep"), "--workers", str(args.workers), "--quiet"], check=True)
    sweep = time.perf_counter() - t0
    total = sum(single)
    print(f"{args.seeds} x {args.preset}: one after another {total:.0f} s; sweep with "
          f"{args.workers} workers {sweep:.0f} s; ratio {sweep / total:.2f}")


if __name__ == "__main__":
    main()
