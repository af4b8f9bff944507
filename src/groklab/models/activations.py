"""The MLP activations by name, as TransformerLens and Zhong et al.'s code name them.

gelu is the exact (erf) form, `torch.nn.functional.gelu`; gelu_new is the tanh approximation
(TransformerLens' and GPT-2's); silu is x·sigmoid(x); quadratic (x²) is for the MLP only."""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F

ACTIVATIONS = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "gelu_new": partial(F.gelu, approximate="tanh"),
    "silu": F.silu,
    "tanh": torch.tanh,
    "quadratic": torch.square,
}
