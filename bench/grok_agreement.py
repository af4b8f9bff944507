"""Do batched models grok when their single runs do? K seeds of a preset trained to the end of the
preset's own schedule (its stop rule included) one after another by the single trainer and as one
batch (train.multiseed), side by side: per seed the memorized and grokked epochs, the key
frequencies of the last checkpoint, and how far the logged losses of the first 100 epochs are apart.

    python bench/grok_agreement.py [--preset demo] [--seeds 8] [--forward loop|vmap]
                                   [--threads 1] [--keep DIR]

"loop" is bit for bit the single runs (tests/test_multiseed.py), so its table is a check of the
whole pipeline; "vmap" rounds some ops otherwise (a batched matmul, then the bias), so its table
says whether those roundings, amplified by training, move grokking (the target: grokked epochs
within ±2%, the same key frequencies).
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

LOSSES = ("loss/train", "loss/test")


def _early_diff(a: list[dict], b: list[dict], until: int = 100) -> float:
    """The largest relative difference of the logged losses up to epoch `until`."""
    worst = 0.0
    for x, y in zip(a, b):
        if x["epoch"] > until:
            break
        worst = max([worst] + [abs(x[k] - y[k]) / max(abs(x[k]), 1e-30) for k in LOSSES])
    return worst


def _keys(path: Path) -> list[int]:
    from groklab.engine.stages import analyze_run

    return sorted(analyze_run(path, with_progress=False, write=False).key_frequencies)


def _rel(a, b) -> str:
    if a is None or b is None:
        return "same" if a == b else "one only"
    return f"{(b - a) / max(a, 1):+.1%}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", default="demo")
    ap.add_argument("--seeds", type=int, default=8)
    ap.add_argument("--forward", default="loop", choices=("loop", "vmap"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", default=None, help="keep the runs here (default: a temporary folder)")
    args = ap.parse_args()

    from groklab.config import preset
    from groklab.store import RunStore
    from groklab.train import run
    from groklab.train.multiseed import train_many

    base = preset(args.preset)
    configs = [dataclasses.replace(base, seed=s) for s in range(args.seeds)]
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="groklab-grok-"))
    try:
        t0 = time.perf_counter()
        for c in configs:
            run(c, root / f"single_{c.seed}", threads=args.threads, quiet=True)
        single_s = time.perf_counter() - t0
        outs = [root / f"{args.forward}_{c.seed}" for c in configs]
        t0 = time.perf_counter()
        train_many(configs, outs, threads=args.threads, quiet=True, forward=args.forward)
        batch_s = time.perf_counter() - t0
        print(f"{args.preset}, {args.seeds} seeds, batch forward {args.forward}, {args.threads} "
              f"thread(s): single runs {single_s:.0f} s, batch {batch_s:.0f} s")
        print(f"{'seed':>4s} {'memorized':>15s} {'grokked':>15s} {'grokked diff':>12s} "
              f"{'epochs':>11s} {'early loss diff':>15s}  key frequencies")
        within, same_keys = True, True
        for c, out in zip(configs, outs):
            a, b = RunStore(root / f"single_{c.seed}"), RunStore(out)
            sa, sb = a.read_summary(), b.read_summary()
            ka, kb = _keys(a.path), _keys(b.path)
            ga, gb = sa.get("grokked_epoch"), sb.get("grokked_epoch")
            within &= (ga is None and gb is None) or (
                ga is not None and gb is not None and abs(gb - ga) <= 0.02 * ga)
            same_keys &= ka == kb
            print(f"{c.seed:4d} {sa.get('memorized_epoch')!s:>7s}/{sb.get('memorized_epoch')!s:<7s} "
                  f"{ga!s:>7s}/{gb!s:<7s} {_rel(ga, gb):>12s} "
                  f"{sa.get('epochs')!s:>5s}/{sb.get('epochs')!s:<5s} "
                  f"{_early_diff(a.read_metrics(), b.read_metrics()):15.1e}  "
                  f"{ka}" + ("" if ka == kb else f" / {kb}"), flush=True)
        print(f"(single/batched) every grokked epoch within ±2%: {'yes' if within else 'no'}; "
              f"the same key frequencies: {'yes' if same_keys else 'no'}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
