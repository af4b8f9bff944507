"""Named hook points and the scoped context manager through which analyses read activations.

A `HookPoint` is an identity module; `HookedModel.hooks({...})` attaches functions for the duration
of a `with` block and always removes them on exit, so no analysis ever leaves a hook behind.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from groklab.errors import GroklabError

HookFn = Callable[[torch.Tensor, str], "torch.Tensor | None"]


def by_position(x: torch.Tensor) -> torch.Tensor:
    """A hook tensor as [batch, pos, width] (an MLP's [batch, width] has one position); the
    sizes are spelled out, so a zero width (an attention-only transformer's neurons) reshapes."""
    return x if x.dim() == 3 else x.reshape(x.shape[0], 1, x.shape[-1])


class HookPoint(nn.Module):
    """Identity on a named activation; hooks attached here may read or replace it."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


class HookedModel(nn.Module):
    """Base of groklab models: hook-point lookup, scoped hooks, and run_with_cache."""

    def hook_points(self) -> dict[str, HookPoint]:
        return {name: m for name, m in self.named_modules() if isinstance(m, HookPoint)}

    @contextmanager
    def hooks(self, fwd_hooks: dict[str, HookFn]) -> Iterator["HookedModel"]:
        """Attach `{hook_name: fn(activation, name) -> replacement or None}` inside the block."""
        points = self.hook_points()
        unknown = sorted(set(fwd_hooks) - set(points))
        if unknown:
            raise GroklabError(f"unknown hook point(s) {', '.join(unknown)}; "
                               f"available: {', '.join(points)}")
        handles = []
        try:
            for name, fn in fwd_hooks.items():
                handles.append(points[name].register_forward_hook(
                    lambda _m, _inp, out, fn=fn, name=name: fn(out, name)))
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def run_with_cache(self, pairs: torch.Tensor, names: list[str] | None = None
                       ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits of `pairs` [batch, 2] and the activations at `names` (all hook points if None)."""
        cache: dict[str, torch.Tensor] = {}

        def save(x: torch.Tensor, name: str) -> None:
            cache[name] = x.detach()

        names = list(self.hook_points()) if names is None else names
        with torch.no_grad(), self.hooks({n: save for n in names}):
            logits = self.logits(pairs)
        return logits, cache

    def logits(self, pairs: torch.Tensor) -> torch.Tensor:  # [batch, 2] -> [batch, p]
        raise NotImplementedError
