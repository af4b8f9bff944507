"""Many models at once: model-epochs per second of K runs trained together (train.multiseed)
against the same runs trained one after another by the single trainer, side by side in one run.

    python bench/many_models.py [--preset mlp] [--epochs 300] [--ks 1,8,64,256] [--single 8]
                                [--device cpu|cuda] [--threads 1] [--forwards loop,vmap]
                                [--repeats 3]

Each K trains K seeds of the preset for --epochs epochs (no early stop) into fresh run directories
(checkpoints and metrics written as usual). The single-run rate is measured on --single seeds and
is the reference for every K; the ratio is batched model-epochs/s over single model-epochs/s,
per repeat against that repeat's single runs (the two alternate), the median of the repeats.
CPU-seconds are process time (this process does all the work). For each seed trained both ways the
last column compares the metric rows: "bit" when every logged loss and accuracy is equal, else the
largest relative difference of the train and test losses.
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import statistics
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
    ap.add_argument("--forwards", default="loop,vmap", help="batch forwards to compare")
    ap.add_argument("--repeats", type=int, default=3, help="alternating repeats (medians)")
    args = ap.parse_args()

    from groklab.train import run
    from groklab.train.multiseed import train_many

    root = Path(tempfile.mkdtemp(prefix="groklab-many-"))
    cases = [(int(k), f) for k in args.ks.split(",") for f in args.forwards.split(",")]
    times: dict = {case: [] for case in [None, *cases]}  # per repeat: (wall, CPU-s)
    same = {}
    try:
        singles = _configs(args.preset, args.epochs, args.single)
        for _ in range(args.repeats):  # singles and batches alternate: the machine drifts
            shutil.rmtree(root, ignore_errors=True)
            times[None].append(_clock(lambda: [run(c, root / f"single_{c.seed}",
                                                   threads=args.threads, device=args.device,
                                                   quiet=True) for c in singles]))
            for k, forward in cases:
                configs = _configs(args.preset, args.epochs, k)
                outs = [root / f"k{k}" / f"seed_{c.seed}" for c in configs]
                times[(k, forward)].append(_clock(lambda: train_many(
                    configs, outs, threads=args.threads, device=args.device, quiet=True,
                    forward=forward)))
                same[(k, forward)] = _agreement(root, outs, args.single)
                shutil.rmtree(root / f"k{k}")
        n1 = len(singles) * args.epochs
        wall, cpu = (statistics.median(t[i] for t in times[None]) for i in (0, 1))
        print(f"{args.preset}, {args.epochs} epochs, {args.device}, {args.threads} thread(s), "
              f"medians of {args.repeats} alternating repeats")
        print(f"single runs one after another: {len(singles)} models in {wall:.1f} s wall, "
              f"{cpu:.1f} CPU-s: {n1 / wall:.0f} model-epochs/s")
        print(f"{'K':>5s} {'forward':>8s} {'wall s':>8s} {'CPU s':>8s} {'model-epochs/s':>15s} "
              f"{'vs single':>10s} {'(CPU-s)':>8s} {'range':>12s}  same as single")
        for k, forward in cases:
            t = times[(k, forward)]
            ratio = [k * w1 / (len(singles) * w) for (w, _), (w1, _) in zip(t, times[None])]
            ratio_cpu = [k * c1 / (len(singles) * c) for (_, c), (_, c1) in zip(t, times[None])]
            w, c = (statistics.median(x[i] for x in t) for i in (0, 1))
            print(f"{k:5d} {forward:>8s} {w:8.1f} {c:8.1f} {k * args.epochs / w:15.0f} "
                  f"{statistics.median(ratio):9.2f}x {statistics.median(ratio_cpu):7.2f}x "
                  f"{min(ratio):5.2f}-{max(ratio):4.2f}x  "
                  f"{same[(k, forward)]}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
