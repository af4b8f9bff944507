"""Many models at once: model-epochs per second of K runs trained together (train.multiseed)
against the same runs trained one after another by the single trainer, side by side in one run.

    python bench/many_models.py [--preset mlp] [--epochs 300] [--ks 1,8,64,256] [--single 8]
                                [--device cpu|cuda] [--threads 1]

Each K trains K seeds of the preset for --epochs epochs (no early stop) into fresh run directories
(checkpoints and metrics written as usual). The single-run rate is measured on --single seeds and
is the reference for every K; the ratio is batched model-epochs/s over single model-epochs/s.
CPU-seconds are process time (this process does all the work). For each seed trained both ways the
last column compares the metric rows: "bit" when every logged loss and accuracy is equal, else the
largest relative difference of the train and test losses.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path


def _configs(name: str, epochs: int, k: int):
    from groklab.config import preset

    base = preset(name)
    base = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=epochs,
                                                               stop_patience=0))
    return [dataclasses.replace(base, seed=s) for s in range(k)]


def _clock(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def _agreement(root: Path, outs: list[Path], n_single: int) -> str:
    """How the batched runs' metric rows compare with the single runs of the same seeds."""
    from groklab.store import RunStore

    keys = ("loss/train", "loss/test", "acc/train", "acc/test")
    worst, equal, n = 0.0, True, 0
    for s, out in enumerate(outs[:n_single]):
        a, b = RunStore(root / f"single_{s}").read_metrics(), RunStore(out).read_metrics()
        for x, y in zip(a, b):
            equal &= all(x[k] == y[k] for k in keys) and x["epoch"] == y["epoch"]
            worst = max([worst] + [abs(x[k] - y[k]) / max(abs(x[k]), 1e-30) for k in keys[:2]])
        n += 1
    if not n:
        return ""
    return f"{n} seeds: bit" if equal else f"{n} seeds: max rel. loss diff {worst:.1e}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="mlp")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--ks", default="1,8,64,256")
    ap.add_argument("--single", type=int, default=8, help="seeds for the single-run reference")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    from groklab.train import run
    from groklab.train.multiseed import train_many

    root = Path(tempfile.mkdtemp(prefix="groklab-many-"))
    try:
        singles = _configs(args.preset, args.epochs, args.single)
        wall, cpu = _clock(lambda: [run(c, root / f"single_{c.seed}", threads=args.threads,
                                        device=args.device, quiet=True) for c in singles])
        ref = len(singles) * args.epochs / wall
        print(f"{args.preset}, {args.epochs} epochs, {args.device}, {args.threads} thread(s)")
        print(f"single runs one after another: {len(singles)} models in {wall:.1f} s wall, "
              f"{cpu:.1f} CPU-s: {ref:.0f} model-epochs/s")
        print(f"{'K':>5s} {'wall s':>8s} {'CPU s':>8s} {'model-epochs/s':>15s} {'vs single':>10s}"
              "  same as single")
        for k in [int(x) for x in args.ks.split(",")]:
            configs = _configs(args.preset, args.epochs, k)
            outs = [root / f"k{k}" / f"seed_{c.seed}" for c in configs]
            wall, cpu = _clock(lambda: train_many(configs, outs, threads=args.threads,
                                                  device=args.device, quiet=True))
            rate = k * args.epochs / wall
            same = _agreement(root, outs, args.single)
            print(f"{k:5d} {wall:8.1f} {cpu:8.1f} {rate:15.0f} {rate / ref:9.2f}x  {same}",
                  flush=True)
            shutil.rmtree(root / f"k{k}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
