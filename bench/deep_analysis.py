"""Deep transformers: the training/analysis forward (`logits`: projections as one matmul for every
head, elementwise scores over the few positions, the final block at the last position only) against
a naive forward (per-head einsums and batched matmuls at every position), side by side, and the
CPU time of `analyze` on one checkpoint of a 4-layer d_model 128 model at p = 59 (Zhong et al.'s
attention, rate 0.5), 1 thread. Medians of 5 (forward) and of 3 (analysis).

    python bench/deep_analysis.py [LAYERS [RUN]]

RUN: a trained run (e.g. `groklab train --preset pizza2`) whose final model is deepened with zero
blocks to LAYERS (the same function, structured weights); without it a random model (the worst
case: coordinate discovery searches hardest when there are no circles).
"""

from __future__ import annotations

import math
import statistics
import sys
import time

import torch

from groklab.config import ModelConfig, TaskConfig
from groklab.engine import analyze_model
from groklab.models import build_model, deepen
from groklab.sources import load_run_model
from groklab.tasks import make_dataset


def naive_logits(model, pairs: torch.Tensor) -> torch.Tensor:
    """Every position through every block, attention as per-head einsums (the old forward)."""
    tokens = model.tokens(pairs)
    n = tokens.shape[1]
    x = model.embed.W_E[tokens] + model.pos_embed.W_pos[:n]
    for block in model.blocks:
        a = block.attn
        q = torch.einsum("bpm,hmd->bphd", x, a.W_Q)
        k = torch.einsum("bpm,hmd->bphd", x, a.W_K)
        v = torch.einsum("bpm,hmd->bphd", x, a.W_V)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(q.shape[-1])
        pattern = a.rate * scores.softmax(-1) + (1 - a.rate)
        z = torch.einsum("bhqk,bkhd->bqhd", pattern, v)
        x = x + torch.einsum("bqhd,hdm->bqm", z, a.W_O)
        x = x + block.mlp(x)
    return (x @ model.unembed.W_U)[:, -1]


def cpu_time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.process_time()
        out = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), out


def main(layers: int = 4, run: str | None = None) -> None:
    torch.set_num_threads(1)
    p = 59
    cfg = ModelConfig(n_layers=layers, d_model=128, n_heads=4, d_head=32, d_mlp=512,
                      attn_rate=0.5, attn_mix="sum", causal=False, eq_token=False)
    model = build_model(cfg, p, 0) if run is None else deepen(load_run_model(run)[0], layers)
    print(f"model: {'random' if run is None else run + ' with zero blocks'}, {layers} layers")
    pairs = torch.cartesian_prod(torch.arange(p), torch.arange(p))
    with torch.no_grad():
        fast, ours = cpu_time(lambda: model.logits(pairs), 5)
        slow, ref = cpu_time(lambda: naive_logits(model, pairs), 5)
    assert torch.allclose(ours, ref, rtol=1e-4, atol=1e-4)
    print(f"{layers}-layer forward over {len(pairs)} pairs: logits {fast:.4f} CPU-s, naive "
          f"{slow:.4f} CPU-s, ratio {slow / fast:.2f}x")
    data = make_dataset(TaskConfig(name="add", p=p, frac_train=0.8))
    secs, result = cpu_time(lambda: analyze_model(model, data, {"kind": "bench"}), 3)
    print(f"analyze one checkpoint ({layers} layers, d_model 128, p {p}, 1 thread): {secs:.2f} "
          f"CPU-s (median of 3); algorithm {result.algorithm}, {len(result.layers)} layer rows")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4, sys.argv[2] if len(sys.argv) > 2 else None)
