"""The full-batch training loop: the only caller of `optimizer.step`.

Epoch e means "after e optimizer steps": the metric row and checkpoint of epoch e describe the weights
before step e+1. The train loss of a row comes from the very forward pass that the step then uses, so
evaluation costs one extra forward on the test pairs only.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from groklab.config import TrainConfig
from groklab.errors import GroklabError
from groklab.models import HookedModel
from groklab.train.callbacks import Callback
from groklab.train.optim import Grokfast, lr_at, make_optimizer

ADAM_KEYS = ("step", "exp_avg", "exp_avg_sq")


@dataclass
class Batch:
    """Train and test pairs with labels, on the training device."""

    train_x: torch.Tensor  # [n_train, 2]
    train_y: torch.Tensor  # [n_train]
    test_x: torch.Tensor  # [n_test, 2]
    test_y: torch.Tensor  # [n_test]


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor, dtype: str = "float32") -> torch.Tensor:
    """Mean cross-entropy through log-softmax (stable); float64 upcasts the logits first."""
    if dtype == "float64":
        logits = logits.to(torch.float64)
    return F.cross_entropy(logits, labels)


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    return (logits.argmax(-1) == labels).float().mean().item()


class Trainer:
    """Owns the model, the optimizer and the Grokfast filter; runs epochs and fires callbacks."""

    def __init__(self, model: HookedModel, cfg: TrainConfig):
        self.model, self.cfg = model, cfg
        self.names = [n for n, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self.optimizer = make_optimizer(self.params, cfg)
        self.grokfast = Grokfast(self.params, cfg)

    # ---- state for checkpoints and resuming ---------------------------------------------------
    def weights(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in zip(self.names, self.params)}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        out = {f"model.{n}": p.detach() for n, p in zip(self.names, self.params)}
        for i, p in enumerate(self.params):
            for key, value in self.optimizer.state.get(p, {}).items():
                out[f"adam.{key}.{self.names[i]}"] = value.detach()
        out.update({f"grokfast.{k}": v for k, v in self.grokfast.state_tensors().items()})
        return out

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore model, optimizer and Grokfast state; a state of another shape or without the
        model's tensors is a GroklabError naming what is missing or mis-shaped."""
        missing = [f"model.{n}" for n in self.names if f"model.{n}" not in tensors]
        wrong = [f"model.{n}" for n, p in zip(self.names, self.params)
                 if f"model.{n}" in tensors and tensors[f"model.{n}"].shape != p.shape]
        if missing or wrong:
            raise GroklabError("the state file does not match this run's model ("
                               + "; ".join([*(f"missing {k}" for k in missing[:3]),
                                            *(f"{k} has the wrong shape" for k in wrong[:3])])
                               + "); delete state.safetensors to restart, or --overwrite")
        with torch.no_grad():
            for n, p in zip(self.names, self.params):
                p.copy_(tensors[f"model.{n}"])
        for n, p in zip(self.names, self.params):
            state = {k: tensors[f"adam.{k}.{n}"].clone() for k in ADAM_KEYS if f"adam.{k}.{n}" in tensors}
            if state:
                self.optimizer.state[p] = state
        prefix = "grokfast."
        self.grokfast.load_state_tensors(
            {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})

    # ---- the loop -----------------------------------------------------------------------------
    def _row(self, epoch: int, train_logits: torch.Tensor, batch: Batch) -> dict:
        with torch.no_grad():
            test_logits = self.model.logits(batch.test_x)
            sq = {n: p.detach().pow(2).sum().item() for n, p in zip(self.names, self.params)}
            return {
                "epoch": epoch,
                "loss/train": cross_entropy(train_logits, batch.train_y, self.cfg.loss_dtype).item(),
                "loss/test": cross_entropy(test_logits, batch.test_y, self.cfg.loss_dtype).item(),
                "acc/train": accuracy(train_logits, batch.train_y),
                "acc/test": accuracy(test_logits, batch.test_y),
                "lr": lr_at(epoch, self.cfg),
                "norm/total": sum(sq.values()),
                **{f"norm/{n}": v for n, v in sq.items()},
            }

    def fit(self, batch: Batch, callbacks: list[Callback], start: int = 0) -> tuple[int, dict, str]:
        """Train from epoch `start` to the stop rule; returns (last epoch, its row, why stopped)."""
        cfg, model = self.cfg, self.model
        model.train()
        epoch, stopped, row = start, "epochs", {}
        while True:
            logits = model.logits(batch.train_x)
            final = epoch >= cfg.epochs
            if final or any(cb.wants(epoch) for cb in callbacks):
                row = self._row(epoch, logits.detach(), batch)
                stop = [cb.on_eval(epoch, row, self.weights) for cb in callbacks]
                if any(stop) and not final:
                    stopped = "early_stop"
                    break
            if final:
                break
            for cb in callbacks:
                cb.on_epoch(epoch, self.weights)
            self._step(epoch, cross_entropy(logits, batch.train_y, cfg.loss_dtype))
            epoch += 1
        for cb in callbacks:
            cb.on_end(epoch, row, self.weights, stopped)
        return epoch, row, stopped

    def _step(self, epoch: int, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=False)
        loss.backward()
        self.grokfast.apply()
        for group in self.optimizer.param_groups:
            group["lr"] = lr_at(epoch, self.cfg)
        self.optimizer.step()

