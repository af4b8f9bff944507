"""How much a program shares with the network it was read from: the evidence every domain reports.

A program's accuracy on the task is no evidence that it is the network's program (any key frequency
computes a + b; any faithful irrep's characters compute a·b). Evidence is what the program shares
with the network:
- `logit_fve`: the share of the network's logit variance (each pair's logits centred over the
  classes, all pairs) that the program's logits explain at their best temperature s >= 0,
  1 − min_s ‖N − sP‖² / ‖N‖² (a program's temperature is a free constant);
- `heldout_kl`: mean KL(softmax N ‖ softmax τP) over the held-out pairs (nats), τ fitted to the
  training pairs' KL (the program's own temperature may be set for another purpose);
- `agreement` / `agreement_on_network_errors`: the program's answer equals the network's, on all
  pairs and on the pairs the network gets wrong (None when it gets none wrong);
- `substitution_loss`: the network's cross-entropy on all pairs when the program's logits replace
  the component of the network's logits the program claims to be (its key directions).

`explains` (EXPLAIN rule): agreement >= RIGHT on all pairs and logit FVE >= EXPLAIN_MIN_FVE.
An untrained network's logits are near-constant noise: no program fitted to them explains them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from groklab.analysis.scale import best_scale
from groklab.rules import EXPLAIN_MIN_FVE, RIGHT, cross_entropy

EXPLAIN_RULE = (f"explains the network: agreement >= {RIGHT:.0%} on all pairs and logit FVE >= "
                f"{EXPLAIN_MIN_FVE:g}")


@dataclass(frozen=True)
class Evidence:
    logit_fve: float
    heldout_kl: float | None
    agreement: float
    agreement_on_network_errors: float | None
    substitution_loss: float | None
    network_loss: float | None  # None when nothing was substituted
    explains: bool
    explain_rule: str = EXPLAIN_RULE

    def to_dict(self) -> dict:
        return asdict(self)


def _centred(x: np.ndarray) -> np.ndarray:
    return x - x.mean(1, keepdims=True)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def logit_fve(network: np.ndarray, program: np.ndarray) -> float:
    n, p = _centred(network), _centred(program)
    total, power = float((n**2).sum()), float((p**2).sum())
    if total <= 0 or power <= 0:
        return 0.0
    s = max(0.0, float((n * p).sum()) / power)
    return 1.0 - float(((n - s * p) ** 2).sum()) / total


def _kl(network: np.ndarray, program: np.ndarray) -> float:
    ln, lp = _log_softmax(network), _log_softmax(program)
    return float((np.exp(ln) * (ln - lp)).sum(1).mean())


def heldout_kl(network: np.ndarray, program: np.ndarray, rows: np.ndarray,
               train: np.ndarray | None = None) -> float | None:
    """KL on `rows` at the temperature that minimizes it on `train` (1 when no train rows)."""
    if not len(rows):
        return None
    tau = 1.0
    if train is not None and len(train):
        tau = best_scale(lambda t: _kl(network[train], t * program[train]), iterations=40)
    return _kl(network[rows], tau * program[rows])


def evidence(network: np.ndarray, program: np.ndarray, labels: np.ndarray, test: np.ndarray,
             substituted: np.ndarray | None = None, train: np.ndarray | None = None) -> Evidence:
    """network / program logits [rows, classes] over the same pairs (program logits at their fitted
    temperature); `substituted` the network's logits with the program standing in for its
    component (None when the domain has no such component)."""
    net, prog = network.argmax(1), program.argmax(1)
    agree = float((net == prog).mean())
    wrong = net != labels
    on_errors = float((prog[wrong] == net[wrong]).mean()) if wrong.any() else None
    fve = logit_fve(network, program)
    return Evidence(
        logit_fve=fve, heldout_kl=heldout_kl(network, program, test, train), agreement=agree,
        agreement_on_network_errors=on_errors,
        substitution_loss=None if substituted is None else cross_entropy(substituted, labels),
        network_loss=None if substituted is None else cross_entropy(network, labels),
        explains=bool(agree >= RIGHT and fve >= EXPLAIN_MIN_FVE))
