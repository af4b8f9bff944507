"""Batched LLC: the chains of several checkpoints in one batched SGLD (analysis.llc.batched) against
the sequential estimator (one chain at a time), side by side on the same run, settings and seeds:
wall and CPU seconds, their ratio, and the largest difference between the two estimates, for each
batch forward (--forwards: loop, each copy the sequential chain's kernels; vmap, batched kernels).

Usage: python bench/llc_batched.py RUN [--checkpoints 4] [--draws 100] [--threads 1] [--repeats 3]
                                   [--forwards loop,vmap]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    from groklab.analysis.llc.batched import estimate_checkpoints
    from groklab.analysis.llc.estimator import LLCSettings, estimate_model, pick_checkpoints
    from groklab.models.io import load_weights
    from groklab.sources import load_run_model
    from groklab.store import RunStore
    from groklab.tasks import make_dataset

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run")
    ap.add_argument("--checkpoints", type=int, default=4)
    ap.add_argument("--draws", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--forwards", default="loop,vmap")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    store = RunStore(args.run)
    model, _ = load_run_model(args.run)
    data = make_dataset(store.read_config().task)
    epochs = pick_checkpoints(store.checkpoint_epochs(), args.checkpoints)
    settings = LLCSettings(draws=args.draws, burn_in=args.draws // 4)
    states = []
    for epoch in epochs:
        load_weights(model, store.load_checkpoint(epoch), "checkpoint")
        states.append({n: p.detach().clone() for n, p in model.named_parameters()})

    def sequential():
        out = []
        for state, epoch in zip(states, epochs):
            with torch.no_grad():
                for n, p in model.named_parameters():
                    p.copy_(state[n])
            out.append(estimate_model(model, data, settings, epoch))
        return out

    cases = [("sequential", sequential)] + [
        (f"batched {f}", lambda f=f: estimate_checkpoints(model, data, settings, states, epochs, f))
        for f in args.forwards.split(",")]
    times = {name: [] for name, _ in cases}
    results = {}
    for _ in range(args.repeats):  # alternated, so drift in machine load hits every case
        for name, fn in cases:
            wall, cpu = time.perf_counter(), time.process_time()
            results[name] = fn()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    k = len(epochs) * settings.chains
    print(f"{len(epochs)} checkpoints x {settings.chains} chains x {settings.draws} draws "
          f"(K = {k} copies batched), {args.threads} thread(s), median of {args.repeats}:")
    med = {n: (statistics.median(t[0] for t in v), statistics.median(t[1] for t in v))
           for n, v in times.items()}
    seq = med["sequential"]
    for name, (wall, cpu) in med.items():
        line = f"  {name:<14s} {wall:7.2f} s wall  {cpu:7.2f} CPU-s"
        if name != "sequential":
            same = [e.to_dict() == s.to_dict() for s, e in zip(results["sequential"], results[name])]
            worst = max(abs(a - b) / max(abs(a), 1e-12)
                        for s, b_ in zip(results["sequential"], results[name])
                        for a, b in zip(s.chains, b_.chains))
            line += (f"  x{seq[0] / wall:.2f} wall, x{seq[1] / cpu:.2f} CPU vs sequential; "
                     + ("every estimate equal bit for bit" if all(same) else
                        f"largest relative difference of the chains: {worst:.2e}"))
        print(line)


if __name__ == "__main__":
    main()
