"""LLC speed: seconds per checkpoint of `groklab llc` (the fast-path forward) against a naive
estimator (the plain forward at every position), side by side, and the time for N checkpoints.

Usage: python bench/llc_speed.py RUN [--checkpoints 30] [--threads 1] [--compare 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    from groklab.sources import load_run_model
    from groklab.analysis.llc.estimator import LLCSettings, estimate, estimate_model, pick_checkpoints
    from groklab.models.io import load_weights
    from groklab.store import RunStore
    from groklab.tasks import make_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--checkpoints", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--compare", type=int, default=2, help="checkpoints timed both ways")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    store = RunStore(args.run)
    model, _ = load_run_model(args.run)
    data = make_dataset(store.read_config().task)
    settings = LLCSettings()
    epochs = pick_checkpoints(store.checkpoint_epochs(), args.checkpoints)
    pairs = torch.as_tensor(data.pairs[data.train_idx])
    labels = torch.as_tensor(data.labels[data.train_idx])

    def naive_loss(idx):
        return torch.nn.functional.cross_entropy(model.plain_logits(pairs).double(), labels)

    fast_t, naive_t = [], []
    for epoch in epochs[-args.compare:]:
        load_weights(model, store.load_checkpoint(epoch), "")
        t0 = time.process_time()
        a = estimate_model(model, data, settings, epoch)
        fast_t.append(time.process_time() - t0)
        t0 = time.process_time()
        b = estimate(list(model.parameters()), naive_loss, len(labels), settings)
        naive_t.append(time.process_time() - t0)
        print(f"epoch {epoch}: llc {a.llc} (fast) vs {b.llc} (naive), "
              f"{fast_t[-1]:.1f} vs {naive_t[-1]:.1f} CPU-s")
    print(f"per checkpoint: fast {statistics.median(fast_t):.1f} CPU-s, naive "
          f"{statistics.median(naive_t):.1f} CPU-s: x{statistics.median(naive_t) / statistics.median(fast_t):.2f}")
    t0 = time.perf_counter()
    for epoch in epochs:
        load_weights(model, store.load_checkpoint(epoch), "")
        estimate_model(model, data, settings, epoch)
    print(f"{len(epochs)} checkpoints at {args.threads} thread(s): {time.perf_counter() - t0:.0f} s "
          "wall")


if __name__ == "__main__":
    main()
