"""Seconds per full-batch epoch: groklab's trainer against the naive reference, side by side.

Usage: python bench/train_speed.py [--preset nanda2023] [--epochs 15] [--threads 1 2]
Prints, per thread count, the median wall seconds and CPU seconds per epoch of each, and the ratios.
Both do the same thing each epoch: forward on the train pairs, float64 cross-entropy (as the preset
says), backward, AdamW step. With --cli-epochs N it also times `groklab train` itself over N epochs
(its evaluation, metrics and checkpoint schedule included; start-up removed by timing 1 epoch) and
compares that per-epoch cost with the naive step.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

import torch

from groklab.config import preset
from groklab.models import build_model
from groklab.tasks import make_dataset
from groklab.train.loop import Trainer, cross_entropy
from groklab.train.run import to_batch
from naive_reference import naive_logits, naive_loss


def measure(step, epochs: int) -> tuple[float, float]:
    step()  # warm-up
    walls, cpus = [], []
    for _ in range(epochs):
        w, c = time.perf_counter(), time.process_time()
        step()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="nanda2023")
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--cli-epochs", type=int, default=0,
                    help="also time `groklab train` over this many epochs (e.g. 500)")
    ap.add_argument("--load", type=int, default=0,
                    help="busy-loop processes to run alongside (simulates a loaded machine)")
    args = ap.parse_args()
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.load)]
    try:
        run(args)
    finally:
        for b in burners:
            b.kill()


def run(args: argparse.Namespace) -> None:
    cfg = preset(args.preset)
    batch = to_batch(make_dataset(cfg.task), torch.device("cpu"))
    print(f"preset {args.preset}: p={cfg.task.p}, {len(batch.train_y)} train pairs, "
          f"d_model {cfg.model.d_model}, d_mlp {cfg.model.d_mlp}; median of {args.epochs} epochs; "
          f"{args.load} busy processes alongside")
    for threads in args.threads:
        torch.set_num_threads(threads)
        model = build_model(cfg.model, cfg.task.p, cfg.seed)
        trainer = Trainer(model, cfg.train)

        def fast_step():
            loss = cross_entropy(model.logits(batch.train_x), batch.train_y, cfg.train.loss_dtype)
            trainer._step(100, loss)

        ref = build_model(cfg.model, cfg.task.p, cfg.seed)
        params = dict(ref.named_parameters())
        opt = torch.optim.AdamW(params.values(), lr=cfg.train.lr, weight_decay=cfg.train.weight_decay,
                                betas=(cfg.train.beta1, cfg.train.beta2))
        tokens = ref.tokens(batch.train_x)
        with torch.no_grad():  # same function, checked once
            gap = (naive_logits(params, tokens)[:, -1] - ref.logits(batch.train_x)).abs().max().item()

        def naive_step():
            opt.zero_grad()
            naive_loss(params, tokens, batch.train_y).backward()
            opt.step()

        fw, fc = measure(fast_step, args.epochs)
        nw, nc = measure(naive_step, args.epochs)
        print(f"threads {threads}: groklab {fw * 1e3:7.1f} ms/epoch ({fc * 1e3:7.1f} CPU-ms) | "
              f"naive {nw * 1e3:7.1f} ms/epoch ({nc * 1e3:7.1f} CPU-ms) | speed-up x{nw / fw:.2f} "
              f"wall, x{nc / fc:.2f} CPU | max |logit gap| {gap:.1e}")
        if args.cli_epochs:
            per_epoch = cli_epoch_seconds(args.preset, args.cli_epochs, threads)
            print(f"threads {threads}: `groklab train` {per_epoch * 1e3:7.1f} ms/epoch over "
                  f"{args.cli_epochs} epochs (evaluation and checkpoints included) | naive "
                  f"{nw * 1e3:7.1f} ms/epoch | speed-up x{nw / per_epoch:.2f}")


def cli_epoch_seconds(name: str, epochs: int, threads: int) -> float:
    """Per-epoch wall seconds of the `groklab train` command, start-up removed."""
    import tempfile

    def timed(n: int) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "groklab.cli", "train", "--preset", name,
                            "--epochs", str(n), "--threads", str(threads), "--quiet", "--out",
                            f"{tmp}/run"], check=True, capture_output=True)
            return time.perf_counter() - t0

    return (timed(epochs) - timed(1)) / (epochs - 1)


if __name__ == "__main__":
    main()
