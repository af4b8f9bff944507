"""How the s5-transformer preset was chosen: a grid of transformer configurations on composition in
S5, each trained until it groks (test accuracy >= 99%) or runs out of epochs, all at once (one
process each). Run on a GPU (`--device cuda`, about 2 min for the whole grid on one H200); on this
2-core CPU one configuration takes minutes.

Usage: python bench/tune_s5_transformer.py [--device cuda] [--epochs 8000] [--only NAME ...]
Prints one JSON line per configuration: epochs to memorize, held-out accuracy then, epochs to grok.
The base is groklab's transformer at d_model 64 (4x16 heads, d_mlp 256), 50% train, lr 3e-3, wd 1.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

BASE = {"task": {"name": "group", "group": "S5", "frac_train": 0.5},
        "model": {"kind": "transformer", "d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 256},
        "train": {"lr": 3e-3, "weight_decay": 1.0, "stop_patience": 10, "ckpt_every": 100000,
                  "ckpt_log_points": 0, "ckpt_on_change": 1.0, "eval_every": 10}}
D128 = {"d_model": 128, "d_head": 32, "d_mlp": 512}
D96 = {"d_model": 96, "d_head": 24, "d_mlp": 384}
F6 = {"frac_train": 0.6}
F64 = {"loss_dtype": "float64"}
GRID = [
    ("A d128 lr1e-3 wd1", {"model": D128, "train": {"lr": 1e-3}}),
    ("B d128 lr3e-3 wd1", {"model": D128}),
    ("C d64 lr3e-3 wd1", {}),
    ("D d64 lr3e-3 wd2", {"train": {"weight_decay": 2.0}}),
    ("E d64 lr3e-3 wd1 f.6", {"task": F6}),
    ("F d64 lr5e-3 wd1", {"train": {"lr": 5e-3}}),
    ("F1 d64 lr5e-3 wd1 s1", {"train": {"lr": 5e-3}, "seed": 1}),
    ("F2 d64 lr5e-3 wd1 s2", {"train": {"lr": 5e-3}, "seed": 2}),
    ("G d128 noeq lr1e-3 wd2", {"model": {**D128, "eq_token": False},
                                "train": {"lr": 1e-3, "weight_decay": 2.0}}),
    ("H d64 noeq lr3e-3 wd1", {"model": {"eq_token": False}}),
    ("I d128 lr1e-3 wd2 f.6", {"model": D128, "task": F6, "train": {"lr": 1e-3, "weight_decay": 2.0}}),
    ("J d64 lr1e-3 wd1 f.6", {"task": F6, "train": {"lr": 1e-3}}),
    ("K d64 lr3e-3 wd3", {"train": {"weight_decay": 3.0}}),
    ("L d64 lr2e-3 wd2 f.6", {"task": F6, "train": {"lr": 2e-3, "weight_decay": 2.0}}),
    ("M d128 lr3e-3 wd2 f.6 f64", {"model": D128, "task": F6, "train": {"weight_decay": 2.0, **F64}}),
    ("M1 d128 lr3e-3 wd2 f.6 f64 s1", {"model": D128, "task": F6,
                                       "train": {"weight_decay": 2.0, **F64}, "seed": 1}),
    ("M2 d128 lr3e-3 wd2 f.6 f64 s2", {"model": D128, "task": F6,
                                       "train": {"weight_decay": 2.0, **F64}, "seed": 2}),
    ("N d64 lr3e-3 wd1 f64", {"train": F64}),
    ("P d64 lr3e-3 wd2 f.6 f64", {"task": F6, "train": {"weight_decay": 2.0, **F64}}),
    ("Q d64 lr5e-3 wd1 f64", {"train": {"lr": 5e-3, **F64}}),
    ("R d64 lr5e-3 wd2 f64", {"train": {"lr": 5e-3, "weight_decay": 2.0, **F64}}),
    ("S d64 lr5e-3 wd2 f.6 f64", {"task": F6, "train": {"lr": 5e-3, "weight_decay": 2.0, **F64}}),
    ("T d128 lr3e-3 wd2 f.6 (the preset)", {"model": D128, "task": F6, "train": {"weight_decay": 2.0}}),
    ("T1 the preset, seed 1", {"model": D128, "task": F6, "train": {"weight_decay": 2.0}, "seed": 1}),
    ("T2 the preset, seed 2", {"model": D128, "task": F6, "train": {"weight_decay": 2.0}, "seed": 2}),
    ("U d128 lr3e-3 wd2 f.5 f64", {"model": D128, "train": {"weight_decay": 2.0, **F64}}),
    ("V d64 lr5e-3 wd1 f.6 f64", {"task": F6, "train": {"lr": 5e-3, **F64}}),
    ("W d96 lr3e-3 wd2 f.6 f64", {"model": D96, "task": F6, "train": {"weight_decay": 2.0, **F64}}),
    ("W1 d96 f64 s1", {"model": D96, "task": F6, "train": {"weight_decay": 2.0, **F64}, "seed": 1}),
    ("W2 d96 f64 s2", {"model": D96, "task": F6, "train": {"weight_decay": 2.0, **F64}, "seed": 2}),
    ("X0 d96 lr3e-3 wd2 f.6", {"model": D96, "task": F6, "train": {"weight_decay": 2.0}}),
    ("X1 d96 s1", {"model": D96, "task": F6, "train": {"weight_decay": 2.0}, "seed": 1}),
    ("X2 d96 s2", {"model": D96, "task": F6, "train": {"weight_decay": 2.0}, "seed": 2}),
]


def job(item: tuple[str, dict], epochs: int, device: str, root: str) -> dict:
    from groklab.config import RunConfig
    from groklab.train import run

    name, change = item
    d = json.loads(json.dumps(BASE))
    d["train"]["epochs"] = epochs
    for k, v in change.items():
        if k == "seed":
            d["seed"] = v
        else:
            d[k].update(v)
    t0 = time.time()
    out = f"{root}/{name.split()[0]}"
    r = run(RunConfig.from_dict(d), out, device=device, quiet=True, overwrite=True, threads=1)
    rows = [json.loads(line) for line in open(f"{out}/metrics.jsonl")]
    return {"name": name, "memorized": r.summary["memorized_epoch"],
            "test_acc_at_memorization": next((x["acc/test"] for x in rows
                                              if x["acc/train"] >= 0.99), None),
            "grokked": r.summary["grokked_epoch"], "wall_s": round(time.time() - t0, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--epochs", type=int, default=8000)
    ap.add_argument("--only", nargs="*", default=None, help="names (first word) to run")
    args = ap.parse_args()
    grid = [g for g in GRID if args.only is None or g[0].split()[0] in args.only]
    root = tempfile.mkdtemp(prefix="groklab-tune-")
    import multiprocessing as mp

    with ProcessPoolExecutor(len(grid), mp_context=mp.get_context("spawn")) as ex:
        futures = [ex.submit(job, g, args.epochs, args.device, root) for g in grid]
        for fut in as_completed(futures):
            print(json.dumps(fut.result()), flush=True)


if __name__ == "__main__":
    main()
