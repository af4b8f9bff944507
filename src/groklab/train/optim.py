"""The optimizer stack: AdamW with linear warm-up, and the Grokfast gradient filters.

Warm-up follows the reference code (`LambdaLR(lambda step: min(step / warmup, 1))`): the learning rate
of step s (counting from 0) is lr · min(s / warmup, 1), so the very first step has rate 0.
"""

from __future__ import annotations

from collections import deque

import torch

from groklab.config import TrainConfig


def make_optimizer(params: list[torch.nn.Parameter], cfg: TrainConfig) -> torch.optim.AdamW:
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay,
                             betas=(cfg.beta1, cfg.beta2), foreach=True)


def param_group(params: list[torch.Tensor], cfg: TrainConfig) -> dict:
    """An AdamW parameter group with `cfg`'s learning rate and betas (decay applied by the caller)."""
    return {"params": params, "lr": cfg.lr, "betas": (cfg.beta1, cfg.beta2), "weight_decay": 0.0}


def lr_at(step: int, cfg: TrainConfig) -> float:
    return cfg.lr * (min(step / cfg.warmup, 1.0) if cfg.warmup else 1.0)


class Grokfast:
    """Low-pass filtered gradient amplification (Lee et al. 2024), applied in place to `.grad`.

    ema: h ← αh + (1-α)g, g ← g + λh.   ma: h = mean of the last `window` gradients, g ← g + λh
    (applied only once the window is full, as in the paper's code).
    """

    def __init__(self, params: list[torch.nn.Parameter], cfg: TrainConfig):
        self.params, self.kind = params, cfg.grokfast
        self.alpha, self.lamb, self.window = cfg.grokfast_alpha, cfg.grokfast_lamb, cfg.grokfast_window
        self.ema: list[torch.Tensor] | None = None
        self.history: deque[list[torch.Tensor]] = deque(maxlen=self.window)

    def apply(self) -> None:
        grads = [p.grad for p in self.params]
        if self.kind == "ema":
            self._apply_ema(grads)
        elif self.kind == "ma":
            self._apply_ma(grads)

    def _apply_ema(self, grads: list[torch.Tensor]) -> None:
        if self.ema is None:
            self.ema = [g.detach().clone() for g in grads]
        else:
            torch._foreach_mul_(self.ema, self.alpha)
            torch._foreach_add_(self.ema, grads, alpha=1 - self.alpha)
        torch._foreach_add_(grads, self.ema, alpha=self.lamb)

    def _apply_ma(self, grads: list[torch.Tensor]) -> None:
        self.history.append([g.detach().clone() for g in grads])
        if len(self.history) == self.window:
            for i, g in enumerate(grads):
                g.add_(torch.stack([h[i] for h in self.history]).mean(0), alpha=self.lamb)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Filter state for resuming, as flat named tensors."""
        out = {f"ema.{i}": t for i, t in enumerate(self.ema or [])}
        for j, grads in enumerate(self.history):
            out.update({f"ma.{j}.{i}": t for i, t in enumerate(grads)})
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        n = len(self.params)
        if "ema.0" in tensors:
            self.ema = [tensors[f"ema.{i}"].clone() for i in range(n)]
        j = 0
        while f"ma.{j}.0" in tensors:
            self.history.append([tensors[f"ma.{j}.{i}"].clone() for i in range(n)])
            j += 1
