"""Time to analyse every checkpoint of a p = 113 transformer run: groklab's progress scan against the
naive reference (plain forward, per-neuron loops, per-class 2-D transforms), side by side.

Usage: python bench/analyze_speed.py [RUN_DIR] [--naive-checkpoints 5] [--threads 1]
Without RUN_DIR it trains nanda2023 for 99 epochs with a checkpoint every epoch (100 checkpoints of
the full-size model; the weights are early, but the work per checkpoint is the same).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from groklab.engine import analyze_run
from groklab.sources import load_run_model
from groklab.config import override, preset
from groklab.store import RunStore
from groklab.train import run
from naive_reference import naive_progress_point


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", nargs="?", default=None)
    ap.add_argument("--naive-checkpoints", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = args.run
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="groklab-analyze-")) / "run"
        cfg = override(preset("nanda2023"), {"train": {"epochs": 99, "ckpt_every": 1,
                                                       "stop_patience": 0}})
        run(cfg, path, quiet=True, threads=args.threads)
    store = RunStore(path)
    epochs = store.checkpoint_epochs()
    t0, c0 = time.perf_counter(), time.process_time()
    result = analyze_run(path, write=False)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"groklab: analysed {len(epochs)} checkpoints (p={result.p}, d_mlp "
          f"{result.model['d_mlp']}) in {wall:.1f} s wall, {cpu:.1f} CPU-s: "
          f"{wall / len(epochs):.3f} s per checkpoint (including the full single-checkpoint analysis)")
    model, _ = load_run_model(path)
    freqs = result.key_frequencies or [1, 2, 3]
    naive = []
    for e in epochs[-args.naive_checkpoints:]:
        model, _ = load_run_model(path, e)
        t = time.perf_counter()
        naive_progress_point(model, result.p, freqs)
        naive.append(time.perf_counter() - t)
    per = statistics.median(naive)
    print(f"naive:   {per:.3f} s per checkpoint (median of {len(naive)}), "
          f"{per * len(epochs):.1f} s for {len(epochs)} checkpoints: groklab is x{per * len(epochs) / wall:.1f}")


if __name__ == "__main__":
    main()
